import { describe, expect, it } from 'vitest';
// @ts-expect-error the dashboard's plain ES module has no type declarations
import { stepText } from '../../dashboard/js/dom.js';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import { stepStatus } from '../../src/core/read-models/step-status.ts';

const rollout = { strategy: 'canary' as const, step: 1, of: 3, percent: 10, previousPercent: 0 };
const at = (state: StageRecord['state'], extra: Partial<StageRecord> = {}) => ({
  state,
  rollout,
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});

describe('stepStatus: a rollout step in words', () => {
  it('counts down the bake of the current step', () => {
    const now = new Date('2026-01-01T00:00:18.000Z');
    expect(stepStatus(at('BAKING', { bakeEndsAt: '2026-01-01T00:01:30.000Z' }), now)).toBe('canary 10% — baking, 1m12s left');
    // The bake end of an earlier step (older than the stage's last write) is not this step's.
    expect(stepStatus(at('BAKING', { bakeEndsAt: '2025-12-31T23:59:00.000Z' }), now)).toBe('canary 10% — baking');
  });

  it('says where a rollout failed, and nothing for an environment deployed all at once', () => {
    expect(stepStatus(at('ROLLED_BACK', { rollout: { ...rollout, step: 2, percent: 50 } }))).toBe('failed at 50%');
    expect(stepStatus(at('ROLLING_BACK'))).toBe('failed at 10% — rolling back');
    expect(stepStatus(at('AWAITING_APPROVAL'))).toBe('canary 10% — waiting for approval');
    expect(stepStatus({ state: 'BAKING', updatedAt: '2026-01-01T00:00:00.000Z' })).toBeUndefined();
  });

  it('reads the same in the dashboard as in the CLI', () => {
    const now = new Date('2026-01-01T00:00:18.000Z');
    const stages = [
      at('BAKING', { bakeEndsAt: '2026-01-01T00:01:30.000Z' }),
      at('BAKING', { bakeEndsAt: '2026-01-01T00:00:40.000Z' }),
      at('BAKING'),
      at('DEPLOYING'),
      at('AWAITING_APPROVAL'),
      at('SUCCEEDED', { rollout: { ...rollout, step: 3, percent: 100 } }),
      at('ROLLING_BACK'),
      at('ROLLED_BACK'),
      { state: 'SUCCEEDED' as const, updatedAt: '2026-01-01T00:00:00.000Z' },
    ];
    for (const stage of stages) expect(stepText(stage, now.getTime())).toBe(stepStatus(stage, now) ?? null);
  });
});
