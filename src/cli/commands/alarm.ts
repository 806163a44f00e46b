/** `coconut alarm set NAME ALARM|OK|auto` and `coconut alarm list`: the local alarms. */
import { parseArgs } from 'node:util';
import type { AlarmStatus } from '../../core/ports.ts';
import { request } from '../client.ts';
import { UsageError } from '../errors.ts';
import { ago, colorState, table } from '../format.ts';

export const usage = 'coconut alarm set NAME ALARM|OK|INSUFFICIENT_DATA|auto [--reason TEXT] | coconut alarm list [--json]';

export async function alarm(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { reason: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const [verb, name, state] = positionals;
  if (verb === 'list' && positionals.length === 1) {
    const data = await request<{ alarms: (AlarmStatus & { probe?: string; manual: boolean })[] }>('GET', '/api/alarms');
    if (values.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else {
      const rows = data.alarms.map((a) => [
        a.name,
        colorState(a.state === 'OK' ? 'SUCCEEDED' : a.state === 'ALARM' ? 'FAILED' : 'PENDING').replace(
          /SUCCEEDED|FAILED|PENDING/,
          a.state,
        ),
        a.manual ? 'manual' : (a.probe ?? '—'),
        a.reason ?? '',
        ago(a.updatedAt),
      ]);
      process.stdout.write(`${table(['ALARM', 'STATE', 'SOURCE', 'REASON', 'SINCE'], rows)}\n`);
    }
    return 0;
  }
  if (verb !== 'set' || !name || !state || positionals.length !== 3)
    throw new UsageError('expected `alarm set NAME STATE` or `alarm list`');
  const wanted = state === 'auto' ? 'auto' : state.toUpperCase();
  if (!['ALARM', 'OK', 'INSUFFICIENT_DATA', 'auto'].includes(wanted)) {
    throw new UsageError(`state must be ALARM, OK, INSUFFICIENT_DATA or auto, got "${state}"`);
  }
  const data = await request<{ alarm: AlarmStatus }>('POST', `/api/alarms/${encodeURIComponent(name)}`, {
    state: wanted,
    ...(values.reason ? { reason: values.reason } : {}),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else
    process.stdout.write(`alarm ${data.alarm.name} is ${data.alarm.state}${wanted === 'auto' ? ' (back to its probe)' : ''}\n`);
  return 0;
}
