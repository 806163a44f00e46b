/**
 * The system tools Coconut uses from the operating system, with the Debian package that brings
 * each, and how to get the missing ones. One list for `npm test` (which installs what the suite
 * needs before vitest starts), for `.ci/run` (which calls `npm test`), and for `coconut dev`'s
 * hint when Ansible is missing: the three cannot drift apart.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { which } from './tools.ts';

export interface SystemTool {
  /** The executable looked up on PATH. */
  command: string;
  /** The Debian/Ubuntu package that installs it. */
  aptPackage: string;
  /** What needs it, said when it is installed or missing. */
  usedFor: string;
}

/** What the test suite runs for real. A missing one fails its tests: never a silent skip. */
export const TEST_TOOLS: readonly SystemTool[] = [
  { command: 'ansible-playbook', aptPackage: 'ansible-core', usedFor: 'real deploys of the demo (e2e) and template checks' },
  { command: 'ansible-lint', aptPackage: 'ansible-lint', usedFor: 'linting the Ansible templates' },
  { command: 'yamllint', aptPackage: 'yamllint', usedFor: 'linting the YAML templates' },
  { command: 'shellcheck', aptPackage: 'shellcheck', usedFor: 'checking the shell in buildspecs and CI templates' },
  { command: 'chromium', aptPackage: 'chromium', usedFor: 'the dashboard tests in headless Chromium' },
  { command: 'openssl', aptPackage: 'openssl', usedFor: 'the throwaway certificate authorities of the Notation tests' },
];

/** What `coconut dev` needs to deploy the demo for real (without it, deploys are rehearsals). */
export const ANSIBLE: SystemTool = TEST_TOOLS[0] as SystemTool;

export function missingTools(tools: readonly SystemTool[], envPath = process.env.PATH ?? ''): SystemTool[] {
  return tools.filter((t) => !which(t.command, envPath));
}

/** What this machine lets us do about missing packages. */
export interface InstallAbility {
  /** apt-get is on PATH (a Debian-like system). */
  apt: boolean;
  /** Running as root. */
  root: boolean;
  /** sudo runs without a password prompt (`sudo -n true` succeeds). */
  passwordlessSudo: boolean;
}

export type InstallPlan =
  | { kind: 'none' }
  /** Run these commands (argv), in order, then check again. */
  | { kind: 'install'; commands: string[][]; packages: string[] }
  /** Nothing we may run: tell the user the one command that does it. */
  | { kind: 'instruct'; command: string; packages: string[] };

export function planInstall(
  missing: readonly SystemTool[],
  can: InstallAbility,
  opts: { updateLists?: boolean } = {},
): InstallPlan {
  const packages = [...new Set(missing.map((t) => t.aptPackage))];
  if (packages.length === 0 && !opts.updateLists) return { kind: 'none' };
  const prefix = can.root ? [] : ['sudo'];
  const update = [...prefix, 'apt-get', 'update', '-qq'];
  const install = [...prefix, 'apt-get', 'install', '-y', '-qq', ...packages];
  if (can.apt && (can.root || can.passwordlessSudo)) {
    // Package lists are fetched once before installing (a fresh image has none).
    return { kind: 'install', commands: packages.length ? [update, install] : [update], packages };
  }
  return { kind: 'instruct', command: installCommand(packages, can), packages };
}

/** The one command a person runs to install these packages here. */
export function installCommand(packages: readonly string[], can: Pick<InstallAbility, 'apt' | 'root'>): string {
  if (!can.apt) return `install these packages with your system's package manager: ${packages.join(' ')}`;
  return `${can.root ? '' : 'sudo '}apt-get update && ${can.root ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`;
}

/** The hint printed where a tool is missing (`coconut dev`, the README): the same command. */
export function installHint(tools: readonly SystemTool[], envPath = process.env.PATH ?? ''): string {
  return installCommand(
    tools.map((t) => t.aptPackage),
    { apt: which('apt-get', envPath) !== undefined, root: process.getuid?.() === 0 },
  );
}

export function installAbility(envPath = process.env.PATH ?? ''): InstallAbility {
  const root = process.getuid?.() === 0;
  const apt = which('apt-get', envPath) !== undefined;
  let passwordlessSudo = false;
  if (!root && which('sudo', envPath)) {
    passwordlessSudo =
      spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', env: { ...process.env, PATH: envPath } }).status === 0;
  }
  return { apt, root, passwordlessSudo };
}

/**
 * apt's package lists: the host_hardening check-mode test resolves packages (auditd, nftables)
 * against them, and a fresh Debian image ships without any.
 */
export function aptListsPresent(listsDir = '/var/lib/apt/lists'): boolean {
  if (!existsSync(listsDir)) return false;
  return readdirSync(listsDir).some((f) => /_Packages(\.[a-z0-9]+)?$/.test(f));
}
