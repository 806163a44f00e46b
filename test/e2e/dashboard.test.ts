/**
 * The dashboard in headless Chromium (apt's /usr/bin/chromium, driven by playwright-core)
 * against the local runtime, with real ansible-playbook deploying the demo app. Screenshots
 * for a laptop and a phone go to test-output/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const SHOTS = path.join(PROJECT_ROOT, 'test-output', 'screenshots');
const LAPTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('Dashboard e2e (headless Chromium, local runtime, real ansible-playbook)', () => {
  let rt: TestRuntime;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const bodies: { url: string; text: string }[] = [];

  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    if (!which('chromium'))
      throw new Error('chromium is not on PATH: `apt-get install -y chromium` (`npm test` installs it: scripts/system-tools.ts)');
    mkdirSync(SHOTS, { recursive: true });
    rt = await startTestRuntime({ stagingBake: '2s', prodBake: '2s' });
    profile = mkdtempSync(path.join(tmpdir(), 'coconut-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: LAPTOP,
    });
    page = context.pages()[0] ?? (await context.newPage());
    // Every answer the page receives, to prove that no token or secret ever reaches it.
    context.on('response', async (res) => {
      try {
        bodies.push({ url: res.url(), text: await res.text() });
      } catch {
        // redirects and aborted requests have no body
      }
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await rt?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const shot = async (name: string, viewport = LAPTOP, target: Page = page) => {
    await target.setViewportSize(viewport);
    await target.screenshot({ path: path.join(SHOTS, `${name}-${viewport === PHONE ? 'phone' : 'laptop'}.png`), fullPage: true });
  };
  const cell = (env: string) => page.locator(`tr[data-service="demo-api"] td[data-environment="${env}"]`);

  it('shows the demo service in the services x environments grid', async () => {
    // Once through the URL `coconut dev` prints: the page keeps the operator token and drops it from the address.
    await page.goto(rt.dashboardUrl);
    await page.locator('tr[data-service="demo-api"]').waitFor();
    expect(await page.locator('tr[data-service]').count()).toBe(1);
    expect(await page.locator('h2#grid-title').textContent()).toBe('Services');
    expect(await page.locator('.grid thead th').allTextContents()).toEqual(['service', 'staging', 'prod']);
    expect(await cell('staging').locator('.running').textContent()).toBe('—');
    expect(await page.locator('#who').textContent()).toBe('local runtime');
    await page.locator('#live.ok').waitFor();
    expect(page.url()).toBe(`${rt.url}/`);
    await shot('overview-empty');
  });

  it('shows a push live, and approving from the page deploys prod', async () => {
    const id = startedId(await rt.push('1.0.0'));
    // No reload: the page polls the API.
    await page.locator(`.deployments li[data-deployment="${id}"]`).waitFor({ timeout: 60_000 });
    await cell('staging')
      .locator('[data-state="DEPLOYING"], [data-state="BAKING"], [data-state="SUCCEEDED"]')
      .waitFor({ timeout: 120_000 });

    // While it runs, the deployment page draws the state machine with the live step highlighted.
    const detail = await context.newPage();
    await detail.setViewportSize(LAPTOP);
    await detail.goto(`${rt.url}/#/deployments/${id}`);
    await detail
      .locator(
        'g.node[data-state-name="Deploy"][data-status="active"], g.node[data-state-name="Bake"][data-status="active"], g.node[data-state-name="Deploy"][data-status="done"]',
      )
      .first()
      .waitFor({ timeout: 240_000 });
    await shot('deployment-running', LAPTOP, detail);
    await detail.close(); // one live page at a time: the machine also runs ansible-playbook

    const approval = page.locator('article.approval');
    await approval.waitFor({ timeout: 240_000 });
    expect(await approval.textContent()).toContain('demo-api — → 1.0.0 on prod');
    expect(await cell('staging').locator('.running').textContent()).toBe('1.0.0');
    expect(await rt.appVersion('prod')).toBeUndefined();
    await shot('overview-approval');
    await shot('overview-approval', PHONE);
    await page.setViewportSize(LAPTOP);

    await page.locator(`#comment-${await approval.getAttribute('data-approval')}`).fill('ship it');
    // One click only arms the button (issue 12, item 6); the confirming click decides.
    const approve = approval.locator('button.approve');
    await approve.click();
    expect(await approve.textContent()).toBe('Confirm approve');
    expect(await rt.ports.store.listApprovals({ status: 'APPROVED' })).toEqual([]);
    // Enabled CONFIRM_DELAY_MS after arming (approvals.js): wait for the page to say so.
    await approval.locator('button.approve.armed:enabled').waitFor();
    await approve.click();
    await page.locator('.toast').filter({ hasText: 'approved: demo-api 1.0.0 on prod' }).waitFor();
    await cell('prod').locator('[data-state="SUCCEEDED"]').waitFor({ timeout: 240_000 });
    expect(await cell('prod').locator('.running').textContent()).toBe('1.0.0');
    expect(await rt.appVersion('prod')).toBe('1.0.0');
    const decided = await rt.ports.store.listApprovals({ status: 'APPROVED' });
    expect(decided[0]).toMatchObject({ comment: 'ship it', deploymentId: id });

    const after = await context.newPage();
    await after.setViewportSize(LAPTOP);
    await after.goto(`${rt.url}/#/deployments/${id}`);
    await after.locator('button.tab', { hasText: 'prod' }).click();
    await after.locator('g.node[data-state-name="RequestApproval"][data-status="done"]').waitFor();
    expect(await after.locator('g.node[data-state-name="RecordSucceeded"]').getAttribute('data-status')).toBe('done');
    expect(await after.locator('g.node[data-state-name="Rollback"]').getAttribute('data-status')).toBe('idle');
    await after.close();
  }, 600_000);

  it('shows a bad version as ROLLED_BACK with the alarm that fired', async () => {
    const id = startedId(await rt.push('1.1.0-bad'));
    await cell('staging').locator('[data-state="ROLLED_BACK"]').waitFor({ timeout: 240_000 });
    expect(await cell('staging').locator('.alarm').textContent()).toBe('alarm demo-api-staging-health');
    expect(await cell('staging').locator('.reason').textContent()).toBe('alarm demo-api-staging-health fired during bake');
    expect(await cell('staging').locator('.running').textContent()).toBe('1.0.0');
    await shot('overview-rolled-back');
    await shot('overview-rolled-back', PHONE);
    await page.setViewportSize(LAPTOP);

    await page.goto(`${rt.url}/#/deployments/${id}`);
    await page.locator('article.stage[data-environment="staging"][data-state="ROLLED_BACK"]').waitFor();
    await page.locator('g.node[data-state-name="RecordRolledBack"][data-status="done"]').waitFor();
    expect(await page.locator('g.node[data-state-name="Rollback"]').getAttribute('data-status')).toBe('done');
    expect(await page.locator('g.node[data-state-name="RecordSucceeded"]').getAttribute('data-status')).toBe('idle');
    expect(await page.locator('article.stage[data-environment="prod"]').getAttribute('data-state')).toBe('SKIPPED');
    await shot('deployment-rolled-back');
    await shot('deployment-rolled-back', PHONE);
    await page.setViewportSize(LAPTOP);

    await page.goto(`${rt.url}/#/history?service=demo-api&state=ROLLED_BACK`);
    await page.locator(`table.history tr[data-deployment="${id}"]`).waitFor();
    expect(await page.locator('table.history tbody tr').count()).toBe(1);
    await shot('history-rolled-back');
    await shot('history-rolled-back', PHONE);
    await page.setViewportSize(LAPTOP);
    // The version filter narrows further: no 9.9 was ever deployed.
    await page.locator('input#history-q').fill('9.9');
    await page.locator('input#history-q').press('Enter');
    await page.locator('form.filters + p.muted', { hasText: 'No deployments match.' }).waitFor();
    expect(page.url()).toContain('q=9.9');

    await page.goto(`${rt.url}/#/metrics?service=demo-api&days=30`);
    await page.locator('.tile').first().waitFor();
    expect(await page.locator('.tile-value').allTextContents()).toEqual([
      expect.stringMatching(/\/day$/),
      expect.any(String),
      '0%',
      '—',
    ]);
    expect(await page.locator('svg.chart').count()).toBe(4);
    await shot('metrics');
    await shot('metrics', PHONE);
  }, 600_000);

  it('never shows a token or a secret', async () => {
    const tokens = (await rt.ports.store.listApprovals({})).map((a) => a.taskToken);
    expect(tokens.length).toBeGreaterThan(0);
    expect(bodies.some((b) => b.url.includes('/api/status'))).toBe(true);
    for (const b of bodies) {
      expect(b.text, b.url).not.toContain('taskToken');
      for (const token of tokens) expect(b.text, b.url).not.toContain(token);
      expect(b.text, b.url).not.toMatch(/local:[A-Za-z0-9_-]+:RequestApproval:/);
    }
    const html = await page.content();
    for (const token of tokens) expect(html).not.toContain(token);
    // Only the operator token is stored (this origin's localStorage), never a task token.
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }))).toBe(
      JSON.stringify({ 'coconut.operatorToken': rt.operatorToken }),
    );
    // The local server answers with the page's security headers.
    const res = await fetch(`${rt.url}/`);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('without the operator token says which URL to open, and works again once opened', async () => {
    await page.evaluate(() => localStorage.clear());
    await page.goto(`${rt.url}/#/`);
    await page.reload();
    const alert = page.locator('[role="alert"]').first();
    await alert.waitFor();
    expect(await alert.textContent()).toContain('open the dashboard through the URL that `npm start` (coconut dev) printed');
    await page.goto(rt.dashboardUrl);
    await page.locator('tr[data-service="demo-api"]').waitFor();
  });
});
