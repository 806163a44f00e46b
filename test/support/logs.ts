/**
 * A Log port that keeps every line with its level and structured fields, for tests that check what a use case
 * logs (memoryLog in runtime.ts keeps the message only, as the e2e waits print it).
 */
import type { Log } from '../../src/core/ports.ts';

export interface Logged {
  level: string;
  message: string;
  extra?: Record<string, unknown>;
}

export function recordingLog(): Log & { lines: Logged[] } {
  const lines: Logged[] = [];
  const at =
    (level: string) =>
    (message: string, extra?: Record<string, unknown>): void =>
      void lines.push({ level, message, ...(extra ? { extra } : {}) });
  return { lines, debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
}
