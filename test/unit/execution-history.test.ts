/**
 * What part of an execution's error cause may be shown to people (src/core/history/execution-history.ts):
 * short text as it is, long text cut, CodeBuild's Build object as its one-line summary, any other JSON not at all.
 *
 * The Build cause is the shape Step Functions gives a failed `arn:aws:states:::codebuild:startBuild.sync`
 * task: the Build of CodeBuild's BatchGetBuilds as JSON, with the API's own (PascalCase) member names
 * (https://docs.aws.amazon.com/step-functions/latest/dg/connect-codebuild.html; the members are those of
 * `Build` in @aws-sdk/client-codebuild: Id, BuildStatus, Phases[].PhaseType/PhaseStatus/Contexts[].Message).
 */
import { describe, expect, it } from 'vitest';
import { summarizeCause } from '../../src/core/history/execution-history.ts';

const build = {
  Build: {
    Id: 'coconut-helm-deploy:42',
    BuildStatus: 'FAILED',
    Environment: { EnvironmentVariables: [{ Name: 'DB_PASSWORD', Value: 'secret-ish', Type: 'PLAINTEXT' }] },
    Phases: [
      { PhaseType: 'INSTALL', PhaseStatus: 'SUCCEEDED' },
      {
        PhaseType: 'BUILD',
        PhaseStatus: 'FAILED',
        Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: 'helm exit 1' }],
      },
    ],
  },
};

describe('summarizeCause', () => {
  it('has nothing to show for a missing or empty cause', () => {
    expect(summarizeCause('States.TaskFailed', undefined)).toBeUndefined();
    expect(summarizeCause('States.TaskFailed', null)).toBeUndefined();
    expect(summarizeCause('States.TaskFailed', '')).toBeUndefined();
  });

  it('shows short text as it is, and cuts text over 300 characters to 299 and an ellipsis', () => {
    expect(summarizeCause('Coconut.DeployFailed', 'helm upgrade failed')).toBe('helm upgrade failed');
    const exact = 'x'.repeat(300);
    expect(summarizeCause(undefined, exact)).toBe(exact);
    const long = `${'y'.repeat(299)}z and more`;
    expect(summarizeCause(undefined, long)).toBe(`${'y'.repeat(299)}…`);
  });

  it('shows a CodeBuild Build only as its summary: id, status, the phase that failed and its message', () => {
    const text = JSON.stringify(build);
    const expected = 'step build coconut-helm-deploy:42 failed: phase BUILD — helm exit 1';
    expect(summarizeCause('States.TaskFailed', text)).toBe(expected);
    // The same when the cause arrives parsed, or without an error name.
    expect(summarizeCause('States.TaskFailed', build)).toBe(expected);
    expect(summarizeCause(undefined, text)).toBe(expected);
    expect(summarizeCause(undefined, text)).not.toContain('secret-ish');
  });

  it('shows no other JSON, short or long, with or without leading white space', () => {
    expect(summarizeCause('States.TaskFailed', '{"errorMessage":"boom","stack":"at x"}')).toBe('details omitted');
    expect(summarizeCause('States.TaskFailed', { errorType: 'TypeError', trace: ['a'] })).toBe('details omitted');
    const long = JSON.stringify({ errorMessage: 'e'.repeat(400), token: 'AQC-secret' });
    expect(summarizeCause('States.TaskFailed', long)).toBe('details omitted');
    expect(summarizeCause('States.TaskFailed', `  \n${JSON.stringify(build)}`)).toBe('details omitted');
  });

  it('keeps the sentence the error itself makes when it names no JSON (a timeout)', () => {
    expect(summarizeCause('States.Timeout', '{"detail":"the task timed out"}')).toBe('step timed out');
  });
});
