/**
 * `npm test` prepares the system tools the suite runs for real (scripts/system-tools.ts), and
 * `coconut dev` gives the same install hint. Run here with a PATH that lacks the tools: a fake
 * `apt-get` (a recording shell script in a temp folder) stands in for the real one, so the test
 * sees the exact command chosen without installing anything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installCommand, missingTools, planInstall, TEST_TOOLS } from '../../src/local/system-tools.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ALL_PACKAGES = ['ansible-core', 'ansible-lint', 'yamllint', 'shellcheck', 'chromium', 'openssl'];
const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-system-tools-'));
  dirs.push(dir);
  return dir;
}

function executable(dir: string, name: string, body: string): void {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

function prepare(args: string[], envPath: string) {
  return spawnSync(process.execPath, [path.join(ROOT, 'scripts/system-tools.ts'), ...args], {
    cwd: ROOT,
    env: { HOME: process.env.HOME ?? '/root', PATH: envPath },
    encoding: 'utf8',
  });
}

describe('planInstall: what npm test does about missing tools', () => {
  const ansible = TEST_TOOLS.filter((t) => t.aptPackage === 'ansible-core');

  it('as root with apt-get: updates the lists, then installs the missing packages by name', () => {
    expect(planInstall(ansible, { apt: true, root: true, passwordlessSudo: false })).toEqual({
      kind: 'install',
      packages: ['ansible-core'],
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', 'ansible-core'],
      ],
    });
  });

  it('with passwordless sudo: the same commands through sudo', () => {
    const plan = planInstall(ansible, { apt: true, root: false, passwordlessSudo: true });
    expect(plan.kind === 'install' && plan.commands.every((c) => c[0] === 'sudo')).toBe(true);
  });

  it('when sudo asks for a password: nothing is run, the one command is given', () => {
    expect(planInstall(TEST_TOOLS, { apt: true, root: false, passwordlessSudo: false })).toEqual({
      kind: 'instruct',
      packages: ALL_PACKAGES,
      command: `sudo apt-get update && sudo apt-get install -y ${ALL_PACKAGES.join(' ')}`,
    });
  });

  it('without apt-get: names the packages for the system package manager', () => {
    expect(installCommand(['ansible-core'], { apt: false, root: true })).toBe(
      "install these packages with your system's package manager: ansible-core",
    );
  });

  it('nothing missing and lists present: nothing to do', () => {
    expect(planInstall([], { apt: true, root: true, passwordlessSudo: false })).toEqual({ kind: 'none' });
  });
});

describe('scripts/system-tools.ts with a PATH that lacks the tools', () => {
  it('finds every tool missing on such a PATH', () => {
    expect(missingTools(TEST_TOOLS, tempDir()).map((t) => t.command)).toEqual([
      'ansible-playbook',
      'ansible-lint',
      'yamllint',
      'shellcheck',
      'chromium',
      'openssl',
    ]);
  });

  it('runs apt-get (a recording fake) for every missing package, and still fails when they did not appear', () => {
    const bin = tempDir();
    const record = path.join(bin, 'apt-get.calls');
    executable(bin, 'apt-get', `echo "$*" >> ${record}`);
    const run = prepare([], bin);
    expect(run.status).toBe(1);
    if (isRoot) {
      expect(readFileSync(record, 'utf8').trim().split('\n')).toEqual(['update -qq', `install -y -qq ${ALL_PACKAGES.join(' ')}`]);
      expect(run.stderr).toContain('missing, so installing them');
      expect(run.stderr).toContain('ansible-playbook (package ansible-core): real deploys of the demo');
      expect(run.stderr).toContain('still missing after installing');
    } else {
      // Not root and no sudo on this PATH: nothing may be run, the command is given instead.
      expect(run.stderr).toContain(`sudo apt-get install -y ${ALL_PACKAGES.join(' ')}`);
    }
  });

  it('--check only reports: exit 1, each tool with its package and why, and the one command', () => {
    const bin = tempDir();
    executable(bin, 'apt-get', 'exit 99');
    const run = prepare(['--check'], bin);
    expect(run.status).toBe(1);
    for (const tool of TEST_TOOLS) expect(run.stderr).toContain(`${tool.command} (package ${tool.aptPackage}): ${tool.usedFor}`);
    expect(run.stderr).toContain(`apt-get install -y ${ALL_PACKAGES.join(' ')}`);
  });

  it('a failing apt-get stops the tests with the command to run by hand', () => {
    const bin = tempDir();
    executable(bin, 'apt-get', 'exit 100');
    const run = prepare([], bin);
    expect(run.status).toBe(1);
    if (isRoot) expect(run.stderr).toMatch(/`apt-get update -qq` failed \(exit 100\); install them yourself with:/);
  });

  it('all tools present: nothing installed, exit 0 (vitest starts)', () => {
    const bin = tempDir();
    for (const tool of TEST_TOOLS) executable(bin, tool.command, 'exit 0');
    executable(bin, 'apt-get', `echo called > ${path.join(bin, 'apt-get.calls')}; exit 1`);
    const run = prepare([], bin);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

describe('coconut dev without Ansible', () => {
  it('says in its first line that deploys are rehearsals and gives the same install hint', async () => {
    const bin = tempDir();
    executable(bin, 'apt-get', 'exit 0');
    const data = tempDir();
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin/coconut.mjs'),
        'dev',
        '--config',
        'examples/demo/coconut.yaml',
        '--port',
        '0',
        '--data-dir',
        data,
        '--no-probes',
      ],
      { cwd: ROOT, env: { HOME: process.env.HOME ?? '/root', PATH: bin }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('Coconut is running')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`coconut dev exited ${code}: ${stderr}`)));
    });
    // It tells the CLI beside it which configuration it runs (src/local/runtime-file.ts).
    const info = JSON.parse(readFileSync(path.join(data, 'runtime.json'), 'utf8')) as { configPath: string; pid: number };
    expect(info.configPath).toBe(path.join(ROOT, 'examples/demo/coconut.yaml'));
    expect(info.pid).toBe(child.pid);
    child.kill('SIGTERM');
    const first = stderr.split('\n')[0] ?? '';
    expect(first).toContain('ansible-playbook is missing: Ansible deploy steps will be REHEARSALS');
    expect(first).toContain(`For real deploys: ${installCommand(['ansible-core'], { apt: true, root: isRoot })}`);
  });
});
