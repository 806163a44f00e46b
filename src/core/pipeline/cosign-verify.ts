/**
 * Checking cosign signatures of an image digest against a public key, as cosign itself does
 * (`cosign verify --key`). The rules, from sigstore/cosign's own spec and source:
 * - specs/SIGNATURE_SPEC.md (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md):
 *   each signature is a layer of media type `application/vnd.dev.cosign.simplesigning.v1+json`
 *   whose blob is the "simple signing" payload, with the base64 signature in the layer annotation
 *   `dev.cosignproject.cosign/signature`; the payload's `critical.image.docker-manifest-digest`
 *   names the signed digest and `critical.type` is "cosign container image signature"; ECDSA P-256
 *   over the SHA-256 of the payload bytes is the scheme every implementation must support.
 * - pkg/cosign/verify.go: the signature is checked over the payload bytes first
 *   (verifier.VerifySignature), then pkg/cosign/verifiers.go SimpleClaimVerifier requires the
 *   payload's digest to equal the image digest ("invalid or missing digest in claim").
 * Go's encoding/json matches keys case-insensitively, which is why the spec's example writes
 * "Docker-manifest-digest": keys are matched the same way here.
 * An image passes when at least one signature verifies with the key AND names its digest.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** What a registry holds for one digest: the payload blob and its signature annotation. */
export interface CosignSignature {
  /** The exact payload bytes (the blob the layer names; its sha256 was checked when fetched). */
  payload: Uint8Array;
  /** Base64 of the DER-encoded ECDSA signature; undefined when the layer had no annotation. */
  signature: string | undefined;
}

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** `sha256:abc…` -> `sha256-abc….sig`, the tag cosign stores the signatures of that digest under. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** The key, or why it cannot be a cosign verification key. */
export function parseCosignKey(pem: string): { key: KeyObject } | { error: string } {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return { error: 'verify.cosign.key is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as in cosign.pub)' };
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    return {
      error: `verify.cosign.key is a ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''} key; expected an ECDSA P-256 key (what \`cosign generate-key-pair\` writes)`,
    };
  }
  return { key };
}

export type CosignVerdict = { verified: true } | { verified: false; reason: string };

/** Why each signature failed, in one sentence; the image digest is named by the caller. */
export function verifyCosignSignatures(signatures: CosignSignature[], digest: string, key: KeyObject): CosignVerdict {
  if (signatures.length === 0) return { verified: false, reason: 'it has no cosign signature' };
  const problems: string[] = [];
  for (const [i, s] of signatures.entries()) {
    const which = signatures.length > 1 ? `signature ${i + 1}: ` : '';
    if (!s.signature) {
      problems.push(`${which}the layer has no ${SIGNATURE_ANNOTATION} annotation`);
      continue;
    }
    const valid = (() => {
      try {
        return verify('sha256', s.payload, key, Buffer.from(s.signature, 'base64'));
      } catch {
        return false;
      }
    })();
    if (!valid) {
      problems.push(`${which}not made with the configured key (or its payload was altered)`);
      continue;
    }
    const claim = readClaim(s.payload);
    if ('error' in claim) {
      problems.push(`${which}${claim.error}`);
      continue;
    }
    if (claim.digest !== digest) {
      problems.push(`${which}signed with the key, but for another image (${claim.digest ?? 'no digest in the payload'})`);
      continue;
    }
    return { verified: true };
  }
  return { verified: false, reason: problems.join('; ') };
}

export function readClaim(payload: Uint8Array): { digest: string | undefined } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return { error: 'the payload is not JSON (expected a simple signing payload)' };
  }
  const critical = field(json, 'critical');
  const type = field(critical, 'type');
  if (type !== COSIGN_SIGNATURE_TYPE) {
    return { error: `the payload's critical.type is ${JSON.stringify(type)}, expected "${COSIGN_SIGNATURE_TYPE}"` };
  }
  const digest = field(field(critical, 'image'), 'docker-manifest-digest');
  return { digest: typeof digest === 'string' ? digest : undefined };
}

/** A JSON object's field, its name matched case-insensitively as Go's encoding/json does. */
function field(value: unknown, name: string): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (name in record) return record[name];
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : record[key];
}
