// End-to-end test of the Ansible deployment target: real ansible-playbook runs against throwaway data dirs,
// the demo app really starts, and the buildspecs are executed the way CodeBuild would run them.
import { execFile } from 'node:child_process';
import { existsSync, constants as fsConstants, readFileSync, readlinkSync } from 'node:fs';
import { access, cp, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { reservePort } from '../support/ports.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ANSIBLE_DIR = path.join(REPO, 'templates/ansible');
const BUILDSPEC_DIR = path.join(REPO, 'templates/buildspec');
const DEMO_INVENTORY = path.join(REPO, 'examples/demo/ansible/inventory.yml');
const VERSION_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$';

const YAML_FILES = [
  '.yamllint',
  'examples/demo/ansible/inventory.yml',
  'templates/ansible/deploy.yml',
  'templates/ansible/rollback.yml',
  'templates/ansible/roles/app_deploy/defaults/main.yml',
  'templates/ansible/roles/app_deploy/meta/argument_specs.yml',
  'templates/ansible/roles/app_deploy/meta/main.yml',
  'templates/ansible/roles/app_deploy/tasks',
  'templates/ansible/roles/app_deploy/vars/main.yml',
  'templates/buildspec/ansible-deploy.yml',
  'templates/buildspec/ansible-rollback.yml',
];

interface RunResult {
  code: number;
  output: string;
}

function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd ?? REPO,
        env: options.env ?? process.env,
        // A limit for a busy shared machine (chains run side by side), not a speed assertion.
        timeout: options.timeoutMs ?? 240_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        const spawnError = error && typeof error.code !== 'number' ? `\n${error.message}` : '';
        resolve({ code, output: `${stdout}\n${stderr}${spawnError}` });
      },
    );
  });
}

async function onPath(tool: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      await access(path.join(dir, tool), fsConstants.X_OK);
      return true;
    } catch {
      // not in this PATH entry
    }
  }
  return false;
}

async function get(port: number, route: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A stopped app whose parent is a non-reaping PID 1 (containers) lingers as a zombie: count it as gone.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function readPid(root: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path.join(root, 'app.pid'), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

// The environment a build runner would pass, minus anything inherited that could leak into the run.
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(COCONUT_|ANSIBLE_|CODEBUILD_)/.test(key) && key !== 'APP_VERSION') env[key] = value;
  }
  // The role starts `node` from PATH; make it the Node that runs this test, whatever the machine has.
  env.PATH = [path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);
  env.ANSIBLE_NOCOLOR = '1';
  return { ...env, ...extra };
}

interface Buildspec {
  version: number;
  env: { shell?: string; variables: Record<string, string>; 'exported-variables': string[] };
  phases: Record<string, { commands: string[] }>;
}

async function loadBuildspec(file: string): Promise<Buildspec> {
  return parse(await readFile(path.join(BUILDSPEC_DIR, file), 'utf8')) as Buildspec;
}

// Emulates CodeBuild: buildspec 0.2 runs every command of a build in one bash, so an export in post_build is
// visible when the exported variables are collected at the end. Simplified in one way: the first failing
// command ends the emulated build (CodeBuild would still run post_build, with CODEBUILD_BUILD_SUCCEEDING=0,
// which exports nothing either). Buildspec env.variables are defaults that the job's environment overrides,
// as in CodeBuild. The script text is the buildspec's own; every value still travels in the environment.
async function runBuildspec(
  file: string,
  env: NodeJS.ProcessEnv,
  phases = ['pre_build', 'build', 'post_build'],
): Promise<RunResult & { exported: Record<string, string> }> {
  const spec = await loadBuildspec(file);
  const lines = ['set -euo pipefail'];
  for (const phase of phases) {
    if (phase === 'post_build') lines.push('CODEBUILD_BUILD_SUCCEEDING=1');
    lines.push(...(spec.phases[phase]?.commands ?? []));
  }
  for (const name of spec.env['exported-variables']) {
    lines.push(`printf '\\n::exported %s=%s\\n' ${name} "\${${name}:-}"`);
  }
  const result = await run('bash', ['-c', lines.join('\n')], { env: { ...spec.env.variables, ...env } });
  const exported: Record<string, string> = {};
  for (const match of result.output.matchAll(/^::exported (\w+)=(.*)$/gm)) {
    exported[match[1] as string] = match[2] as string;
  }
  return { ...result, exported };
}

// Tests inside one chain depend on each other's state, so they run in order; the chains (and the static
// checks) are independent and run side by side, which roughly halves the wall time of a CPU-bound suite.
const IN_ORDER = { concurrent: false };

async function runStaticChecks(): Promise<{ lint: RunResult; syntax: RunResult }> {
  // ansible-lint 6.x treats every file below a folder named "templates" as Jinja text and would pass
  // templates/ansible without reading it, so it lints a copy that lives elsewhere.
  const copy = await mkdtemp(path.join(tmpdir(), 'coconut-ansible-lint-'));
  try {
    await cp(ANSIBLE_DIR, copy, { recursive: true });
    await cp(path.join(REPO, '.yamllint'), path.join(copy, '.yamllint'));
    const env = cleanEnv({ NO_COLOR: '1' });
    const [lint, syntax] = await Promise.all([
      run(
        'ansible-lint',
        ['--offline', '--profile', 'production', '--strict', 'deploy.yml', 'rollback.yml', 'roles/app_deploy'],
        { cwd: copy, env },
      ),
      run(
        'ansible-playbook',
        ['--syntax-check', '-i', DEMO_INVENTORY, 'templates/ansible/deploy.yml', 'templates/ansible/rollback.yml'],
        { env: { ...env, ANSIBLE_CONFIG: path.join(ANSIBLE_DIR, 'ansible.cfg') } },
      ),
    ]);
    return { lint, syntax };
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

// Each test's limit exceeds a playbook's (run()), so a stuck playbook reports its own output.
describe('ansible deployment target', { timeout: 300_000 }, () => {
  let work = '';
  let dataDir = '';
  let inventory = '';
  const targets = {
    staging: { root: '', port: 0 },
    prod: { root: '', port: 0 },
  };
  const startedPids = new Set<number>();

  function deployEnv(version: string, deploymentId: string, extra: Record<string, string> = {}) {
    return cleanEnv({
      ANSIBLE_CONFIG: path.join(ANSIBLE_DIR, 'ansible.cfg'),
      CODEBUILD_SRC_DIR: REPO,
      COCONUT_DATA_DIR: dataDir,
      COCONUT_SERVICE: 'demo-api',
      COCONUT_ENVIRONMENT: 'staging',
      COCONUT_VERSION: version,
      COCONUT_DEPLOYMENT_ID: deploymentId,
      // Relative to the repository root, as the buildspecs document.
      COCONUT_ANSIBLE_INVENTORY: path.relative(REPO, inventory),
      ...extra,
    });
  }

  function playbook(name: 'deploy' | 'rollback', env: NodeJS.ProcessEnv, inventoryFile = inventory): Promise<RunResult> {
    return run(
      'ansible-playbook',
      ['-i', inventoryFile, '--limit', env.COCONUT_ENVIRONMENT ?? '', path.join(ANSIBLE_DIR, `${name}.yml`)],
      { env },
    );
  }

  async function releases(root: string): Promise<string[]> {
    return (await readdir(path.join(root, 'releases'))).sort();
  }

  // Every pid ever recorded is killed in afterAll, even if a later step replaced it.
  async function recordedPid(root: string): Promise<number | undefined> {
    const pid = await readPid(root);
    if (pid) startedPids.add(pid);
    return pid;
  }

  beforeAll(async () => {
    if (!(await onPath('ansible-playbook'))) {
      throw new Error(
        'ansible-playbook is not on PATH: install it with `apt-get install -y ansible-core ansible-lint yamllint shellcheck`',
      );
    }
    work = await mkdtemp(path.join(tmpdir(), 'coconut-ansible-'));
    dataDir = path.join(work, 'data');
    await mkdir(dataDir);
    targets.staging.root = path.join(dataDir, 'targets/staging');
    targets.prod.root = path.join(dataDir, 'targets/prod');
    const ports = new Set<number>();
    // Reserved, not found by bind(0) and close: ansible starts the app on them much later (ports.ts).
    while (ports.size < 2) ports.add(await reservePort());
    [targets.staging.port, targets.prod.port] = [...ports] as [number, number];

    // Same shape as the demo inventory (same lookups, groups and connection), on free ports. Prod keeps a
    // single release and gives up after 2 health retries so that pruning and the failure path show quickly.
    const demo = parse(await readFile(DEMO_INVENTORY, 'utf8'));
    Object.assign(demo.all.children.staging.hosts['demo-staging'], {
      app_deploy_port: targets.staging.port,
      app_deploy_keep_releases: 2,
    });
    // One prod host is enough here (the demo's other prod hosts serve its canary: rollout-ansible.test.ts).
    for (const host of Object.keys(demo.all.children.prod.hosts))
      if (host !== 'demo-prod') delete demo.all.children.prod.hosts[host];
    Object.assign(demo.all.children.prod.hosts['demo-prod'], {
      app_deploy_port: targets.prod.port,
      app_deploy_keep_releases: 1,
      app_deploy_health_retries: 2,
    });
    inventory = path.join(work, 'inventory.yml');
    await writeFile(inventory, stringify(demo));
  });

  afterAll(async () => {
    for (const { root } of Object.values(targets)) {
      if (root) await recordedPid(root);
    }
    // A recorded app that exited earlier may have handed its pid to an unrelated process by now: only signal
    // processes that still run from a release below this test's folder (where /proc can tell).
    const workReal = work ? await realpath(work) : '';
    const ours = (pid: number) => {
      if (!workReal || !isAlive(pid)) return false;
      try {
        return readlinkSync(`/proc/${pid}/cwd`).startsWith(workReal);
      } catch {
        return !existsSync('/proc/self');
      }
    };
    const signal = (pid: number, name: NodeJS.Signals) => {
      try {
        process.kill(pid, name);
      } catch {
        // exited in the meantime
      }
    };
    const apps = [...startedPids].filter(ours);
    for (const pid of apps) signal(pid, 'SIGTERM');
    // A grace period before SIGKILL, not a synchronisation: ansible daemonised these apps, so they are not
    // this process's children and no exit event reaches it; /proc is all there is to look at.
    const deadline = Date.now() + 5000;
    while (apps.some(isAlive) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const pid of apps.filter(isAlive)) signal(pid, 'SIGKILL');
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe.concurrent('staging: deploy, bad release, rollback, redeploy', () => {
    const { staging } = targets;

    it('deploys 1.0.0 through the deploy buildspec: /version says 1.0.0 and /health is 200', IN_ORDER, async ({ expect }) => {
      const result = await runBuildspec('ansible-deploy.yml', deployEnv('1.0.0', 'dep-001'));
      expect(result.code, result.output).toBe(0);
      expect(result.exported.COCONUT_DEPLOYED_VERSION).toBe('1.0.0');

      expect(await get(staging.port, '/version')).toEqual({
        status: 200,
        body: { service: 'demo-api', version: '1.0.0' },
      });
      expect(await get(staging.port, '/health')).toEqual({
        status: 200,
        body: { status: 'ok', version: '1.0.0' },
      });
      expect(await readlink(path.join(staging.root, 'current'))).toBe('releases/1.0.0');
      expect(await readFile(path.join(staging.root, 'releases/1.0.0/VERSION'), 'utf8')).toBe('1.0.0\n');
      const pid = await recordedPid(staging.root);
      expect(pid && isAlive(pid)).toBe(true);
      // --limit staging leaves the prod host alone.
      expect(await exists(path.join(targets.prod.root, 'releases/1.0.0'))).toBe(false);
    });

    it('deploys 1.1.0-bad successfully; only its /health fails', IN_ORDER, async ({ expect }) => {
      const previous = await recordedPid(staging.root);
      const result = await playbook('deploy', deployEnv('1.1.0-bad', 'dep-002'));
      expect(result.code, result.output).toBe(0);

      expect((await get(staging.port, '/version')).body.version).toBe('1.1.0-bad');
      const health = await get(staging.port, '/health');
      expect(health.status).toBe(500);
      expect(health.body.status).toBe('failing');
      expect(await recordedPid(staging.root)).not.toBe(previous);
      expect(previous && isAlive(previous)).toBe(false);
      expect(await releases(staging.root)).toEqual(['1.0.0', '1.1.0-bad']);
    });

    it('rolls back to 1.0.0 through the rollback buildspec, reusing the release on disk', IN_ORDER, async ({ expect }) => {
      const serverJs = path.join(staging.root, 'releases/1.0.0/server.js');
      const before = await stat(serverJs);

      const result = await runBuildspec('ansible-rollback.yml', deployEnv('1.0.0', 'dep-003'));
      expect(result.code, result.output).toBe(0);
      expect(result.exported.COCONUT_DEPLOYED_VERSION).toBe('1.0.0');

      expect((await get(staging.port, '/version')).body.version).toBe('1.0.0');
      expect((await get(staging.port, '/health')).status).toBe(200);
      expect(await readlink(path.join(staging.root, 'current'))).toBe('releases/1.0.0');
      expect(await realpath(path.join(staging.root, 'current'))).toBe(await realpath(path.join(staging.root, 'releases/1.0.0')));
      // Switched back, not re-copied.
      expect((await stat(serverJs)).mtimeMs).toBe(before.mtimeMs);
      expect(await releases(staging.root)).toEqual(['1.0.0', '1.1.0-bad']);
      await recordedPid(staging.root);
    });

    it('is idempotent: deploying the running version again changes nothing', IN_ORDER, async ({ expect }) => {
      const pid = await recordedPid(staging.root);
      // Same deployment id as the first deploy of 1.0.0: a retried deployment, which must be a no-op.
      const result = await playbook('deploy', deployEnv('1.0.0', 'dep-001'));
      expect(result.code, result.output).toBe(0);
      expect(result.output).toMatch(/demo-staging\s+: ok=\d+\s+changed=0\s/);
      expect(await readPid(staging.root)).toBe(pid);
      expect(pid && isAlive(pid)).toBe(true);
      expect(await releases(staging.root)).toEqual(['1.0.0', '1.1.0-bad']);
      const history = await readFile(path.join(staging.root, 'deployments.log'), 'utf8');
      expect(history.split('\n').filter((line) => line.startsWith('dep-001 '))).toEqual(['dep-001 deploy staging 1.0.0']);
    });
  });

  describe.concurrent('prod: failed health check, then rollback to a release that is not on disk', () => {
    const { prod } = targets;
    const prodEnv = (version: string, id: string, extra: Record<string, string> = {}) =>
      deployEnv(version, id, { COCONUT_ENVIRONMENT: 'prod', ...extra });

    it('fails a deploy whose app answers /version with another version, saying what it saw', IN_ORDER, async ({ expect }) => {
      const src = path.join(work, 'wrong-version-src');
      const app = path.join(src, 'examples/demo/demo-app');
      await mkdir(app, { recursive: true });
      await writeFile(
        path.join(app, 'server.js'),
        [
          "const body = JSON.stringify({ service: 'demo-api', version: '0.0.0-other' });",
          "require('node:http').createServer((req, res) => res.end(body)).listen(Number(process.env.PORT), '127.0.0.1');",
          '',
        ].join('\n'),
      );
      const result = await playbook('deploy', prodEnv('2.0.0', 'dep-101', { CODEBUILD_SRC_DIR: src }));
      await recordedPid(prod.root);
      expect(result.code, result.output).not.toBe(0);
      // The callback wraps long messages, so match across the line break.
      expect(result.output).toMatch(/\/version did not report version 2\.0\.0 after 2 retries:\s+status 200/);
      expect(result.output).toContain('0.0.0-other');
      // No pruning after a failure: whatever was there stays for the rollback (and for inspection).
      expect(await releases(prod.root)).toEqual(['2.0.0']);
    });

    it('re-creates a missing release from source on rollback, then prunes the failed one', IN_ORDER, async ({ expect }) => {
      const failed = await recordedPid(prod.root);
      const result = await playbook('rollback', prodEnv('0.9.0', 'dep-102'));
      expect(result.code, result.output).toBe(0);
      expect(await get(prod.port, '/version')).toEqual({
        status: 200,
        body: { service: 'demo-api', version: '0.9.0' },
      });
      expect(await readFile(path.join(prod.root, 'releases/0.9.0/VERSION'), 'utf8')).toBe('0.9.0\n');
      expect(await readlink(path.join(prod.root, 'current'))).toBe('releases/0.9.0');
      expect(await releases(prod.root)).toEqual(['0.9.0']);
      expect(failed && isAlive(failed)).toBe(false);
      await recordedPid(prod.root);
    });
  });

  describe.concurrent('rejected and crashing deploys', () => {
    it('rejects injection attempts in the role before creating anything', async ({ expect }) => {
      const marker = path.join(work, 'pwned');
      const attempts = [`1.0;touch ${marker}`, '1.0.0\n', `{{ lookup('pipe', 'touch ${marker}') }}`];
      const results = await Promise.all(
        attempts.map(async (version, i) => {
          const isolated = path.join(work, `reject-${i}`);
          await mkdir(isolated);
          const result = await playbook('deploy', deployEnv(version, 'dep-bad', { COCONUT_DATA_DIR: isolated }));
          return { result, isolated };
        }),
      );
      for (const { result, isolated } of results) {
        expect(result.code, result.output).not.toBe(0);
        expect(result.output).toContain('app_deploy_version (env COCONUT_VERSION) must match');
        expect(result.output).toContain(VERSION_PATTERN);
        expect(await readdir(isolated)).toEqual([]);
      }
      expect(await exists(marker)).toBe(false);
    });

    it('rejects an injection attempt in the buildspec before Ansible runs', async ({ expect }) => {
      const marker = path.join(work, 'pwned-buildspec');
      const isolated = path.join(work, 'reject-buildspec');
      await mkdir(isolated);
      const result = await runBuildspec(
        'ansible-deploy.yml',
        deployEnv(`1.0;touch ${marker}`, 'dep-bad', { COCONUT_DATA_DIR: isolated }),
      );
      expect(result.code, result.output).not.toBe(0);
      expect(result.output).toContain(`COCONUT_VERSION must match ${VERSION_PATTERN}`);
      expect(result.output).not.toContain('PLAY [');
      expect(result.exported.COCONUT_DEPLOYED_VERSION).toBeUndefined();
      expect(await readdir(isolated)).toEqual([]);
      expect(await exists(marker)).toBe(false);
    });

    it('fails fast with the app log when the new release crashes on start', async ({ expect }) => {
      // Its own data dir and its own port: the prod chain runs concurrently, and while its wrong-version app
      // listened on prod's port the role's health wait found THAT app answering (a CI run saw 0.0.0-other)
      // instead of noticing that this release had exited. The prod chain's app.pid is never touched.
      const isolated = path.join(work, 'crash');
      const src = path.join(work, 'crashing-src');
      const app = path.join(src, 'examples/demo/demo-app');
      await mkdir(app, { recursive: true });
      await writeFile(path.join(app, 'server.js'), "console.error('boom'); process.exit(1);\n");
      const crashInventory = path.join(work, 'crash-inventory.yml');
      const own = parse(await readFile(inventory, 'utf8'));
      own.all.children.prod.hosts['demo-prod'].app_deploy_port = await reservePort();
      await writeFile(crashInventory, stringify(own));
      const result = await playbook(
        'deploy',
        deployEnv('3.0.0', 'dep-301', {
          COCONUT_ENVIRONMENT: 'prod',
          COCONUT_DATA_DIR: isolated,
          CODEBUILD_SRC_DIR: src,
          COCONUT_ANSIBLE_INVENTORY: path.relative(REPO, crashInventory),
        }),
        crashInventory,
      );
      expect(result.code, result.output).not.toBe(0);
      expect(result.output).toContain('server.js exited right after start');
      expect(result.output).toContain('boom');
      expect(await exists(path.join(isolated, 'targets/prod/releases/3.0.0/VERSION'))).toBe(true);
    });

    it('refuses to deploy to hosts outside the environment group', async ({ expect }) => {
      // "all" passes the name pattern and selects every host through --limit; the role must still refuse.
      const isolated = path.join(work, 'reject-all');
      await mkdir(isolated);
      const result = await playbook(
        'deploy',
        deployEnv('1.0.0', 'dep-bad', { COCONUT_ENVIRONMENT: 'all', COCONUT_DATA_DIR: isolated }),
      );
      expect(result.code, result.output).not.toBe(0);
      expect(result.output).toContain('is not in inventory group "all"');
      expect(await readdir(isolated)).toEqual([]);
    });
  });

  describe.concurrent('static checks', () => {
    it('passes ansible-lint (production profile) and ansible-playbook --syntax-check', async ({ expect }) => {
      const { lint, syntax } = await runStaticChecks();
      expect(lint.code, lint.output).toBe(0);
      expect(lint.output).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
      expect(syntax.code, syntax.output).toBe(0);
    });

    it('passes yamllint in strict mode', async ({ expect }) => {
      const result = await run('yamllint', ['--strict', '-c', path.join(REPO, '.yamllint'), ...YAML_FILES]);
      expect(result.code, result.output).toBe(0);
    });
    it('passes shellcheck on every shell snippet: buildspec commands, role shell tasks and shipped .sh files', async ({
      expect,
    }) => {
      const scratch = await mkdtemp(path.join(tmpdir(), 'coconut-shellcheck-'));
      try {
        const scripts: { file: string; shell: 'bash' | 'sh' }[] = [];
        // Buildspec commands run under bash with `set -euo pipefail` semantics.
        for (const name of ['ansible-deploy.yml', 'ansible-rollback.yml']) {
          const spec = await loadBuildspec(name);
          for (const [phase, { commands }] of Object.entries(spec.phases)) {
            for (const [i, command] of commands.entries()) {
              const file = path.join(scratch, `${name}.${phase}.${i}.sh`);
              await writeFile(file, `#!/usr/bin/env bash\nset -euo pipefail\n${command}\n`);
              scripts.push({ file, shell: 'bash' });
            }
          }
        }
        // ansible.builtin.shell runs /bin/sh, so those snippets must be POSIX.
        const tasksDir = path.join(ANSIBLE_DIR, 'roles/app_deploy/tasks');
        for (const name of await readdir(tasksDir)) {
          const tasks = (parse(await readFile(path.join(tasksDir, name), 'utf8')) ?? []) as Record<string, unknown>[];
          for (const [i, task] of tasks.entries()) {
            const shell = task['ansible.builtin.shell'] as { cmd?: string } | undefined;
            if (!shell?.cmd) continue;
            const file = path.join(scratch, `${name}.${i}.sh`);
            await writeFile(file, `#!/bin/sh\n${shell.cmd}`);
            scripts.push({ file, shell: 'sh' });
          }
        }
        for (const dir of ['templates/ansible', 'templates/buildspec', 'examples/demo']) {
          const entries = await readdir(path.join(REPO, dir), { recursive: true });
          for (const entry of entries.filter((e) => e.endsWith('.sh'))) {
            scripts.push({ file: path.join(REPO, dir, entry), shell: 'bash' });
          }
        }
        expect(scripts.length).toBeGreaterThan(10);
        for (const shell of ['bash', 'sh'] as const) {
          const files = scripts.filter((s) => s.shell === shell).map((s) => s.file);
          const result = await run('shellcheck', ['--shell', shell, ...files]);
          expect(result.code, result.output).toBe(0);
        }
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    });

    it('declares the buildspec contract the local runner relies on', async ({ expect }) => {
      for (const [name, playbookVar, playbookPath] of [
        ['ansible-deploy.yml', 'COCONUT_ANSIBLE_PLAYBOOK', 'templates/ansible/deploy.yml'],
        ['ansible-rollback.yml', 'COCONUT_ANSIBLE_ROLLBACK_PLAYBOOK', 'templates/ansible/rollback.yml'],
      ] as const) {
        const spec = await loadBuildspec(name);
        expect(spec.version).toBe(0.2);
        expect(spec.env.shell).toBe('bash');
        expect(spec.env.variables).toMatchObject({
          COCONUT_REQUIRED_TOOLS: 'ansible-playbook',
          ANSIBLE_CONFIG: 'templates/ansible/ansible.cfg',
          ANSIBLE_NOCOLOR: '1',
          [playbookVar]: playbookPath,
        });
        expect(spec.env['exported-variables']).toEqual(['COCONUT_DEPLOYED_VERSION']);
        expect(Object.keys(spec.phases)).toEqual(['install', 'pre_build', 'build', 'post_build']);

        // post_build runs after a failed build too: only a build that succeeded may export the version.
        const script = [
          'set -euo pipefail',
          ...(spec.phases.post_build?.commands ?? []),
          `printf "exported=%s\\n" "\${COCONUT_DEPLOYED_VERSION:-}"`,
        ].join('\n');
        const base = {
          COCONUT_SERVICE: 'demo-api',
          COCONUT_ENVIRONMENT: 'staging',
          COCONUT_VERSION: '1.2.3',
        };
        for (const [succeeding, exported] of [
          ['1', '1.2.3'],
          ['0', ''],
          [undefined, ''],
        ] as const) {
          const env = cleanEnv(succeeding ? { ...base, CODEBUILD_BUILD_SUCCEEDING: succeeding } : base);
          const result = await run('bash', ['-c', script], { env });
          expect(result.code, result.output).toBe(0);
          expect(result.output).toContain(`exported=${exported}\n`);
        }
      }
    });

    it('validates every input in pre_build with a message naming the variable', async ({ expect }) => {
      const good = cleanEnv({
        COCONUT_SERVICE: 'demo-api',
        COCONUT_ENVIRONMENT: 'staging',
        COCONUT_VERSION: '1.2.3',
        COCONUT_DEPLOYMENT_ID: 'dep-01:abc',
        COCONUT_ANSIBLE_INVENTORY: 'examples/demo/ansible/inventory.yml',
      });
      const cases: [Record<string, string>, string][] = [
        [{}, ''],
        [{ COCONUT_SERVICE: '' }, 'COCONUT_SERVICE must match'],
        [{ COCONUT_SERVICE: 'Demo_API' }, 'COCONUT_SERVICE must match'],
        [{ COCONUT_ENVIRONMENT: 'staging,prod' }, 'COCONUT_ENVIRONMENT must match'],
        [{ COCONUT_VERSION: '$(id)' }, 'COCONUT_VERSION must match'],
        [{ COCONUT_VERSION: 'é1.0' }, 'COCONUT_VERSION must match'],
        [{ COCONUT_VERSION: '1.0.0\n' }, 'COCONUT_VERSION must match'],
        [{ COCONUT_DEPLOYMENT_ID: '' }, 'COCONUT_DEPLOYMENT_ID must match'],
        [{ COCONUT_ANSIBLE_INVENTORY: '' }, 'COCONUT_ANSIBLE_INVENTORY must be an existing path'],
        [{ COCONUT_ANSIBLE_INVENTORY: '--help' }, 'COCONUT_ANSIBLE_INVENTORY must be an existing path'],
        [{ COCONUT_ANSIBLE_PLAYBOOK: 'nope.yml' }, 'COCONUT_ANSIBLE_PLAYBOOK must be an existing file'],
      ];
      const results = await Promise.all(
        cases.map(([overrides]) => runBuildspec('ansible-deploy.yml', { ...good, ...overrides }, ['pre_build'])),
      );
      for (const [i, [overrides, message]] of cases.entries()) {
        const result = results[i] as RunResult;
        if (message) {
          expect(result.code, JSON.stringify(overrides)).not.toBe(0);
          expect(result.output).toContain(message);
        } else {
          expect(result.code, result.output).toBe(0);
        }
      }

      const rollback = await runBuildspec('ansible-rollback.yml', { ...good, COCONUT_ANSIBLE_ROLLBACK_PLAYBOOK: 'nope.yml' }, [
        'pre_build',
      ]);
      expect(rollback.code).not.toBe(0);
      expect(rollback.output).toContain('COCONUT_ANSIBLE_ROLLBACK_PLAYBOOK must be an existing file');
    });
  });
});
