/**
 * The Docker Hub push normalizer (src/core/events/dockerhub.ts) at its edges; the documented
 * payload (Docker Hub docs, "Webhooks": example webhook payload, test/fixtures/dockerhub/push.json)
 * is in webhook-events.test.ts.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizeDockerhubPush } from '../../src/core/events/dockerhub.ts';
import { InvalidInputError } from '../../src/core/model/errors.ts';
import { fixture } from '../support/webhooks.ts';

const at = new Date('2026-01-02T03:04:05Z');
type Push = { push_data: Record<string, unknown>; repository: Record<string, unknown> };
const push = (pushData: Record<string, unknown> = {}, repoName?: string) => {
  const payload = fixture('dockerhub/push') as Push;
  return {
    ...payload,
    push_data: { ...payload.push_data, ...pushData },
    repository: { ...payload.repository, ...(repoName === undefined ? {} : { repo_name: repoName }) },
  };
};
const idOf = (text: string) => `dockerhub-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;

describe('Function: normalizeDockerhubPush', () => {
  it('names the event by repository, tag and push time: the same push twice is the same id', () => {
    const release = normalizeDockerhubPush(push(), at);
    expect(release).toEqual({
      registry: 'dockerhub',
      repository: 'svendowideit/testhook',
      tag: 'latest',
      trigger: {
        kind: 'dockerhub-push',
        id: idOf('svendowideit/testhook:latest:1417566161'),
        actor: 'trustedbuilder',
        at: '2026-01-02T03:04:05.000Z',
      },
    });
    expect(normalizeDockerhubPush(push(), new Date(0)).trigger.id).toBe(release.trigger.id);
    expect(normalizeDockerhubPush(push({ pushed_at: undefined }), at).trigger.id).toBe(idOf('svendowideit/testhook:latest:'));
  });

  it('keeps a pusher only when it looks like a Docker ID', () => {
    const actorOf = (pusher: unknown) => normalizeDockerhubPush(push({ pusher }), at).trigger;
    expect(actorOf('Build_Bot-2')).toMatchObject({ actor: 'Build_Bot-2' });
    expect(actorOf('a'.repeat(64))).toMatchObject({ actor: 'a'.repeat(64) });
    for (const pusher of ['', 'a'.repeat(65), 'x y', 'x\ny', undefined]) expect(actorOf(pusher)).not.toHaveProperty('actor');
  });

  it('refuses a payload of another shape, saying what it expected', () => {
    expect(() => normalizeDockerhubPush({ push_data: { tag: 1 }, repository: { repo_name: 'a/b' } }, at)).toThrow(
      new InvalidInputError(
        'not a Docker Hub push webhook: push_data.tag: Invalid input: expected string, received number (expected push_data.tag and repository.repo_name)',
      ),
    );
  });

  it('refuses a repository name over 255 characters, or one that is not a repository name', () => {
    const long = `octo/${'a'.repeat(251)}`;
    expect(() => normalizeDockerhubPush(push({}, long), at)).toThrow(
      `repository.repo_name "${long.slice(0, 60)}…" is not a valid repository name (expected lowercase namespace/name, e.g. octo/demo-api)`,
    );
    expect(normalizeDockerhubPush(push({}, `octo/${'a'.repeat(250)}`), at).repository).toHaveLength(255);
    expect(() => normalizeDockerhubPush(push({ tag: '.hidden' }), at)).toThrow(
      'push_data.tag ".hidden" is not a valid image tag (expected 1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)',
    );
  });
});

describe('Function: normalizeDockerhubPush, a body that is no object', () => {
  it('names the body itself', () => {
    expect(() => normalizeDockerhubPush('push', at)).toThrow(
      'not a Docker Hub push webhook: (body): Invalid input: expected object, received string (expected push_data.tag and repository.repo_name)',
    );
  });
});
