/**
 * What every public webhook route does before it trusts a byte (functions/commons/webhook.ts), each
 * middleware on its own: content type and size, the Docker Hub path token, the kept answers per delivery
 * id (on the real Store adapter over dynalite), and the 202's reason. The routes end to end are
 * test/unit/webhook-handlers.test.ts and the fuzz tests; each case here answers a mutant that lived there
 * (reports/mutation/summary.md).
 *
 * The rules are the platforms': GitHub and Docker Hub deliver JSON (GitHub docs, "Webhook events and
 * payloads": content type application/json; Docker Hub docs, "Webhooks": a JSON POST), API Gateway v2
 * hands a body that is not text as base64 with isBase64Encoded (AWS API Gateway developer guide, "Working
 * with AWS Lambda proxy integrations for HTTP APIs", payload format 2.0).
 */
import type middy from '@middy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpEvent, HttpResult } from '../../functions/commons/http.ts';
import { HttpError, json } from '../../functions/commons/http.ts';
import type { Ports } from '../../functions/commons/ports.ts';
import {
  answerFor,
  DELIVERY_TTL_SECONDS,
  DeliveryAnswers,
  header,
  jsonBodyGuard,
  pathToken,
} from '../../functions/commons/webhook.ts';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { InvalidInputError } from '../../src/core/model/errors.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { dynaliteStore } from '../support/stores.ts';

const event = (over: Partial<HttpEvent>): HttpEvent => ({ headers: {}, ...over }) as HttpEvent;
const request = (e: HttpEvent) => ({ event: e }) as middy.Request<HttpEvent, HttpResult>;
const runBefore = (m: middy.MiddlewareObj<HttpEvent, HttpResult>, e: HttpEvent) =>
  (m.before as (r: middy.Request<HttpEvent, HttpResult>) => unknown)(request(e)) as Promise<HttpResult | undefined>;
const errorOf = (r: HttpResult | undefined) => JSON.parse(r?.body ?? '{}').error as string;

describe('Webhook commons: content type and size', () => {
  it('reads a header by its lowercased name, and survives an event without headers', () => {
    expect(header(event({ headers: { 'x-a': '1' } }), 'x-a')).toBe('1');
    expect(header({} as HttpEvent, 'x-a')).toBeUndefined();
  });

  it('accepts application/json with parameters and in any case; names what it got otherwise', async () => {
    const guard = jsonBodyGuard(10);
    expect(
      await runBefore(guard, event({ headers: { 'content-type': ' Application/JSON ; charset=utf-8' }, body: '{}' })),
    ).toBeUndefined();
    const form = await runBefore(guard, event({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }));
    expect(form?.statusCode).toBe(415);
    expect(errorOf(form)).toBe(
      'expected content-type application/json, got "application/x-www-form-urlencoded" (set the webhook\'s content type to application/json)',
    );
    const none = await runBefore(guard, event({ body: '{}' }));
    expect(errorOf(none)).toBe(
      "expected content-type application/json, got none (set the webhook's content type to application/json)",
    );
  });

  it('counts the bytes of the body as delivered (UTF-8, or decoded base64), up to the limit inclusive', async () => {
    const guard = jsonBodyGuard(4);
    const headers = { 'content-type': 'application/json' };
    expect(await runBefore(guard, event({ headers, body: '"ab"' }))).toBeUndefined();
    const over = await runBefore(guard, event({ headers, body: '"é"x' }));
    expect(over?.statusCode).toBe(413);
    expect(errorOf(over)).toBe('body of 5 bytes is over the limit of 4 bytes');
    // The decoded size counts, not the base64 text: 'MTIzNDU2' (8 characters) is 6 bytes, over; 'MTIzNA==' is 4, at the limit.
    expect(
      (await runBefore(guard, event({ headers, body: Buffer.from('123456').toString('base64'), isBase64Encoded: true })))
        ?.statusCode,
    ).toBe(413);
    expect(
      await runBefore(guard, event({ headers, body: Buffer.from('1234').toString('base64'), isBase64Encoded: true })),
    ).toBeUndefined();
    expect(await runBefore(guard, event({ headers }))).toBeUndefined();
  });
});

describe('Webhook commons: the Docker Hub path token', () => {
  const ports = (dockerhubToken?: string) => async () => ({ secrets: dockerhubToken ? { dockerhubToken } : {} }) as Ports;

  it('accepts the token from the "token" path parameter, refuses a wrong or missing one', async () => {
    expect(await runBefore(pathToken(ports('s3cret')), event({ pathParameters: { token: 's3cret' } }))).toBeUndefined();
    const wrong = await runBefore(pathToken(ports('s3cret')), event({ pathParameters: { token: 's3creT' } }));
    expect(wrong?.statusCode).toBe(401);
    expect(errorOf(wrong)).toBe('invalid signature');
    expect((await runBefore(pathToken(ports('s3cret')), event({ pathParameters: { other: 's3cret' } })))?.statusCode).toBe(401);
    expect((await runBefore(pathToken(ports('s3cret')), event({})))?.statusCode).toBe(401);
    expect(await runBefore(pathToken(ports('s3cret'), 'key'), event({ pathParameters: { key: 's3cret' } }))).toBeUndefined();
  });

  it('answers 503 when no token is configured', async () => {
    const r = await runBefore(pathToken(ports()), event({ pathParameters: { token: '' } }));
    expect(r?.statusCode).toBe(503);
    expect(errorOf(r)).toBe('webhook secret not configured');
  });
});

describe('Webhook commons: answers kept per delivery id (dynalite)', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()), 60_000);
  afterAll(() => dynamo?.stop());
  const NOW = new Date('2026-03-01T10:00:00.900Z');
  let ids = 0;
  const id = () => `delivery-${++ids}`;

  it('computes once, keeps the answer with its expiry, and replays it marked', async () => {
    const answers = new DeliveryAnswers();
    const deps = { store, clock: { now: () => NOW } };
    const d = id();
    let computed = 0;
    const compute = async () => {
      computed++;
      return json(202, { started: 1 });
    };
    const first = await answers.once(deps, d, compute);
    expect(first).toEqual(json(202, { started: 1 }));
    expect(await store.getDelivery(d)).toMatchObject({
      statusCode: 202,
      body: { started: 1 },
      receivedAt: NOW.toISOString(),
      expiresAt: Math.floor(NOW.getTime() / 1000) + DELIVERY_TTL_SECONDS,
    });
    const again = await answers.once(deps, d, compute);
    expect(again.headers?.['x-coconut-delivery']).toBe('replayed');
    expect(JSON.parse(again.body ?? '')).toEqual({ started: 1 });
    // Another process (no cache) reads the stored answer.
    const other = await new DeliveryAnswers().once(deps, d, compute);
    expect(other.headers?.['x-coconut-delivery']).toBe('replayed');
    expect(computed).toBe(1);
  });

  it('serves hot redeliveries from its cache without the store, forgetting the oldest past its size', async () => {
    let reads = 0;
    const counting = Object.assign(Object.create(store), {
      getDelivery: (deliveryId: string) => {
        reads++;
        return store.getDelivery(deliveryId);
      },
    });
    const deps = { store: counting, clock: { now: () => NOW } };
    const answers = new DeliveryAnswers(2);
    const [a, b, c] = [id(), id(), id()];
    for (const d of [a, b]) await answers.once(deps, d, async () => json(202, { d }));
    expect(reads).toBe(2);
    await answers.once(deps, a, async () => json(500, {}));
    await answers.once(deps, b, async () => json(500, {}));
    expect(reads).toBe(2);
    await answers.once(deps, c, async () => json(202, { d: c }));
    // a was the oldest: out of the cache, read from the store again; b and c stay cached.
    expect(reads).toBe(3);
    const replay = await answers.once(deps, a, async () => json(500, {}));
    expect(JSON.parse(replay.body ?? '')).toEqual({ d: a });
    expect(reads).toBe(4);
    await answers.once(deps, c, async () => json(500, {}));
    expect(reads).toBe(4);
    // The default size keeps more than two.
    const big = new DeliveryAnswers();
    const ds = [id(), id(), id()];
    for (const d of ds) await big.once(deps, d, async () => json(202, {}));
    const readsBefore = reads;
    for (const d of ds) await big.once(deps, d, async () => json(500, {}));
    expect(reads).toBe(readsBefore);
  });

  it('keeps client errors as answers; throws server errors and keeps nothing, so a redelivery can succeed', async () => {
    const answers = new DeliveryAnswers();
    const deps = { store, clock: { now: () => NOW } };
    const bad = id();
    const refused = await answers.once(deps, bad, async () => {
      throw new InvalidInputError('tag is not valid');
    });
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body ?? '')).toEqual({ error: 'tag is not valid' });
    expect((await store.getDelivery(bad))?.statusCode).toBe(400);

    const flaky = id();
    await expect(
      answers.once(deps, flaky, async () => {
        throw new HttpError(500, 'store down');
      }),
    ).rejects.toThrow('store down');
    await expect(
      answers.once(deps, flaky, async () => {
        throw new HttpError(503, 'later');
      }),
    ).rejects.toThrow('later');
    expect(await store.getDelivery(flaky)).toBeUndefined();
    const tooMany = await answers.once(deps, id(), async () => {
      throw new HttpError(499, 'client closed');
    });
    expect(tooMany.statusCode).toBe(499);
    expect((await answers.once(deps, flaky, async () => json(202, { ok: true }))).statusCode).toBe(202);
  });
});

describe('Webhook commons: the 202 answer', () => {
  it('gives no reason when something started', () => {
    for (const status of ['started', 'release-started']) {
      const r = answerFor(
        { event: 'push' },
        {
          outcomes: [
            { status, service: 'api' },
            { status: 'skipped', reason: 'no' },
          ],
        },
      );
      expect(r.statusCode).toBe(202);
      expect(JSON.parse(r.body ?? '')).toEqual({
        event: 'push',
        outcomes: [
          { status, service: 'api' },
          { status: 'skipped', reason: 'no' },
        ],
      });
    }
  });

  it('says why nothing started: the outcomes own reasons, duplicates, or nothing to do', () => {
    const body = (result: Parameters<typeof answerFor>[1]) => JSON.parse(answerFor({}, result).body ?? '');
    expect(
      body({
        outcomes: [
          { status: 'duplicate', service: 'api', deploymentId: 'dep-1' },
          { status: 'release-duplicate', service: 'web', releaseId: 'rel-1' },
          { status: 'skipped', service: 'job', reason: 'tag does not match' },
          { status: 'other', service: 'x' },
        ],
      }).reason,
    ).toBe(
      'api dep-1 already exists: nothing new started; web release rel-1 already exists: nothing new built; tag does not match',
    );
    expect(body({ outcomes: [] }).reason).toBe('nothing to do');
    expect(body({ outcomes: [{ status: 'other' }] }).reason).toBe('nothing to do');
    expect(body({ outcomes: [{ status: 'started' }], ignored: 'not a tag' }).reason).toBe('not a tag');
  });
});
