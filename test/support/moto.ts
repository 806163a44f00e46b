/**
 * moto_server (a real AWS emulator, preinstalled on these machines) on a random loopback port,
 * for the AWS adapter tests. Fails with a clear message when moto_server is missing — the AWS
 * suite must never skip silently.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { which } from '../../src/local/tools.ts';
import { freePort } from './runtime.ts';

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
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
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
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
