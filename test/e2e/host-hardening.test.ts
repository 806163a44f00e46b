/**
 * The host_hardening role: lint (production profile), syntax, and a real check-mode run against this
 * machine (nothing is changed: --check), which is how a user looks before hardening a host.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';

function run(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd ?? PROJECT_ROOT,
        env: { ...process.env, ANSIBLE_NOCOLOR: '1', NO_COLOR: '1', ...opts.env },
        timeout: 280_000,
        maxBuffer: 32 << 20,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}\n${stderr}` }),
    );
  });
}

const ANSIBLE_CONFIG = path.join(PROJECT_ROOT, 'templates/ansible/ansible.cfg');

describe('Ansible role host_hardening', () => {
  // app_deploy, deploy.yml and rollback.yml are linted by ansible-target.test.ts; this lints the hardening side.
  it('passes ansible-lint (production profile, strict) and --syntax-check', async () => {
    if (!which('ansible-lint'))
      throw new Error(
        'ansible-lint is not on PATH: apt-get install -y ansible-lint (`npm test` installs it: scripts/system-tools.ts)',
      );
    // ansible-lint treats everything below a folder named "templates" as plain text: lint a copy kept elsewhere.
    const copy = await mkdtemp(path.join(tmpdir(), 'coconut-hardening-lint-'));
    try {
      await cp(path.join(PROJECT_ROOT, 'templates/ansible'), copy, { recursive: true });
      await cp(path.join(PROJECT_ROOT, '.yamllint'), path.join(copy, '.yamllint'));
      const lint = await run(
        'ansible-lint',
        [
          '--offline',
          '--profile',
          'production',
          '--strict',
          'harden.yml',
          'deploy.yml',
          'rollback.yml',
          'roles/host_hardening',
          'roles/app_deploy',
        ],
        { cwd: copy },
      );
      expect(lint.code, lint.output).toBe(0);
      expect(lint.output).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
    const syntax = await run('ansible-playbook', ['--syntax-check', '-i', 'localhost,', 'templates/ansible/harden.yml'], {
      env: { ANSIBLE_CONFIG },
    });
    expect(syntax.code, syntax.output).toBe(0);
  }, 300_000);

  it('runs in check mode against localhost: every control plans its change, nothing is written', async () => {
    if (!which('ansible-playbook')) throw new Error('ansible-playbook is not on PATH: apt-get install -y ansible-core');
    const result = await run(
      'ansible-playbook',
      [
        '--check',
        '--diff',
        '-i',
        'localhost,',
        '-c',
        'local',
        '-e',
        'ansible_python_interpreter=/usr/bin/python3',
        'templates/ansible/harden.yml',
      ],
      { env: { ANSIBLE_CONFIG } },
    );
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
    // Each control shows what it would write.
    expect(result.output).toContain('TASK [host_hardening : Write the kernel parameters]');
    expect(result.output).toContain('+kernel.kptr_restrict = 2');
    expect(result.output).toContain('TASK [host_hardening : Write the audit rules]');
    expect(result.output).toContain('+-w /etc/shadow -p wa -k identity');
    expect(result.output).toContain('TASK [host_hardening : Upgrade from the security archive only]');
    expect(result.output).toContain('TASK [host_hardening : Write the firewall rules]');
    expect(result.output).toContain('type filter hook input priority 0; policy drop;');
    expect(result.output).toContain('TASK [host_hardening : Look for the SSH daemon]');
    // Check mode: the machine is untouched.
    expect(existsSync('/etc/sysctl.d/90-coconut-hardening.conf')).toBe(false);
    expect(existsSync('/etc/apt/apt.conf.d/52coconut-unattended-upgrades')).toBe(false);
  }, 300_000);
});
