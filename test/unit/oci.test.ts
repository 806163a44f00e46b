/**
 * The image reference formats every event value is checked against before it is used, as the OCI
 * distribution spec defines them (https://github.com/opencontainers/distribution-spec/blob/main/spec.md,
 * "Pulling manifests": <name> is [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*,
 * <reference> as a tag is at most 128 characters of [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}) and the image-spec
 * (descriptor.md, "Digests": sha256 is 64 lowercase hex, sha512 128). Names are limited to 255 characters
 * as Docker's reference grammar limits them (distribution/reference, NameTotalLengthMax = 255).
 */
import { describe, expect, it } from 'vitest';
import { isValidDigest, isValidRepository, isValidTag } from '../../src/core/model/oci.ts';

describe('OCI formats', () => {
  it('accepts tags of up to 128 characters, not starting with . or -, and only strings', () => {
    for (const tag of ['1.2.3', 'v1', 'latest', '_x', 'A'.repeat(128), 'a.b-c_d']) expect(isValidTag(tag)).toBe(true);
    for (const tag of ['', '.x', '-x', 'A'.repeat(129), 'a b', 'a/b', 'a;rm', 'a$(x)']) expect(isValidTag(tag), tag).toBe(false);
    for (const value of [123, null, undefined, ['1.0.0'], { toString: () => '1.0.0' }]) expect(isValidTag(value)).toBe(false);
  });

  it('accepts lowercase repository paths of up to 255 characters, and only strings', () => {
    for (const name of ['api', 'team/api', 'a.b/c__d/e--f', 'a'.repeat(255), `${'a'.repeat(127)}/${'b'.repeat(127)}`])
      expect(isValidRepository(name), name).toBe(true);
    for (const name of [
      '',
      'API',
      'team//api',
      '/api',
      'api/',
      'a'.repeat(256),
      `${'a'.repeat(128)}/${'b'.repeat(127)}`,
      'a_-b',
      '../x',
    ])
      expect(isValidRepository(name), name).toBe(false);
    for (const value of [1, null, ['api']]) expect(isValidRepository(value)).toBe(false);
  });

  it('accepts sha256 and sha512 digests of lowercase hex, and only strings', () => {
    expect(isValidDigest(`sha256:${'a'.repeat(64)}`)).toBe(true);
    expect(isValidDigest(`sha512:${'0'.repeat(128)}`)).toBe(true);
    for (const digest of [
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'a'.repeat(63)}`,
      `sha256:${'a'.repeat(65)}`,
      `sha512:${'a'.repeat(64)}`,
      `md5:${'a'.repeat(32)}`,
      '',
    ])
      expect(isValidDigest(digest), digest).toBe(false);
    expect(isValidDigest(undefined)).toBe(false);
    expect(isValidDigest([`sha256:${'a'.repeat(64)}`])).toBe(false);
  });
});
