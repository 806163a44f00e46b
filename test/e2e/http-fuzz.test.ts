/**
 * Issue 12, item 8: the whole HTTP surface of the local server, fuzzed with fast-check. Every
 * route of functions/http-routes.ts and every local route (and paths that match none), with
 * random methods, Host / Origin / Sec-Fetch-Site / token / forwarding headers, content types and
 * bodies, some of them shaped like the real requests. Whatever arrives: no 5xx, the process keeps
 * answering, and no execution starts (the bodies never carry a version the service's tagPattern
 * accepts, so a start would be a hole, not a deployment). The AWS side (the same handlers with API
 * Gateway v2 events) is fuzzed in test/unit/http-handlers-fuzz.test.ts.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '../../functions/http-routes.ts';
import { TOKEN_HEADER } from '../../src/local/request-guard.ts';
import { LOCAL_ROUTES } from '../../src/local/server.ts';
import { bodyFor, header, pathFor, routeKeys } from '../support/http-fuzz.ts';
import { rawRequest } from '../support/raw-http.ts';
import { startTestRuntime, TEST_SECRETS, type TestRuntime } from '../support/runtime.ts';
import { type RecordingSlack, startSlackServer } from '../support/slack-server.ts';

const SIGNING_SECRET = 'fuzz-signing-secret';

/** Signatures as Slack and GitHub compute them (node:crypto, independently of the handlers' code). */
function signatures(key: string, body: string, event: string): Record<string, string> {
  if (key === 'POST /slack/interactions') {
    // https://api.slack.com/authentication/verifying-requests-from-slack: v0=HMAC-SHA256("v0:" + timestamp + ":" + body)
    const timestamp = String(Math.floor(Date.now() / 1000));
    return {
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`,
    };
  }
  if (key === 'POST /webhooks/github') {
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries: sha256=HMAC-SHA256(body)
    return {
      'x-github-event': event,
      'x-github-delivery': `fuzz-${Math.random().toString(36).slice(2)}`,
      'x-hub-signature-256': `sha256=${createHmac('sha256', TEST_SECRETS.githubWebhookSecret).update(body).digest('hex')}`,
    };
  }
  return {};
}

describe('Property: the local server under arbitrary requests', () => {
  let rt: TestRuntime;
  let port: number;
  let slack: RecordingSlack;
  beforeAll(async () => {
    // Slack configured (against a recording Slack server): its route is fuzzed behind its real signature check.
    slack = await startSlackServer({ token: 'xoxb-fuzz' });
    rt = await startTestRuntime({
      probes: false,
      slack: { botToken: 'xoxb-fuzz', signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl },
      topYaml: `slack:\n  channel: '#deploys'\n`,
    });
    port = Number(new URL(rt.url).port);
  });
  afterAll(async () => {
    await rt?.stop();
    await slack?.stop();
  });

  const keys = routeKeys([...HTTP_ROUTES.map((r) => r.route), ...Object.keys(LOCAL_ROUTES)]);

  it('covers every route', () => {
    expect(keys).toHaveLength(HTTP_ROUTES.length + Object.keys(LOCAL_ROUTES).length);
  });

  it('answers every request below 500, keeps answering, and starts nothing', async () => {
    const before = rt.engine.list().length;
    const statuses = new Map<number, number>();
    const request = fc
      .record({
        key: fc.constantFrom(...keys),
        method: fc.oneof(
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
          fc.stringMatching(/^[A-Z]{1,8}$/),
        ),
        keepMethod: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        operator: fc.boolean(),
        contentTypeKind: fc.constantFrom('right', 'right', 'random'),
        host: fc.constantFrom('own', 'localhost', 'attacker', 'other-port', 'absent'),
        origin: fc.constantFrom(undefined, 'own', 'http://attacker.example', 'null'),
        site: fc.constantFrom(undefined, 'same-origin', 'cross-site', 'none'),
        token: fc.constantFrom('valid', 'valid', 'wrong', undefined),
        forwarded: fc.boolean(),
        // Public routes: a valid signature over whatever body is sent, so their parsing is reached too.
        signed: fc.boolean(),
        event: fc.constantFrom('push', 'create', 'package', 'registry_package', 'ping', 'issues'),
        contentType: fc.oneof(
          fc.constantFrom(
            'application/json',
            'application/json; charset=utf-8',
            'APPLICATION/JSON',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/x-ndjson',
            undefined,
          ),
          header,
        ),
        extra: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), header, { maxKeys: 3 }),
        query: fc.option(fc.stringMatching(/^[A-Za-z0-9=&%._~-]{0,40}$/), { nil: undefined }),
      })
      .chain((r) =>
        fc.record({
          r: fc.constant(r),
          path: pathFor(r.key),
          body: bodyFor(r.key),
        }),
      );
    await fc.assert(
      fc.asyncProperty(request, async ({ r, path, body }) => {
        const [routeMethod] = r.key.split(' ') as [string];
        const method = r.keepMethod ? routeMethod : r.method;
        const hosts: Record<string, string | undefined> = {
          own: `127.0.0.1:${port}`,
          localhost: `localhost:${port}`,
          attacker: `attacker.example:${port}`,
          'other-port': `127.0.0.1:${port + 1}`,
          absent: undefined,
        };
        if (r.operator) {
          // The operator's own request (CLI, dashboard), so that the handlers behind the guards get the random bodies.
          Object.assign(r, { host: 'own', origin: r.origin === 'own' ? 'own' : undefined, token: 'valid', forwarded: false });
          if (r.site === 'cross-site') r.site = 'same-origin';
          if (method === 'POST' && r.contentTypeKind !== 'random')
            r.contentType = r.key === 'POST /api/import' ? 'application/x-ndjson' : 'application/json; charset=utf-8';
        }
        const headers: Record<string, string> = { ...r.extra };
        if (hosts[r.host]) headers.host = hosts[r.host] as string;
        if (r.origin) headers.origin = r.origin === 'own' ? `http://127.0.0.1:${port}` : r.origin;
        if (r.site) headers['sec-fetch-site'] = r.site;
        if (r.token) headers[TOKEN_HEADER] = r.token === 'valid' ? rt.operatorToken : 'not-the-token';
        if (r.forwarded) headers['x-forwarded-for'] = '203.0.113.7';
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        const sent = method === 'GET' || method === 'HEAD' ? undefined : body;
        if (r.signed) Object.assign(headers, signatures(r.key, sent ?? '', r.event));
        const target = `${path}${r.query !== undefined ? `?${r.query}` : ''}`;
        const res = await rawRequest(port, method, target, headers, sent);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${method} ${target} -> ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
        expect(res.status, `${method} ${target} -> ${res.text.slice(0, 300)}`).toBeLessThan(500);
        expect(rt.engine.list().length, `${method} ${target} started an execution`).toBe(before);
      }),
      // Bounded for a loaded 2-core machine: a thousand requests take seconds, far under a minute.
      { numRuns: 1000 },
    );
    // The server still answers, and every kind of answer was exercised (the guards and the handlers behind them).
    const health = await rawRequest(port, 'GET', '/healthz', { host: `127.0.0.1:${port}` });
    expect(health.status).toBe(200);
    await rt.idle();
    expect(rt.engine.list().length).toBe(before);
    for (const status of [200, 400, 401, 403, 404, 415]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  }, 120_000);
});
