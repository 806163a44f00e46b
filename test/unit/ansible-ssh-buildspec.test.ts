/**
 * SSH access of the Ansible builds (templates/buildspec/ansible-*.yml, scripts/ansible-ssh.sh), run by
 * the local build runner from the source archive of a user's repository whose ansible target names
 * `sshKey` and `knownHosts` (test/support/build-sources.ts).
 *
 * REAL: ssh-keygen makes a throwaway key, and the host's own ssh-agent and ssh-add hold it (a shim in
 * front of ssh-add only records its arguments, then execs the real one, stdin untouched); without
 * them on the host, the fakes of test/fixtures/image-tool.mjs stand in. FAKE: `aws` (serves the
 * secrets from files, as `get-secret-value --query SecretString --output text` prints them) and
 * `ansible-playbook` (records the ssh settings it was given and `ssh-add -l`; it connects nowhere).
 *
 * Proves: the key reaches the agent through ssh-add's stdin and no file of the build, its source, its
 * temporary folder or its home holds it; ssh is told StrictHostKeyChecking=yes with the target's
 * known_hosts (0600); a known_hosts secret with no host key stops the build before Ansible; the agent
 * is stopped after the build; a target without SSH settings (the local demo) starts nothing. And with
 * the REAL ansible-playbook (a recording `ssh` in place of ssh, which reaches nothing): an inventory
 * that asks for StrictHostKeyChecking=no cannot override the buildspec's ssh options.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEnvironment } from '../../src/core/triggers/plan.ts';
import { BuildRunner } from '../../src/local/build-runner.ts';
import { which } from '../../src/local/tools.ts';
import {
  BUILD_TEST_CONFIG,
  buildTestConfig,
  PROJECT_ROOT,
  sourceArchive,
  TEST_HOST_KEY,
  userRepository,
} from '../support/build-sources.ts';
import { memoryLog } from '../support/runtime.ts';

const IMAGE_TOOL = path.join(PROJECT_ROOT, 'test/fixtures/image-tool.mjs');
const HOST_PATH = '/usr/bin:/bin';
const REAL_SSH = ['ssh-keygen', 'ssh-agent', 'ssh-add'].every((tool) => which(tool, HOST_PATH));

/** BUILD_TEST_CONFIG has known_hosts files; this variant keeps them in a secret. */
const SECRET_CONFIG = BUILD_TEST_CONFIG.replace(
  "knownHosts: { file: 'ops/known_hosts/{environment}' }",
  'knownHosts: { secret: coconut/api-known-hosts }',
);

let root: string;
let archive: string;
let keyFile: string;
let keyBody: string;
let fingerprint: string | undefined;

function wrapper(file: string, tool: string) {
  writeFileSync(file, `#!/bin/bash\nexec '${process.execPath}' '${IMAGE_TOOL}' ${tool} "$@"\n`);
  chmodSync(file, 0o755);
}

beforeAll(() => {
  expect(SECRET_CONFIG).not.toBe(BUILD_TEST_CONFIG);
  root = mkdtempSync(path.join(tmpdir(), 'coconut-ansible-ssh-'));
  archive = sourceArchive(userRepository(), buildTestConfig()).dir;
  const secrets = path.join(root, 'secrets');
  mkdirSync(secrets);
  keyFile = path.join(secrets, 'id_ed25519');
  if (REAL_SSH) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'coconut-test', '-f', keyFile]);
    // "256 SHA256:... coconut-test (ED25519)"
    fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ')[1];
  } else {
    writeFileSync(
      keyFile,
      `-----BEGIN OPENSSH PRIVATE KEY-----\n${'dGhyb3dhd2F5'.repeat(6)}\n-----END OPENSSH PRIVATE KEY-----\n`,
    );
  }
  // The key's longest base64 line: found in no file but the secret's own.
  keyBody = readFileSync(keyFile, 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('-----'))
    .sort((a, b) => b.length - a.length)[0] as string;
  expect(keyBody.length).toBeGreaterThan(40);
  writeFileSync(path.join(secrets, 'known_hosts'), `p1 ${TEST_HOST_KEY}\ns1 ${TEST_HOST_KEY}\n`);
});

interface Run {
  status: string;
  failedPhase?: string;
  log: string;
  calls: { tool: string; argv: string[]; ssh?: Record<string, string>; readKeyFromStdin?: boolean }[];
  dirs: Record<'data' | 'tmp' | 'home', string>;
}

interface RunOptions {
  edit?: (vars: { Name: string; Value: string }[]) => { Name: string; Value: string }[];
  /** The source to build from (default: the archive of the user's repository). */
  source?: string;
  /** Use the host's ansible-playbook instead of the fake. */
  realAnsible?: boolean;
  env?: Record<string, string>;
}

async function runBuild(
  step: 'deploy' | 'rollback',
  environment: string,
  configText: string,
  { edit = (v) => v, source = archive, realAnsible = false, env = {} }: RunOptions = {},
): Promise<Run> {
  const dir = mkdtempSync(path.join(root, `${step}-${environment}-`));
  const dirs = { data: path.join(dir, 'data'), tmp: path.join(dir, 'tmp'), home: path.join(dir, 'home') };
  for (const d of Object.values(dirs)) mkdirSync(d);
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  const toolLog = path.join(dir, 'tools.jsonl');
  wrapper(path.join(bin, 'aws'), 'aws');
  if (!realAnsible) wrapper(path.join(bin, 'ansible-playbook'), 'ansible-playbook');
  if (REAL_SSH) {
    symlinkSync(which('ssh-agent', HOST_PATH) as string, path.join(bin, 'ssh-agent'));
    // Records the arguments, then becomes the real ssh-add: its stdin is the buildspec's pipe.
    const real = which('ssh-add', HOST_PATH) as string;
    const record = `require('node:fs').appendFileSync(process.env.FAKE_TOOL_LOG, JSON.stringify({ tool: 'ssh-add', argv: process.argv.slice(1) }) + '\\n')`;
    writeFileSync(
      path.join(bin, 'ssh-add'),
      `#!/bin/bash\n'${process.execPath}' -e "${record}" -- "$@" </dev/null\nexec '${real}' "$@"\n`,
    );
    chmodSync(path.join(bin, 'ssh-add'), 0o755);
  } else {
    wrapper(path.join(bin, 'ssh-agent'), 'ssh-agent');
    wrapper(path.join(bin, 'ssh-add'), 'ssh-add');
  }
  const service = buildTestConfig(configText).services.find((s) => s.target.kind === 'ansible');
  if (!service) throw new Error('BUILD_TEST_CONFIG has an ansible service');
  const vars = buildEnvironment(
    service,
    environment,
    'dep-1',
    { registry: service.image.registry, repository: service.image.repository, tag: '1.2.0' },
    step,
  );
  const runner = new BuildRunner({
    sourceDir: source,
    dataDir: dirs.data,
    projectPrefix: 'coconut',
    strict: true,
    checkTools: false,
    log: memoryLog(),
    env: {
      PATH: `${bin}:${HOST_PATH}`,
      TMPDIR: dirs.tmp,
      HOME: dirs.home,
      // The developer's own agent, if any, is not the build's.
      SSH_AUTH_SOCK: '',
      SSH_AGENT_PID: '',
      FAKE_TOOL_LOG: toolLog,
      FAKE_SECRETS: JSON.stringify({
        'coconut/api-ssh-prod': keyFile,
        'coconut/api-ssh-staging': keyFile,
        'coconut/api-known-hosts': path.join(root, 'secrets/known_hosts'),
      }),
      ...env,
    },
  });
  let build: { BuildStatus: string; Phases?: { PhaseType: string; PhaseStatus: string }[]; Logs?: { DeepLink?: string } };
  try {
    build = (
      await runner.run(
        { ProjectName: `coconut-ansible-${step}`, EnvironmentVariablesOverride: edit(vars) },
        {
          execution: 'ssh-test',
          state: step,
        },
      )
    ).Build;
  } catch (error) {
    build = JSON.parse((error as Error).message).Build;
  }
  const logFile = String(build.Logs?.DeepLink ?? '').replace('file://', '');
  const text = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    status: build.BuildStatus,
    ...(build.Phases?.find((p) => p.PhaseStatus === 'FAILED')
      ? { failedPhase: build.Phases.find((p) => p.PhaseStatus === 'FAILED')?.PhaseType }
      : {}),
    log: text(logFile),
    calls: text(toolLog)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
    dirs,
  };
}

/** Every regular file under these folders whose text holds `needle`. */
function filesHolding(needle: string, ...dirs: string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && readFileSync(full).includes(needle)) found.push(full);
    }
  };
  for (const dir of dirs) walk(dir);
  return found;
}

async function agentStopped(tmp: string): Promise<boolean> {
  const sshDir = readdirSync(tmp).find((d) => d.startsWith('coconut-ssh.'));
  const pid = Number(readFileSync(path.join(tmp, sshDir as string, 'agent.pid'), 'utf8'));
  for (let i = 0; i < 40; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe(`Ansible builds reach their hosts over SSH (${REAL_SSH ? "the host's real ssh-keygen, ssh-agent, ssh-add" : 'FAKE ssh-agent and ssh-add'}; FAKE aws and ansible-playbook)`, () => {
  it('deploy: loads the key from its secret into ssh-agent through stdin, checks host keys strictly against the known_hosts secret, leaves the key in no file', async () => {
    const run = await runBuild('deploy', 'prod', SECRET_CONFIG);
    expect(run.status, run.log).toBe('SUCCEEDED');
    expect(run.calls.filter((c) => c.tool === 'aws').map((c) => c.argv.find((a) => a.startsWith('--secret-id')))).toEqual([
      '--secret-id=coconut/api-known-hosts',
      '--secret-id=coconut/api-ssh-prod',
    ]);
    // The key was handed over on stdin ("-"), never as a file argument.
    const add = run.calls.find((c) => c.tool === 'ssh-add' && !c.argv.includes('-l'));
    expect(add?.argv).toEqual(['-q', '-']);
    if (!REAL_SSH) expect(add?.readKeyFromStdin).toBe(true);
    const play = run.calls.find((c) => c.tool === 'ansible-playbook')?.ssh as Record<string, string>;
    // The agent Ansible's ssh talks to holds exactly the key of the secret.
    if (REAL_SSH) expect(play.agentKeys).toContain(` ${fingerprint} coconut-test (ED25519)`);
    else expect(play.agentKeys).toMatch(/^256 SHA256:/);
    const args = (play.ANSIBLE_SSH_ARGS as string).split(' ');
    expect(args.join(' ')).toContain('-o StrictHostKeyChecking=yes');
    expect(args.join(' ')).not.toMatch(/StrictHostKeyChecking=(no|accept-new|off)/i);
    const knownHosts = args.find((a) => a.startsWith('UserKnownHostsFile='))?.slice('UserKnownHostsFile='.length) as string;
    expect(knownHosts.startsWith(`${run.dirs.tmp}/coconut-ssh.`)).toBe(true);
    expect(play.knownHosts?.trim()).toBe(readFileSync(path.join(root, 'secrets/known_hosts'), 'utf8').trim());
    expect(play.knownHostsMode).toBe('600');
    expect(play.ANSIBLE_HOST_KEY_CHECKING).toBe('True');
    expect(filesHolding(keyBody, archive, run.dirs.data, run.dirs.tmp, run.dirs.home)).toEqual([]);
    expect(run.log).not.toContain(keyBody);
    expect(await agentStopped(run.dirs.tmp)).toBe(true);
  });

  it('rollback: the per-environment key secret and known_hosts file of the target, and its remote user', async () => {
    const run = await runBuild('rollback', 'staging', BUILD_TEST_CONFIG);
    expect(run.status, run.log).toBe('SUCCEEDED');
    expect(run.calls.filter((c) => c.tool === 'aws').map((c) => c.argv.find((a) => a.startsWith('--secret-id')))).toEqual([
      '--secret-id=coconut/api-ssh-staging',
    ]);
    const play = run.calls.find((c) => c.tool === 'ansible-playbook')?.ssh as Record<string, string>;
    expect(play.ANSIBLE_SSH_ARGS).toContain('-o StrictHostKeyChecking=yes');
    expect(play.knownHosts).toBe(readFileSync(path.join(archive, 'ops/known_hosts/staging'), 'utf8'));
    expect(play.knownHostsMode).toBe('600');
    expect(play.ANSIBLE_REMOTE_USER).toBe('deploy');
    expect(filesHolding(keyBody, archive, run.dirs.data, run.dirs.tmp, run.dirs.home)).toEqual([]);
    expect(await agentStopped(run.dirs.tmp)).toBe(true);
  });

  it('stops before Ansible when the known_hosts secret holds no host key (here: the private key, put in the wrong secret)', async () => {
    const run = await runBuild('deploy', 'prod', SECRET_CONFIG, {
      edit: (vars) =>
        vars.map((v) => (v.Name === 'COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET' ? { ...v, Value: 'coconut/api-ssh-prod' } : v)),
    });
    expect(run.status).toBe('FAILED');
    expect(run.failedPhase).toBe('PRE_BUILD');
    expect(run.log).toContain('holds no host key lines');
    expect(run.calls.some((c) => c.tool === 'ansible-playbook' && !c.argv.includes('--version'))).toBe(false);
    expect(run.calls.some((c) => c.tool === 'ssh-add')).toBe(false);
    expect(run.log).not.toContain(keyBody);
    expect(filesHolding(keyBody, run.dirs.data, run.dirs.home)).toEqual([]);
  });

  it('refuses a secret name that could be read as an option, before any aws call', async () => {
    const run = await runBuild('deploy', 'prod', SECRET_CONFIG, {
      edit: (vars) => vars.map((v) => (v.Name === 'COCONUT_ANSIBLE_SSH_KEY_SECRET' ? { ...v, Value: '--debug' } : v)),
    });
    expect(run.status).toBe('FAILED');
    expect(run.log).toContain('COCONUT_ANSIBLE_SSH_KEY_SECRET must be a Secrets Manager secret name');
    expect(run.calls.some((c) => c.tool === 'aws')).toBe(false);
  });

  it('starts no agent and sets no ssh options for a target without SSH settings (the local demo)', async () => {
    const run = await runBuild('deploy', 'prod', BUILD_TEST_CONFIG, {
      edit: (vars) => vars.filter((v) => !/^COCONUT_ANSIBLE_(SSH_KEY|KNOWN_HOSTS|REMOTE_USER)/.test(v.Name)),
    });
    expect(run.status, run.log).toBe('SUCCEEDED');
    expect(run.calls.filter((c) => ['aws', 'ssh-agent', 'ssh-add'].includes(c.tool))).toEqual([]);
    const play = run.calls.find((c) => c.tool === 'ansible-playbook')?.ssh as Record<string, string | undefined>;
    expect(play.ANSIBLE_SSH_ARGS).toBeUndefined();
    expect(readdirSync(run.dirs.tmp).filter((d) => d.startsWith('coconut-ssh.'))).toEqual([]);
    expect(statSync(run.dirs.tmp).isDirectory()).toBe(true);
  });

  // REAL ansible-playbook (the host's ansible-core): the ssh command line it builds. ssh uses the first
  // value it obtains for an option (ssh_config(5): "For each parameter, the first obtained value will
  // be used"; command-line options come first), and ansible-core's ssh connection puts ssh_args
  // (ANSIBLE_SSH_ARGS) before host_key_checking=False's StrictHostKeyChecking=no and before
  // ansible_ssh_common_args / ansible_ssh_extra_args (ansible/plugins/connection/ssh.py, _build_command).
  it("REAL ansible-playbook: an inventory that asks for StrictHostKeyChecking=no still gets ssh's first value, yes", async () => {
    if (!which('ansible-playbook', HOST_PATH))
      throw new Error('install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    const repo = userRepository();
    // A careless (or hostile) inventory: both ways Ansible offers to switch host key checking off.
    writeFileSync(
      path.join(repo, 'ops/inventory/group_vars/all.yml'),
      `app_deploy_port: 8080\napp_deploy_root: /srv/api\napp_deploy_source: ${PROJECT_ROOT}/examples/demo/demo-app\nansible_host_key_checking: false\nansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\nansible_ssh_extra_args: '-o StrictHostKeyChecking=no'\n`,
    );
    const source = sourceArchive(repo, buildTestConfig()).dir;
    // ssh itself: records its arguments and fails as an unreachable host does (exit 255).
    const sshDir = mkdtempSync(path.join(root, 'fake-ssh-'));
    const argvFile = path.join(sshDir, 'argv');
    writeFileSync(
      path.join(sshDir, 'ssh'),
      `#!/bin/bash\nprintf '%s\\n' "$@" >>'${argvFile}'\necho '--' >>'${argvFile}'\nexit 255\n`,
    );
    chmodSync(path.join(sshDir, 'ssh'), 0o755);
    const run = await runBuild('deploy', 'prod', SECRET_CONFIG, {
      source,
      realAnsible: true,
      env: { ANSIBLE_SSH_EXECUTABLE: path.join(sshDir, 'ssh'), ANSIBLE_SSH_RETRIES: '0' },
    });
    // The fake ssh reaches nothing: the play fails UNREACHABLE, after ssh was called.
    expect(run.status).toBe('FAILED');
    expect(run.failedPhase).toBe('BUILD');
    expect(existsSync(argvFile), `ssh was never called:\n${run.log}`).toBe(true);
    const first = readFileSync(argvFile, 'utf8').split('\n--\n')[0]?.split('\n') ?? [];
    const option = (name: string) =>
      first.filter((a, i) => first[i - 1] === '-o' && a.startsWith(`${name}=`)).map((a) => a.slice(name.length + 1));
    // The inventory's values are there, but after ours: ssh never uses them.
    expect(option('StrictHostKeyChecking')[0]).toBe('yes');
    expect(option('StrictHostKeyChecking').slice(1)).toContain('no');
    expect(option('UserKnownHostsFile')[0]).toMatch(new RegExp(`^${run.dirs.tmp}/coconut-ssh\\.[A-Za-z0-9]+/known_hosts$`));
    expect(option('GlobalKnownHostsFile')[0]).toBe('/dev/null');
    expect(await agentStopped(run.dirs.tmp)).toBe(true);
  });
});
