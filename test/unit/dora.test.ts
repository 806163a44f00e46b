import { describe, expect, it } from 'vitest';
import { computeDora, isFailedChange, median } from '../../src/core/history/dora.ts';
import type { DeploymentView, StageRecord } from '../../src/core/model/deployment.ts';

const NOW = new Date('2026-03-20T12:00:00Z');
let n = 0;

/** A deployment of `version` whose prod stage ended as `state` at `end` (prod went live 10 min earlier). */
function dep(
  version: string,
  pushedAt: string,
  prod: Partial<StageRecord> & { state: StageRecord['state'] },
  kind: 'deploy' | 'rollback' = 'deploy',
): DeploymentView {
  const id = `d${++n}`;
  const base = {
    deploymentId: id,
    service: 'api',
    version,
    order: 1,
    createdAt: pushedAt,
    updatedAt: prod.finishedAt ?? pushedAt,
  };
  return {
    deploymentId: id,
    service: 'api',
    version,
    image: { registry: 'ecr', repository: 'api', tag: version },
    trigger: { kind: kind === 'rollback' ? 'rollback' : 'ecr-push', id: `e${n}`, at: pushedAt },
    environments: ['staging', 'prod'],
    createdAt: pushedAt,
    kind,
    state: prod.state,
    stages: [
      { ...base, environment: 'staging', order: 0, state: 'SUCCEEDED', finishedAt: pushedAt },
      { ...base, environment: 'prod', ...prod },
    ],
  };
}

describe('DORA metrics (core/history/dora)', () => {
  it('computes the four metrics for the production environment', () => {
    const deployments = [
      dep('1.0.0', '2026-03-18T10:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-18T11:00:00Z' }),
      // Pushed once, deployed again by hand later: lead time counts from the first push.
      dep('1.1.0', '2026-03-19T08:00:00Z', { state: 'REJECTED', finishedAt: '2026-03-19T08:30:00Z' }),
      dep('1.1.0', '2026-03-19T09:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-19T10:00:00Z' }),
      dep('1.2.0', '2026-03-20T08:00:00Z', {
        state: 'ROLLED_BACK',
        alarm: 'api-prod-5xx',
        deployedAt: '2026-03-20T08:20:00Z',
        finishedAt: '2026-03-20T08:26:00Z',
      }),
    ];
    const m = computeDora({ service: 'api', production: 'prod', deployments, now: NOW, days: 7 });
    expect(m.window).toEqual({ from: '2026-03-14T00:00:00.000Z', to: NOW.toISOString(), days: 7 });
    expect(m.deploymentFrequency.total).toBe(2);
    expect(m.deploymentFrequency.perDay).toBeCloseTo(2 / 7);
    expect(m.deploymentFrequency.daily).toHaveLength(7);
    expect(m.deploymentFrequency.daily.filter((d) => d.count).map((d) => d.date)).toEqual(['2026-03-18', '2026-03-19']);
    expect(m.leadTime.samples.map((s) => [s.version, s.seconds])).toEqual([
      ['1.0.0', 3600],
      ['1.1.0', 7200],
    ]);
    expect(m.leadTime.medianSeconds).toBe(5400);
    expect(m.changeFailureRate).toMatchObject({ changes: 3, failures: 1, rate: 1 / 3 });
    expect(m.changeFailureRate.weekly).toEqual([{ week: '2026-03-16', changes: 3, failures: 1 }]);
    expect(m.timeToRestore.incidents).toEqual([
      expect.objectContaining({ version: '1.2.0', alarm: 'api-prod-5xx', startedAt: '2026-03-20T08:20:00Z', seconds: 360 }),
    ]);
    expect(m.timeToRestore.medianSeconds).toBe(360);
  });

  it('restores a failed rollback at the next success in production, a rollback execution included', () => {
    const deployments = [
      dep('2.0.0', '2026-03-20T06:00:00Z', {
        state: 'ROLLBACK_FAILED',
        deployedAt: '2026-03-20T06:10:00Z',
        finishedAt: '2026-03-20T06:15:00Z',
      }),
      dep('1.9.0', '2026-03-20T06:30:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T07:10:00Z' }, 'rollback'),
      dep('2.1.0', '2026-03-20T09:00:00Z', {
        state: 'FAILED',
        deployedAt: '2026-03-20T09:05:00Z',
        finishedAt: '2026-03-20T09:06:00Z',
      }),
    ];
    const m = computeDora({ service: 'api', production: 'prod', deployments, now: NOW, days: 1 });
    // The rollback execution is a restoration, not a change.
    expect(m.deploymentFrequency.total).toBe(0);
    expect(m.changeFailureRate).toMatchObject({ changes: 2, failures: 2, rate: 1 });
    const [first, second] = m.timeToRestore.incidents;
    expect(first).toMatchObject({ version: '2.0.0', restoredAt: '2026-03-20T07:10:00Z', seconds: 3600 });
    expect(second).toMatchObject({ version: '2.1.0' });
    expect(second?.restoredAt).toBeUndefined(); // production has not run a good version since
    expect(m.timeToRestore.medianSeconds).toBe(3600);
  });

  it('counts only changes that went live as failures, and no rehearsal at all', () => {
    const at = '2026-03-20T00:00:00Z';
    const stage = (s: Partial<StageRecord>) =>
      ({
        deploymentId: 'd',
        service: 'api',
        environment: 'prod',
        order: 1,
        version: '1',
        createdAt: at,
        updatedAt: at,
        ...s,
      }) as StageRecord;
    expect(isFailedChange(stage({ state: 'ROLLED_BACK' }))).toBe(true);
    expect(isFailedChange(stage({ state: 'FAILED' }))).toBe(false); // e.g. a missing tool: nothing changed
    expect(isFailedChange(stage({ state: 'FAILED', deployedAt: at }))).toBe(true);
    expect(isFailedChange(stage({ state: 'REJECTED' }))).toBe(false);
    expect(isFailedChange(stage({ state: 'ROLLED_BACK', rehearsal: { tools: ['helm'], steps: ['deploy'] } }))).toBe(false);
    const m = computeDora({ service: 'api', production: 'prod', deployments: [], now: NOW, days: 30 });
    expect(m.changeFailureRate.rate).toBeUndefined();
    expect(m.leadTime.medianSeconds).toBeUndefined();
    expect(m.deploymentFrequency.daily).toHaveLength(30);
  });

  it('ignores what happened before the window', () => {
    const old = dep('0.9.0', '2026-01-01T00:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-01-01T01:00:00Z' });
    const m = computeDora({ service: 'api', production: 'prod', deployments: [old], now: NOW, days: 30 });
    expect(m.deploymentFrequency.total).toBe(0);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([])).toBeUndefined();
  });
});

describe('DORA metrics: windows, weeks and the edges of each metric', () => {
  const prodOf = (d: DeploymentView) => d.stages.find((s) => s.environment === 'prod') as StageRecord;

  it('the window is whole UTC days up to now: its first millisecond counts, the one before and anything after now do not', () => {
    const deployments = [
      dep('1.0.0', '2026-03-18T20:00:00.000Z', { state: 'SUCCEEDED', finishedAt: '2026-03-18T23:59:59.999Z' }),
      dep('1.0.1', '2026-03-18T20:00:00.000Z', { state: 'SUCCEEDED', finishedAt: '2026-03-19T00:00:00.000Z' }),
      dep('1.0.2', '2026-03-20T10:00:00.000Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T12:00:00.000Z' }),
      dep('1.0.3', '2026-03-20T10:00:00.000Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T12:00:00.001Z' }),
      dep('1.0.4', '2026-03-18T20:00:00.000Z', {
        state: 'ROLLED_BACK',
        deployedAt: '2026-03-18T23:00:00.000Z',
        finishedAt: '2026-03-18T23:30:00.000Z',
      }),
    ];
    const m = computeDora({ service: 'api', production: 'prod', deployments, now: NOW, days: 2 });
    expect(m.window).toEqual({ from: '2026-03-19T00:00:00.000Z', to: '2026-03-20T12:00:00.000Z', days: 2 });
    expect(m.leadTime.samples.map((s) => s.version)).toEqual(['1.0.1', '1.0.2']);
    expect(m.deploymentFrequency).toEqual({
      total: 2,
      perDay: 1,
      perWeek: 7,
      daily: [
        { date: '2026-03-19', count: 1 },
        { date: '2026-03-20', count: 1 },
      ],
    });
    // The failure before the window is not counted either.
    expect(m.changeFailureRate).toEqual({
      changes: 2,
      failures: 0,
      rate: 0,
      weekly: [{ week: '2026-03-16', changes: 2, failures: 0 }],
    });
    expect(m.timeToRestore).toStrictEqual({ incidents: [] });
  });

  it('lead time counts from the earliest announcement of the version in any order, never from a rollback, never below zero', () => {
    const late = dep('3.0.0', '2026-03-20T09:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T10:00:00Z' });
    const early = dep('3.0.0', '2026-03-20T07:00:00Z', { state: 'REJECTED', finishedAt: '2026-03-20T07:30:00Z' });
    // A rollback to 3.1.0 requested before 3.1.0's own push does not announce it.
    const rollback = dep('3.1.0', '2026-03-20T01:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T01:10:00Z' }, 'rollback');
    const pushed = dep('3.1.0', '2026-03-20T10:30:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T11:00:00Z' });
    // The push event's time, not when the deployment record was written.
    const announced = { ...dep('3.2.0', '2026-03-20T11:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T11:30:00Z' }) };
    announced.trigger = { ...announced.trigger, at: '2026-03-20T10:00:00Z' };
    // A clock a little off: success recorded before the push event. Zero, not negative.
    const skewed = dep('3.3.0', '2026-03-20T11:50:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T11:45:00Z' });
    const m = computeDora({
      service: 'api',
      production: 'prod',
      deployments: [late, early, rollback, pushed, announced, skewed],
      now: NOW,
      days: 1,
    });
    expect(m.leadTime.samples).toEqual([
      { deploymentId: late.deploymentId, version: '3.0.0', at: '2026-03-20T10:00:00Z', seconds: 3 * 3600 },
      { deploymentId: pushed.deploymentId, version: '3.1.0', at: '2026-03-20T11:00:00Z', seconds: 1800 },
      { deploymentId: announced.deploymentId, version: '3.2.0', at: '2026-03-20T11:30:00Z', seconds: 5400 },
      { deploymentId: skewed.deploymentId, version: '3.3.0', at: '2026-03-20T11:45:00Z', seconds: 0 },
    ]);
    expect(m.leadTime.medianSeconds).toBe((1800 + 5400) / 2);
  });

  it('lead time of a record without a trigger (older history) counts from its creation', () => {
    const old = dep('4.0.0', '2026-03-20T08:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T09:00:00Z' });
    const { trigger: _none, ...untriggered } = old;
    const m = computeDora({
      service: 'api',
      production: 'prod',
      deployments: [untriggered as DeploymentView],
      now: NOW,
      days: 1,
    });
    expect(m.leadTime.samples[0]?.seconds).toBe(3600);
  });

  it('leaves out deployments that never reached production and rehearsed ones, but counts one whose scan alone was rehearsed', () => {
    const noProd = dep('5.0.0', '2026-03-20T08:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T09:00:00Z' });
    noProd.stages = noProd.stages.filter((s) => s.environment !== 'prod');
    const rehearsed = dep('5.1.0', '2026-03-20T08:00:00Z', {
      state: 'SUCCEEDED',
      finishedAt: '2026-03-20T09:00:00Z',
      rehearsal: { tools: ['helm'], steps: ['Deploy'] },
    });
    const scanOnly = dep('5.2.0', '2026-03-20T08:00:00Z', {
      state: 'SUCCEEDED',
      finishedAt: '2026-03-20T09:00:00Z',
      rehearsal: { tools: ['trivy'], steps: ['scan'] },
    });
    const m = computeDora({ service: 'api', production: 'prod', deployments: [noProd, rehearsed, scanOnly], now: NOW, days: 1 });
    expect(m.leadTime.samples.map((s) => s.version)).toEqual(['5.2.0']);
  });

  it('groups changes by ISO week (Monday first), in week order', () => {
    const deployments = [
      dep('6.2.0', '2026-03-16T00:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-16T00:30:00.000Z' }), // Monday
      dep('6.1.0', '2026-03-15T22:00:00Z', {
        state: 'FAILED',
        deployedAt: '2026-03-15T23:00:00.000Z',
        finishedAt: '2026-03-15T23:59:00.000Z', // Sunday
      }),
      dep('6.0.0', '2026-03-09T00:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-09T01:00:00.000Z' }), // Monday before
      dep('6.3.0', '2026-03-20T00:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T01:00:00.000Z' }), // Friday
    ];
    const m = computeDora({ service: 'api', production: 'prod', deployments, now: NOW, days: 14 });
    expect(m.changeFailureRate.weekly).toEqual([
      { week: '2026-03-09', changes: 2, failures: 1 },
      { week: '2026-03-16', changes: 2, failures: 0 },
    ]);
    expect(m.changeFailureRate).toMatchObject({ changes: 4, failures: 1, rate: 0.25 });
  });

  it('restores at the first success after the failure in time, whatever the input order; an incident names its alarm and reason', () => {
    const failed = dep('7.0.0', '2026-03-20T06:00:00Z', {
      state: 'FAILED',
      reason: 'deploy build failed after the rollout',
      startedAt: '2026-03-20T06:01:00Z',
      deployedAt: '2026-03-20T06:05:00Z',
      finishedAt: '2026-03-20T06:10:00Z',
    });
    const before = dep('6.9.0', '2026-03-20T04:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T05:00:00Z' });
    const second = dep('7.0.2', '2026-03-20T07:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T08:05:00Z' });
    const first = dep('7.0.1', '2026-03-20T06:30:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T07:05:00Z' });
    const m = computeDora({
      service: 'api',
      production: 'prod',
      deployments: [second, failed, before, first],
      now: NOW,
      days: 1,
    });
    expect(m.timeToRestore.incidents).toStrictEqual([
      {
        deploymentId: failed.deploymentId,
        version: '7.0.0',
        state: 'FAILED',
        reason: 'deploy build failed after the rollout',
        startedAt: '2026-03-20T06:05:00Z',
        restoredAt: '2026-03-20T07:05:00Z',
        seconds: 3600,
      },
    ]);
    expect(m.timeToRestore.medianSeconds).toBe(3600);
  });

  it('an incident starts when the version went live: deployed, else started, else created', () => {
    const alarmOnly = dep('8.0.0', '2026-03-20T06:00:00Z', {
      state: 'FAILED',
      alarm: 'api-prod-5xx',
      startedAt: '2026-03-20T06:02:00Z',
      finishedAt: '2026-03-20T06:10:00Z',
    });
    const bare = dep('8.1.0', '2026-03-20T07:00:00Z', { state: 'ROLLBACK_FAILED', finishedAt: '2026-03-20T07:10:00Z' });
    const rolledBack = dep('8.2.0', '2026-03-20T08:00:00Z', {
      state: 'ROLLED_BACK',
      startedAt: '2026-03-20T08:01:00Z',
      finishedAt: '2026-03-20T08:11:00Z',
    });
    const m = computeDora({ service: 'api', production: 'prod', deployments: [alarmOnly, bare, rolledBack], now: NOW, days: 1 });
    const [a, b, c] = m.timeToRestore.incidents;
    expect(a).toMatchObject({ version: '8.0.0', alarm: 'api-prod-5xx', startedAt: '2026-03-20T06:02:00Z' });
    expect(a).not.toHaveProperty('restoredAt');
    expect(a).not.toHaveProperty('seconds');
    expect(b).toMatchObject({ version: '8.1.0', startedAt: prodOf(bare).createdAt });
    expect(b).not.toHaveProperty('alarm');
    expect(b).not.toHaveProperty('reason');
    // A rollback that finished restored production when it finished.
    expect(c).toMatchObject({ version: '8.2.0', restoredAt: '2026-03-20T08:11:00Z', seconds: 600 });
    expect(m.timeToRestore.medianSeconds).toBe(600);
  });

  it('never reports a negative time to restore', () => {
    const odd = dep('9.0.0', '2026-03-20T06:00:00Z', {
      state: 'ROLLED_BACK',
      deployedAt: '2026-03-20T06:20:00Z',
      finishedAt: '2026-03-20T06:10:00Z',
    });
    const m = computeDora({ service: 'api', production: 'prod', deployments: [odd], now: NOW, days: 1 });
    expect(m.timeToRestore.incidents[0]?.seconds).toBe(0);
  });

  it('leaves the medians and the rate out when there is nothing to take them from', () => {
    const open = dep('9.1.0', '2026-03-20T06:00:00Z', {
      state: 'FAILED',
      deployedAt: '2026-03-20T06:05:00Z',
      finishedAt: '2026-03-20T06:10:00Z',
    });
    const m = computeDora({ service: 'api', production: 'prod', deployments: [open], now: NOW, days: 1 });
    expect(m.timeToRestore).not.toHaveProperty('medianSeconds');
    expect(m.leadTime).not.toHaveProperty('medianSeconds');
    const none = computeDora({ service: 'api', production: 'prod', deployments: [], now: NOW, days: 1 });
    expect(none.changeFailureRate).not.toHaveProperty('rate');
    expect(none.service).toBe('api');
    expect(none.environment).toBe('prod');
  });

  it('a failed change is one that went live: rolled back, rollback failed, or failed after deploying or on an alarm', () => {
    const at = '2026-03-20T00:00:00Z';
    const stage = (s: Partial<StageRecord>) =>
      ({
        deploymentId: 'd',
        service: 'api',
        environment: 'prod',
        order: 1,
        version: '1',
        createdAt: at,
        updatedAt: at,
        ...s,
      }) as StageRecord;
    expect(isFailedChange(stage({ state: 'ROLLBACK_FAILED' }))).toBe(true);
    expect(isFailedChange(stage({ state: 'FAILED', alarm: 'api-5xx' }))).toBe(true);
    expect(isFailedChange(stage({ state: 'SUCCEEDED', deployedAt: at }))).toBe(false);
    expect(isFailedChange(stage({ state: 'INTERRUPTED', deployedAt: at }))).toBe(false);
    expect(isFailedChange(stage({ state: 'FAILED', deployedAt: at, rehearsal: { tools: ['trivy'], steps: ['scan'] } }))).toBe(
      true,
    );
  });

  it('the median sorts numbers as numbers', () => {
    expect(median([10, 9, 1])).toBe(9);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
});

describe('DORA metrics: when a stage ended', () => {
  it('a stage ended when it finished, not when its record was last touched; without a finish, at its last update', () => {
    const touched = dep('10.0.0', '2026-03-19T08:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-19T09:00:00Z' });
    (touched.stages[1] as StageRecord).updatedAt = '2026-03-20T09:00:00Z';
    const unfinished = dep('10.1.0', '2026-03-20T08:00:00Z', { state: 'SUCCEEDED' });
    (unfinished.stages[1] as StageRecord).updatedAt = '2026-03-20T08:30:00Z';
    const m = computeDora({ service: 'api', production: 'prod', deployments: [touched, unfinished], now: NOW, days: 2 });
    expect(m.leadTime.samples.map((s) => [s.version, s.at])).toEqual([
      ['10.0.0', '2026-03-19T09:00:00Z'],
      ['10.1.0', '2026-03-20T08:30:00Z'],
    ]);
  });

  it('a success that ended at the same moment as the failure does not restore it: the next one does', () => {
    const failed = dep('11.0.0', '2026-03-20T06:00:00Z', {
      state: 'FAILED',
      deployedAt: '2026-03-20T06:05:00Z',
      finishedAt: '2026-03-20T06:10:00Z',
    });
    const same = dep('11.0.1', '2026-03-20T06:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T06:10:00Z' });
    const next = dep('11.0.2', '2026-03-20T06:30:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-20T07:05:00Z' });
    const m = computeDora({ service: 'api', production: 'prod', deployments: [same, failed, next], now: NOW, days: 1 });
    expect(m.timeToRestore.incidents[0]).toMatchObject({ version: '11.0.0', restoredAt: '2026-03-20T07:05:00Z' });
  });
});

describe('DORA metrics: weekly change failure rate', () => {
  it('lists the weeks in order, even when a failure opens an earlier week than every success', () => {
    const failed = dep('12.0.0', '2026-03-10T06:00:00Z', {
      state: 'ROLLED_BACK',
      deployedAt: '2026-03-10T06:05:00Z',
      finishedAt: '2026-03-10T06:10:00Z',
    });
    const ok = dep('12.0.1', '2026-03-17T06:00:00Z', { state: 'SUCCEEDED', finishedAt: '2026-03-17T07:00:00Z' });
    const m = computeDora({ service: 'api', production: 'prod', deployments: [ok, failed], now: NOW, days: 14 });
    expect(m.changeFailureRate.weekly).toEqual([
      { week: '2026-03-09', changes: 1, failures: 1 },
      { week: '2026-03-16', changes: 1, failures: 0 },
    ]);
  });
});
