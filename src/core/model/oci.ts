/**
 * Formats of image references as the OCI distribution spec allows them. Every value that
 * comes from an event (tag, repository, digest) is checked against these before it is used
 * anywhere, and in particular before it reaches a build as an environment variable.
 */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** Path components separated by "/", each lowercase alphanumerics with . _ __ or - separators. */
export const REPOSITORY_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
export const REPOSITORY_MAX_LENGTH = 255;
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;

export function isValidTag(tag: unknown): tag is string {
  return typeof tag === 'string' && TAG_PATTERN.test(tag);
}

export function isValidRepository(name: unknown): name is string {
  return typeof name === 'string' && name.length <= REPOSITORY_MAX_LENGTH && REPOSITORY_PATTERN.test(name);
}

export function isValidDigest(digest: unknown): digest is string {
  return typeof digest === 'string' && DIGEST_PATTERN.test(digest);
}
