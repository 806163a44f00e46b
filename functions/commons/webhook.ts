/**
 * What every public webhook route does before it trusts a byte, in this order: content type
 * (415), body size (413), authenticity (503 without a secret, 401 on a bad signature or token),
 * all on the raw body and before any JSON parsing. Rejections answer at once (middy early
 * response) with a bare message: nothing about what was expected of the signature leaks.
 * Then, for deliveries that carry an id, the answer is kept so that a redelivery gets the same
 * answer and starts nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { verify } from '@octokit/webhooks-methods';
import { InvalidInputError } from '../../src/core/model/errors.ts';
import type { Clock, WebhookDeliveries } from '../../src/core/ports.ts';
import { type HttpEvent, type HttpResult, json, jsonErrors, rawBody, statusOf } from './http.ts';
import { logErrors } from './middleware.ts';
import type { PortsProvider, WebhookSecrets } from './ports.ts';

/**
 * The middleware stack of every public webhook route, in the order above: failures logged with
 * the request id, header names lower-cased, errors answered as JSON, then content type and size
 * (jsonBodyGuard), then authenticity (`verify`: githubSignature or pathToken). The handler added
 * to it sees only a bounded, verified body.
 */
export function webhookRoute(ports: PortsProvider, name: string, verify: middy.MiddlewareObj<HttpEvent, HttpResult>) {
  return middy<HttpEvent, HttpResult>()
    .use(logErrors(ports, name))
    .use(httpHeaderNormalizer())
    .use(jsonErrors())
    .use(jsonBodyGuard())
    .use(verify);
}

/** GitHub caps payloads at 25 MB, but a tag push or a registry notice is a few KB. */
export const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;
/** GitHub lets people redeliver for 3 days; keep answers a bit longer. */
export const DELIVERY_TTL_SECONDS = 7 * 86400;

type Request = middy.Request<HttpEvent, HttpResult>;

export function header(event: HttpEvent, name: string): string | undefined {
  // httpHeaderNormalizer lowercases names; the local server and API Gateway v2 do too.
  return event.headers?.[name] ?? undefined;
}

function bodyBytes(event: HttpEvent): number {
  if (!event.body) return 0;
  return event.isBase64Encoded ? Buffer.byteLength(event.body, 'base64') : Buffer.byteLength(event.body, 'utf8');
}

/** 415 unless the body is declared JSON; 413 over the limit. */
export function jsonBodyGuard(limit = WEBHOOK_BODY_LIMIT_BYTES): middy.MiddlewareObj<HttpEvent, HttpResult> {
  const jsonBodyGuardBefore = (request: Request) => {
    const type = (header(request.event, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      return json(415, {
        error: `expected content-type application/json, got ${type ? JSON.stringify(type.slice(0, 100)) : 'none'} (set the webhook's content type to application/json)`,
      });
    }
    const size = bodyBytes(request.event);
    if (size > limit) return json(413, { error: `body of ${size} bytes is over the limit of ${limit} bytes` });
    return undefined;
  };
  return { before: jsonBodyGuardBefore };
}

const UNAUTHORIZED = () => json(401, { error: 'invalid signature' });
const NOT_CONFIGURED = () => json(503, { error: 'webhook secret not configured' });

async function secretsOf(ports: PortsProvider): Promise<WebhookSecrets> {
  return (await ports()).secrets ?? {};
}

/** X-Hub-Signature-256 = HMAC-SHA256 of the raw body with the webhook secret (compared in constant time). */
export function githubSignature(ports: PortsProvider): middy.MiddlewareObj<HttpEvent, HttpResult> {
  const githubSignatureBefore = async (request: Request) => {
    const secret = (await secretsOf(ports)).githubWebhookSecret;
    if (!secret) return NOT_CONFIGURED();
    const signature = header(request.event, 'x-hub-signature-256');
    const body = rawBody(request.event);
    if (!signature || !body) return UNAUTHORIZED();
    // verify() compares with crypto.timingSafeEqual; a length mismatch is answered before that.
    if (!(await verify(secret, body, signature))) return UNAUTHORIZED();
    return undefined;
  };
  return { before: githubSignatureBefore };
}

/** Docker Hub signs nothing: the secret is the token in the URL, compared in constant time. */
export function pathToken(ports: PortsProvider, param = 'token'): middy.MiddlewareObj<HttpEvent, HttpResult> {
  const pathTokenBefore = async (request: Request) => {
    const expected = (await secretsOf(ports)).dockerhubToken;
    if (!expected) return NOT_CONFIGURED();
    const given = request.event.pathParameters?.[param] ?? '';
    // Hashing first gives equal lengths, so timingSafeEqual never short-cuts on length.
    const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
    if (!given || !timingSafeEqual(digest(given), digest(expected))) return UNAUTHORIZED();
    return undefined;
  };
  return { before: pathTokenBefore };
}

export function parseJsonBody(event: HttpEvent): unknown {
  try {
    return JSON.parse(rawBody(event));
  } catch {
    throw new InvalidInputError('body is not valid JSON');
  }
}

/**
 * Answers per delivery id: the stored answer when the id was seen, else computes one and keeps
 * it (a conditional write: when two copies race, the first stored answer wins for both).
 * Client errors are answers too; server errors are not kept, so a redelivery can succeed.
 * A small in-process cache in front of the store spares it the lookups of hot redeliveries,
 * like Powertools' idempotency local cache; a stored answer never changes, so it cannot go stale.
 */
export class DeliveryAnswers {
  private readonly cache = new Map<string, HttpResult>();
  private readonly max: number;

  constructor(max = 1000) {
    this.max = max;
  }

  async once(
    deps: { store: WebhookDeliveries; clock: Clock },
    deliveryId: string,
    compute: () => Promise<HttpResult>,
  ): Promise<HttpResult> {
    const cached = this.cache.get(deliveryId);
    if (cached) return replayed(cached);
    const seen = await deps.store.getDelivery(deliveryId);
    if (seen) return replayed(this.remember(deliveryId, stored(seen)));
    let answer: HttpResult;
    try {
      answer = await compute();
    } catch (error) {
      const status = statusOf(error);
      if (status >= 500) throw error;
      answer = json(status, { error: (error as Error).message });
    }
    const now = deps.clock.now();
    const { stored: first, record } = await deps.store.putDelivery({
      deliveryId,
      statusCode: answer.statusCode ?? 200,
      body: JSON.parse(answer.body ?? 'null'),
      receivedAt: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + DELIVERY_TTL_SECONDS,
    });
    const result = this.remember(deliveryId, first ? answer : stored(record));
    return first ? result : replayed(result);
  }

  private remember(id: string, answer: HttpResult): HttpResult {
    if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(id, answer);
    return answer;
  }
}

function stored(record: { statusCode: number; body: unknown }): HttpResult {
  return json(record.statusCode, record.body);
}

function replayed(answer: HttpResult): HttpResult {
  return { ...answer, headers: { ...answer.headers, 'x-coconut-delivery': 'replayed' } };
}

interface Outcome {
  status: string;
  service?: string;
  reason?: string;
  deploymentId?: string;
  releaseId?: string;
}

/**
 * 202 Accepted either way: what was started runs on its own. When nothing started, `reason`
 * says why (no matching service, tag pattern, already running or done).
 */
export function answerFor(base: Record<string, unknown>, result: { outcomes: Outcome[]; ignored?: string }): HttpResult {
  const started = result.outcomes.filter((o) => o.status === 'started' || o.status === 'release-started');
  const why = result.outcomes.map(
    (o) =>
      o.reason ??
      (o.status === 'duplicate'
        ? `${o.service} ${o.deploymentId} already exists: nothing new started`
        : o.status === 'release-duplicate'
          ? `${o.service} release ${o.releaseId} already exists: nothing new built`
          : ''),
  );
  const reason = result.ignored ?? (started.length === 0 ? why.filter(Boolean).join('; ') || 'nothing to do' : undefined);
  return json(202, { ...base, outcomes: result.outcomes, ...(reason ? { reason } : {}) });
}
