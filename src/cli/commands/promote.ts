/**
 * `coconut promote SERVICE --to ENV [--from ENV] [--version V]`: deploy to ENV the exact image
 * digest that passed its bake on the environment before it (POST /api/promotions), through the
 * same state machine, approvals and bake; with --wait follow it to its end.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { request, useStage } from '../client.ts';
import { UsageError } from '../errors.ts';
import { afterStart, common, type StartAnswer, timeoutOf } from './deploy.ts';

export const promoteUsage =
  'coconut promote SERVICE --to ENV [--from ENV] [--version VERSION] [--wait [--timeout 30m]] [--stage S] [--json]';

interface PromoteAnswer extends StartAnswer {
  source: { environment: string; version: string; digest: string; deploymentId: string };
}

export async function promote(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, to: { type: 'string' }, from: { type: 'string' }, version: { type: 'string' } },
    strict: true,
  });
  const [service] = positionals;
  if (!service || positionals.length !== 1) throw new UsageError('expected one service name, like: promote demo-api --to prod');
  if (!values.to) throw new UsageError('--to is required: which environment to promote to');
  timeoutOf(values.timeout);
  useStage(values.stage);
  const answer = await request<PromoteAnswer>('POST', '/api/promotions', {
    service,
    to: values.to,
    requestId: randomUUID(),
    ...(values.from ? { from: values.from } : {}),
    ...(values.version ? { version: values.version } : {}),
  });
  if (!values.json) {
    const s = answer.source;
    process.stdout.write(`promoting ${service} ${s.version} (${s.digest}, passed on ${s.environment}) to ${values.to}\n`);
  }
  return afterStart(answer, values);
}
