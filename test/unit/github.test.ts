/**
 * The GitHub webhook normalizer (src/core/events/github.ts) at its edges: what each refused value
 * is told as, the bounds of refs and echoed values, and which fields a release carries. The
 * documented payloads (GitHub's "Webhook events and payloads" examples, test/fixtures/github) are
 * in webhook-events.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { normalizeGithubEvent, preview } from '../../src/core/events/github.ts';
import { fixture, withContainerTag } from '../support/webhooks.ts';

const at = new Date('2026-01-02T03:04:05Z');
const gh = (event: string, payload: unknown) => normalizeGithubEvent(event, payload, 'delivery-1', at);
const pushOf = (fields: Record<string, unknown>) => ({ ...fixture('github/push-tag'), ...fields });
const digest = `sha256:${'ab'.repeat(32)}`;
/** The tag push a `push` delivery makes (fails the test when it makes something else). */
function tagOf(payload: unknown) {
  const outcome = gh('push', payload);
  if (outcome.kind !== 'tag') throw new Error(`expected a tag push, got ${JSON.stringify(outcome)}`);
  return outcome.push;
}

/** A published container version of octo-org/web, tagged `tag`. */
function packageEvent(event: 'package' | 'registry_package', tag = { name: '1.2.3', digest }) {
  const payload = fixture(`github/${event === 'package' ? 'package' : 'registry-package'}-published`);
  return withContainerTag(payload, event, tag);
}

describe('Function: preview', () => {
  it('quotes a value, cutting it after 60 characters', () => {
    expect(preview('a"b')).toBe('"a\\"b"');
    expect(preview('x'.repeat(60))).toBe(`"${'x'.repeat(60)}"`);
    expect(preview(`${'x'.repeat(60)}yz`)).toBe(`"${'x'.repeat(60)}…"`);
  });
});

describe('Function: normalizeGithubEvent, push and create', () => {
  it('a ping without a hook id is a plain ping', () => {
    expect(gh('ping', {})).toStrictEqual({ kind: 'ping' });
    expect(() => gh('push', 'text')).toThrow(
      'not a valid GitHub push event: (body): Invalid input: expected object, received string',
    );
  });

  it('refs: empty, longer than 255 characters or with control characters are refused; 255 is fine', () => {
    expect(() => gh('push', pushOf({ ref: '' }))).toThrow('ref must be 1-255 printable characters, got 0 characters');
    expect(() => gh('push', pushOf({ ref: `refs/tags/${'a'.repeat(246)}` }))).toThrow(
      'ref must be 1-255 printable characters, got 256 characters',
    );
    expect(gh('push', pushOf({ ref: `refs/heads/${'a'.repeat(244)}` }))).toMatchObject({ kind: 'ignored' });
    for (const control of ['\u0000', '\n', '\u001f', '\u007f']) {
      expect(() => gh('push', pushOf({ ref: `refs/tags/v1${control}` }))).toThrow('ref must be 1-255 printable characters');
    }
    expect(() => gh('create', { ...fixture('github/create-tag'), ref: 'v1\t' })).toThrow('printable characters');
  });

  it('a ref that is neither a branch nor a tag is ignored, saying so', () => {
    expect(gh('push', pushOf({ ref: 'refs/pull/1/head' }))).toEqual({
      kind: 'ignored',
      reason: 'ref "refs/pull/1/head" is not a tag',
    });
    // deleted: false is a push like any other.
    expect(gh('push', pushOf({ deleted: false }))).toMatchObject({ kind: 'tag' });
  });

  it('keeps the commit of a 64-digit (SHA-256) repository, drops the all-zero one, refuses uppercase', () => {
    const sha256 = 'a'.repeat(64);
    expect(gh('push', pushOf({ after: sha256 }))).toMatchObject({ push: { sha: sha256 } });
    expect(tagOf(pushOf({ after: '0'.repeat(40) }))).not.toHaveProperty('sha');
    expect(tagOf(pushOf({ after: undefined }))).not.toHaveProperty('sha');
    expect(() => gh('push', pushOf({ after: 'A'.repeat(40) }))).toThrow(
      `after "${'A'.repeat(40)}" is not a commit id (expected 40 or 64 lowercase hex digits)`,
    );
    expect(() => gh('push', pushOf({ after: 'a'.repeat(41) }))).toThrow('is not a commit id');
  });

  it('a push without a sender has no actor; a bot sender is one', () => {
    expect(tagOf(pushOf({ sender: undefined })).trigger).toEqual({ kind: 'git-tag', id: 'delivery-1', at: at.toISOString() });
    expect(gh('push', pushOf({ sender: { login: 'dependabot[bot]' } }))).toMatchObject({
      push: { trigger: { actor: 'dependabot[bot]' } },
    });
    expect(() => gh('create', { ...fixture('github/create-tag'), sender: { login: '-x' } })).toThrow(
      'sender.login "-x" is not a GitHub login',
    );
  });

  it('create checks the repository and says which event was malformed', () => {
    expect(() => gh('create', { ...fixture('github/create-tag'), ref: '-rf' })).toThrow(
      'ref: tag "-rf" cannot be an image tag (expected 1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)',
    );
    expect(() => gh('create', { ...fixture('github/create-tag'), repository: { full_name: 'nope' } })).toThrow(
      'repository.full_name "nope" is not a GitHub repository name',
    );
    expect(() => gh('create', { ref: 'v1', repository: { full_name: 'a/b' } })).toThrow(
      'not a valid GitHub create event: ref_type: Invalid input: expected string, received undefined',
    );
    expect(() => gh('ping', { hook_id: 'x' })).toThrow('not a valid GitHub ping event: hook_id');
  });
});

describe('Function: normalizeGithubEvent, GHCR packages', () => {
  it('reads `package` from a package event and `registry_package` from the other, never the other key', () => {
    const release = {
      kind: 'registry',
      release: {
        registry: 'ghcr',
        repository: 'codertocat/hello-world-npm',
        tag: '1.2.3',
        digest,
        trigger: { kind: 'ghcr-push', id: 'delivery-1', actor: 'Codertocat', at: at.toISOString() },
      },
    };
    expect(gh('package', packageEvent('package'))).toEqual(release);
    const registryPackage = packageEvent('registry_package');
    expect(gh('registry_package', registryPackage)).toMatchObject({ kind: 'registry' });
    // The key of the other event is not read.
    expect(() => gh('package', registryPackage)).toThrow('not a valid GitHub package event: package: expected an object');
    expect(() => gh('registry_package', packageEvent('package'))).toThrow(
      'not a valid GitHub registry_package event: registry_package: expected an object',
    );
  });

  it('a release without a digest or sender carries neither', () => {
    const event = packageEvent('package', { name: '1.2.3', digest: '' }) as Record<string, unknown>;
    delete event.sender;
    expect(gh('package', event)).toEqual({
      kind: 'registry',
      release: {
        registry: 'ghcr',
        repository: 'codertocat/hello-world-npm',
        tag: '1.2.3',
        trigger: { kind: 'ghcr-push', id: 'delivery-1', at: at.toISOString() },
      },
    });
  });

  it('a version without container metadata, or without a tag in it, is ignored as untagged', () => {
    const untagged = { kind: 'ignored', reason: 'package "hello-world-npm" version has no tag: nothing to deploy' };
    for (const version of [
      null,
      { container_metadata: null },
      { container_metadata: { tag: null } },
      { container_metadata: { tag: {} } },
    ]) {
      const event = packageEvent('package') as { package: Record<string, unknown> };
      event.package.package_version = version;
      expect(gh('package', event)).toEqual(untagged);
    }
  });

  it('an image repository of 255 characters is fine', () => {
    const event = packageEvent('package') as { package: Record<string, unknown> };
    event.package.name = 'a'.repeat(255 - 'codertocat/'.length);
    expect(gh('package', event)).toMatchObject({ release: { repository: `codertocat/${'a'.repeat(244)}` } });
  });

  it('tells a container by its package type or ecosystem, as whole words', () => {
    const typed = (package_type: string | null, ecosystem: string | null) => {
      const event = packageEvent('package') as { package: Record<string, unknown> };
      event.package.package_type = package_type;
      event.package.ecosystem = ecosystem;
      return gh('package', event);
    };
    expect(typed('CONTAINER', null)).toMatchObject({ kind: 'registry' });
    expect(typed(null, 'Docker')).toMatchObject({ kind: 'registry' });
    expect(typed('npm', 'rubygems')).toEqual({
      kind: 'ignored',
      reason: 'package "hello-world-npm" is not a container image (npm rubygems)',
    });
    expect(typed(null, null)).toEqual({
      kind: 'ignored',
      reason: 'package "hello-world-npm" is not a container image (no type)',
    });
    expect(typed('dockerfile', 'containers')).toMatchObject({ kind: 'ignored' });
  });

  it('names the field of a bad tag, a bad package name and a bad digest', () => {
    expect(() => gh('package', packageEvent('package', { name: '-1', digest }))).toThrow(
      'package.package_version.container_metadata.tag.name: tag "-1" cannot be an image tag',
    );
    const badName = packageEvent('registry_package') as { registry_package: Record<string, unknown> };
    badName.registry_package.name = 'Hello World';
    expect(() => gh('registry_package', badName)).toThrow(
      'registry_package.name "Hello World" does not make an image repository (expected lowercase path components like owner/demo-api)',
    );
    const tooLong = packageEvent('package') as { package: Record<string, unknown> };
    tooLong.package.name = 'a'.repeat(250);
    expect(() => gh('package', tooLong)).toThrow('package.name');
    expect(() => gh('package', packageEvent('package', { name: '1', digest: 'sha256:xyz' }))).toThrow(
      'package.package_version.container_metadata.tag.digest "sha256:xyz" is not a digest (expected sha256:<64 hex>)',
    );
  });
});
