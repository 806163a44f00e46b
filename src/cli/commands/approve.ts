/** `coconut approve|reject APPROVAL-ID`: decides a waiting approval, locally or on AWS (as your JWT user or IAM identity). */
import { parseArgs } from 'node:util';
import { request, useStage } from '../client.ts';
import { UsageError } from '../errors.ts';

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
