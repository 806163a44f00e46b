/** `coconut status`: what runs where, what is in progress, what waits for approval. */

import { parseArgs } from 'node:util';
import { rehearsalLabel, type StageRecord } from '../../core/model/deployment.ts';
import { freezeSummary } from '../../core/pipeline/freeze.ts';
import { pinSummary } from '../../core/pipeline/pins.ts';
import type { PublicApproval, PublicPin, ServiceStatus } from '../../core/read-models/status.ts';
import { stepStatus } from '../../core/read-models/step-status.ts';
import { request, useStage } from '../client.ts';
import { ago, colorHealth, colorState, table } from '../format.ts';

export const usage = 'coconut status [--stage S] [--json]';

export function stageLabel(
  stage: Pick<StageRecord, 'state' | 'rehearsal'> & Partial<Pick<StageRecord, 'rollout' | 'bakeEndsAt' | 'updatedAt'>>,
): string {
  // A rollout names its step: "BAKING canary 10% — baking, 1m12s left", "ROLLED_BACK failed at 50%".
  const step = stage.updatedAt ? stepStatus({ ...stage, updatedAt: stage.updatedAt }) : undefined;
  return `${colorState(stage.state)}${step ? ` ${step}` : ''}${stage.rehearsal ? ` (${rehearsalLabel(stage.rehearsal)})` : ''}`;
}

/** The version a stage deployed, saying how it came: "1.0.0 (rollback)", "1.0.0 (promoted from staging)". */
export function stageVersion(stage: Pick<StageRecord, 'version' | 'kind' | 'promotedFrom'>): string {
  return stage.kind === 'rollback' ? `${stage.version} (rollback)` : promotedVersion(stage);
}

function promotedVersion(stage: Pick<StageRecord, 'version' | 'promotedFrom'>): string {
  return stage.promotedFrom ? `${stage.version} (promoted from ${stage.promotedFrom})` : stage.version;
}

/** "prod: PINNED at 1.0.0 by alice: reason (since …); waiting at pin: demo-api 1.1.0 (dep-id)". */
export function pinLine(environment: string, pin: PublicPin): string {
  const waiting = pin.waiting.map((w) => `${pin.service} ${w.version} (${w.deploymentId})`).join(', ');
  return `${pin.service}/${environment}: ${pinSummary(pin)} (since ${pin.pinnedAt})${waiting ? `; waiting at pin: ${waiting}` : ''}`;
}

export async function status(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, stage: { type: 'string' } },
    strict: true,
  });
  useStage(values.stage);
  const data = await request<{ services: ServiceStatus[]; approvals: PublicApproval[] }>('GET', '/api/status');
  if (values.json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return 0;
  }
  const rows = data.services.flatMap((s) =>
    s.environments.map((e) => [
      s.service,
      e.name,
      e.current?.version ?? '—',
      e.lastKnownGood?.version ?? '—',
      e.health ? colorHealth(e.health.state) : '—',
      e.latest ? `${promotedVersion(e.latest)} ${stageLabel(e.latest)}${e.needsAttention ? ' — NEEDS ATTENTION' : ''}` : '—',
      e.latest?.reason ?? '',
      ago(e.latest?.updatedAt),
    ]),
  );
  process.stdout.write(`${table(['SERVICE', 'ENV', 'RUNNING', 'KNOWN-GOOD', 'HEALTH', 'LATEST', 'WHY', 'WHEN'], rows)}\n`);
  const freezes = data.services.flatMap((s) =>
    s.environments.flatMap((e) => (e.freeze ? [[s.service, e.name, freezeSummary(e.freeze)]] : [])),
  );
  if (freezes.length) process.stdout.write(`\nFreeze windows:\n${table(['SERVICE', 'ENV', 'NOW'], freezes)}\n`);
  const pins = data.services.flatMap((s) => s.environments.flatMap((e) => (e.pin ? [pinLine(e.name, e.pin)] : [])));
  if (pins.length) process.stdout.write(`\nPinned:\n${pins.map((l) => `  ${l}`).join('\n')}\n`);
  const held = data.approvals.filter((a) => a.purpose === 'freeze');
  if (held.length) {
    process.stdout.write('\nHeld by a freeze window:\n');
    process.stdout.write(
      `${table(
        ['DEPLOYMENT', 'SERVICE', 'ENV', 'VERSION', 'UNTIL'],
        held.map((a) => [a.deploymentId, a.service, a.environment, a.version, a.expiresAt]),
      )}\n`,
    );
    process.stdout.write(`break glass with: npx coconut unfreeze ${held[0]?.deploymentId} --comment "why"\n`);
  }
  data.approvals = data.approvals.filter((a) => a.purpose !== 'freeze');
  if (data.approvals.length) {
    process.stdout.write('\nWaiting for approval:\n');
    process.stdout.write(
      `${table(
        ['APPROVAL', 'SERVICE', 'ENV', 'CHANGE', 'EXPIRES'],
        data.approvals.map((a) => [
          a.approvalId,
          a.service,
          a.environment,
          `${a.fromVersion ?? '—'} -> ${a.version}${a.step ? ` (next step: ${a.step})` : ''}`,
          a.expiresAt,
        ]),
      )}\n`,
    );
    process.stdout.write(`approve with: npx coconut approve ${data.approvals[0]?.approvalId}\n`);
  }
  const alarming = data.services.flatMap((s) =>
    s.environments.flatMap((e) =>
      (e.health?.alarms ?? [])
        .filter((a) => a.state === 'ALARM')
        .map((a) => `${s.service}/${e.name}: ${a.name} — ${a.reason ?? 'in ALARM'}`),
    ),
  );
  if (alarming.length) process.stdout.write(`\nIn ALARM:\n${alarming.map((a) => `  ${a}`).join('\n')}\n`);
  return 0;
}
