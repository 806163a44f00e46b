/** `coconut approve|reject APPROVAL-ID`: decides a waiting approval, locally or on AWS (as your JWT user or IAM identity). */
import { parseArgs } from 'node:util';
import { request, useStage } from '../client.ts';
import { CommandFailed, UsageError } from '../errors.ts';

export const usage = 'coconut approve|reject APPROVAL-ID [--comment TEXT] [--stage S] [--json]';

export async function decide(decision: 'approve' | 'reject', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { comment: { type: 'string' }, stage: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new UsageError('expected one approval id (see `coconut status`)');
  if (!/^apr-[a-f0-9]{10}$/.test(id))
    throw new UsageError(`"${id}" is not an approval id: expected apr- followed by 10 hex digits`);
  useStage(values.stage);
  const data = await request<{
    approval: { service: string; environment: string; version: string; status: string; decidedBy?: string };
  }>('POST', `/api/approvals/${id}/${decision}`, values.comment ? { comment: values.comment } : {});
  if (values.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else {
    const a = data.approval;
    process.stdout.write(
      `${a.status.toLowerCase()}: ${a.service} ${a.version} on ${a.environment} (by ${a.decidedBy ?? 'you'})\n`,
    );
  }
  return 0;
}

export const unfreezeUsage = 'coconut unfreeze DEPLOYMENT-ID --comment "WHY" [--stage S] [--json]';

/**
 * Break glass: lets a deployment held by a freeze window through now. It approves the hold
 * (src/core/pipeline/freeze-gate.ts) with the comment, so the same approvers may, and who, when
 * and why are kept on the approval and the stage and posted in the deployment's Slack thread.
 */
export async function unfreeze(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { comment: { type: 'string' }, stage: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new UsageError('expected one deployment id (see `coconut status`)');
  if (!values.comment?.trim()) throw new UsageError('expected --comment "WHY": breaking a freeze says why');
  useStage(values.stage);
  const { approvals } = await request<{ approvals: { approvalId: string; deploymentId: string; purpose?: string }[] }>(
    'GET',
    '/api/approvals?status=PENDING&limit=500',
  );
  const hold = approvals.find((a) => a.deploymentId === id && a.purpose === 'freeze');
  if (!hold)
    throw new CommandFailed(`deployment ${id} is not held by a freeze window (nothing to unfreeze; see \`coconut status\`)`);
  const data = await request<{
    approval: { service: string; environment: string; version: string; decidedBy?: string; comment?: string };
  }>('POST', `/api/approvals/${hold.approvalId}/approve`, { comment: values.comment });
  if (values.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else {
    const a = data.approval;
    process.stdout.write(
      `unfrozen: ${a.service} ${a.version} on ${a.environment} (by ${a.decidedBy ?? 'you'}): ${a.comment ?? values.comment}\n`,
    );
  }
  return 0;
}
