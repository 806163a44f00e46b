/**
 * Which images may reach a service's environments (src/core/triggers/image-policy.ts): the check every manual
 * deploy, rollback and history import passes through. Only the handler fuzz test ran it before, which
 * asserts no status code of it; each case here answers a mutant that lived (reports/mutation/summary.md).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { InvalidInputError } from '../../src/core/model/errors.ts';
import {
  assertServiceImage,
  describeImage,
  ForeignImageError,
  foreignImageReason,
  isServiceRepository,
} from '../../src/core/triggers/image-policy.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: dockerhub, repository: team/api, tagPattern: '^v\\d+\\.\\d+$' }
    target: { kind: helm, namespace: api }
    environments: [{ name: prod }]
`);
const api = config.services[0]!;
const expected = 'api deploys only team/api on Docker Hub with tags matching ^v\\d+\\.\\d+$';

describe('Image policy', () => {
  it('names an image with its registry for people', () => {
    expect(describeImage({ registry: 'ecr', repository: 'a/b', tag: '1' })).toBe('a/b:1 on ECR');
    expect(describeImage({ registry: 'ghcr', repository: 'o/r', tag: 'x' })).toBe('o/r:x on GitHub Container Registry');
    expect(describeImage({ registry: 'dockerhub', repository: 'team/api', tag: 'v1.0' })).toBe('team/api:v1.0 on Docker Hub');
    // A registry from a damaged record is shown as it came, not as "undefined".
    expect(describeImage({ registry: 'quay' as never, repository: 'r', tag: 't' })).toBe('r:t on quay');
  });

  it("accepts the service's own releases", () => {
    const image = { registry: 'dockerhub' as const, repository: 'team/api', tag: 'v1.2' };
    expect(foreignImageReason(api, image)).toBeUndefined();
    expect(() => assertServiceImage(api, image)).not.toThrow();
  });

  it('refuses another registry or repository, saying what the service deploys', () => {
    expect(foreignImageReason(api, { registry: 'ecr', repository: 'team/api', tag: 'v1.2' })).toBe(
      `image team/api:v1.2 on ECR is not api's: ${expected}`,
    );
    expect(foreignImageReason(api, { registry: 'dockerhub', repository: 'team/other', tag: 'v1.2' })).toBe(
      `image team/other:v1.2 on Docker Hub is not api's: ${expected}`,
    );
  });

  it('refuses a tag outside the tag pattern', () => {
    expect(foreignImageReason(api, { registry: 'dockerhub', repository: 'team/api', tag: 'latest' })).toBe(
      `image team/api:latest on Docker Hub: tag "latest" does not match api's tagPattern (${expected})`,
    );
  });

  it('throws a ForeignImageError (an input error: 400, not 500) with the reason', () => {
    const image = { registry: 'dockerhub' as const, repository: 'team/api', tag: 'v1.2-rc' };
    let error: unknown;
    try {
      assertServiceImage(api, image);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ForeignImageError);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).name).toBe('ForeignImageError');
    expect((error as Error).message).toBe(foreignImageReason(api, image));
  });

  it('tells a recorded image of the same repository from another, whatever its tag', () => {
    expect(isServiceRepository(api, { registry: 'dockerhub', repository: 'team/api' })).toBe(true);
    expect(isServiceRepository(api, { registry: 'ecr', repository: 'team/api' })).toBe(false);
    expect(isServiceRepository(api, { registry: 'dockerhub', repository: 'team/apix' })).toBe(false);
  });
});
