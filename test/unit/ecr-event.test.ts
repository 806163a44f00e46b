import { describe, expect, it } from 'vitest';
import { ecrImageActionSchema, normalizeEcrEvent } from '../../src/core/events/ecr.ts';
import { TAG_PATTERN } from '../../src/core/model/oci.ts';
import { ecrPush } from '../support/fixtures.ts';

const normalize = (event: unknown) => normalizeEcrEvent(ecrImageActionSchema.parse(event));

describe('ECR Image Action normalizer', () => {
  it('turns a successful tagged push into a release event', () => {
    expect(normalize(ecrPush())).toEqual({
      release: {
        registry: 'ecr',
        repository: 'my-repository-name',
        tag: 'latest',
        digest: 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd',
        trigger: { kind: 'ecr-push', id: '13cde686-328b-6117-af20-0e5566167482', at: '2019-11-16T01:54:34Z' },
      },
    });
  });

  it.each([
    [{ 'action-type': 'DELETE' }, 'action-type is DELETE'],
    [{ result: 'FAILURE' }, 'push result is FAILURE'],
    [{ 'image-tag': undefined }, 'no image tag'],
    [{ 'image-tag': 'v1;rm -rf /' }, 'not a valid OCI tag'],
    [{ 'image-tag': 'x'.repeat(129) }, 'not a valid OCI tag'],
    [{ 'repository-name': 'Bad Name' }, 'not a valid repository name'],
    [{ 'image-digest': 'md5:abc' }, 'not a valid digest'],
  ])('ignores %o with a reason', (override, reason) => {
    const result = normalize(ecrPush(override));
    expect(result).toEqual({ ignored: expect.stringContaining(reason) });
  });

  it('rejects events of another shape at the schema', () => {
    expect(ecrImageActionSchema.safeParse({ ...ecrPush(), source: 'aws.s3' }).success).toBe(false);
    expect(ecrImageActionSchema.safeParse({ ...ecrPush(), detail: undefined }).success).toBe(false);
  });
});

describe('ECR Image Action normalizer: exact reasons and optional fields', () => {
  it('a push without digest or time carries no digest and the epoch', () => {
    const event = ecrPush({ 'image-digest': undefined }) as Record<string, unknown>;
    delete event.time;
    expect(normalize(event)).toEqual({
      release: {
        registry: 'ecr',
        repository: 'my-repository-name',
        tag: 'latest',
        trigger: { kind: 'ecr-push', id: '13cde686-328b-6117-af20-0e5566167482', at: '1970-01-01T00:00:00.000Z' },
      },
    });
  });

  it('says each reason whole, quoting at most 140 characters of a bad value', () => {
    expect(normalize(ecrPush({ 'action-type': 'DELETE' }))).toEqual({ ignored: 'action-type is DELETE, not PUSH' });
    expect(normalize(ecrPush({ result: 'FAILURE' }))).toEqual({ ignored: 'push result is FAILURE, not SUCCESS' });
    expect(normalize(ecrPush({ 'image-tag': '' }))).toEqual({ ignored: 'the push has no image tag' });
    const longTag = `-${'t'.repeat(200)}`;
    expect(normalize(ecrPush({ 'image-tag': longTag }))).toEqual({
      ignored: `image-tag "${longTag.slice(0, 140)}" is not a valid OCI tag (expected ${TAG_PATTERN})`,
    });
    const longName = `Bad${'n'.repeat(200)}`;
    expect(normalize(ecrPush({ 'repository-name': longName }))).toEqual({
      ignored: `repository-name "${longName.slice(0, 140)}" is not a valid repository name`,
    });
    const longDigest = `md5:${'0'.repeat(200)}`;
    expect(normalize(ecrPush({ 'image-digest': longDigest }))).toEqual({
      ignored: `image-digest "${longDigest.slice(0, 140)}" is not a valid digest (expected sha256:<64 hex>)`,
    });
  });
});
