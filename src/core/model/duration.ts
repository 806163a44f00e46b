/** Durations in coconut.yaml: "90s", "5m", "1h30m", "2d" or a plain number of seconds. */
const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const match = DURATION.exec(value.trim());
  if (!match || value.trim() === '') return undefined;
  const [, d, h, m, s] = match;
  return Number(d ?? 0) * DAY + Number(h ?? 0) * HOUR + Number(m ?? 0) * MINUTE + Number(s ?? 0);
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
