/**
 * EventBridge "ECR Image Action" events (source aws.ecr). Only a successful PUSH with a tag is
 * a release; deletes, failed pushes and untagged pushes are ignored with a reason.
 */
import { z } from 'zod';
import { DIGEST_PATTERN, REPOSITORY_PATTERN, TAG_PATTERN } from '../model/oci.ts';
import type { ReleaseEvent } from '../model/release.ts';

export const ecrImageActionSchema = z.object({
  id: z.string().min(1).max(128),
  source: z.literal('aws.ecr'),
  'detail-type': z.literal('ECR Image Action'),
  account: z.string().optional(),
  region: z.string().optional(),
  time: z.string().optional(),
  detail: z.object({
    'action-type': z.string(),
    result: z.string(),
    'repository-name': z.string().max(255),
    'image-tag': z.string().optional(),
    'image-digest': z.string().optional(),
  }),
});

export type EcrImageActionEvent = z.input<typeof ecrImageActionSchema>;

export type Normalized = { release: ReleaseEvent } | { ignored: string };

export function normalizeEcrEvent(event: z.output<typeof ecrImageActionSchema>): Normalized {
  const d = event.detail;
  if (d['action-type'] !== 'PUSH') return { ignored: `action-type is ${d['action-type']}, not PUSH` };
  if (d.result !== 'SUCCESS') return { ignored: `push result is ${d.result}, not SUCCESS` };
  const tag = d['image-tag'];
  if (!tag) return { ignored: 'the push has no image tag' };
  if (!TAG_PATTERN.test(tag)) {
    return { ignored: `image-tag ${JSON.stringify(tag.slice(0, 140))} is not a valid OCI tag (expected ${TAG_PATTERN})` };
  }
  if (!REPOSITORY_PATTERN.test(d['repository-name'])) {
    return { ignored: `repository-name ${JSON.stringify(d['repository-name'].slice(0, 140))} is not a valid repository name` };
  }
  const digest = d['image-digest'];
  if (digest !== undefined && !DIGEST_PATTERN.test(digest)) {
    return { ignored: `image-digest ${JSON.stringify(digest.slice(0, 140))} is not a valid digest (expected sha256:<64 hex>)` };
  }
  return {
    release: {
      registry: 'ecr',
      repository: d['repository-name'],
      tag,
      ...(digest ? { digest } : {}),
      trigger: { kind: 'ecr-push', id: event.id, at: event.time ?? new Date(0).toISOString() },
    },
  };
}
