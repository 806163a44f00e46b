/**
 * cosign signatures of an image digest, fetched through the OCI distribution API (GHCR, Docker
 * Hub), following sigstore/cosign specs/SIGNATURE_SPEC.md "Tag-based Discovery" and "OCI Image
 * Manifest V1" (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md): the
 * signatures of `sha256:<hex>` are the layers of the manifest tagged `sha256-<hex>.sig` in the same
 * repository; each layer of media type application/vnd.dev.cosign.simplesigning.v1+json is a
 * payload blob, its signature the layer annotation dev.cosignproject.cosign/signature. Checking
 * them against a key is the domain's job (src/core/pipeline/cosign-verify.ts).
 */
import type { ImageRef } from '../core/model/deployment.ts';
import { DIGEST_PATTERN } from '../core/model/oci.ts';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signatureTag } from '../core/pipeline/cosign-verify.ts';
import type { ImageSignatures, StoredCosignSignature, StoredNotationSignature, StoredSigstoreBundles } from '../core/ports.ts';
import { type ContentFetcher, fetchNotationSignatures } from './notation-signatures.ts';
import {
  type OciDigestClient,
  type OciRegistry,
  type RegistryCredentials,
  RegistryLookupError,
  SHA256_DIGEST,
  sha256Digest,
} from './oci-digest.ts';
import { fetchSigstoreBundles } from './sigstore-bundles.ts';
import { publicGoodTrustedRoot } from './sigstore-trust.ts';

/** specs/SIGNATURE_SPEC.md "Certificate and Chain" and "Transparency Log" annotations (keyless). */
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  annotations?: Record<string, unknown>;
}

/** [] when the repository holds no signature artifact for the digest (an unsigned image). */
export async function fetchCosignSignatures(
  client: OciDigestClient,
  registry: OciRegistry,
  repository: string,
  digest: string,
  credentials?: RegistryCredentials,
): Promise<StoredCosignSignature[]> {
  return fetchCosignSignaturesWith(
    (kind, reference) => client.fetchContent(registry, repository, kind, reference, credentials),
    digest,
  );
}

/** The same, through any way of reading the image's repository (ECR: src/aws/ecr-signatures.ts). */
export async function fetchCosignSignaturesWith(fetch: ContentFetcher, digest: string): Promise<StoredCosignSignature[]> {
  if (!DIGEST_PATTERN.test(digest)) throw new RegistryLookupError(`"${digest}" is not an image digest`);
  const tag = signatureTag(digest);
  const manifest = await fetch('manifests', tag);
  if (!manifest) return [];
  let layers: Descriptor[];
  try {
    const parsed = JSON.parse(manifest.bytes.toString('utf8')) as { layers?: unknown };
    layers = Array.isArray(parsed.layers) ? (parsed.layers as Descriptor[]) : [];
  } catch {
    throw new RegistryLookupError(`the manifest tagged ${tag} is not JSON`);
  }
  const signatures: StoredCosignSignature[] = [];
  for (const layer of layers) {
    if (layer?.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    const blobDigest = layer.digest;
    if (typeof blobDigest !== 'string' || !SHA256_DIGEST.test(blobDigest)) {
      throw new RegistryLookupError(`a signature layer of ${tag} names no sha256 digest`);
    }
    const blob = await fetch('blobs', blobDigest);
    if (!blob) throw new RegistryLookupError(`the signature payload ${blobDigest} of ${tag} is missing (HTTP 404)`);
    // Content addressing: the bytes must be the ones the manifest names, whatever the registry says.
    const actual = sha256Digest(blob.bytes);
    if (actual !== blobDigest) {
      throw new RegistryLookupError(`the signature payload of ${tag} does not match its digest (${blobDigest}, got ${actual})`);
    }
    const annotation = (name: string) => {
      const value = layer.annotations?.[name];
      return typeof value === 'string' ? value : undefined;
    };
    const certificate = annotation(CERTIFICATE_ANNOTATION);
    signatures.push({
      payload: blob.bytes,
      signature: annotation(SIGNATURE_ANNOTATION),
      // Keyless (cosign before v3): the certificate, its chain and the Rekor entry ride along.
      ...(certificate
        ? { certificate, chain: annotation(CHAIN_ANNOTATION), rekorBundle: annotation(REKOR_BUNDLE_ANNOTATION) }
        : {}),
    });
  }
  return signatures;
}

/**
 * The ImageSignatures port over the OCI distribution API for GHCR and Docker Hub. ECR needs ECR's
 * own token (GetAuthorizationToken): src/aws/ecr-signatures.ts asks it and wraps this for the rest.
 */
export class OciImageSignatures implements ImageSignatures {
  private readonly client: OciDigestClient;
  private readonly readSecret: ((name: string) => Promise<RegistryCredentials>) | undefined;
  private readonly trustedRoot: () => Promise<unknown>;
  constructor(deps: {
    client: OciDigestClient;
    readSecret?: (name: string) => Promise<RegistryCredentials>;
    /** Where the Sigstore public-good trusted root comes from (TUF by default; tests pass their own). */
    publicGoodTrustedRoot?: () => Promise<unknown>;
  }) {
    this.client = deps.client;
    this.readSecret = deps.readSecret;
    this.trustedRoot = deps.publicGoodTrustedRoot ?? (() => publicGoodTrustedRoot());
  }

  async cosignSignatures(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredCosignSignature[]> {
    const { registry, credentials } = await this.access(image, pullSecret);
    return fetchCosignSignatures(this.client, registry, image.repository, image.digest, credentials);
  }

  async sigstoreBundles(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredSigstoreBundles> {
    const { registry, credentials } = await this.access(image, pullSecret);
    return fetchSigstoreBundles(this.client, registry, image.repository, image.digest, credentials);
  }

  publicGoodTrustedRoot(): Promise<unknown> {
    return this.trustedRoot();
  }

  async notationSignatures(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredNotationSignature[]> {
    const { registry, credentials } = await this.access(image, pullSecret);
    return fetchNotationSignatures(
      (kind, reference, query) => this.client.fetchContent(registry, image.repository, kind, reference, credentials, query),
      image.digest,
    );
  }

  private async access(
    image: ImageRef,
    pullSecret?: string,
  ): Promise<{ registry: OciRegistry; credentials: RegistryCredentials | undefined }> {
    if (image.registry === 'ecr') {
      throw new RegistryLookupError(
        'reading signatures from ECR needs ECR credentials (GetAuthorizationToken), which only the AWS runtime has; this one reads GHCR and Docker Hub',
      );
    }
    if (pullSecret && !this.readSecret) {
      throw new RegistryLookupError(`image.pullSecret ${pullSecret} cannot be read by this runtime`);
    }
    const credentials = pullSecret && this.readSecret ? await this.readSecret(pullSecret) : undefined;
    return { registry: image.registry, credentials };
  }
}
