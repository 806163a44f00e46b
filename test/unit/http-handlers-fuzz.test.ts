/**
 * Issue 12, item 8, the AWS side: every handler behind functions/http-routes.ts, invoked as
 * Lambda is, with API Gateway v2 (HTTP API) events carrying random methods, headers, content
 * types, bodies (plain or base64), query strings, path parameters and authorizer contexts (JWT,
 * IAM, none). The event shape follows AWS's payload format 2.0
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html:
 * lower-cased header names, `isBase64Encoded`, `requestContext.authorizer.jwt.claims` / `.iam`).
 * On a real store (dynalite) with an orchestrator that counts: no 5xx, no throw, nothing started
 * (the tags in the bodies never match a tagPattern). The local server is fuzzed in test/e2e/http-fuzz.test.ts.
 */
import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../functions/api.ts';
import type { HttpResult } from '../../functions/commons/http.ts';
import { createGithubWebhookHandler } from '../../functions/github-webhook.ts';
import { HTTP_ROUTES } from '../../functions/http-routes.ts';
import { createRegistryWebhookHandler } from '../../functions/registry-webhook.ts';
import { createSlackInteractionsHandler } from '../../functions/slack-interactions.ts';
import { createSlack, dashboardLink } from '../../src/aws/slack/setup.ts';
import type { PortsProvider } from '../../src/core/handler-ports.ts';
import { systemClock } from '../../src/core/ports.ts';
import { lambdaContext } from '../../src/local/engine.ts';
import { bodyFor, header, pathFor } from '../support/http-fuzz.ts';
import { type RecordingSlack, startSlackServer } from '../support/slack-server.ts';
import { SECRET, TOKEN, webhookHarness } from '../support/webhooks.ts';

const SIGNING_SECRET = 'handler-fuzz-signing-secret';
const FACTORIES: Record<string, (ports: PortsProvider) => (event: APIGatewayProxyEventV2, context: never) => Promise<unknown>> = {
  api: createApiHandler as never,
  'github-webhook': createGithubWebhookHandler as never,
  'registry-webhook': createRegistryWebhookHandler as never,
  'slack-interactions': createSlackInteractionsHandler as never,
};

const authorizer = fc.oneof(
  fc.constant(undefined),
  fc.record({
    jwt: fc.record({
      claims: fc.dictionary(fc.constantFrom('sub', 'email', 'name', 'custom:slack_user_id'), fc.string({ maxLength: 30 })),
      scopes: fc.constant([]),
    }),
  }),
  fc.record({
    iam: fc.record({
      userArn: fc.oneof(
        fc.constantFrom('arn:aws:iam::123456789012:user/alice', 'arn:aws:sts::123456789012:assumed-role/r/s'),
        fc.string({ maxLength: 60 }),
      ),
      userId: fc.string({ maxLength: 20 }),
      accountId: fc.constantFrom('123456789012'),
      callerId: fc.string({ maxLength: 20 }),
    }),
  }),
  fc.record({ lambda: fc.record({ coconutLocalOperator: fc.boolean(), user: fc.string({ maxLength: 20 }) }) }),
);

/** A path parameter as API Gateway passes it, from the path the fuzz chose for the route. */
function pathParameters(routeKey: string, path: string): Record<string, string> | undefined {
  const [, pattern] = routeKey.split(' ') as [string, string];
  const names = [...pattern.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1] as string);
  if (names.length === 0) return undefined;
  const regex = new RegExp(`^${pattern.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
  const m = regex.exec(path);
  if (!m) return undefined; // a path the route would not match: API Gateway would not call the handler
  return Object.fromEntries(names.map((n, i) => [n, m[i + 1] as string]));
}

describe('Property: the HTTP handlers under arbitrary API Gateway v2 events', () => {
  let h: Awaited<ReturnType<typeof webhookHarness>>;
  let slack: RecordingSlack;
  beforeAll(async () => {
    h = await webhookHarness();
    slack = await startSlackServer({ token: 'xoxb-fuzz' });
    const adapter = createSlack(
      { botToken: 'xoxb-fuzz', signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl },
      {
        store: h.store,
        config: h.ports.config,
        clock: systemClock,
        log: h.log,
        links: { dashboard: dashboardLink('http://dashboard.example'), execution: (id: string) => id },
      },
    );
    h.ports.slack = adapter.ports;
    h.ports.userGroups = adapter.userGroups;
  });
  afterAll(async () => {
    await h?.stop();
    await slack?.stop();
  });

  it('has a handler for every route', () => {
    for (const route of HTTP_ROUTES) expect(FACTORIES[route.fn], route.route).toBeDefined();
  });

  it('answers 404 for a state machine named after an Object.prototype member (once found by the fuzz below)', async () => {
    const api = createApiHandler(async () => h.ports);
    for (const name of ['valueOf', 'constructor', '__proto__', 'toString']) {
      const event = {
        version: '2.0',
        routeKey: 'GET /api/state-machines/{name}',
        rawPath: `/api/state-machines/${name}`,
        rawQueryString: '',
        headers: {},
        pathParameters: { name },
        requestContext: {
          http: { method: 'GET', path: `/api/state-machines/${name}` },
          requestId: 'proto',
          routeKey: 'GET /api/state-machines/{name}',
        },
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2;
      const result = (await api(event, lambdaContext('api') as never)) as HttpResult;
      expect(result.statusCode, `${name}: ${String(result.body)}`).toBe(404);
    }
  });

  it('answers every event below 500 and starts nothing', async () => {
    const provider = async () => h.ports;
    const handlers = Object.fromEntries(Object.entries(FACTORIES).map(([fn, make]) => [fn, make(provider)]));
    const statuses = new Map<number, number>();
    const event = fc
      .record({
        route: fc.constantFrom(...HTTP_ROUTES),
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'),
        contentType: fc.oneof(
          fc.constantFrom(
            'application/json',
            'application/json; charset=utf-8',
            'text/plain',
            'application/x-www-form-urlencoded',
            'application/x-ndjson',
            undefined,
          ),
          header,
        ),
        extra: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), header, { maxKeys: 3 }),
        query: fc.dictionary(
          fc.constantFrom('limit', 'status', 'environment', 'service', 'since', 'cursor', 'dryRun', 'days'),
          fc.string({ maxLength: 20 }),
          { maxKeys: 3 },
        ),
        authorizer,
        base64: fc.boolean(),
        signed: fc.boolean(),
        githubEvent: fc.constantFrom('push', 'create', 'package', 'registry_package', 'ping'),
      })
      .chain((e) => fc.record({ e: fc.constant(e), path: pathFor(e.route.route), body: bodyFor(e.route.route) }));
    await fc.assert(
      fc.asyncProperty(event, async ({ e, path, body }) => {
        const params = pathParameters(e.route.route, path);
        const headers: Record<string, string> = { ...e.extra };
        if (e.contentType !== undefined) headers['content-type'] = e.contentType;
        const raw = body ?? '';
        if (e.signed && e.route.fn === 'github-webhook') {
          headers['x-github-event'] = e.githubEvent;
          headers['x-github-delivery'] = `fuzz-${Math.random().toString(36).slice(2)}`;
          headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
        }
        if (e.signed && e.route.fn === 'slack-interactions') {
          const timestamp = String(Math.floor(Date.now() / 1000));
          headers['x-slack-request-timestamp'] = timestamp;
          headers['x-slack-signature'] =
            `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${raw}`).digest('hex')}`;
        }
        const pathParams = e.signed && e.route.fn === 'registry-webhook' ? { token: TOKEN } : params;
        const query = new URLSearchParams(e.query).toString();
        const now = new Date();
        const lambdaEvent = {
          version: '2.0',
          routeKey: e.route.route,
          rawPath: path,
          rawQueryString: query,
          headers,
          ...(Object.keys(e.query).length ? { queryStringParameters: e.query } : {}),
          ...(pathParams ? { pathParameters: pathParams } : {}),
          requestContext: {
            accountId: '123456789012',
            apiId: 'fuzz',
            domainName: 'fuzz.execute-api.us-east-1.amazonaws.com',
            domainPrefix: 'fuzz',
            http: {
              method: e.method,
              path,
              protocol: 'HTTP/1.1',
              sourceIp: '203.0.113.7',
              userAgent: headers['user-agent'] ?? '',
            },
            requestId: 'fuzz',
            routeKey: e.route.route,
            stage: '$default',
            time: now.toUTCString(),
            timeEpoch: now.getTime(),
            ...(e.authorizer ? { authorizer: e.authorizer } : {}),
          },
          ...(body === undefined ? {} : { body: e.base64 ? Buffer.from(body).toString('base64') : body }),
          isBase64Encoded: body !== undefined && e.base64,
        } as unknown as APIGatewayProxyEventV2;
        const handler = handlers[e.route.fn] as (typeof handlers)[string];
        const result = (await handler(lambdaEvent, lambdaContext(e.route.fn) as never)) as HttpResult;
        const status = result.statusCode ?? 200;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(status, `${e.route.route} ${path} -> ${String(result.body).slice(0, 300)}`).toBeLessThan(500);
        expect(h.orchestrator.started, `${e.route.route} started an execution`).toEqual([]);
      }),
      { numRuns: 600 },
    );
    // The handlers' own answers were reached, not only refusals.
    for (const status of [200, 400, 401, 404]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  }, 120_000);
});
