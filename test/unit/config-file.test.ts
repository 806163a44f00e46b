/**
 * Which coconut.yaml a command reads (src/cli/config-file.ts): --config, then COCONUT_CONFIG, then
 * ./coconut.yaml, then the configuration of the local runtime running beside it. Run as a user
 * would: the real `coconut` command in a folder of its own.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEMO = path.join(ROOT, 'examples/demo/coconut.yaml');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-config-file-'));
  dirs.push(dir);
  return dir;
}

function coconut(cwd: string, args: string[], env: Record<string, string> = {}) {
  const { COCONUT_CONFIG: _c, COCONUT_DATA_DIR: _d, ...rest } = process.env;
  return spawnSync(process.execPath, [path.join(ROOT, 'bin/coconut.mjs'), ...args], {
    cwd,
    env: { ...rest, ...env },
    encoding: 'utf8',
  });
}

function runtimeFile(dir: string, pid: number, configPath = DEMO): void {
  mkdirSync(path.join(dir, '.coconut'), { recursive: true });
  writeFileSync(path.join(dir, '.coconut', 'runtime.json'), JSON.stringify({ configPath, url: 'http://127.0.0.1:4500', pid }));
}

const ONE_SERVICE = `services:
  - name: solo
    image: { registry: ecr, repository: solo }
    target: { kind: ansible, inventory: inventory.yml }
    environments: [{ name: prod }]
`;

describe('the configuration a command reads', () => {
  it('nothing anywhere: exit 2, naming every place it looked', () => {
    const run = coconut(folder(), ['validate']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('no configuration found: pass --config FILE, set COCONUT_CONFIG, run where coconut.yaml is');
    expect(run.stderr).toContain('start the local runtime first (`npm start`');
  });

  it('beside a running local runtime: its configuration (the README examples, e.g. coconut cost)', () => {
    const dir = folder();
    runtimeFile(dir, process.pid);
    const valid = coconut(dir, ['validate']);
    expect(valid.status).toBe(0);
    expect(valid.stdout).toMatch(/examples\/demo\/coconut\.yaml is valid: \d+ service\(s\)/);
    const cost = coconut(dir, ['cost', '--deploys-per-day', '20']);
    expect(cost.status).toBe(0);
    expect(cost.stdout).toContain('Coconut on AWS — demo-api');
  });

  it('a runtime that is gone (its process ended) does not count', () => {
    const dir = folder();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    runtimeFile(dir, Number(gone.stdout));
    expect(coconut(dir, ['validate']).status).toBe(2);
  });

  it('./coconut.yaml before the runtime, COCONUT_CONFIG before that, --config before all', () => {
    const dir = folder();
    runtimeFile(dir, process.pid);
    writeFileSync(path.join(dir, 'coconut.yaml'), ONE_SERVICE);
    expect(coconut(dir, ['validate']).stdout).toContain('coconut.yaml is valid: 1 service(s)');
    copyFileSync(DEMO, path.join(dir, 'other.yaml'));
    const env = coconut(dir, ['validate'], { COCONUT_CONFIG: 'other.yaml' });
    expect(env.stdout).toMatch(/^other\.yaml is valid/);
    const flag = coconut(dir, ['validate', '--config', 'coconut.yaml'], { COCONUT_CONFIG: 'other.yaml' });
    expect(flag.stdout).toMatch(/^coconut\.yaml is valid: 1 service/);
  });
});
