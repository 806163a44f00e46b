/**
 * What POST /slack/interactions checks before it trusts a byte (functions/commons/slack-signature.ts), run
 * by middy (@middy/core) as the handler runs it. The signature is Slack's own scheme, computed here
 * independently: `v0=` + HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>` with the signing
 * secret (https://api.slack.com/authentication/verifying-requests-from-slack). The replay memory is the
 * store's rememberOnce, on a DynamoDB store (dynalite).
 */
import { createHmac } from 'node:crypto';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpEvent, HttpResult } from '../../functions/commons/http.ts';
import { emptyAnswer, slackSignature, textAnswer } from '../../functions/commons/slack-signature.ts';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { MAX_REQUEST_AGE_SECONDS } from '../../src/aws/slack/verify-request.ts';
import type { Ports } from '../../src/core/handler-ports.ts';
import type { Store } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
beforeAll(async () => ({ store, dynamo } = await dynaliteStore()), 60_000);
afterAll(() => dynamo?.stop());

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
// Now: the store forgets a remembered request once its expiry has passed by the real clock.
const NOW_S = Math.floor(Date.now() / 1000);
const sign = (ts: number, body: string, secret = SECRET) =>
  `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
let clicks = 0;
const body = () => `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', n: ++clicks }))}`;

function setup(opts: { slack?: boolean; store?: Store } = {}) {
  const log = memoryLog();
  const ports = async () =>
    ({
      log,
      clock: { now: () => new Date(NOW_S * 1000) },
      store: opts.store ?? store,
      ...(opts.slack === false ? {} : { slack: { signingSecret: SECRET } }),
    }) as unknown as Ports;
  const handler = middy<HttpEvent, HttpResult>()
    .use(slackSignature(ports))
    .handler(async () => textAnswer(200, 'decided'));
  const call = (headers: Record<string, string> | undefined, raw: string, base64 = false) =>
    handler(
      { headers, body: base64 ? Buffer.from(raw).toString('base64') : raw, isBase64Encoded: base64 } as unknown as HttpEvent,
      {} as Context,
    );
  return { log, call };
}
const signed = (raw: string, ts = NOW_S) => ({ 'x-slack-signature': sign(ts, raw), 'x-slack-request-timestamp': String(ts) });

describe('slackSignature', () => {
  it('lets a request Slack signed through, once; the same signed request again is a bare 401', async () => {
    const { call, log } = setup();
    const raw = body();
    expect(await call(signed(raw), raw)).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'decided',
    });
    expect(log.lines).toEqual([]);
    expect(await call(signed(raw), raw)).toEqual({ statusCode: 401, body: '' });
    expect(log.lines).toEqual([
      { level: 'WARN', message: 'refused a replayed Slack interaction (same signed request seen before)' },
    ]);
  });

  it('checks the signature over the body as Slack sent it, also when API Gateway base64-encoded it', async () => {
    const { call } = setup();
    const raw = body();
    expect((await call(signed(raw), raw, true)).statusCode).toBe(200);
  });

  it('remembers a signature for twice the acceptance window after its timestamp', async () => {
    const remembered: [string, number][] = [];
    const spy = Object.assign(Object.create(store) as Store, {
      rememberOnce: async (key: string, until: number) => {
        remembered.push([key, until]);
        return true;
      },
    });
    const { call } = setup({ store: spy });
    const raw = body();
    const ts = NOW_S - 10;
    await call(signed(raw, ts), raw);
    expect(remembered).toEqual([[`slack#${sign(ts, raw).slice('v0='.length)}`, ts + 2 * MAX_REQUEST_AGE_SECONDS]]);
  });

  it('refuses a wrong or missing signature with a bare 401, logging why', async () => {
    const { call, log } = setup();
    const raw = body();
    expect(await call({ ...signed(raw), 'x-slack-signature': sign(NOW_S, raw, 'another-secret') }, raw)).toEqual(
      emptyAnswer(401),
    );
    expect(await call({}, raw)).toEqual({ statusCode: 401, body: '' });
    expect(log.lines.map((l) => l.level)).toEqual(['WARN', 'WARN']);
    expect(log.lines[0]?.message).toBe('refused a Slack interaction: signature mismatch');
    expect(log.lines[1]?.message).toMatch(/^refused a Slack interaction: missing or malformed timestamp/);
    // An event without any headers is refused the same way.
    expect(await call(undefined, raw)).toEqual(emptyAnswer(401));
  });

  it('answers 503 naming the two secrets when Slack is not configured here', async () => {
    const { call } = setup({ slack: false });
    const raw = body();
    expect(await call(signed(raw), raw)).toEqual(
      textAnswer(503, 'Slack is not configured here: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET'),
    );
  });
});
