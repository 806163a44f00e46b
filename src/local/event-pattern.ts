/**
 * EventBridge content filtering, for the local bus: exact values, prefix, suffix,
 * anything-but, exists, numeric ranges and nested objects. Arrays in the event match when any
 * element matches. (No library implements EventBridge patterns offline; AWS's TestEventPattern
 * API needs AWS.)
 */
type Pattern = Record<string, unknown>;

export function matches(pattern: Pattern, event: unknown): boolean {
  if (!event || typeof event !== 'object') return false;
  const obj = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, rule]) => {
    const value = obj[key];
    if (Array.isArray(rule)) return matchesAny(rule, value);
    if (rule && typeof rule === 'object') return matches(rule as Pattern, value);
    throw new Error(`invalid event pattern at "${key}": expected an array or an object`);
  });
}

function matchesAny(rules: unknown[], value: unknown): boolean {
  if (Array.isArray(value)) return value.some((v) => matchesAny(rules, v));
  return rules.some((rule) => matchOne(rule, value));
}

function matchOne(rule: unknown, value: unknown): boolean {
  if (rule === null || typeof rule !== 'object') return value === rule;
  const r = rule as Record<string, unknown>;
  if ('prefix' in r) return typeof value === 'string' && value.startsWith(String(r.prefix));
  if ('suffix' in r) return typeof value === 'string' && value.endsWith(String(r.suffix));
  if ('exists' in r) return (value !== undefined) === Boolean(r.exists);
  if ('anything-but' in r) {
    const but = r['anything-but'];
    if (value === undefined) return false;
    if (Array.isArray(but)) return !but.includes(value);
    if (but && typeof but === 'object') return !matchOne(but, value);
    return value !== but;
  }
  if ('numeric' in r) {
    if (typeof value !== 'number') return false;
    const ops = r.numeric as (string | number)[];
    for (let i = 0; i < ops.length; i += 2) {
      const op = ops[i];
      const n = Number(ops[i + 1]);
      const ok =
        op === '='
          ? value === n
          : op === '<'
            ? value < n
            : op === '<='
              ? value <= n
              : op === '>'
                ? value > n
                : op === '>='
                  ? value >= n
                  : false;
      if (!ok) return false;
    }
    return true;
  }
  throw new Error(`unsupported event pattern operator ${JSON.stringify(rule)}`);
}
