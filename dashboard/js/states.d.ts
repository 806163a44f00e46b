// Types of states.js for the tests (the dashboard itself is plain JavaScript).
export type Tone = 'good' | 'bad' | 'busy' | 'wait' | 'idle';
export const STATE_TONE: Record<string, Tone>;
export const STAGE_STATES: string[];
export function hasEnded(state: string): boolean;
export function endedBadly(state: string): boolean;
