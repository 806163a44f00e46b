/**
 * `coconut deploy SERVICE TAG`, `coconut rollback SERVICE --env E` and `coconut watch ID`: start
 * a deployment (any target kind, locally or on AWS, through POST /api/deployments) or a
 * rollback execution (POST /api/rollbacks), and with --wait follow it to its end.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { DeploymentView } from '../../core/model/deployment.ts';
import { parseDuration } from '../../core/model/duration.ts';
import { request, serverUrl, useStage } from '../client.ts';
import { UsageError } from '../errors.ts';
import { follow } from '../progress.ts';

export const deployUsage =
  'coconut deploy SERVICE TAG [--env ENV]... [--digest sha256:…] [--wait [--timeout 30m]] [--stage S] [--json]';
export const rollbackUsage = 'coconut rollback SERVICE --env ENV [--to VERSION] [--wait [--timeout 30m]] [--stage S] [--json]';
export const watchUsage = 'coconut watch DEPLOYMENT-ID [--timeout 30m] [--stage S] [--json]';

export const common = {
  wait: { type: 'boolean', default: false },
  timeout: { type: 'string' },
  stage: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export function timeoutOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const s = parseDuration(raw);
  if (s === undefined || s <= 0) throw new UsageError(`--timeout must be a duration like 90s, 30m or 2h, got "${raw}"`);
  return s * 1000;
}

/** --env a --env b, or --env a,b */
function environmentsOf(values: string[] | undefined): string[] | undefined {
  const list = (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim());
  if (list.some((v) => !v)) throw new UsageError('--env needs an environment name');
  return list.length ? list : undefined;
}

export interface StartAnswer {
  status: 'started' | 'duplicate';
  deployment: DeploymentView;
  from?: string | null;
  to?: string;
}

export async function afterStart(answer: StartAnswer, values: { wait: boolean; json: boolean; timeout?: string | undefined }) {
  const d = answer.deployment;
  const timeoutMs = timeoutOf(values.timeout);
  if (!values.wait) {
    if (values.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    else {
      process.stdout.write(
        `${answer.status === 'started' ? 'started' : 'already running (same request)'}: ${d.kind === 'rollback' ? 'rollback of ' : ''}${d.service} ${d.version} to ${d.environments.join(', ')} — deployment ${d.deploymentId}\n`,
      );
      process.stdout.write(`follow it with: coconut watch ${d.deploymentId}\n`);
    }
    return 0;
  }
  if (!values.json) {
    const what =
      d.kind === 'rollback'
        ? `rolling back ${d.service} on ${d.environments.join(', ')}${answer.from ? ` from ${answer.from}` : ''} to ${d.version}`
        : `deploying ${d.service} ${d.version} to ${d.environments.join(' -> ')}`;
    process.stdout.write(`${what} (deployment ${d.deploymentId}, at ${serverUrl()})\n`);
  }
  return follow(d.deploymentId, { out: process.stdout, json: values.json, ...(timeoutMs ? { timeoutMs } : {}) });
}

export async function deploy(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, env: { type: 'string', multiple: true }, digest: { type: 'string' } },
    strict: true,
  });
  const [service, version] = positionals;
  if (!service || !version || positionals.length !== 2)
    throw new UsageError('expected a service and a tag, like: deploy demo-api 1.0.0');
  const environments = environmentsOf(values.env);
  timeoutOf(values.timeout);
  useStage(values.stage);
  const answer = await request<StartAnswer>('POST', '/api/deployments', {
    service,
    version,
    requestId: randomUUID(),
    ...(environments ? { environments } : {}),
    ...(values.digest ? { digest: values.digest } : {}),
  });
  return afterStart(answer, values);
}

export async function rollback(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, env: { type: 'string' }, to: { type: 'string' } },
    strict: true,
  });
  const [service] = positionals;
  if (!service || positionals.length !== 1) throw new UsageError('expected one service name');
  if (!values.env) throw new UsageError('--env is required: which environment to roll back');
  timeoutOf(values.timeout);
  useStage(values.stage);
  const answer = await request<StartAnswer>('POST', '/api/rollbacks', {
    service,
    environment: values.env,
    requestId: randomUUID(),
    ...(values.to ? { to: values.to } : {}),
  });
  return afterStart(answer, values);
}

export async function watch(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { timeout: common.timeout, stage: common.stage, json: common.json },
    strict: true,
  });
  const [id] = positionals;
  if (!id || positionals.length !== 1) throw new UsageError('expected one deployment id (see `coconut history SERVICE`)');
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) throw new UsageError(`"${id}" is not a deployment id: expected 1-80 of A-Z a-z 0-9 _ -`);
  const timeoutMs = timeoutOf(values.timeout);
  useStage(values.stage);
  return follow(id, { out: process.stdout, json: values.json, ...(timeoutMs ? { timeoutMs } : {}) });
}
