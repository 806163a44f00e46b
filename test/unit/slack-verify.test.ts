/**
 * Slack request signatures (bolt-js verify-request semantics): v0 HMAC-SHA256 over
 * `v0:<timestamp>:<raw body>`, five-minute window, constant-time comparison.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifySlackRequest } from '../../src/aws/slack/verify-request.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW_MS = Date.parse('2026-03-01T12:00:00Z');
const NOW_S = NOW_MS / 1000;

// Computed here independently of the code under test.
const sign = (secret: string, ts: number | string, body: string) =>
  `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;

const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', actions: [{ value: 'apr-0123456789' }] }))}`;

describe('Function: verifySlackRequest', () => {
  it('accepts a request signed with the secret within five minutes', () => {
    const result = verifySlackRequest(
      SECRET,
      { signature: sign(SECRET, NOW_S - 299, body), timestamp: String(NOW_S - 299), rawBody: body },
      NOW_MS,
    );
    expect(result).toMatchObject({ ok: true, timestamp: NOW_S - 299 });
  });

  it('refuses a tampered body, another secret, and a signature for another timestamp', () => {
    const good = { signature: sign(SECRET, NOW_S, body), timestamp: String(NOW_S), rawBody: body };
    expect(verifySlackRequest(SECRET, { ...good, rawBody: body.replace('apr-0123456789', 'apr-9999999999') }, NOW_MS)).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
    expect(verifySlackRequest(SECRET, { ...good, signature: sign('another-secret', NOW_S, body) }, NOW_MS)).toMatchObject({
      ok: false,
    });
    expect(verifySlackRequest(SECRET, { ...good, timestamp: String(NOW_S - 1) }, NOW_MS)).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
  });

  it('refuses a stale timestamp even with a valid signature (replay after five minutes)', () => {
    const ts = NOW_S - 301;
    expect(
      verifySlackRequest(SECRET, { signature: sign(SECRET, ts, body), timestamp: String(ts), rawBody: body }, NOW_MS),
    ).toEqual({
      ok: false,
      reason: 'stale timestamp',
    });
  });

  it('refuses a timestamp more than five minutes ahead', () => {
    const ts = NOW_S + 301;
    expect(
      verifySlackRequest(SECRET, { signature: sign(SECRET, ts, body), timestamp: String(ts), rawBody: body }, NOW_MS),
    ).toEqual({
      ok: false,
      reason: 'timestamp in the future',
    });
  });

  it('refuses missing or malformed headers and other signature versions', () => {
    const ts = String(NOW_S);
    for (const req of [
      { signature: undefined, timestamp: ts, rawBody: body },
      { signature: sign(SECRET, ts, body), timestamp: undefined, rawBody: body },
      { signature: sign(SECRET, ts, body), timestamp: 'yesterday', rawBody: body },
      { signature: sign(SECRET, ts, body).replace('v0=', 'v1='), timestamp: ts, rawBody: body },
      { signature: 'v0=abc', timestamp: ts, rawBody: body },
      { signature: `${sign(SECRET, ts, body)}00`, timestamp: ts, rawBody: body },
    ]) {
      expect(verifySlackRequest(SECRET, req, NOW_MS).ok).toBe(false);
    }
  });

  it('refuses any change to a signed body (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 3 }),
        (raw, at, insert) => {
          const i = at % (raw.length + 1);
          const changed = raw.slice(0, i) + insert + raw.slice(i);
          fc.pre(changed !== raw);
          const signature = sign(SECRET, NOW_S, raw);
          expect(verifySlackRequest(SECRET, { signature, timestamp: String(NOW_S), rawBody: raw }, NOW_MS).ok).toBe(true);
          expect(verifySlackRequest(SECRET, { signature, timestamp: String(NOW_S), rawBody: changed }, NOW_MS).ok).toBe(false);
        },
      ),
    );
  });
});
