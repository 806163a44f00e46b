/** Output for terminals: aligned tables and colored states (NO_COLOR and pipes respected). */
import { styleText } from 'node:util';

const COLORS: Record<string, Parameters<typeof styleText>[0]> = {
  SUCCEEDED: 'green',
  ROLLED_BACK: 'red',
  ROLLBACK_FAILED: ['red', 'bold'],
  FAILED: 'red',
  REJECTED: 'red',
  INTERRUPTED: 'red',
  DEPLOYING: 'yellow',
  BAKING: 'yellow',
  ROLLING_BACK: 'yellow',
  AWAITING_APPROVAL: 'cyan',
  PENDING: 'gray',
  SKIPPED: 'gray',
};

export function colorState(state: string): string {
  const color = COLORS[state];
  return color ? styleText(color, state, { stream: process.stdout }) : state;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal color codes is the point.
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, '').length;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(c))))
      .join('  ')
      .trimEnd();
  return [styleText('bold', line(headers), { stream: process.stdout }), ...rows.map(line)].join('\n');
}

export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

const HEALTH_COLORS: Record<string, Parameters<typeof styleText>[0]> = {
  OK: 'green',
  ALARM: ['red', 'bold'],
  INSUFFICIENT_DATA: 'gray',
  UNKNOWN: 'yellow',
  NONE: 'gray',
};

/** An environment's health from its alarms; NONE reads "no alarms". */
export function colorHealth(state: string): string {
  const label = state === 'NONE' ? 'no alarms' : state === 'INSUFFICIENT_DATA' ? 'NO DATA' : state;
  const color = HEALTH_COLORS[state];
  return color ? styleText(color, label, { stream: process.stdout }) : label;
}
