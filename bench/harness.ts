/**
 * Bench harness: each bench returns figures; the runner prints them beside bench/baseline.json
 * and the target. Figures are measurements, never pass/fail assertions.
 */
import type { Log } from '../src/core/ports.ts';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Goal from the issue, e.g. "< 200". */
  target?: string;
  better: 'lower' | 'higher';
}

export interface Bench {
  name: string;
  run(): Promise<Figure[]>;
}

export const quietLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

export { noopSource } from '../test/support/fixture-source.ts';

/** Samples this process's RSS until stopped; returns the peak in MB. */
export function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.round((Math.max(peak, process.memoryUsage().rss) / 1024 / 1024) * 10) / 10;
    },
  };
}
