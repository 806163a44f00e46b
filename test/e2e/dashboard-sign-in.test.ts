/**
 * Signing in to the dashboard as on AWS, in headless Chromium: the page served by a static host
 * whose config.json names an OpenID Connect issuer. The issuer here is a small stand-in on
 * loopback (authorization code flow with PKCE, as Cognito or the company's provider run it);
 * the static host forwards /api to a local runtime and records what the page sends.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDashboard } from '../../src/local/dashboard-assets.ts';
import { which } from '../../src/local/tools.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('Dashboard sign-in (headless Chromium, OIDC code flow with PKCE against a stand-in issuer)', () => {
  let rt: TestRuntime;
  let idp: Server;
  let host: Server;
  let issuer: string;
  let site: string;
  let context: BrowserContext;
  let profile: string;
  const apiCalls: { path: string; authorization?: string }[] = [];
  const issued: string[] = [];
  const checks: string[] = [];

  beforeAll(async () => {
    if (!which('chromium'))
      throw new Error('chromium is not on PATH: `apt-get install -y chromium` (`npm test` installs it: scripts/system-tools.ts)');
    rt = await startTestRuntime({ probes: false });
    const codes = new Map<string, { challenge: string; redirect: string }>();
    idp = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', issuer);
      if (url.pathname === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
        return res.end(
          JSON.stringify({ issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token` }),
        );
      }
      if (url.pathname === '/authorize') {
        const p = url.searchParams;
        const ok =
          p.get('response_type') === 'code' &&
          p.get('client_id') === 'coconut-dashboard' &&
          p.get('code_challenge_method') === 'S256';
        if (!ok || !p.get('code_challenge') || !p.get('state')) return res.writeHead(400).end('bad authorization request');
        checks.push(`scope=${p.get('scope')}`);
        const code = randomUUID();
        codes.set(code, { challenge: p.get('code_challenge') as string, redirect: p.get('redirect_uri') as string });
        res.writeHead(302, { location: `${p.get('redirect_uri')}?code=${code}&state=${p.get('state')}` });
        return res.end();
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(await body(req));
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verified =
          grant !== undefined &&
          form.get('grant_type') === 'authorization_code' &&
          form.get('redirect_uri') === grant.redirect &&
          createHash('sha256')
            .update(form.get('code_verifier') ?? '')
            .digest('base64url') === grant.challenge;
        res.setHeader('access-control-allow-origin', '*');
        if (!verified) return res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
        checks.push('pkce verified');
        const now = Math.floor(Date.now() / 1000);
        const idToken = `${b64url({ alg: 'none' })}.${b64url({ iss: issuer, aud: 'coconut-dashboard', sub: 'u-42', email: 'ada@example.com', exp: now + 3600 })}.sig-${randomUUID()}`;
        issued.push(idToken);
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        return res.end(
          JSON.stringify({ id_token: idToken, access_token: `at-${randomUUID()}`, token_type: 'Bearer', expires_in: 3600 }),
        );
      }
      res.writeHead(404).end();
    });
    issuer = await listen(idp);

    // A static host for dashboard/ with its own config.json, forwarding /api to the runtime.
    host = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname.startsWith('/api/')) {
        apiCalls.push({ path: url.pathname, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        if (!req.headers.authorization?.startsWith('Bearer '))
          return res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Unauthorized"}');
        const answer = await rt.fetch(`${url.pathname}${url.search}`, { method: req.method ?? 'GET' });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        return res.end(await answer.text());
      }
      if (url.pathname === '/config.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            apiBase: '',
            auth: { issuer, clientId: 'coconut-dashboard', scopes: ['openid', 'email'], token: 'id' },
          }),
        );
      }
      if (!(await serveDashboard(url.pathname, res, { connectSrc: [issuer] }))) res.writeHead(404).end();
    });
    site = await listen(host);
    profile = mkdtempSync(path.join(tmpdir(), 'coconut-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    host?.close();
    idp?.close();
    await rt?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('signs in with PKCE, calls the API with the token, and never puts the token in the page', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${site}/#/history`);
    await page.locator('tr[data-service="demo-api"], form.filters').first().waitFor({ timeout: 30_000 });
    expect(checks).toEqual(['scope=openid email', 'pkce verified']);
    expect(await page.locator('#who').textContent()).toBe('signed in as ada@example.com');
    // Back where the user was, without ?code= in the address bar.
    expect(page.url()).toBe(`${site}/#/history`);
    const token = issued[0] as string;
    expect(apiCalls.length).toBeGreaterThan(0);
    expect(apiCalls.every((c) => c.authorization === `Bearer ${token}`)).toBe(true);
    expect(await page.content()).not.toContain(token);
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([]); // only this tab's sessionStorage
  });

  it('shows why when the sign-in answer does not match the request', async () => {
    const page = await context.newPage();
    await page.goto(`${site}/?code=forged&state=forged#/`);
    await page.locator('div.error').waitFor();
    expect(await page.locator('div.error').textContent()).toBe('sign-in failed: the answer does not match the request');
    await page.close();
  });
});
