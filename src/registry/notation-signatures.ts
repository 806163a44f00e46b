/**
 * Notation signatures of an image digest, found as `notation verify` finds them:
 * - OCI distribution spec 1.1 "Listing Referrers"
 *   (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers):
 *   GET /v2/<name>/referrers/<digest>?artifactType=application/vnd.cncf.notary.signature answers an
 *   image index of the manifests whose `subject` is that digest (a registry may ignore the filter,
 *   so it is applied here again). A registry without the API answers 404; the client then reads the
 *   "Referrers Tag Schema" fallback: the same index under the tag `sha256-<hex>` (GHCR).
 * - Notary Project signature-specification.md "Storage": each signature manifest has artifactType
 *   application/vnd.cncf.notary.signature, `subject` = the signed image, and exactly one layer, the
 *   envelope (application/jose+json or application/cose).
 * Every manifest and blob is checked against the digest it was asked by (content addressing);
 * checking envelopes is the domain's job (src/core/pipeline/notation-verify.ts).
 */
import { DIGEST_PATTERN } from '../core/model/oci.ts';
import {
  COSE_MEDIA_TYPE,
  JWS_MEDIA_TYPE,
  NOTATION_ARTIFACT_TYPE,
  type NotationSignature,
} from '../core/pipeline/notation-verify.ts';
import { RegistryLookupError, SHA256_DIGEST, sha256Digest } from './oci-digest.ts';

/** GET one manifest / blob / referrers list of the image's repository; undefined on 404. */
export type ContentFetcher = (
  kind: 'manifests' | 'blobs' | 'referrers',
  reference: string,
  query?: string,
) => Promise<{ bytes: Buffer; mediaType?: string } | undefined>;

/** notation-go's default limit on signatures tried per artifact is 100; a registry full of them is refused. */
const MAX_SIGNATURES = 100;

interface Descriptor {
  mediaType?: unknown;
  artifactType?: unknown;
  digest?: unknown;
}

function json(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new RegistryLookupError(`${what} is not a JSON object`);
}

function checkDigest(bytes: Buffer, digest: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw new RegistryLookupError(`${what} does not match its digest (${digest}, got ${actual})`);
}

/** [] when the image has no Notation signature (an unsigned image). */
export async function fetchNotationSignatures(fetch: ContentFetcher, digest: string): Promise<NotationSignature[]> {
  if (!DIGEST_PATTERN.test(digest)) throw new RegistryLookupError(`"${digest}" is not an image digest`);
  let index = await fetch('referrers', digest, `?artifactType=${encodeURIComponent(NOTATION_ARTIFACT_TYPE)}`);
  let where = `the referrers of ${digest}`;
  if (!index) {
    const tag = digest.replace(':', '-');
    index = await fetch('manifests', tag);
    where = `the referrers index tagged ${tag}`;
    if (!index) return [];
  }
  const manifests = json(index.bytes, where).manifests;
  if (!Array.isArray(manifests)) throw new RegistryLookupError(`${where} is not an image index (no manifests)`);
  const candidates = (manifests as Descriptor[]).filter((d) => d?.artifactType === NOTATION_ARTIFACT_TYPE);
  if (candidates.length > MAX_SIGNATURES) {
    throw new RegistryLookupError(
      `${digest} has ${candidates.length} Notation signatures, more than the ${MAX_SIGNATURES} tried`,
    );
  }
  const signatures: NotationSignature[] = [];
  for (const descriptor of candidates) {
    const manifestDigest = descriptor.digest;
    if (typeof manifestDigest !== 'string' || !SHA256_DIGEST.test(manifestDigest)) {
      throw new RegistryLookupError(`${where} lists a signature with no sha256 digest`);
    }
    const what = `signature manifest ${manifestDigest}`;
    const fetched = await fetch('manifests', manifestDigest);
    if (!fetched) throw new RegistryLookupError(`${what} is listed but missing (HTTP 404)`);
    checkDigest(fetched.bytes, manifestDigest, what);
    const manifest = json(fetched.bytes, what);
    const artifactType = manifest.artifactType ?? (manifest.config as Descriptor | undefined)?.mediaType;
    const subject = (manifest.subject as Descriptor | undefined)?.digest;
    // Not a signature of this image after all (a registry's index may be stale): skipped, not trusted.
    if (artifactType !== NOTATION_ARTIFACT_TYPE || subject !== digest) continue;
    const layers = manifest.layers;
    if (!Array.isArray(layers) || layers.length !== 1) {
      throw new RegistryLookupError(
        `${what} has ${Array.isArray(layers) ? layers.length : 'no'} layers; a Notary Project signature has exactly one`,
      );
    }
    const layer = layers[0] as Descriptor;
    const mediaType = String(layer?.mediaType);
    if (mediaType !== JWS_MEDIA_TYPE && mediaType !== COSE_MEDIA_TYPE) {
      signatures.push({ manifestDigest, mediaType, envelope: new Uint8Array() });
      continue;
    }
    const blobDigest = layer.digest;
    if (typeof blobDigest !== 'string' || !SHA256_DIGEST.test(blobDigest)) {
      throw new RegistryLookupError(`the envelope of ${what} names no sha256 digest`);
    }
    const blob = await fetch('blobs', blobDigest);
    if (!blob) throw new RegistryLookupError(`the envelope ${blobDigest} of ${what} is missing (HTTP 404)`);
    checkDigest(blob.bytes, blobDigest, `the envelope of ${what}`);
    signatures.push({ manifestDigest, mediaType, envelope: blob.bytes });
  }
  return signatures;
}
