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
