/**
 * `--busy[=N]`: CPU-bound processes beside a bench (N, default one per CPU), to measure how
 * Coconut behaves on a machine that is busy with something else. Each one spins for at most
 * `maxMs` and then exits by itself, so none outlives a bench that was cut short.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

export function busyFlag(argv: string[]): number {
  const flag = argv.find((a) => a === '--busy' || a.startsWith('--busy='));
  if (!flag) return 0;
  if (flag === '--busy') return availableParallelism();
  const n = Number(flag.slice('--busy='.length));
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new Error(`--busy=${flag.slice(7)}: expected a whole number of processes, 1 to 64`);
  return n;
}

export function startBurners(count: number, maxMs = 10 * 60_000): { stop(): void } {
  const children: ChildProcess[] = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', `const end = Date.now() + ${maxMs}; let x = 0; while (Date.now() < end) x = (x + 1) % 1e9;`], {
      stdio: 'ignore',
    }),
  );
  return {
    stop: () => {
      for (const child of children) if (child.exitCode === null) child.kill();
    },
  };
}
