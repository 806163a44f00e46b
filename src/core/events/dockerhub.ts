/**
 * Docker Hub repository webhooks (a push of a tag). Docker Hub signs nothing: the handler
 * authenticates the call by the secret token in its URL before this runs. Tag and repository
 * are checked against the OCI patterns; a bad value is an InvalidInputError naming the field.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from '../model/errors.ts';
import { REPOSITORY_MAX_LENGTH, REPOSITORY_PATTERN, TAG_PATTERN } from '../model/oci.ts';
import type { ReleaseEvent } from '../model/release.ts';
import { describeZodIssues } from '../model/zod-issues.ts';
import { preview } from './github.ts';

export const dockerhubPushSchema = z.looseObject({
  callback_url: z.string().optional(),
  push_data: z.looseObject({
    tag: z.string(),
    pusher: z.string().optional(),
    pushed_at: z.number().optional(),
  }),
  repository: z.looseObject({ repo_name: z.string() }),
});

const PUSHER_PATTERN = /^[a-z0-9_-]{1,64}$/i;

export function normalizeDockerhubPush(payload: unknown, at: Date): ReleaseEvent {
  const result = dockerhubPushSchema.safeParse(payload);
  if (!result.success) {
    throw new InvalidInputError(
      `not a Docker Hub push webhook: ${describeZodIssues(result.error, '(body)', 1)} (expected push_data.tag and repository.repo_name)`,
    );
  }
  const { push_data: push, repository } = result.data;
  if (!TAG_PATTERN.test(push.tag)) {
    throw new InvalidInputError(
      `push_data.tag ${preview(push.tag)} is not a valid image tag (expected 1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)`,
    );
  }
  const repo = repository.repo_name;
  if (repo.length > REPOSITORY_MAX_LENGTH || !REPOSITORY_PATTERN.test(repo)) {
    throw new InvalidInputError(
      `repository.repo_name ${preview(repo)} is not a valid repository name (expected lowercase namespace/name, e.g. octo/demo-api)`,
    );
  }
  const pusher = push.pusher && PUSHER_PATTERN.test(push.pusher) ? push.pusher : undefined;
  // Docker Hub sends no delivery id: name the event by what it says, for tracing only.
  const id = `dockerhub-${createHash('sha256')
    .update(`${repo}:${push.tag}:${push.pushed_at ?? ''}`)
    .digest('hex')
    .slice(0, 16)}`;
  return {
    registry: 'dockerhub',
    repository: repo,
    tag: push.tag,
    trigger: { kind: 'dockerhub-push', id, ...(pusher ? { actor: pusher } : {}), at: at.toISOString() },
  };
}
