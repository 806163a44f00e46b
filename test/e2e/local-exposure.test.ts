/**
 * Issue 12, item 1: the local server as a web page, a DNS-rebinding page and a raw tunnel would
 * reach it. Requests go through node:http so that Host, Origin and Sec-Fetch-Site can be forged
 * exactly as those attackers send them. What a browser sends comes from the Fetch standard:
 * a "simple" request (https://fetch.spec.whatwg.org/#cors-safelisted-request-header: Content-Type
 * text/plain, application/x-www-form-urlencoded or multipart/form-data) needs no CORS preflight,
 * so only the server can refuse it; a cross-origin request carries `Origin`
 * (https://fetch.spec.whatwg.org/#origin-header) and `Sec-Fetch-Site: cross-site`
 * (https://www.w3.org/TR/fetch-metadata/#sec-fetch-site-header); after DNS rebinding the page's
 * requests carry the attacker's name in Host (RFC 9110 §7.2).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '../../functions/http-routes.ts';
import { TOKEN_HEADER } from '../../src/local/request-guard.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { functionRouteGuard, LOCAL_ROUTES } from '../../src/local/server.ts';
import { rawRequest } from '../support/raw-http.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

let rt: TestRuntime;
let port: number;

const raw = (method: string, target: string, headers: Record<string, string>, body?: string) =>
  rawRequest(port, method, target, headers, body);

const host = () => `127.0.0.1:${port}`;
const operator = () => ({ host: host(), [TOKEN_HEADER]: rt.operatorToken });
const pushBody = JSON.stringify({
  Entries: [
    {
      Source: 'aws.ecr',
      DetailType: 'ECR Image Action',
      Detail: JSON.stringify({ 'action-type': 'PUSH', result: 'SUCCESS', 'repository-name': 'demo-api', 'image-tag': '1.0.0' }),
    },
  ],
});
const deployBody = JSON.stringify({ service: 'demo-api', version: '1.0.0' });

/** Every operator route, with its path parameters filled in. */
const operatorRoutes = [
  ...HTTP_ROUTES.filter((r) => functionRouteGuard(r)?.operator).map((r) => r.route),
  ...Object.entries(LOCAL_ROUTES)
    .filter(([, g]) => g.operator)
    .map(([key]) => key),
].map((key) => {
  const [method, pattern] = key.split(' ') as [string, string];
  return { key, method, path: pattern.replace(/\{[^}]+\}/g, 'apr-0123456789') };
});

describe('Local server: no web page, rebinding page or raw tunnel drives it', () => {
  beforeAll(async () => {
    rt = await startTestRuntime({ probes: false });
    port = Number(new URL(rt.url).port);
  });
  afterAll(() => rt?.stop());

  it('refuses a text/plain POST (a "simple" request) to /api/deployments and /events with 415, starting nothing', async () => {
    const before = rt.engine.list().length;
    for (const [target, body] of [
      ['/api/deployments', deployBody],
      ['/events', pushBody],
      ['/api/rollbacks', JSON.stringify({ service: 'demo-api', environment: 'staging' })],
      ['/api/approvals/apr-0123456789/approve', '{}'],
    ] as const) {
      // Even with the operator's token: a body a form can send is not taken as JSON.
      const res = await raw('POST', target, { ...operator(), 'content-type': 'text/plain;charset=UTF-8' }, body);
      expect(res.status, target).toBe(415);
      expect(res.body.error).toMatch(/needs Content-Type application\/json, got text\/plain/);
      // What the attacking page really sends: no token either.
      const page = await raw('POST', target, { host: host(), 'content-type': 'text/plain' }, body);
      expect(page.status, target).toBe(401);
    }
    const form = await raw('POST', '/api/import', { ...operator(), 'content-type': 'application/x-www-form-urlencoded' }, 'a=b');
    expect(form.status).toBe(415);
    expect(form.body.error).toMatch(/application\/x-ndjson or application\/json/);
    await rt.idle();
    expect(rt.engine.list().length).toBe(before);
  });

  it('takes application/json with a charset from the operator', async () => {
    const res = await raw(
      'POST',
      '/api/alarms/demo-api-staging-health',
      { ...operator(), 'content-type': 'application/json; charset=utf-8' },
      '{"state":"OK"}',
    );
    expect(res.status).toBe(200);
  });

  it('refuses a foreign Host (DNS rebinding) on GET /api/approvals and /api/export, and on the dashboard files', async () => {
    for (const target of ['/api/approvals', '/api/export', '/api/status', '/']) {
      const res = await raw('GET', target, { ...operator(), host: `attacker.example:${port}` });
      expect(res.status, target).toBe(403);
      expect(res.body.error).toContain('Host "attacker.example:');
      expect(res.body.error).toContain(`expected 127.0.0.1:${port}, localhost:${port}, [::1]:${port}`);
    }
    // No Host at all: Node's own check (requireHostHeader) or ours refuses it.
    const noHost = await raw('GET', '/api/approvals', { [TOKEN_HEADER]: rt.operatorToken });
    expect([400, 403]).toContain(noHost.status);
    // The loopback names of this port are this server.
    for (const name of [`localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect((await raw('GET', '/api/approvals', { ...operator(), host: name })).status, name).toBe(200);
    }
    // Another port on loopback is another server.
    expect((await raw('GET', '/api/approvals', { ...operator(), host: `127.0.0.1:${port + 1}` })).status).toBe(403);
  });

  it('refuses a foreign Origin and a cross-site request, and takes the dashboard own origin', async () => {
    const approve = (headers: Record<string, string>) =>
      raw(
        'POST',
        '/api/approvals/apr-0123456789/approve',
        { ...operator(), 'content-type': 'application/json', ...headers },
        '{}',
      );
    for (const origin of [
      'http://attacker.example',
      `http://attacker.example:${port}`,
      'null',
      `https://127.0.0.1:${port}`,
      `http://127.0.0.1:${port + 1}`,
    ]) {
      const res = await approve({ origin });
      expect(res.status, origin).toBe(403);
      expect(res.body.error).toContain(`Origin ${JSON.stringify(origin)} is not this server`);
    }
    const crossSite = await approve({ 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error).toContain('Sec-Fetch-Site: cross-site');
    // The dashboard's own calls (same origin) reach the handler: no such approval.
    const own = await approve({ origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(404);
  });

  it('answers 401 on every operator route without the token, as through a raw tunnel (no X-Forwarded-For, Host forged)', async () => {
    expect(operatorRoutes.length).toBeGreaterThanOrEqual(19);
    for (const route of operatorRoutes) {
      const headers = { host: host(), ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}) };
      const body = route.method === 'POST' ? '{}' : undefined;
      const none = await raw(route.method, route.path, headers, body);
      expect(none.status, route.key).toBe(401);
      expect(none.body.error).toContain(`expected the ${TOKEN_HEADER} header`);
      const wrong = await raw(route.method, route.path, { ...headers, [TOKEN_HEADER]: `${rt.operatorToken}x` }, body);
      expect(wrong.status, route.key).toBe(401);
    }
    // The token in the query string is for the dashboard page, not for the API.
    expect((await raw('GET', `/api/export?token=${rt.operatorToken}`, { host: host() })).status).toBe(401);
    // A tunnel that says so is refused even with the token.
    expect((await raw('GET', '/api/status', { ...operator(), 'x-forwarded-for': '203.0.113.7' })).status).toBe(403);
  });

  it('leaves the public routes to their own checks, whatever Host a tunnel sends', async () => {
    const github = await raw(
      'POST',
      '/webhooks/github',
      {
        host: 'abc.ngrok.example',
        'x-forwarded-for': '203.0.113.7',
        'content-type': 'application/json',
        'x-github-event': 'ping',
      },
      '{}',
    );
    expect(github.status).toBe(401); // the webhook's own refusal: no signature
    const hub = await raw(
      'POST',
      '/webhooks/dockerhub/wrong',
      { host: 'abc.ngrok.example', 'content-type': 'application/json' },
      '{}',
    );
    expect(hub.status).toBe(401);
  });

  it('answers a malformed percent-encoding in a path parameter with 400 naming the path', async () => {
    const res = await raw('GET', '/api/executions/%ZZ', operator());
    expect(res.status).toBe(400);
    expect(res.body.error).toContain('"/api/executions/%ZZ" has a malformed percent-encoding');
  });

  it('answers what the fuzz found with 400 naming the mistake, not 500 (test/e2e/http-fuzz.test.ts)', async () => {
    const json = { ...operator(), 'content-type': 'application/json' };
    const form = await raw('POST', '/api/alarms/demo-api-staging-health', json, 'payload=');
    expect(form.status).toBe(400);
    expect(form.body.error).toBe('body is not valid JSON: expected a JSON object');
    const nil = await raw('POST', '/api/alarms/demo-api-staging-health', json, 'null');
    expect(nil.status).toBe(400);
    expect(nil.body.error).toBe('body must be a JSON object, got null');
    const reason = await raw('POST', '/api/alarms/demo-api-staging-health', json, '{"state":"OK","reason":{}}');
    expect(reason.status).toBe(400);
    // A path that starts with // is a path here, not another host (new URL('//x', base) would make it one).
    for (const target of ['//%00', '//[']) {
      const res = await raw('GET', target, operator());
      expect(res.status, target).toBe(404);
      expect(res.body.error).toBe(`no route GET ${target}`);
    }
    const absolute = await raw('GET', 'http://evil.example/api/status', operator());
    expect(absolute.status).toBe(400);
    expect(absolute.body.error).toBe('request target "http://evil.example/api/status" is not a path: expected /…');
  });

  it('the CLI sends the token from the data dir; elsewhere it says where the token is', async () => {
    const cli = (env: Record<string, string>, cwd: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        let out = '';
        const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/coconut.mjs'), 'status'], {
          cwd,
          env: { ...process.env, COCONUT_OPERATOR_TOKEN: '', NO_COLOR: '1', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout?.on('data', (d) => {
          out += d;
        });
        child.stderr?.on('data', (d) => {
          out += d;
        });
        child.on('close', (code) => resolve({ code, out }));
      });
    const ok = await cli(rt.cliEnv, PROJECT_ROOT);
    expect(ok.out).toContain('demo-api');
    expect(ok.code).toBe(0);
    const elsewhere = await cli({ COCONUT_URL: rt.url }, mkdtempSync(path.join(tmpdir(), 'coconut-elsewhere-')));
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.out).toContain('wants its operator token (HTTP 401 from GET /api/status)');
    expect(elsewhere.out).not.toContain(rt.operatorToken);
  });
});
