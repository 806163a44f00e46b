import { describe, expect, it } from 'vitest';
import {
  allowedPredecessors,
  assertTransition,
  rehearsalLabel,
  rehearsedTarget,
  type StageRecord,
  summarize,
} from '../../src/core/model/deployment.ts';
import { InvalidTransitionError } from '../../src/core/model/errors.ts';
import { describeFailure } from '../../src/core/model/failure.ts';

const stage = (environment: string, order: number, state: StageRecord['state']): StageRecord => ({
  deploymentId: 'd',
  service: 's',
  environment,
  order,
  version: '1',
  state,
  createdAt: 't',
  updatedAt: 't',
});
const record = {
  deploymentId: 'd',
  service: 's',
  version: '1',
  image: { registry: 'ecr' as const, repository: 's', tag: '1' },
  trigger: { kind: 'manual' as const, id: 'x', at: 't' },
  environments: ['a', 'b'],
  createdAt: 't',
  kind: 'deploy' as const,
};

describe('Deployment model', () => {
  it('allows the forward path and rollback, and nothing out of a terminal state', () => {
    expect(() => assertTransition('PENDING', 'DEPLOYING', 'x')).not.toThrow();
    expect(() => assertTransition('DEPLOYING', 'BAKING', 'x')).not.toThrow();
    expect(() => assertTransition('BAKING', 'ROLLING_BACK', 'x')).not.toThrow();
    expect(() => assertTransition('ROLLING_BACK', 'ROLLED_BACK', 'x')).not.toThrow();
    expect(() => assertTransition('SUCCEEDED', 'DEPLOYING', 'x')).toThrow(InvalidTransitionError);
    expect(() => assertTransition('ROLLED_BACK', 'SUCCEEDED', 'x')).toThrow('cannot move from ROLLED_BACK to SUCCEEDED');
    expect(() => assertTransition('BAKING', 'BAKING', 'x')).not.toThrow(); // a retried step
  });

  it('lets any unfinished stage become INTERRUPTED, and only PENDING become SKIPPED', () => {
    expect(allowedPredecessors('INTERRUPTED')).toEqual(['PENDING', 'AWAITING_APPROVAL', 'DEPLOYING', 'BAKING', 'ROLLING_BACK']);
    expect(allowedPredecessors('SKIPPED')).toEqual(['PENDING']);
  });

  it('summarizes a deployment by its furthest stage', () => {
    expect(summarize(record, [stage('a', 0, 'SUCCEEDED'), stage('b', 1, 'BAKING')]).state).toBe('BAKING');
    expect(summarize(record, [stage('b', 1, 'SKIPPED'), stage('a', 0, 'ROLLED_BACK')]).state).toBe('ROLLED_BACK');
    expect(summarize(record, [stage('a', 0, 'SUCCEEDED'), stage('b', 1, 'PENDING')]).state).toBe('PENDING');
    expect(summarize(record, [stage('a', 0, 'SUCCEEDED'), stage('b', 1, 'SUCCEEDED')]).state).toBe('SUCCEEDED');
    expect(summarize(record, [stage('b', 1, 'PENDING'), stage('a', 0, 'SUCCEEDED')]).stages.map((s) => s.environment)).toEqual([
      'a',
      'b',
    ]);
  });
});

describe('Failure descriptions', () => {
  it('names the alarm', () => {
    expect(describeFailure({ Error: 'Coconut.AlarmFired', Cause: 'api-health' }, 'deploy')).toEqual({
      reason: 'alarm api-health fired during bake',
      alarm: 'api-health',
    });
  });

  it('reads the CodeBuild build from the cause', () => {
    const cause = JSON.stringify({
      Build: {
        Id: 'p:1',
        BuildStatus: 'FAILED',
        Phases: [{ PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ Message: 'exit status 2' }] }],
      },
    });
    expect(describeFailure({ Error: 'States.TaskFailed', Cause: cause }, 'deploy').reason).toBe(
      'deploy build p:1 failed: phase BUILD — exit status 2',
    );
  });

  it('marks a missing tool as nothing changed, and says so for timeouts and the rest', () => {
    expect(describeFailure({ Error: 'Coconut.MissingTool', Cause: 'helm not found' }, 'deploy')).toEqual({
      reason: 'helm not found',
      nothingChanged: true,
    });
    expect(describeFailure({ Error: 'States.Timeout' }, 'deploy').reason).toBe('deploy timed out');
    expect(describeFailure({ Error: 'Boom', Cause: 'bad' }, 'rollback').reason).toBe('rollback failed: Boom — bad');
  });
});

describe('Rehearsal labels', () => {
  it('says nothing ran when the deploy was rehearsed, and only that the scan was not performed otherwise', () => {
    expect(rehearsedTarget({ tools: ['helm'], steps: ['deploy'] })).toBe(true);
    expect(rehearsalLabel({ tools: ['helm'], steps: ['deploy'] })).toBe('rehearsal: deploy PLANNED, nothing ran');
    expect(rehearsedTarget({ tools: ['trivy'], steps: ['scan'] })).toBe(false);
    expect(rehearsalLabel({ tools: ['trivy'], steps: ['scan'] })).toBe('rehearsal: scan PLANNED, not performed');
    expect(rehearsalLabel({ tools: ['trivy', 'helm'], steps: ['scan', 'deploy'] })).toBe(
      'rehearsal: scan, deploy PLANNED, nothing ran',
    );
    expect(rehearsalLabel(undefined)).toBe('');
  });
});
