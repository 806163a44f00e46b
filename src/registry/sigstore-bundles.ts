/**
 * The Sigstore bundles attached to an image digest, fetched as sigstore/cosign specs/BUNDLE_SPEC.md
 * "Retrieval" says (https://github.com/sigstore/cosign/blob/main/specs/BUNDLE_SPEC.md; what
 * `cosign sign` writes by default since v3, and v2 with --new-bundle-format):
 * 1. GET /v2/<name>/referrers/<digest> (OCI distribution spec v1.1, "Listing Referrers"); a 404
 *    means the registry has no referrers API, and the referrers tag schema is read instead:
 *    GET /v2/<name>/manifests/sha256-<hex>; a 404 there means nothing is attached.
 * 2. Each descriptor of that index whose artifactType is a Sigstore bundle media type names a
 *    manifest; its first layer is the bundle's JSON blob.
 * Every manifest and blob is checked against the digest that named it (content addressing), and a
 * manifest whose `subject` is another image is ignored: the registry's index is not trusted.
 *
 * Older cosign (v2 without --new-bundle-format) kept keyless signatures in the `.sig` tag's layer
 * annotations (dev.sigstore.cosign/certificate, /chain, /bundle: specs/SIGNATURE_SPEC.md): when no
 * bundle is attached, those are returned (read by ./cosign-signatures.ts).
 */
import { DIGEST_PATTERN } from '../core/model/oci.ts';
import { BUNDLE_MEDIA_TYPES } from '../core/pipeline/cosign-keyless.ts';
import type { StoredCosignSignature, StoredSigstoreBundles } from '../core/ports.ts';
import { fetchCosignSignaturesWith } from './cosign-signatures.ts';
import type { ContentFetcher } from './notation-signatures.ts';
import {
  type OciDigestClient,
  type OciRegistry,
  type RegistryCredentials,
  RegistryLookupError,
  SHA256_DIGEST,
  sha256Digest,
} from './oci-digest.ts';

/** The referrers tag schema: `sha256:<hex>` -> `sha256-<hex>`. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  artifactType?: unknown;
  annotations?: Record<string, unknown>;
}

export async function fetchSigstoreBundles(
  client: OciDigestClient,
  registry: OciRegistry,
  repository: string,
  digest: string,
  credentials?: RegistryCredentials,
): Promise<StoredSigstoreBundles> {
  return fetchSigstoreBundlesWith((kind, ref) => client.fetchContent(registry, repository, kind, ref, credentials), digest);
}

/** The same through any fetcher of the image's repository (ECR's registry API, src/aws/ecr-signatures.ts). */
export async function fetchSigstoreBundlesWith(fetch: ContentFetcher, digest: string): Promise<StoredSigstoreBundles> {
  if (!DIGEST_PATTERN.test(digest)) throw new RegistryLookupError(`"${digest}" is not an image digest`);
  const index = (await fetch('referrers', digest)) ?? (await fetch('manifests', referrersTag(digest)));
  const bundles: Uint8Array[] = [];
  for (const d of index ? descriptors(index.bytes, 'manifests', `the referrers of ${digest}`) : []) {
    if (typeof d.artifactType !== 'string' || !BUNDLE_MEDIA_TYPES.includes(d.artifactType)) continue;
    const manifestDigest = checkedDigest(d.digest, `a referrer of ${digest}`);
    const manifest = await fetch('manifests', manifestDigest);
    if (!manifest)
      throw new RegistryLookupError(`the bundle manifest ${manifestDigest} listed for ${digest} is missing (HTTP 404)`);
    if (sha256Digest(manifest.bytes) !== manifestDigest) {
      throw new RegistryLookupError(`the bundle manifest ${manifestDigest} does not match its digest`);
    }
    const parsed = parseJson(manifest.bytes, `the bundle manifest ${manifestDigest}`) as {
      subject?: Descriptor;
      layers?: unknown;
    };
    if (parsed.subject?.digest !== digest) continue;
    const layer = (Array.isArray(parsed.layers) ? (parsed.layers as Descriptor[]) : []).find(
      (l) => typeof l?.mediaType === 'string' && BUNDLE_MEDIA_TYPES.includes(l.mediaType),
    );
    if (!layer) continue;
    const blobDigest = checkedDigest(layer.digest, `the bundle layer of ${manifestDigest}`);
    const blob = await fetch('blobs', blobDigest);
    if (!blob) throw new RegistryLookupError(`the bundle ${blobDigest} of ${manifestDigest} is missing (HTTP 404)`);
    if (sha256Digest(blob.bytes) !== blobDigest) {
      throw new RegistryLookupError(`the bundle ${blobDigest} does not match its digest`);
    }
    bundles.push(blob.bytes);
  }
  if (bundles.length > 0) return { bundles, legacy: [] };
  const legacy = (await fetchCosignSignaturesWith(fetch, digest)).filter(
    (s): s is StoredCosignSignature & { certificate: string } => s.certificate !== undefined,
  );
  return {
    bundles,
    legacy: legacy.map((s) => ({
      payload: s.payload,
      signature: s.signature,
      certificate: s.certificate,
      chain: s.chain,
      rekorBundle: s.rekorBundle,
    })),
  };
}

function descriptors(bytes: Buffer, field: 'manifests' | 'layers', what: string): Descriptor[] {
  const list = (parseJson(bytes, what) as Record<string, unknown>)[field];
  return Array.isArray(list) ? (list as Descriptor[]).filter((d) => d && typeof d === 'object') : [];
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (value && typeof value === 'object') return value;
  } catch {
    // falls through to the error below
  }
  throw new RegistryLookupError(`${what} is not a JSON object`);
}

function checkedDigest(value: unknown, what: string): string {
  if (typeof value !== 'string' || !SHA256_DIGEST.test(value)) throw new RegistryLookupError(`${what} names no sha256 digest`);
  return value;
}
