import { describe, expect, it } from 'vitest';
import { claimsOf, codeChallenge } from '../../dashboard/js/auth.js';
import { niceMax } from '../../dashboard/js/charts.js';
import { endedBadly, hasEnded, STAGE_STATES as SHOWN_STATES, STATE_TONE } from '../../dashboard/js/states.js';
import { STAGE_STATES, TERMINAL_STATES } from '../../src/core/model/deployment.ts';

describe('Dashboard modules (no DOM needed)', () => {
  it('computes the PKCE S256 challenge of RFC 7636 appendix B', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('reads the claims of a JWT for the user name and expiry', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'u1', email: 'zoë@example.com', exp: 123 })).toString('base64url');
    expect(claimsOf(`e30.${payload}.sig`)).toEqual({ sub: 'u1', email: 'zoë@example.com', exp: 123 });
  });

  it('rounds chart axes to 1, 2 or 5 times a power of ten', () => {
    expect([0, 0.3, 1, 3, 7, 12, 480].map(niceMax)).toEqual([1, 0.5, 1, 5, 10, 20, 500]);
  });

  it('knows every stage state of core, no other, and which have ended, from one list (dashboard/js/states.js)', () => {
    expect([...SHOWN_STATES].sort()).toEqual([...STAGE_STATES].sort());
    for (const state of STAGE_STATES) {
      expect(hasEnded(state), state).toBe(TERMINAL_STATES.has(state));
      // Red only for what ended without the release in place; never for what is still going.
      if (endedBadly(state)) expect(TERMINAL_STATES.has(state) && state !== 'SUCCEEDED' && state !== 'SKIPPED', state).toBe(true);
    }
    expect(Object.values(STATE_TONE).every((tone) => ['good', 'bad', 'busy', 'wait', 'idle'].includes(tone))).toBe(true);
  });
});
