/** `coconut push REPOSITORY:TAG`: what ECR sends after a successful push, to the local runtime. */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { isValidDigest, isValidRepository, isValidTag } from '../../core/model/oci.ts';
import { request } from '../client.ts';
import { CommandFailed, UsageError } from '../errors.ts';

export const usage = 'coconut push REPOSITORY:TAG [--digest sha256:…] [--json]';

interface Delivery {
  rule: string;
  result?: { outcomes?: { status: string; service?: string; deploymentId?: string; reason?: string }[]; ignored?: string };
  error?: string;
}

export async function push(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { digest: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const ref = positionals[0];
  if (!ref || positionals.length > 1) throw new UsageError('expected one image reference like demo-api:1.0.0');
  const colon = ref.lastIndexOf(':');
  if (colon <= 0) throw new UsageError(`"${ref}" has no tag: expected REPOSITORY:TAG, like demo-api:1.0.0`);
  const repository = ref.slice(0, colon);
  const tag = ref.slice(colon + 1);
  if (!isValidRepository(repository))
    throw new UsageError(`"${repository}" is not a valid repository name (lowercase letters, digits, . _ - /)`);
  if (!isValidTag(tag))
    throw new UsageError(`"${tag}" is not a valid tag (letters, digits, . _ -, at most 128, not starting with . or -)`);
  // Without a registry there is no real digest; derive a stable one from the name so that the
  // same push twice is the same image (and so one deployment).
  const digest = values.digest ?? `sha256:${createHash('sha256').update(`${repository}:${tag}`).digest('hex')}`;
  if (!isValidDigest(digest)) throw new UsageError(`--digest must look like sha256:<64 hex>, got "${digest}"`);
  const detail = {
    'action-type': 'PUSH',
    result: 'SUCCESS',
    'repository-name': repository,
    'image-tag': tag,
    'image-digest': digest,
  };
  const res = await request<{ Entries: { EventId?: string; Deliveries?: Delivery[]; ErrorMessage?: string }[] }>(
    'POST',
    '/events',
    {
      Entries: [{ Source: 'aws.ecr', DetailType: 'ECR Image Action', Detail: JSON.stringify(detail) }],
    },
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
    return 0;
  }
  const entry = res.Entries[0];
  if (entry?.ErrorMessage) throw new CommandFailed(entry.ErrorMessage);
  const deliveries = entry?.Deliveries ?? [];
  if (deliveries.length === 0) {
    process.stdout.write(
      `pushed ${ref}: no rule matched — no service in coconut.yaml uses ECR repository "${repository}"; nothing started\n`,
    );
    return 0;
  }
  for (const d of deliveries) {
    if (d.error) throw new CommandFailed(`pushed ${ref}, but ${d.rule} failed: ${d.error}`);
    if (d.result?.ignored) process.stdout.write(`pushed ${ref}: ignored — ${d.result.ignored}\n`);
    for (const o of d.result?.outcomes ?? []) {
      if (o.status === 'started') process.stdout.write(`pushed ${ref}: deploying ${o.service} (deployment ${o.deploymentId})\n`);
      else if (o.status === 'duplicate')
        process.stdout.write(
          `pushed ${ref}: ${o.service} already has this version (deployment ${o.deploymentId}); nothing new started\n`,
        );
      else process.stdout.write(`pushed ${ref}: skipped — ${o.reason}\n`);
    }
  }
  process.stdout.write('follow it with: npx coconut status\n');
  return 0;
}
