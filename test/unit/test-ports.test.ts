/**
 * The test suite's port reservations (test/support/ports.ts): ports the kernel never hands out by
 * itself (below the ephemeral range, Linux ip(7) ip_local_port_range), never the same one to two
 * test processes at once, and a claim whose process is gone is taken over.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { claimPort, lockDir, reservePort } from '../support/ports.ts';

function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 49152;
  }
}

describe('reservePort', () => {
  it('hands out loopback ports below the ephemeral range that can be bound, each claimed by this process', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => reservePort()));
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeLessThan(ephemeralLow());
      expect(port).toBeGreaterThan(1024);
      expect(readFileSync(path.join(lockDir(), String(port)), 'utf8')).toBe(String(process.pid));
    }
    // Still free to bind (nothing holds them but the claim).
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it('never gives two test processes the same port while both run', async () => {
    // Each child keeps its claims until its stdin closes (a process's claims end with it).
    const script = `import { reservePort } from ${JSON.stringify(path.join(PROJECT_ROOT, 'test/support/ports.ts'))};
const ports = [];
for (let i = 0; i < 200; i++) ports.push(await reservePort());
process.stdout.write(JSON.stringify(ports) + '\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));`;
    const children = [0, 1].map(() =>
      spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    const reported = (child: ChildProcess) =>
      new Promise<number[]>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.endsWith('\n')) resolve(JSON.parse(out) as number[]);
        });
        child.once('exit', (code) => reject(new Error(`child exited (${code}) before reporting: ${out}`)));
      });
    try {
      const [a, b, here] = await Promise.all([
        ...children.map(reported),
        Promise.all(Array.from({ length: 200 }, () => reservePort())),
      ]);
      const all = [...(a as number[]), ...(b as number[]), ...(here as number[])];
      expect(all).toHaveLength(600);
      expect(new Set(all).size).toBe(all.length);
    } finally {
      for (const child of children) child.stdin?.end();
    }
  });

  it('takes over a claim whose process is gone, and skips one a live process holds', async () => {
    const port = await reservePort();
    const file = path.join(lockDir(), String(port));
    // A claim left by a killed test worker: a pid above Linux's pid_max limit (2^22), so surely gone.
    writeFileSync(file, String(4_194_304 + 12_345));
    expect(claimPort(port)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    // A claim a live process holds (here this process's parent) is left alone.
    writeFileSync(file, String(process.ppid));
    expect(claimPort(port)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(String(process.ppid));
    writeFileSync(file, String(process.pid));
  });
});
