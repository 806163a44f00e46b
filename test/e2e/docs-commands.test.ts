/**
 * Every command the README and docs/*.md tell a reader to type, run as written (issue 14).
 *
 * The commands are read from the files (every line of every ```bash block: test/support/doc-commands.ts),
 * never copied here. Each one needs a way through this test, or the test fails naming it:
 * - LOCAL: run by bash, as the line is written, from a copy of the repository root while the demo
 *   runs beside it (started by the documented `npm start` line itself), in the order the docs give.
 *   A line may be preceded by a wait (the approval id the runtime prints, `coconut watch` of the
 *   deployment just started: what a reader does by looking at terminal 1) and checked by what it
 *   must answer (exit code, text the docs promise in their comments).
 * - NOT_HERE: commands that need an AWS account, Slack or that would reinstall or re-run this
 *   repository; each is listed with the reason, and what can be checked offline is (its flags are
 *   in the command's usage, the npm script or the tool exists).
 * A new line in the docs with neither fails the first test.
 *
 * Where the line cannot be typed here exactly as a reader types it, SUBSTITUTIONS says what is put
 * in its place and why (an approval id only known at run time; ports the machine's other tests may
 * use). Nothing else is changed.
 *
 * "The repository root": a temporary folder holding symbolic links to the checkout's files (so
 * `npx coconut` finds this package's bin, as it does at the root) and its own copy of examples/
 * (the demo, with its app ports moved to reserved ones). What the commands write (.coconut/, the
 * generated helm/ chart, history.jsonl, new-data/) lands there, never in the checkout; the test
 * checks `git status` of the checkout is the same at the end.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/core/model/map-limit.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { type CliResult, collect } from '../support/cli.ts';
import { type DocCommand, docCommands } from '../support/doc-commands.ts';
import { reservePort } from '../support/ports.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS } from '../support/runtime.ts';

/** The files whose ```bash blocks are read: the README, then every page of docs/. */
const DOC_FILES = [
  'README.md',
  ...readdirSync(path.join(PROJECT_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

function allCommands(): DocCommand[] {
  return DOC_FILES.flatMap((file) => docCommands(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'), file));
}

type Ran = CliResult;

/** What the test knows while it goes through the docs: the ids and ports a reader would read off the screen. */
interface Session {
  root: string;
  env: Record<string, string>;
  /** prodHosts: the demo prod's other hosts (4603-4605), which only their deploys use. */
  ports: { runtime: number; prodApp: number; stagingApp: number; newRuntime: number; prodHosts: number[] };
  runtimes: { child: ChildProcess; output: Output }[];
  /** The last deployment id a command printed ("(deployment ID"). */
  deploymentId?: string;
  /** The id of the last approval the runtime announced ("Approve: npx coconut approve apr-…"). */
  approvalId?: string;
  /** Where in the main runtime's output the last approval id was found. */
  approvalsSeen: number;
  run(command: string, exports?: string[]): Promise<Ran>;
}

/**
 * What is put in place of a part of a line that cannot be typed here as written, and why. Applied to
 * LOCAL lines only, in this order.
 */
const SUBSTITUTIONS: { find: RegExp; why: string; value: (s: Session) => string }[] = [
  {
    find: /apr-…/g,
    why: 'the README says: "the id printed by `status` and in terminal 1" — the one the runtime printed last',
    value: (s) => need(s.approvalId, 'an approval id printed by the runtime'),
  },
  {
    find: /DEPLOYMENT-ID/g,
    why: 'the id of the deployment the previous command started (printed as "(deployment ID")',
    value: (s) => need(s.deploymentId, 'a deployment id printed by an earlier command'),
  },
  {
    find: /127\.0\.0\.1:4602\b/g,
    why: "the demo's prod app port; the test's copy of the demo deploys prod on a reserved port (4602 may be any other process's here)",
    value: (s) => `127.0.0.1:${s.ports.prodApp}`,
  },
  {
    find: /\b4600\b/g,
    why: 'the port of the second runtime in the export/import example (4600 may be taken on a shared machine)',
    value: (s) => String(s.ports.newRuntime),
  },
];

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the docs use ${what} before any was printed`);
  return value;
}

/** One occurrence of a LOCAL line: what comes before it and what it must answer. */
interface Step {
  /** An event-based wait before the line, as a reader waits (for the runtime's output, or `watch`). */
  before?: (s: Session) => Promise<void>;
  /** Expected exit code (default 0). */
  code?: number;
  /** Text the answer must hold (stdout and stderr together): what the docs' comment promises. */
  says?: RegExp[];
  /** Checks after the line, on what it wrote. */
  after?: (s: Session, ran: Ran) => Promise<void>;
  /** The line starts a runtime that keeps running (`npm start`): wait until it says it runs. */
  background?: boolean;
}

/** A line that cannot run here, with the reason, and what is checked offline instead. */
interface NotHere {
  why: string;
  check?: (s: Session, c: DocCommand) => Promise<void>;
}

/** Follows a deployment with the CLI's own `watch` until it ends (what a reader does when a comment says "SUCCEEDED"). */
function watchLast(code: number): (s: Session) => Promise<void> {
  return async (s) => {
    const id = need(s.deploymentId, 'a deployment id');
    // Room for prod's canary: three deploys over four hosts, each step baked.
    const ran = await s.run(`npx coconut watch ${id} --timeout 8m`);
    expect(ran.code, `coconut watch ${id}\n${ran.stdout}${ran.stderr}`).toBe(code);
  };
}

/** Waits until the main runtime prints an approval not seen before, and keeps its id. */
async function nextApproval(s: Session): Promise<void> {
  const main = s.runtimes[0];
  if (!main) throw new Error('no runtime running');
  const { match, end } = await main.output.waitFor(/Approve: npx coconut approve (apr-\S+)/, s.approvalsSeen, 240_000);
  s.approvalId = match[1];
  s.approvalsSeen = end;
}

/**
 * The LOCAL lines, by their text. An array holds one step per occurrence, in the order of the docs;
 * a single step serves every occurrence.
 */
const LOCAL: Record<string, Step | Step[]> = {
  'npm ci && npm start': [
    { background: true }, // the first block of the README: the runtime every later line talks to
    { background: true }, // "Try it": the same runtime, already running (the step sees it and goes on)
  ],
  'npx coconut push demo-api:1.0.0': { says: [/deploying demo-api \(deployment /] },
  'npx coconut status': [
    { says: [/demo-api/, /staging/] },
    { before: watchLast(1), says: [/ROLLED_BACK/, /demo-api-staging-health/] },
    { says: [/demo-api/, /prod/] },
  ],
  'npx coconut approve apr-…': { before: nextApproval, says: [/approved/i] },
  'npx coconut history demo-api': [
    { before: watchLast(0), says: [/staging\s+1\.0\.0\s+SUCCEEDED|SUCCEEDED/, /prod/] },
    { says: [/1\.0\.0/] },
  ],
  'curl 127.0.0.1:4602/version': { says: [/1\.0\.0/] },
  'npx coconut push demo-api:1.1.0-bad': { says: [/deploying demo-api \(deployment /] },
  // 1.0.0 passed staging (1.1.0-bad rolled back there): its recorded digest goes to prod.
  'npx coconut promote demo-api --to prod': {
    says: [/promoting demo-api 1\.0\.0 \(sha256:[0-9a-f]{64}, passed on staging\) to prod/, /— deployment /],
  },
  // A pin and its unpin, one after the other (README, then docs/cli.md): nothing waits in between.
  'npx coconut pin demo-api --env prod --reason "hold for the audit"': {
    says: [/demo-api on prod is PINNED (at \S+ )?by .+: hold for the audit/],
  },
  'npx coconut unpin demo-api --env prod --comment "audit done"': { says: [/demo-api on prod is no longer pinned/] },
  'npx coconut webhook github-tag 1.3.0 --repo coconut-demo/demo-api': {
    says: [/sent tag 1\.3\.0 of coconut-demo\/demo-api .*HTTP 20\d/],
  },
  'npx coconut webhook ghcr coconut-demo/demo-api:1.3.0': {},
  'npx coconut webhook dockerhub coconut/demo-api:1.3.0': {},
  'npx coconut webhook ghcr owner/name:1.3.0': {},
  'npx coconut webhook dockerhub namespace/name:1.3.0': {},
  'npx coconut deploy demo-api 1.0.0 --env staging --wait': { says: [/deploying demo-api 1\.0\.0 to staging/] },
  'npx coconut rollback demo-api --env staging --wait': {},
  'npx coconut watch DEPLOYMENT-ID': {},
  'npx coconut history demo-api --env prod --state ROLLED_BACK': {},
  'npx coconut cost --deploys-per-day 20': { says: [/CodePipeline/] },
  'npx coconut generate helm --service demo-web': { says: [/wrote .*helm\/demo-web/] },
  // The demo's workspace was written by this command: --force writes the same files again.
  'npx coconut generate copilot --service demo-worker --force': {
    says: [/wrote examples\/demo\/copilot\/demo-worker\/manifest\.yml \(replaced\)/],
    after: async (s) => {
      for (const file of ['.workspace', 'demo-worker/manifest.yml', 'environments/prod/manifest.yml']) {
        const where = `examples/demo/copilot/${file}`;
        expect(readFileSync(path.join(s.root, where), 'utf8'), where).toBe(readFileSync(path.join(PROJECT_ROOT, where), 'utf8'));
      }
    },
  },
  'npx coconut generate ecs --service demo-orders': {},
  'npx coconut generate ansible --service demo-api': {},
  'npx coconut generate ci --service demo-api': {},
  'npx coconut generate dockerfile --service demo-api': {},
  'npx coconut validate': {},
  // Open or closed now, by the example's freeze windows, with the next change and its time zone.
  'npx coconut validate --config examples/freeze/coconut.yaml': {
    says: [/prod: (OPEN, closes|FROZEN until) \d{4}-\d\d-\d\d \d\d:\d\d \(Europe\/Berlin\)/],
  },
  'npx coconut export --out history.jsonl': {},
  'COCONUT_PORT=4600 COCONUT_DATA_DIR=new-data npm start': { background: true },
  'export COCONUT_PORT=4600 COCONUT_DATA_DIR=new-data': {},
  'npx coconut import history.jsonl --dry-run': { says: [/DRY RUN, nothing written: would import \d+ of \d+ records/] },
  'npx coconut import history.jsonl': { says: [/imported \d+ of \d+ records from history\.jsonl/] },
};

const AWS_ACCOUNT = 'needs an AWS account (and credentials); the test checks offline what it can';

const usages = new Map<string, Promise<Ran>>();

/** Every flag of a `npx coconut CMD …` line is one the command's usage (`--help`) names. */
async function flagsKnown(s: Session, c: DocCommand): Promise<void> {
  for (const part of c.text.split('&&').map((p) => p.trim())) {
    const m = /^npx coconut (\S+)(.*)$/.exec(part);
    if (!m?.[1]) continue;
    const name = m[1];
    if (!usages.has(name)) usages.set(name, s.run(`npx coconut ${name} --help`));
    const help = await (usages.get(name) as Promise<Ran>);
    expect(help.code, `${c.file}:${c.line}: coconut ${name} --help\n${help.stderr}`).toBe(0);
    for (const flag of (m[2] ?? '').match(/--[a-z-]+/g) ?? [])
      expect(help.stdout, `${c.file}:${c.line}: ${flag} is not in the usage of coconut ${name}`).toContain(flag);
  }
}

/**
 * A `npx coconut … --stage S` line gets past its argument parsing to where it looks for the stage's
 * API URL (.sst/outputs.json, written by `sst deploy`; the reader root here has none). The
 * approval id is any well-formed one: there is no stage to hold a real one.
 */
async function stageReached(s: Session, c: DocCommand): Promise<void> {
  if (!c.text.startsWith('npx coconut ')) return;
  await flagsKnown(s, c);
  const stage = /--stage (\S+)/.exec(c.text)?.[1];
  const ran = await s.run(c.text.replace(/apr-…/g, 'apr-0123456789'));
  expect(ran.code, `${c.file}:${c.line}: ${c.text}\n${ran.stdout}${ran.stderr}`).toBe(1);
  expect(ran.stderr, `${c.file}:${c.line}`).toContain(`--stage ${stage}: cannot read ${path.join(s.root, '.sst/outputs.json')}`);
}

/** The `sst` CLI is the project's own devDependency (it cannot run offline: it downloads the Pulumi engine). */
async function sstInstalled(): Promise<void> {
  expect(existsSync(path.join(PROJECT_ROOT, 'node_modules/.bin/sst'))).toBe(true);
}

/** Lines that cannot run here, by their text (or by a rule below), each with its reason. */
const NOT_HERE: Record<string, NotHere> = {
  'npm test': {
    why: 'the whole suite, this test among them',
    check: async () => expect(pkgScript('test')).toMatch(/vitest run/),
  },
  'npm run typecheck': { why: 'CI runs it (.ci/run)', check: async () => expect(pkgScript('typecheck')).toBeTruthy() },
  'npm run lint': { why: 'CI runs it (.ci/run)', check: async () => expect(pkgScript('lint')).toBeTruthy() },
  'npm run bench': { why: 'minutes of load on a shared machine', check: async () => expect(pkgScript('bench')).toBeTruthy() },
  'npm run mutate': {
    why: 'tens of minutes of mutation testing on a shared machine (README: not part of .ci/run)',
    check: async () => expect(pkgScript('mutate')).toContain('stryker'),
  },
  'npx coconut preflight': { why: AWS_ACCOUNT, check: flagsKnown },
  'npx coconut unfreeze DEPLOYMENT-ID --comment "hotfix for INC-42"': {
    why: 'needs a deployment held by a freeze window, and the demo has none (it must deploy on any day); test/e2e/freeze.test.ts runs unfreeze on a held one',
    check: flagsKnown,
  },
  'npx coconut validate && npx coconut preflight': {
    why: `preflight ${AWS_ACCOUNT} (validate runs as a LOCAL line of docs/deploy-aws.md)`,
    check: flagsKnown,
  },
  'export SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=…': {
    why: 'needs a Slack app; test/e2e/slack.test.ts runs the runtime against a Slack stand-in',
  },
  'npm start': { why: "with the Slack variables above (the previous line); without them it is the README's `npm start`" },
};

/** Lines that cannot run here by what they are. */
const NOT_HERE_RULES: { match: RegExp; not: NotHere }[] = [
  {
    match: /^npx sst /,
    not: { why: `SST deploys to ${AWS_ACCOUNT.replace('needs ', '')}`, check: sstInstalled },
  },
  { match: /^aws /, not: { why: `the AWS CLI against an account: ${AWS_ACCOUNT}` } },
  { match: /^docker push /, not: { why: `a push to ECR: ${AWS_ACCOUNT}` } },
  { match: /--stage /, not: { why: `a deployed stage: ${AWS_ACCOUNT}`, check: stageReached } },
];

function pkgScript(name: string): string | undefined {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return pkg.scripts[name];
}

function notHere(c: DocCommand): NotHere | undefined {
  return NOT_HERE[c.text] ?? NOT_HERE_RULES.find((r) => r.match.test(c.text))?.not;
}

/** Output of a process the test started, with an event-based wait for a line. */
class Output {
  text = '';
  private waiters = new Set<() => void>();
  add(chunk: string): void {
    this.text += chunk;
    for (const w of [...this.waiters]) w();
  }
  waitFor(pattern: RegExp, from: number, limitMs: number): Promise<{ match: RegExpExecArray; end: number }> {
    return new Promise((resolve, reject) => {
      const look = () => {
        const rest = this.text.slice(from);
        const match = pattern.exec(rest);
        if (!match) return;
        this.waiters.delete(look);
        clearTimeout(limit);
        resolve({ match, end: from + match.index + match[0].length });
      };
      const limit = setTimeout(() => {
        this.waiters.delete(look);
        reject(new Error(`no ${pattern} within ${limitMs} ms; last output:\n${this.text.slice(-2000)}`));
      }, limitMs);
      this.waiters.add(look);
      look();
    });
  }
}

/** The environment of the reader's shell: nothing of this machine's COCONUT_/AWS_/SLACK_ settings. */
function readerEnv(port: number): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name, v]) => v !== undefined && !/^(COCONUT_|AWS_|SLACK_)/.test(name)),
  ) as Record<string, string>;
  // The demo's port, 4500, may be anyone's on a shared machine: the reader's shell sets COCONUT_PORT
  // (documented: "COCONUT_PORT, default 4500"), which `npm start` and the CLI both read.
  return { ...env, COCONUT_PORT: String(port), NO_COLOR: '1' };
}

/**
 * The repository root the reader stands in: links to the checkout's files, and its own copy of
 * examples/ with the demo's app ports (4601 staging, 4602 prod) moved to reserved ones. The demo's
 * inventory path is made absolute to the copy, since builds run in the checkout (CODEBUILD_SRC_DIR).
 */
function readerRoot(ports: Session['ports']): string {
  const root = mkdtempSync(path.join(tmpdir(), 'coconut-docs-'));
  for (const name of readdirSync(PROJECT_ROOT)) {
    if (['.git', '.coconut', '.sst', 'examples'].includes(name)) continue;
    symlinkSync(path.join(PROJECT_ROOT, name), path.join(root, name));
  }
  cpSync(path.join(PROJECT_ROOT, 'examples'), path.join(root, 'examples'), { recursive: true });
  const ports_ = (text: string) =>
    text
      .replaceAll(':4601/', `:${ports.stagingApp}/`)
      .replaceAll(':4602/', `:${ports.prodApp}/`)
      .replace('app_deploy_port: 4601', `app_deploy_port: ${ports.stagingApp}`)
      .replace('app_deploy_port: 4602', `app_deploy_port: ${ports.prodApp}`)
      .replace('app_deploy_port: 4603', `app_deploy_port: ${ports.prodHosts[0]}`)
      .replace('app_deploy_port: 4604', `app_deploy_port: ${ports.prodHosts[1]}`)
      .replace('app_deploy_port: 4605', `app_deploy_port: ${ports.prodHosts[2]}`);
  const inventory = path.join(root, 'examples/demo/ansible/inventory.yml');
  writeFileSync(inventory, ports_(readFileSync(inventory, 'utf8')));
  const config = path.join(root, 'examples/demo/coconut.yaml');
  const demo = ports_(readFileSync(config, 'utf8')).replace(
    'inventory: examples/demo/ansible/inventory.yml',
    `inventory: ${inventory}`,
  );
  expect(demo).toContain(`inventory: ${inventory}`);
  expect(demo).toContain(`:${ports.prodApp}/health`);
  writeFileSync(config, demo);
  return root;
}

function gitStatus(): string {
  return execFileSync('git', ['status', '--porcelain', '--ignored=no'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
}

describe('the docs, run as written', () => {
  let session: Session;
  const statusBefore = gitStatus();

  beforeAll(async () => {
    const ports = {
      runtime: await reservePort(),
      prodApp: await reservePort(),
      stagingApp: await reservePort(),
      prodHosts: [await reservePort(), await reservePort(), await reservePort()],
      newRuntime: await reservePort(),
    };
    const root = readerRoot(ports);
    const env = readerEnv(ports.runtime);
    session = {
      root,
      env,
      ports,
      runtimes: [],
      approvalsSeen: 0,
      run(command, exports = []) {
        const child = spawn('bash', ['-c', [...exports, command].join('\n')], {
          cwd: root,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 300_000,
        });
        return collect(child);
      },
    };
  });

  afterAll(async () => {
    // The runtimes this test started, each by its process group (npm, its shell and the node
    // process under it), then waited for: `coconut dev` removes its runtime.json on SIGTERM.
    for (const { child } of session?.runtimes ?? []) {
      if (child.exitCode !== null || child.pid === undefined) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    // The reader root: links (removed, never followed), the examples copy and what the commands wrote.
    if (session?.root) rmSync(session.root, { recursive: true, force: true });
  });

  it('every command line of the README and docs/*.md has a way through this test', () => {
    const commands = allCommands();
    expect(commands.length).toBeGreaterThan(30);
    const without = commands.filter((c) => !(c.text in LOCAL) && !notHere(c));
    expect(
      without.map((c) => `${c.file}:${c.line}: ${c.text}`),
      'lines that neither run here (LOCAL) nor say why they cannot (NOT_HERE)',
    ).toEqual([]);
    // One step per occurrence where steps are listed; no entry for a line the docs no longer have.
    for (const [text, steps] of Object.entries(LOCAL)) {
      const count = commands.filter((c) => c.text === text).length;
      expect(count, `LOCAL "${text}" is in no doc any more`).toBeGreaterThan(0);
      if (Array.isArray(steps)) expect(steps.length, `occurrences of "${text}"`).toBe(count);
    }
    for (const text of Object.keys(NOT_HERE))
      expect(
        commands.some((c) => c.text === text),
        `NOT_HERE "${text}" is in no doc any more`,
      ).toBe(true);
    // `npx coconut` runs this package's bin, and `npm start` the demo, as the docs say.
    expect(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).bin.coconut).toBe('bin/coconut.mjs');
    expect(pkgScript('start')).toBe('node bin/coconut.mjs dev --config examples/demo/coconut.yaml');
  });

  it(
    'the lines that cannot run here pass what can be checked offline',
    async () => {
      // Four at a time: each is a process that mostly waits for Node to start, and all at once on a busy
      // 2-core machine starved each other past the limit.
      const checks = allCommands().filter((c) => !(c.text in LOCAL));
      await mapLimit(checks, 4, async (c) => notHere(c)?.check?.(session, c));
    },
    REAL_DEPLOY_TEST_LIMIT_MS,
  );

  it(
    'the local lines run as written, in order, from the repository root beside `npm start`',
    async () => {
      const seen = new Map<string, number>();
      const exportsOf = new Map<string, string[]>();
      for (const c of allCommands()) {
        const steps = LOCAL[c.text];
        if (!steps) continue;
        const n = seen.get(c.text) ?? 0;
        seen.set(c.text, n + 1);
        const step = (Array.isArray(steps) ? steps[n] : steps) ?? {};
        const where = `${c.file}:${c.line}: ${c.text}`;
        if (!step.background) await step.before?.(session);
        let line = c.text;
        for (const sub of SUBSTITUTIONS) if (sub.find.test(line)) line = line.replace(sub.find, sub.value(session));
        // `export` lines hold for the rest of their block, as in the reader's terminal.
        const key = `${c.file}#${c.block}`;
        const exports = exportsOf.get(key) ?? [];
        if (line.startsWith('export ')) exportsOf.set(key, [...exports, line]);
        if (step.background) {
          await startRuntime(session, line, where);
          continue;
        }
        const ran = await session.run(line, exports);
        const said = `${ran.stdout}${ran.stderr}`;
        expect(ran.code, `${where}\n${said}`).toBe(step.code ?? 0);
        for (const text of step.says ?? []) expect(said, where).toMatch(text);
        await step.after?.(session, ran);
        const id = [...said.matchAll(/\(deployment ([^,)\s]+)/g)].at(-1)?.[1] ?? /— deployment (\S+)/.exec(said)?.[1];
        if (id) session.deploymentId = id;
      }
      // Nothing was written into the checkout.
      expect(gitStatus()).toBe(statusBefore);
    },
    // Nine real ansible-playbook deploys and rollbacks with their bakes (prod's canary: three steps, each
    // baked), and some forty commands that each start Node: a limit for a shared 2-core machine, never a
    // speed assertion. About 640 s on an otherwise idle 2-core machine; 900 s was passed when other work
    // shared it, so the limit leaves more than twice the usual time.
    5 * REAL_DEPLOY_TEST_LIMIT_MS,
  );
});

/**
 * Runs an `npm start` line in the background, in its own process group, and waits until the runtime
 * says it runs. A line that would start a second runtime on a data dir and port already served is
 * the reader's terminal 1, still running: nothing new starts.
 */
async function startRuntime(s: Session, line: string, where: string): Promise<void> {
  const command = line.replace(/^npm ci && /, ''); // npm ci: the checkout is installed already (it would reinstall its node_modules)
  const sameAsRunning = s.runtimes.some((r) => r.output.text.length > 0) && command === 'npm start';
  if (sameAsRunning) return;
  const child = spawn('bash', ['-c', command], { cwd: s.root, env: s.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new Output();
  child.stdout?.on('data', (d) => output.add(String(d)));
  child.stderr?.on('data', (d) => output.add(String(d)));
  s.runtimes.push({ child, output });
  const started = output.waitFor(/Coconut is running at/, 0, 120_000);
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${where}: exited ${code} before running\n${output.text}`))),
  );
  await Promise.race([started, died]);
}
