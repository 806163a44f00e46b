/**
 * Approve and Reject on the dashboard take a confirming second click (issue 12, item 6): one
 * click, or a double click another page tricks the user into, decides nothing. Headless
 * Chromium against the dashboard served with its real headers, over a recording stand-in of
 * the API (no runtime needed: only what the page sends matters here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDashboard } from '../../src/local/dashboard-assets.ts';
import { which } from '../../src/local/tools.ts';

const APPROVAL = {
  approvalId: 'apr-0123456789',
  deploymentId: 'demo-api-1_0_0-0123456789ab',
  service: 'demo-api',
  environment: 'prod',
  version: '1.0.0',
  requestedBy: 'coconut',
  requestedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2099-01-01T00:00:00.000Z',
  status: 'PENDING',
};

describe('Dashboard decisions need a confirming click (headless Chromium)', () => {
  let server: Server;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const decisions: string[] = [];

  beforeAll(async () => {
    if (!which('chromium'))
      throw new Error('chromium is not on PATH: `apt-get install -y chromium` (`npm test` installs it: scripts/system-tools.ts)');
    server = createServer(async (req, res) => {
      const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
      const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method === 'POST' && pathname.startsWith('/api/approvals/')) {
        decisions.push(pathname);
        return json({ approval: { ...APPROVAL, status: pathname.endsWith('/approve') ? 'APPROVED' : 'REJECTED' } });
      }
      if (pathname === '/api/status') return json({ services: [], approvals: decisions.length ? [] : [APPROVAL] });
      if (pathname === '/api/deployments') return json({ deployments: [] });
      if (pathname.startsWith('/api/')) return json({});
      if (!(await serveDashboard(pathname, res))) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(path.join(tmpdir(), 'coconut-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('one click and a double click only arm the button; a second click decides', async () => {
    await page.goto(url);
    const approve = page.locator('article.approval button.approve');
    await approve.waitFor();
    await approve.click();
    // The page's own signal that arming is over: the button is enabled again CONFIRM_DELAY_MS later
    // (approvals.js). A decision the first click had sent would have reached the server by then.
    await page.locator('article.approval button.approve.armed:enabled').waitFor();
    expect(decisions).toEqual([]);
    expect(await approve.textContent()).toBe('Confirm approve');

    // Arming the other button disarms this one; a double click on it sends nothing either.
    const reject = page.locator('article.approval button.reject');
    await reject.dblclick({ force: true });
    await page.locator('article.approval button.reject.armed:enabled').waitFor();
    expect(decisions).toEqual([]);
    expect(await reject.textContent()).toBe('Confirm reject');
    expect(await approve.textContent()).toBe('Approve');

    await approve.click();
    // The confirm button is enabled CONFIRM_DELAY_MS after arming: wait for that, not for a guess of it.
    await page.locator('article.approval button.approve.armed:enabled').waitFor();
    await approve.click();
    await page.locator('.toast').filter({ hasText: 'approved: demo-api 1.0.0 on prod' }).waitFor();
    expect(decisions).toEqual(['/api/approvals/apr-0123456789/approve']);
  });
});
