/** `coconut history SERVICE`: every environment deployment of a service, newest first. */
import { parseArgs } from 'node:util';
import type { StageRecord } from '../../core/model/deployment.ts';
import { STAGE_STATES } from '../../core/model/deployment.ts';
import type { PinEvent } from '../../core/ports.ts';
import { request, useStage } from '../client.ts';
import { UsageError } from '../errors.ts';
import { ago, table } from '../format.ts';
import { stageLabel, stageVersion } from './status.ts';

export const usage = 'coconut history SERVICE [--env ENV] [--state STATE] [--limit N] [--stage S] [--json]';

export async function history(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string', default: '50' },
      stage: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const service = positionals[0];
  if (!service || positionals.length > 1) throw new UsageError('expected one service name');
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw new UsageError(`--limit must be 1 to 500, got "${values.limit}"`);
  const wanted = values.state?.toUpperCase();
  if (wanted !== undefined && !(STAGE_STATES as readonly string[]).includes(wanted))
    throw new UsageError(`--state must be one of ${STAGE_STATES.join(', ')}, got "${values.state}"`);
  useStage(values.stage);
  const query = new URLSearchParams({ limit: String(limit), ...(values.env ? { environment: values.env } : {}) });
  const data = await request<{ stages: StageRecord[]; pins?: PinEvent[] }>(
    'GET',
    `/api/history/${encodeURIComponent(service)}?${query}`,
  );
  if (wanted) data.stages = data.stages.filter((s) => s.state === wanted);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return 0;
  }
  if (data.stages.length === 0) {
    process.stdout.write(
      `no deployments of ${service}${values.env ? ` on ${values.env}` : ''}${wanted ? ` in state ${wanted}` : ''} yet\n`,
    );
    printPins(data.pins ?? []);
    return 0;
  }
  const rows = data.stages.map((s) => [
    stageVersion(s),
    s.environment,
    stageLabel(s),
    s.previousVersion ?? '—',
    s.rolledBackTo ? `rolled back to ${s.rolledBackTo}` : '',
    s.reason ?? '',
    ago(s.updatedAt),
    s.deploymentId,
  ]);
  process.stdout.write(`${table(['VERSION', 'ENV', 'STATE', 'FROM', 'ROLLBACK', 'WHY', 'WHEN', 'DEPLOYMENT'], rows)}\n`);
  printPins(data.pins ?? []);
  return 0;
}

/** Who pinned and unpinned, when and why (newest first). */
function printPins(events: PinEvent[]): void {
  if (events.length === 0) return;
  const rows = events.map((e) => [
    e.environment,
    e.action === 'pin' ? `PIN${e.version ? ` at ${e.version}` : ''}` : 'UNPIN',
    e.by,
    e.reason ?? '',
    e.released?.length ? `released ${e.released.join(', ')}` : '',
    e.at,
  ]);
  process.stdout.write(`\nPins:\n${table(['ENV', 'WHAT', 'WHO', 'WHY', '', 'WHEN'], rows)}\n`);
}
