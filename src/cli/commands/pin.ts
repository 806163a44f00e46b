/**
 * `coconut pin SERVICE --env ENV [--version V] --reason "..."`: hold an environment at what runs
 * there; automatic deployments (pushes, tags) deploy the earlier environments and wait at the pin.
 * `coconut unpin SERVICE --env ENV [--comment "..."]` lifts it and releases the waiting ones.
 * Manual deploys, promotions and rollbacks are not held (src/core/pipeline/pins.ts says why).
 */
import { parseArgs } from 'node:util';
import type { PublicPin } from '../../core/read-models/status.ts';
import { request, useStage } from '../client.ts';
import { UsageError } from '../errors.ts';

export const pinUsage = 'coconut pin SERVICE --env ENV [--version VERSION] --reason "WHY" [--stage S] [--json]';
export const unpinUsage = 'coconut unpin SERVICE --env ENV [--comment "WHY"] [--stage S] [--json]';

const common = {
  env: { type: 'string' },
  stage: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

function serviceOf(positionals: string[], verb: string): string {
  const [service] = positionals;
  if (!service || positionals.length !== 1) throw new UsageError(`expected one service name, like: ${verb} demo-api --env prod`);
  return service;
}

export async function pin(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, version: { type: 'string' }, reason: { type: 'string' } },
    strict: true,
  });
  const service = serviceOf(positionals, 'pin');
  if (!values.env) throw new UsageError('--env is required: which environment to pin');
  if (!values.reason?.trim()) throw new UsageError('--reason is required: say why the environment is pinned');
  useStage(values.stage);
  const answer = await request<{ pin: PublicPin }>('POST', '/api/pins', {
    service,
    environment: values.env,
    reason: values.reason,
    ...(values.version ? { version: values.version } : {}),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  const p = answer.pin;
  process.stdout.write(
    `${p.service} on ${p.environment} is PINNED${p.version ? ` at ${p.version}` : ''} by ${p.pinnedBy}: ${p.reason}\n` +
      'automatic deployments (pushes, tags) now wait there; manual deploys, promote and rollback still run\n' +
      `lift it with: npx coconut unpin ${p.service} --env ${p.environment} --comment "why"\n`,
  );
  return 0;
}

export async function unpin(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, comment: { type: 'string' } },
    strict: true,
  });
  const service = serviceOf(positionals, 'unpin');
  if (!values.env) throw new UsageError('--env is required: which environment to unpin');
  useStage(values.stage);
  const answer = await request<{ pin: PublicPin; released: string[] }>('POST', '/api/unpins', {
    service,
    environment: values.env,
    ...(values.comment ? { comment: values.comment } : {}),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(
    `${service} on ${values.env} is no longer pinned` +
      (answer.released.length ? `; released: ${answer.released.join(', ')}\n` : '; no deployment was waiting\n'),
  );
  return 0;
}
