import { describe, expect, it } from 'vitest';
import { STAGE_STATES, TERMINAL_STATES } from '../../src/core/model/deployment.ts';
import { closeUnfinishedStage, type StageEnd } from '../../src/core/pipeline/unfinished-stage.ts';

const AT = new Date('2026-03-01T10:00:00.000Z');
const ended: StageEnd = { kind: 'execution-ended', why: 'execution aborted' };
const stopped: StageEnd = { kind: 'interrupted', why: 'the local runtime stopped' };

describe('closeUnfinishedStage: one rule for a stage nothing will finish', () => {
  it('leaves every terminal state as it is', () => {
    for (const state of TERMINAL_STATES) {
      expect(closeUnfinishedStage(state, ended, AT)).toBeUndefined();
      expect(closeUnfinishedStage(state, stopped, AT)).toBeUndefined();
    }
  });

  it('PENDING was never reached: SKIPPED, with no finishedAt', () => {
    for (const end of [ended, stopped]) {
      expect(closeUnfinishedStage('PENDING', end, AT)).toEqual({ state: 'SKIPPED', reason: `not reached: ${end.why}` });
    }
  });

  it('a rollback cut short is ROLLBACK_FAILED whatever cut it short (the environment needs a look)', () => {
    for (const end of [ended, stopped]) {
      expect(closeUnfinishedStage('ROLLING_BACK', end, AT)).toEqual({
        state: 'ROLLBACK_FAILED',
        reason: `${end.why} during ROLLING_BACK`,
        finishedAt: AT.toISOString(),
      });
    }
  });

  it('other in-flight stages: FAILED when the execution reported its end, INTERRUPTED when nothing knows how it ended', () => {
    for (const state of ['AWAITING_APPROVAL', 'DEPLOYING', 'BAKING'] as const) {
      expect(closeUnfinishedStage(state, ended, AT)).toEqual({
        state: 'FAILED',
        reason: `execution aborted during ${state}`,
        finishedAt: AT.toISOString(),
      });
      expect(closeUnfinishedStage(state, stopped, AT)).toEqual({
        state: 'INTERRUPTED',
        reason: `the local runtime stopped during ${state}`,
        finishedAt: AT.toISOString(),
      });
    }
  });

  it('covers every state of the model, and each closing is a move the store allows', async () => {
    const { allowedPredecessors } = await import('../../src/core/model/deployment.ts');
    for (const state of STAGE_STATES) {
      for (const end of [ended, stopped]) {
        const closing = closeUnfinishedStage(state, end, AT);
        if (closing) expect(allowedPredecessors(closing.state)).toContain(state);
      }
    }
  });
});
