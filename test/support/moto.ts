/**
 * moto_server (a real AWS emulator, preinstalled on these machines) on a loopback port it picks,
 * for the AWS adapter tests. Fails with a clear message when moto_server is missing — the AWS
 * suite must never skip silently.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { which } from '../../src/local/tools.ts';
import { reservePort } from './ports.ts';

/** A limit for a slow, shared machine, not a speed assertion. */
const START_LIMIT_MS = 60_000;

export interface Moto {
  endpoint: string;
  /** Options for SDK v3 clients: endpoint, region and static test credentials. */
  clientOptions: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** Wipes every resource (POST /moto-api/reset) between tests. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /** Environment of the moto_server process, e.g. MOTO_ECS_SERVICE_RUNNING (tasks a new ECS service runs). */
  env?: Record<string, string>;
}

export async function startMoto(opts: MotoOptions = {}): Promise<Moto> {
  const bin = which('moto_server');
  if (!bin) throw new Error('moto_server is not on PATH: the AWS adapter tests need it (pip install "moto[server]")');
  // Not port 0: moto builds SQS queue URLs from the port it was given, and its Step Functions
  // executor sends waitForTaskToken messages to those URLs, so with port 0 no token ever reaches a
  // queue. A reserved port (test/support/ports.ts: claimed, outside the kernel's ephemeral range)
  // cannot be taken by another test process meanwhile.
  const port = await reservePort();
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let stderr = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const limit = setTimeout(() => fail(`did not say where it listens within ${START_LIMIT_MS / 1000} s`), START_LIMIT_MS);
    const fail = (why: string) => {
      clearTimeout(limit);
      child.kill('SIGKILL');
      reject(new Error(`moto_server ${why}: ${stderr}`));
    };
    child.once('error', (error) => fail(`could not start (${error.message})`));
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before it listened`));
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
      const listening = new RegExp(`Running on (http://127\\.0\\.0\\.1:${port})`).exec(stderr);
      if (!listening?.[1]) return;
      clearTimeout(limit);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      resolve(listening[1]);
    });
  });
  const configure = async () => {
    // Real Step Functions execution (Pass/Wait/Choice/Task on SQS, DynamoDB...), not the default stub.
    const res = await fetch(`${endpoint}/moto-api/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
    });
    if (!res.ok) throw new Error(`moto_server config failed: ${res.status} ${await res.text()}`);
  };
  await configure();
  return {
    endpoint,
    clientOptions: { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } },
    reset: async () => {
      await (await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })).arrayBuffer();
      await configure();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const done = () => {
          clearTimeout(kill);
          clearTimeout(giveUp);
          resolve();
        };
        child.once('exit', done);
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        // Seen once in CI: no exit reported within a minute. After SIGKILL the process is the
        // kernel's to reap; a test's clean-up must not hang on it.
        const giveUp = setTimeout(done, 10_000);
      }),
  };
}
