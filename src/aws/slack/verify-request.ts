/**
 * Slack request signatures, as slackapi/bolt-js verify-request does it: only `v0`, HMAC-SHA256
 * of `v0:<timestamp>:<raw body>` with the signing secret, compared in constant time, and
 * requests older than five minutes refused (the clock is injected for tests). One addition:
 * timestamps more than five minutes ahead are refused too, so that the replay memory (which
 * keeps signatures for the acceptance window) covers every request it could accept.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_REQUEST_AGE_SECONDS = 5 * 60;

export type VerifyResult = { ok: true; timestamp: number; signature: string } | { ok: false; reason: string };

export interface SlackRequest {
  /** X-Slack-Signature: "v0=<hex>". */
  signature: string | undefined;
  /** X-Slack-Request-Timestamp: epoch seconds. */
  timestamp: string | undefined;
  /** The body exactly as received, before any parsing. */
  rawBody: string;
}

export function verifySlackRequest(signingSecret: string, req: SlackRequest, nowMs: number): VerifyResult {
  // An empty key would make any HMAC an attacker computes with "" valid: never verify with it.
  if (!signingSecret) return { ok: false, reason: 'no signing secret configured' };
  if (!req.timestamp || !/^\d{1,12}$/.test(req.timestamp)) return { ok: false, reason: 'missing or malformed timestamp' };
  const timestamp = Number(req.timestamp);
  const nowSeconds = Math.floor(nowMs / 1000);
  if (timestamp < nowSeconds - MAX_REQUEST_AGE_SECONDS) return { ok: false, reason: 'stale timestamp' };
  if (timestamp > nowSeconds + MAX_REQUEST_AGE_SECONDS) return { ok: false, reason: 'timestamp in the future' };
  const [version, hash] = (req.signature ?? '').split('=', 2);
  if (version !== 'v0' || !hash || !/^[0-9a-f]{64}$/.test(hash)) return { ok: false, reason: 'missing or unknown signature' };
  const expected = createHmac('sha256', signingSecret).update(`v0:${req.timestamp}:${req.rawBody}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(hash, 'hex'))) return { ok: false, reason: 'signature mismatch' };
  return { ok: true, timestamp, signature: hash };
}
