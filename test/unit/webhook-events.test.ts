/** The GitHub and Docker Hub normalizers on the payloads as their docs publish them. */
import { describe, expect, it } from 'vitest';
import { normalizeDockerhubPush } from '../../src/core/events/dockerhub.ts';
import { normalizeGithubEvent } from '../../src/core/events/github.ts';
import { InvalidInputError } from '../../src/core/model/errors.ts';
import { fixture, withContainerTag } from '../support/webhooks.ts';

const at = new Date('2026-01-02T03:04:05Z');
const gh = (event: string, payload: unknown) => normalizeGithubEvent(event, payload, 'delivery-1', at);

describe('Function: normalizeGithubEvent', () => {
  it('turns a tag push into a tag release with the commit and the sender as actor', () => {
    expect(gh('push', fixture('github/push-tag'))).toEqual({
      kind: 'tag',
      push: {
        repository: 'Codertocat/Hello-World',
        tag: 'simple-tag',
        sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        trigger: { kind: 'git-tag', id: 'delivery-1', actor: 'Codertocat', at: at.toISOString() },
      },
    });
  });

  it('turns `create` of a tag into the same release, without a commit id (create carries none)', () => {
    expect(gh('create', fixture('github/create-tag'))).toEqual({
      kind: 'tag',
      push: {
        repository: 'Codertocat/Hello-World',
        tag: 'simple-tag',
        trigger: { kind: 'git-tag', id: 'delivery-1', actor: 'Codertocat', at: at.toISOString() },
      },
    });
  });

  it('ignores deleted tags, branch pushes and branch creation, each with a reason', () => {
    expect(gh('push', fixture('github/push-tag-deleted'))).toEqual({
      kind: 'ignored',
      reason: '"refs/tags/simple-tag" was deleted: nothing to release',
    });
    expect(gh('push', fixture('github/push-branch'))).toEqual({
      kind: 'ignored',
      reason: 'push to branch "master": only tags start releases',
    });
    expect(gh('create', { ...fixture('github/create-tag'), ref_type: 'branch', ref: 'feature' })).toMatchObject({
      kind: 'ignored',
      reason: 'created a "branch", not a tag: only tags start releases',
    });
  });

  it('answers ping with the hook id, and ignores events it does not act on', () => {
    expect(gh('ping', fixture('github/ping'))).toEqual({ kind: 'ping', hookId: 109948940 });
    expect(gh('issues', { action: 'opened' })).toMatchObject({ kind: 'ignored' });
    expect((gh('issues', {}) as { reason: string }).reason).toBe(
      'event "issues" is not one Coconut acts on (it handles push, create, package, registry_package, ping)',
    );
  });

  it('rejects a tag that cannot be an image tag, naming the field and the format', () => {
    const push = { ...fixture('github/push-tag'), ref: 'refs/tags/v1;rm -rf /' };
    expect(() => gh('push', push)).toThrow(InvalidInputError);
    expect(() => gh('push', push)).toThrow('ref: tag "v1;rm -rf /" cannot be an image tag (expected 1-128 of A-Z a-z 0-9 _ . -');
    expect(() => gh('push', { ...push, ref: `refs/tags/${'a'.repeat(500)}` })).toThrow('ref must be 1-255 printable characters');
    expect(() => gh('create', { ...fixture('github/create-tag'), ref: '-rf' })).toThrow('cannot be an image tag');
  });

  it('rejects a repository, commit id or sender that are not GitHub names', () => {
    const push = fixture('github/push-tag');
    expect(() => gh('push', { ...push, repository: { full_name: 'a/b/c' } })).toThrow(
      'repository.full_name "a/b/c" is not a GitHub repository name (expected owner/name',
    );
    expect(() => gh('push', { ...push, after: '$(id)' })).toThrow('after "$(id)" is not a commit id');
    expect(() => gh('push', { ...push, sender: { login: 'x y' } })).toThrow('sender.login "x y" is not a GitHub login');
    expect(() => gh('push', { ref: 'refs/tags/v1' })).toThrow('not a valid GitHub push event: repository');
  });

  it('ignores GHCR versions without a tag, as GitHub publishes the platform manifests of an image', () => {
    expect(gh('package', fixture('github/package-published'))).toEqual({
      kind: 'ignored',
      reason: 'package "hello-world-npm" version has no tag: nothing to deploy',
    });
    expect(gh('registry_package', fixture('github/registry-package-published'))).toMatchObject({ kind: 'ignored' });
  });

  it('turns a tagged GHCR version into a registry push of owner/name (lowercase), with its digest', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const event = withContainerTag(fixture('github/registry-package-published'), 'registry_package', { name: '1.2.3', digest });
    expect(gh('registry_package', event)).toEqual({
      kind: 'registry',
      release: {
        registry: 'ghcr',
        repository: 'codertocat/hello-world-npm',
        tag: '1.2.3',
        digest,
        trigger: { kind: 'ghcr-push', id: 'delivery-1', actor: 'github-actions[bot]', at: at.toISOString() },
      },
    });
    // GitHub's own example digest is 40 hex digits: not a sha256 digest, so rejected.
    withContainerTag(event, 'registry_package', { name: '1.2.3', digest: 'sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b' });
    expect(() => gh('registry_package', event)).toThrow(
      'registry_package.package_version.container_metadata.tag.digest "sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b" is not a digest',
    );
  });

  it('ignores packages that are not container images and actions other than published', () => {
    const event = fixture('github/package-published') as { package: Record<string, unknown>; action: string };
    expect(gh('package', { ...event, action: 'updated' })).toEqual({
      kind: 'ignored',
      reason: 'package "updated", not published',
    });
    event.package.ecosystem = 'npm';
    expect(gh('package', event)).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('not a container image') });
  });
});

describe('Function: normalizeDockerhubPush', () => {
  it('turns the documented push webhook into a Docker Hub release with the pusher as actor', () => {
    expect(normalizeDockerhubPush(fixture('dockerhub/push'), at)).toMatchObject({
      registry: 'dockerhub',
      repository: 'svendowideit/testhook',
      tag: 'latest',
      trigger: { kind: 'dockerhub-push', actor: 'trustedbuilder', at: at.toISOString() },
    });
  });

  it('rejects bad tags and repositories naming the field, and payloads without them', () => {
    const push = fixture('dockerhub/push') as { push_data: Record<string, unknown>; repository: Record<string, unknown> };
    expect(() => normalizeDockerhubPush({ ...push, push_data: { tag: 'v1;rm -rf /' } }, at)).toThrow(
      'push_data.tag "v1;rm -rf /" is not a valid image tag',
    );
    expect(() => normalizeDockerhubPush({ ...push, repository: { repo_name: 'UPPER/case' } }, at)).toThrow(
      'repository.repo_name "UPPER/case" is not a valid repository name',
    );
    expect(() => normalizeDockerhubPush({ repository: push.repository }, at)).toThrow('not a Docker Hub push webhook: push_data');
  });
});
