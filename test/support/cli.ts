/**
 * The `coconut` command as a user runs it: bin/coconut.mjs spawned with the project's Node
 * (process.execPath: vitest runs on the `node` devDependency, Node 22), talking to a test
 * runtime through its cliEnv (COCONUT_URL and the data dir holding the operator token).
 */
import { type ChildProcessByStdio, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Variables of the developer's shell that would change what the command does or whom it
 * talks to: the test decides them (a stray COCONUT_URL or webhook secret would point the
 * command elsewhere or sign with another secret).
 */
const NOT_INHERITED = /^(COCONUT_|AWS_|SLACK_)/;

export function coconut(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name, value]) => value !== undefined && !NOT_INHERITED.test(name)),
  ) as Record<string, string>;
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/coconut.mjs'), ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    // A fresh HOME and data dir unless the test names one: nothing of the developer's .coconut.
    env: {
      ...inherited,
      COCONUT_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'coconut-cli-nodata-')),
      NO_COLOR: '1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? 60_000,
  });
  return collect(child);
}

/** What a spawned process (stdio piped) printed, and its exit code, once it has closed. */
export function collect(
  child: ChildProcessWithoutNullStreams | ChildProcessByStdio<null, Readable, Readable>,
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** An empty folder to use as a PATH: every tool missing, so builds are labelled rehearsals. */
export function emptyPath(): string {
  return mkdtempSync(path.join(tmpdir(), 'coconut-nopath-'));
}
