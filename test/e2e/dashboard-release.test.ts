/**
 * Release governance and rollout steps on the dashboard (issues 15 and 16), in headless Chromium
 * (apt's /usr/bin/chromium, driven by playwright-core) against the local runtime, with real
 * ansible-playbook deploying the demo app:
 * - a freeze window: each environment says open or frozen with the next change in the window's time
 *   zone; a held deployment says "FROZEN until … (tz): reason"; break glass needs a comment and a
 *   confirming click, and is recorded as `coconut unfreeze` records it;
 * - Promote: a confirming click deploys to prod the digest that passed staging, recorded with the
 *   trigger `promote` and its source environment; the canary's steps (25/50/100 over the demo's four
 *   prod hosts) show on the page, and `coconut watch` prints the same step lines.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freezeSummary } from '../../src/core/pipeline/freeze.ts';
import type { ServiceStatus } from '../../src/core/read-models/status.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';
import { coconut } from '../support/cli.ts';
import { freePort, REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const SHOTS = path.join(PROJECT_ROOT, 'test-output', 'screenshots');
const D1 = `sha256:${'d1'.repeat(32)}`;
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

/** A five-field cron naming exactly this UTC minute (it recurs a year later). */
function cronAt(at: Date): string {
  return `${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
}

// A limit, not a speed assertion: the promote test runs two deployments, the second a three-step canary
// over four hosts (five ansible-playbook runs in all), on a 2-core machine shared with other suites.
describe('Dashboard: freeze windows, promote and rollout steps (headless Chromium, local runtime, real ansible-playbook)', {
  timeout: REAL_DEPLOY_TEST_LIMIT_MS * 3,
}, () => {
  let rt: TestRuntime;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  /** Every POST the page sends: a first click must send none. */
  const posts: string[] = [];

  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    if (!which('chromium'))
      throw new Error('chromium is not on PATH: `apt-get install -y chromium` (`npm test` installs it: scripts/system-tools.ts)');
    mkdirSync(SHOTS, { recursive: true });
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-e2e-dash-release-'));
    // held-api deploys to a host of its own, so that breaking its freeze never touches demo-api's prod hosts.
    const heldPort = await freePort();
    writeFileSync(
      path.join(dir, 'held-inventory.yml'),
      `all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    app_deploy_source: "{{ lookup('ansible.builtin.env', 'CODEBUILD_SRC_DIR') }}/examples/demo/demo-app"
  children:
    prod:
      hosts:
        held-prod:
          app_deploy_port: ${heldPort}
          app_deploy_root: "{{ lookup('ansible.builtin.env', 'COCONUT_DATA_DIR') }}/targets/held-prod"
`,
    );
    // held-api's window reads this UTC minute in Berlin time (UTC+1 or +2): it began an hour or two
    // ago, and 4 h still cover the test.
    const start = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    rt = await startTestRuntime({
      dataDir: dir,
      stagingBake: '1s',
      // 25% of 4 hosts is 1 host, 50% is 2, then all 4; each step bakes 5 s under the prod health alarm.
      prodRollout: '{ strategy: canary, steps: [25, 50], bake: 5s }',
      extraYaml: `  - name: held-api
    image: { registry: ecr, repository: held-api }
    target: { kind: ansible, inventory: ${path.join(dir, 'held-inventory.yml')} }
    environments:
      - name: prod
        bake: 1s
        freeze:
          - { schedule: "${cronAt(start)}", duration: 4h, timeZone: Europe/Berlin, reason: "year-end freeze" }`,
    });
    profile = mkdtempSync(path.join(tmpdir(), 'coconut-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1366, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    context.on('request', (req) => {
      if (req.method() === 'POST') posts.push(new URL(req.url()).pathname);
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await rt?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const cell = (service: string, env: string) => page.locator(`tr[data-service="${service}"] td[data-environment="${env}"]`);
  const statusOf = async (service: string, env: string) => {
    const data = (await (await rt.fetch('/api/status')).json()) as { services: ServiceStatus[] };
    return data.services.find((s) => s.service === service)?.environments.find((e) => e.name === env);
  };

  it('shows each environment open or frozen with the next change and its time zone, and a held deployment until when and why', async () => {
    await page.goto(rt.dashboardUrl);
    const frozen = cell('held-api', 'prod').locator('.freeze[data-freeze="closed"]');
    await frozen.waitFor();
    const text = await frozen.textContent();
    expect(text).toMatch(/^FROZEN until \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? \(Europe\/Berlin\): year-end freeze$/);
    // The same words as `coconut status`, from the same freeze status the API serves.
    const env = await statusOf('held-api', 'prod');
    if (!env?.freeze) throw new Error('held-api prod has no freeze status');
    expect(text).toBe(freezeSummary(env.freeze));
    // demo-api has no windows: nothing to say there.
    expect(await cell('demo-api', 'prod').locator('.freeze').count()).toBe(0);

    const id = startedId(await rt.push('1.0.0', 'held-api'));
    const held = await rt.until('held-api 1.0.0 to be FROZEN', async () => {
      const stage = await rt.ports.store.getStage(id, 'prod');
      return stage?.reason?.startsWith('FROZEN') ? stage : undefined;
    });
    const hold = page.locator(`article.hold[data-deployment="${id}"]`);
    await hold.waitFor({ timeout: 60_000 });
    expect(await hold.locator('.frozen-until').textContent()).toBe(held.reason);
    // A hold is no ordinary approval: no Approve button for it.
    expect(await page.locator('article.approval').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-frozen-laptop.png'), fullPage: true });

    // Break glass says why: without a comment nothing is sent; with one, a first click only arms.
    const breakGlass = hold.locator('button');
    await breakGlass.click();
    await page.locator('.toast.bad').filter({ hasText: 'say why' }).waitFor();
    await hold.locator('input').fill('hotfix for INC-7');
    await breakGlass.click();
    await hold.locator('button.armed:enabled').waitFor();
    expect(posts).toEqual([]);
    expect(await breakGlass.textContent()).toBe('Confirm break glass');
    await breakGlass.click();
    await page.locator('.toast').filter({ hasText: 'unfrozen: held-api 1.0.0 on prod: hotfix for INC-7' }).waitFor();
    const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK']);
    expect(prod.state, prod.reason).toBe('SUCCEEDED');
    expect(prod.reason).toMatch(/^freeze broken by .+ at \d{4}-\d\d-\d\dT.+: hotfix for INC-7$/);
    posts.length = 0;
  });

  it('promotes the digest proven on staging with a confirming click; the canary steps show on the page and in `coconut watch`', async () => {
    // 1.0.0 (D1) passes staging; prod is declined for now.
    const first = startedId(await rt.push('1.0.0', 'demo-api', D1));
    const approvalId = await rt.waitForApproval(first);
    expect((await rt.ports.store.getStage(first, 'staging'))?.state).toBe('SUCCEEDED');
    const rejected = await rt.fetch(`/api/approvals/${approvalId}/reject`, { method: 'POST', body: '{}' });
    expect(rejected.status).toBe(200);
    await rt.waitForStage(first, 'prod', ['REJECTED']);
    posts.length = 0;

    // Through the URL `coconut dev` prints (the page keeps the operator token), as a user opens it.
    await page.goto(rt.dashboardUrl);
    await cell('demo-api', 'prod').locator('button.promote').waitFor();
    // Only an environment with one before it can be promoted to.
    expect(await cell('demo-api', 'staging').locator('button.promote').count()).toBe(0);
    const promote = cell('demo-api', 'prod').locator('button.promote');
    expect(await promote.textContent()).toBe('Promote from staging');
    await promote.click();
    await cell('demo-api', 'prod').locator('button.promote.armed:enabled').waitFor();
    expect(await promote.textContent()).toBe('Confirm promote from staging');
    expect(posts).toEqual([]);
    await promote.click();
    await page
      .locator('.toast')
      .filter({ hasText: `promoting demo-api 1.0.0 (${D1}, passed on staging) to prod` })
      .waitFor();
    expect(posts).toEqual(['/api/promotions']);

    // The page opens the new deployment: recorded as a promotion from staging, of D1, to prod only.
    await page.waitForURL(/#\/deployments\//);
    const id = decodeURIComponent(new URL(page.url()).hash.slice('#/deployments/'.length));
    expect(await rt.ports.store.getDeployment(id)).toMatchObject({
      environments: ['prod'],
      image: { tag: '1.0.0', digest: D1 },
      trigger: { kind: 'promote', from: 'staging' },
    });
    await page.locator('.panel .meta').filter({ hasText: 'promote from staging by ' }).first().waitFor();

    // `coconut watch` follows it from here (spawned: the runtime answering it lives in this process).
    const watching = coconut(['watch', id], { env: rt.cliEnv, timeoutMs: REAL_DEPLOY_TEST_LIMIT_MS * 3 });
    const approve = page.locator('article.stage[data-environment="prod"] article.approval button.approve');
    await approve.click();
    await page.locator('article.stage[data-environment="prod"] article.approval button.approve.armed:enabled').waitFor();
    await approve.click();

    // Each step of the canary, as the page shows it while it bakes.
    const step = page.locator('article.stage[data-environment="prod"] header .step');
    await step.filter({ hasText: /^ canary 25% — baking, \d+s left$/ }).waitFor({ timeout: 240_000 });
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-canary-step-laptop.png'), fullPage: true });
    await step.filter({ hasText: /^ canary 50% — baking(, \d+s left)?$/ }).waitFor({ timeout: 240_000 });
    const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED']);
    expect(prod.state, prod.reason).toBe('SUCCEEDED');
    expect(prod.promotedFrom).toBe('staging');
    await step.filter({ hasText: 'canary 100% — all 3 steps done' }).waitFor();
    // Every prod host runs it, and the build was handed D1.
    expect(await Promise.all(rt.appPorts.prodHosts.map((port) => rt.appVersion(port)))).toEqual([
      '1.0.0',
      '1.0.0',
      '1.0.0',
      '1.0.0',
    ]);
    const input = rt.engine.get(id)?.input as { environments: { buildEnv: { Name: string; Value: string }[] }[] } | undefined;
    expect(input?.environments[0]?.buildEnv.find((v) => v.Name === 'COCONUT_IMAGE_DIGEST')?.Value).toBe(D1);

    // The overview names the trigger; `coconut watch` printed each step's line with the time left.
    await page.goto(`${rt.url}/#/`);
    await page
      .locator(`.deployments li[data-deployment="${id}"] .meta`)
      .filter({ hasText: 'promote from staging by ' })
      .waitFor();
    const watched = await watching;
    expect(watched.code, `${watched.stdout}\n${watched.stderr}`).toBe(0);
    expect(watched.stdout).toMatch(/^● prod +BAKING canary 25% — baking, \d+s left$/m);
    expect(watched.stdout).toMatch(/^● prod +BAKING canary 50% — baking, \d+s left$/m);
    expect(watched.stdout).toMatch(/^● prod +SUCCEEDED canary 100% — all 3 steps done$/m);
    expect(watched.stdout).toMatch(/✓ demo-api 1\.0\.0 succeeded on prod/);

    // History and status say where it came from.
    const history = await coconut(['history', 'demo-api', '--env', 'prod'], { env: rt.cliEnv });
    expect(history.stdout.split('\n')[1]).toMatch(
      /^1\.0\.0 \(promoted from staging\) +prod +SUCCEEDED canary 100% — all 3 steps done/,
    );
    const status = await coconut(['status'], { env: rt.cliEnv });
    expect(status.stdout).toMatch(/demo-api +prod +1\.0\.0 .*1\.0\.0 \(promoted from staging\) SUCCEEDED canary 100%/);
  });
});
