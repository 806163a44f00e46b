/**
 * Signs images in a test the way `cosign sign --key` stores them, written from sigstore/cosign's
 * own spec, not from Coconut's verifier: specs/SIGNATURE_SPEC.md
 * (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md) —
 * - "Tag-based Discovery": the signatures of sha256:<hex> live in the same repository under the
 *   tag `sha256-<hex>.sig`;
 * - "OCI Image Manifest V1": that tag is an OCI image manifest whose layers are the payload blobs,
 *   media type `application/vnd.dev.cosign.simplesigning.v1+json`, the base64 signature in the
 *   layer annotation `dev.cosignproject.cosign/signature`;
 * - "Simple Signing": the payload's critical.image.docker-manifest-digest is the signed digest,
 *   critical.type "cosign container image signature";
 * - "Signature Schemes": ECDSA P-256 over the SHA-256 of the payload bytes (ASN.1 DER, as Go's
 *   ecdsa.SignASN1 writes it; node's crypto.sign default dsaEncoding 'der' is the same).
 * Keys are throwaway: generateKeyPairSync('ec', { namedCurve: 'P-256' }).
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { type FakeImage, type FakeRegistry, fakeImage } from './oci-registry.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface TestKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as cosign.pub holds it. */
  publicPem: string;
}

export function cosignKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function simpleSigningPayload(digest: string, repository = 'example/app'): string {
  return JSON.stringify({
    critical: {
      identity: { 'docker-reference': `ghcr.io/${repository}` },
      image: { 'docker-manifest-digest': digest },
      type: 'cosign container image signature',
    },
    optional: null,
  });
}

export interface SignOptions {
  /** The digest the payload names (default: the image's own). */
  payloadDigest?: string;
  /** Bytes stored as the payload instead of the signed ones (a tampered payload). */
  storedPayload?: string;
}

/** Signs `image` (already served by `registry`) and stores the `.sig` artifact beside it. */
export function cosignSign(registry: FakeRegistry, images: FakeImage[], image: FakeImage, key: KeyObject, o: SignOptions = {}) {
  const digest = registry.digestOf(image);
  const payload = simpleSigningPayload(o.payloadDigest ?? digest, image.repository);
  const signature = sign('sha256', Buffer.from(payload), key).toString('base64');
  const stored = o.storedPayload ?? payload;
  const layerDigest = registry.putBlob(image.repository, stored);
  const configDigest = registry.putBlob(image.repository, '{}');
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: configDigest },
    layers: [
      {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        size: Buffer.byteLength(stored),
        digest: layerDigest,
        annotations: { 'dev.cosignproject.cosign/signature': signature },
      },
    ],
  });
  const tag = `${digest.replace(':', '-')}.sig`;
  const artifact = fakeImage(image.repository, tag, { mediaType: OCI_MANIFEST, body: manifest });
  // One .sig manifest per digest: signing again replaces it (the tests sign once each).
  const at = images.findIndex((i) => i.repository === image.repository && i.tag === tag);
  if (at >= 0) images.splice(at, 1);
  images.push(artifact);
  return { digest, tag, signature, payload };
}
