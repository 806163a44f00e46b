/**
 * The one rule for closing a stage that nothing will finish. Three places need it: the
 * execution reported its end without finishing its bookkeeping (execution-ended.ts), the local
 * runtime restarted with executions running (local/runtime.ts), and history imported with
 * stages in flight (history-transfer.ts). All three use closeUnfinishedStage, so a stage ends
 * the same way whichever noticed it:
 *
 *   PENDING          -> SKIPPED          never started; "not reached: <why>"
 *   ROLLING_BACK     -> ROLLBACK_FAILED  a rollback cut short leaves the environment half rolled
 *                                        back: an operator must look, whatever cut it short
 *   other in flight  -> FAILED           the execution reported its end (failed, aborted, timed
 *                                        out): the stage failed with it
 *                    -> INTERRUPTED      nothing knows how it ended (the runtime running it
 *                                        stopped, or the record was imported)
 *   terminal         -> unchanged (undefined)
 *
 * finishedAt is the caller's clock (or the export time), never the machine's.
 */
import { type StageState, TERMINAL_STATES } from '../model/deployment.ts';

export type StageEnd =
  /** The execution reported its end (failed, aborted, timed out); `why` says how. */
  | { kind: 'execution-ended'; why: string }
  /** Nothing knows how it ended: the runtime running it stopped, or it was imported. */
  | { kind: 'interrupted'; why: string };

export interface StageClosing {
  state: Extract<StageState, 'SKIPPED' | 'ROLLBACK_FAILED' | 'FAILED' | 'INTERRUPTED'>;
  reason: string;
  /** Absent for SKIPPED: a stage that never started never finished either. */
  finishedAt?: string;
}

/** How a stage left in `state` is closed (undefined: it is already terminal). */
export function closeUnfinishedStage(state: StageState, end: StageEnd, at: Date): StageClosing | undefined {
  if (TERMINAL_STATES.has(state)) return undefined;
  if (state === 'PENDING') return { state: 'SKIPPED', reason: `not reached: ${end.why}` };
  const reason = `${end.why} during ${state}`;
  const finishedAt = at.toISOString();
  if (state === 'ROLLING_BACK') return { state: 'ROLLBACK_FAILED', reason, finishedAt };
  return { state: end.kind === 'execution-ended' ? 'FAILED' : 'INTERRUPTED', reason, finishedAt };
}
