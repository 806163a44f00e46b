// The stage states, once for the whole dashboard: the states of src/core/model/deployment.ts
// (STAGE_STATES, and which ones have ended: TERMINAL_STATES) with the tone each is shown in.
// test/unit/dashboard-modules.test.ts checks them against core, so a new state cannot be missed.

/** Each state and its tone, in the order the history filter lists them. */
export const STATE_TONE = {
  SUCCEEDED: 'good',
  ROLLED_BACK: 'bad',
  ROLLBACK_FAILED: 'bad',
  FAILED: 'bad',
  REJECTED: 'bad',
  AWAITING_APPROVAL: 'wait',
  DEPLOYING: 'busy',
  BAKING: 'busy',
  ROLLING_BACK: 'busy',
  PENDING: 'idle',
  SKIPPED: 'idle',
  INTERRUPTED: 'bad',
};

export const STAGE_STATES = Object.keys(STATE_TONE);

/** States nothing moves out of (core's TERMINAL_STATES). */
const ENDED = new Set(['SUCCEEDED', 'REJECTED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'FAILED', 'INTERRUPTED', 'SKIPPED']);

export function hasEnded(state) {
  return ENDED.has(state);
}

/** Ended without the release in place (shown in red). */
export function endedBadly(state) {
  return STATE_TONE[state] === 'bad';
}
