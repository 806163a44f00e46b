import { describe, expect, it } from 'vitest';
import { ecrImageActionSchema, normalizeEcrEvent } from '../../src/core/events/ecr.ts';
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
