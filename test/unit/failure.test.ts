/**
 * describeFailure: the { Error, Cause } Step Functions hands a Catch (States Language, "Error names" and
 * "Catchers": https://states-language.net/spec.html#appendix-a) turned into the one sentence history,
 * Slack and the CLI show. A CodeBuild .sync task fails with the Build object, as JSON, in the Cause
 * (https://docs.aws.amazon.com/step-functions/latest/dg/connect-codebuild.html), its fields in the
 * PascalCase of the CodeBuild API's JSON (BatchGetBuilds: Id, BuildStatus, Phases[].PhaseType / PhaseStatus /
 * Contexts[].Message; https://docs.aws.amazon.com/codebuild/latest/APIReference/API_Build.html).
 */
import { describe, expect, it } from 'vitest';
import { describeFailure, ERRORS } from '../../src/core/model/failure.ts';

describe('describeFailure', () => {
  it('says the step failed when there is no error at all', () => {
    expect(describeFailure(undefined, 'scan')).toEqual({ reason: 'scan failed' });
  });

  it('names the alarm that fired', () => {
    expect(describeFailure({ Error: ERRORS.alarmFired, Cause: 'api-5xx' }, 'bake')).toEqual({
      reason: 'alarm api-5xx fired during bake',
      alarm: 'api-5xx',
    });
  });

  it('tells a blocked or impossible scan by its cause, or in general words, and that nothing changed', () => {
    expect(describeFailure({ Error: ERRORS.scanBlocked, Cause: 'CVE-1 is CRITICAL' }, 'scan')).toEqual({
      reason: 'CVE-1 is CRITICAL',
      nothingChanged: true,
    });
    expect(describeFailure({ Error: ERRORS.scanBlocked }, 'scan')).toEqual({
      reason: 'the image scan found vulnerabilities above the allowed severity',
      nothingChanged: true,
    });
    expect(describeFailure({ Error: ERRORS.scanUnavailable, Cause: 'no scanner' }, 'scan')).toEqual({
      reason: 'no scanner',
      nothingChanged: true,
    });
    expect(describeFailure({ Error: ERRORS.scanUnavailable, Cause: '' }, 'scan')).toEqual({
      reason: 'the image could not be scanned, and this environment requires a scan',
      nothingChanged: true,
    });
  });

  it('tells a missing tool and a target that refused the deployment, and that nothing changed', () => {
    expect(describeFailure({ Error: ERRORS.missingTool }, 'deploy')).toEqual({
      reason: 'a required tool is missing',
      nothingChanged: true,
    });
    expect(describeFailure({ Error: ERRORS.targetInvalid, Cause: 'no such namespace' }, 'deploy')).toEqual({
      reason: 'deploy refused: no such namespace',
      nothingChanged: true,
    });
    expect(describeFailure({ Error: ERRORS.targetInvalid }, 'rollback')).toEqual({
      reason: 'rollback refused: the target is not set up for this deployment',
      nothingChanged: true,
    });
  });

  it('says the step timed out on States.Timeout, whatever the cause', () => {
    expect(describeFailure({ Error: 'States.Timeout', Cause: 'x' }, 'deploy')).toEqual({ reason: 'deploy timed out' });
  });

  it('reads the build, its status and its first failed phase with every message of it', () => {
    const build = {
      Id: 'coconut-deploy:42',
      BuildStatus: 'FAULT',
      Phases: [
        { PhaseType: 'SUBMITTED', PhaseStatus: 'SUCCEEDED' },
        { PhaseType: 'DOWNLOAD_SOURCE' },
        {
          PhaseType: 'BUILD',
          PhaseStatus: 'FAILED',
          Contexts: [{ Message: 'exit status 2' }, {}, { Message: 'helm: timed out' }],
        },
        { PhaseType: 'POST_BUILD', PhaseStatus: 'FAILED', Contexts: [{ Message: 'later' }] },
      ],
    };
    const failure = { Error: 'States.TaskFailed', Cause: JSON.stringify({ Build: build }) };
    expect(describeFailure(failure, 'deploy')).toEqual({
      reason: 'deploy build coconut-deploy:42 fault: phase BUILD — exit status 2; helm: timed out',
    });
  });

  it('reads a bare build object, a phase without messages, and a build with no failed phase', () => {
    const bare = JSON.stringify({
      Id: 'p:7',
      BuildStatus: 'STOPPED',
      Phases: [{ PhaseType: 'INSTALL', PhaseStatus: 'TIMED_OUT' }],
    });
    expect(describeFailure({ Error: 'States.TaskFailed', Cause: bare }, 'rollback').reason).toBe(
      'rollback build p:7 stopped: phase INSTALL',
    );
    const quiet = JSON.stringify({
      Build: { Id: 'p:8', BuildStatus: 'FAILED', Phases: [{ PhaseType: 'BUILD', PhaseStatus: 'SUCCEEDED' }] },
    });
    expect(describeFailure({ Error: 'States.TaskFailed', Cause: quiet }, 'deploy').reason).toBe('deploy build p:8 failed');
    const emptyMessages = JSON.stringify({ Id: 'p:9', Phases: [{ PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{}] }] });
    expect(describeFailure({ Error: 'States.TaskFailed', Cause: emptyMessages }, 'deploy').reason).toBe(
      'deploy build p:9 failed: phase BUILD',
    );
  });

  it('says "unknown" for a build without id', () => {
    const cause = JSON.stringify({ Build: { BuildStatus: 'FAILED' } });
    expect(describeFailure({ Error: 'States.TaskFailed', Cause: cause }, 'deploy').reason).toBe('deploy build unknown failed');
  });

  it('gives other errors by name with the start of their cause', () => {
    expect(describeFailure({ Error: 'Lambda.Unknown' }, 'record')).toEqual({ reason: 'record failed: Lambda.Unknown' });
    expect(describeFailure({ Error: 'Boom', Cause: 'bad' }, 'deploy').reason).toBe('deploy failed: Boom — bad');
    const long = 'y'.repeat(400);
    expect(describeFailure({ Error: 'Boom', Cause: long }, 'deploy').reason).toBe(`deploy failed: Boom — ${'y'.repeat(300)}`);
  });

  it('does not take JSON that is no build, or broken JSON, for a build', () => {
    expect(describeFailure({ Error: 'Boom', Cause: '{"errorMessage":"x"}' }, 'deploy').reason).toBe(
      'deploy failed: Boom — {"errorMessage":"x"}',
    );
    expect(describeFailure({ Error: 'Boom', Cause: '{"Build": ' }, 'deploy').reason).toBe('deploy failed: Boom — {"Build": ');
    expect(describeFailure({ Error: 'Boom', Cause: ' {"Id":"p:1"}' }, 'deploy').reason).toBe(
      'deploy failed: Boom —  {"Id":"p:1"}',
    );
  });
});
