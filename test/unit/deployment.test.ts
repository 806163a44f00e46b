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

describe('Deployment model, state by state', () => {
  it('lists the states each state may be entered from', () => {
    expect(allowedPredecessors('PENDING')).toEqual([]);
    // A rollout's next step may wait for approval after a bake, and deploys after it (BAKING -> ...).
    expect(allowedPredecessors('AWAITING_APPROVAL')).toEqual(['PENDING', 'BAKING']);
    expect(allowedPredecessors('DEPLOYING')).toEqual(['PENDING', 'AWAITING_APPROVAL', 'BAKING']);
    expect(allowedPredecessors('BAKING')).toEqual(['DEPLOYING']);
    expect(allowedPredecessors('SUCCEEDED')).toEqual(['DEPLOYING', 'BAKING']);
    expect(allowedPredecessors('REJECTED')).toEqual(['PENDING', 'AWAITING_APPROVAL']);
    // A step approval refused rolls back the steps already deployed.
    expect(allowedPredecessors('ROLLING_BACK')).toEqual(['AWAITING_APPROVAL', 'DEPLOYING', 'BAKING']);
    expect(allowedPredecessors('ROLLED_BACK')).toEqual(['ROLLING_BACK']);
    expect(allowedPredecessors('ROLLBACK_FAILED')).toEqual(['ROLLING_BACK']);
    expect(allowedPredecessors('FAILED')).toEqual(['PENDING', 'AWAITING_APPROVAL', 'DEPLOYING', 'BAKING']);
  });

  it('names where a forbidden move was tried, and lets a terminal state be written again', () => {
    expect(() => assertTransition('PENDING', 'BAKING', 'RecordBaking')).toThrow(
      new InvalidTransitionError('RecordBaking: cannot move from PENDING to BAKING'),
    );
    expect(() => assertTransition('SUCCEEDED', 'SUCCEEDED', 'x')).not.toThrow();
    expect(() => assertTransition('SUCCEEDED', 'INTERRUPTED', 'x')).toThrow('x: cannot move from SUCCEEDED to INTERRUPTED');
    expect(() => assertTransition('BAKING', 'INTERRUPTED', 'x')).not.toThrow();
  });

  it('summarizes by the stage in progress first, then the first that ended badly, never by PENDING or SKIPPED', () => {
    expect(summarize(record, [stage('a', 0, 'FAILED'), stage('b', 1, 'AWAITING_APPROVAL')]).state).toBe('AWAITING_APPROVAL');
    expect(summarize(record, [stage('a', 0, 'SUCCEEDED'), stage('b', 1, 'INTERRUPTED'), stage('c', 2, 'REJECTED')]).state).toBe(
      'INTERRUPTED',
    );
    expect(summarize(record, [stage('a', 0, 'SUCCEEDED'), stage('b', 1, 'SKIPPED')]).state).toBe('PENDING');
    expect(summarize(record, [stage('a', 0, 'PENDING'), stage('b', 1, 'PENDING')]).state).toBe('PENDING');
    expect(summarize(record, []).state).toBe('PENDING');
    // A PENDING stage earlier in the order neither is the one in progress nor hides one that ended badly.
    expect(summarize(record, [stage('a', 0, 'PENDING'), stage('b', 1, 'DEPLOYING')]).state).toBe('DEPLOYING');
    expect(summarize(record, [stage('a', 0, 'PENDING'), stage('b', 1, 'FAILED')]).state).toBe('FAILED');
    const view = summarize(record, [stage('c', 2, 'PENDING'), stage('a', 0, 'DEPLOYING'), stage('b', 1, 'PENDING')]);
    expect(view).toMatchObject({ ...record, state: 'DEPLOYING' });
    expect(view.stages.map((s) => s.order)).toEqual([0, 1, 2]);
  });

  it('counts a rehearsal as changing nothing on the target unless the scan was the only step rehearsed', () => {
    expect(rehearsedTarget(undefined)).toBe(false);
    expect(rehearsedTarget({ tools: [], steps: [] })).toBe(false);
    expect(rehearsedTarget({ tools: ['trivy', 'helm'], steps: ['scan', 'deploy'] })).toBe(true);
    expect(rehearsedTarget({ tools: ['helm'], steps: ['rollback'] })).toBe(true);
    expect(rehearsalLabel({ tools: ['helm'], steps: ['rollback'] })).toBe('rehearsal: rollback PLANNED, nothing ran');
  });
});
