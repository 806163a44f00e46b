/**
 * Keyless signatures of cosign before v3 (and v2 without --new-bundle-format): a layer of the
 * `sha256-<hex>.sig` tag with the simple signing payload, its signature annotation, and — keyless —
 * the Fulcio certificate (dev.sigstore.cosign/certificate), its chain (/chain) and the Rekor entry
 * (/bundle: {SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}, sigstore/cosign
 * pkg/cosign/bundle/rekor.go RekorBundle), per specs/SIGNATURE_SPEC.md.
 *
 * They are checked with the same verifier as bundles: each is written as the Sigstore bundle v0.1 it
 * amounts to (protobuf-specs sigstore_bundle.proto: x509CertificateChain, one tlog entry whose
 * inclusion promise is the SET, a messageSignature over the payload) — which is what cosign itself
 * does when it verifies such a signature with sigstore-go — and verified by @sigstore/verify with the
 * payload as the artifact: certificate chain and SCT, SET, the log entry naming this signature and
 * payload digest, the signature. Then the identity and issuer, and the payload's
 * critical.image.docker-manifest-digest must be the image digest (pkg/cosign/verifiers.go).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { type Signer, toSignedEntity, type Verifier } from '@sigstore/verify';
import type { LegacyKeylessSignature } from '../ports.ts';
import { checkIdentity, type KeylessPolicy } from './cosign-keyless.ts';
import { type CosignVerdict, readClaim } from './cosign-verify.ts';

interface RekorBundle {
  SignedEntryTimestamp?: unknown;
  Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;

/** The Sigstore bundle (JSON) this signature amounts to, or why it cannot be one. */
export function legacyToBundle(sig: LegacyKeylessSignature): { bundle: unknown } | { error: string } {
  if (!sig.signature) return { error: 'the layer has no dev.cosignproject.cosign/signature annotation' };
  if (!sig.rekorBundle) {
    return { error: 'the layer has no dev.sigstore.cosign/bundle annotation (no transparency-log entry; cosign requires one)' };
  }
  const pems = [...`${sig.certificate}\n${sig.chain ?? ''}`.matchAll(PEM_CERTIFICATE)].map((m) => m[0]);
  let certificates: string[];
  try {
    certificates = pems.map((pem) => new X509Certificate(pem).raw.toString('base64'));
  } catch {
    return { error: 'the dev.sigstore.cosign/certificate annotation is not a PEM certificate' };
  }
  if (certificates.length === 0) return { error: 'the dev.sigstore.cosign/certificate annotation is not a PEM certificate' };
  let rekor: RekorBundle;
  try {
    rekor = JSON.parse(sig.rekorBundle) as RekorBundle;
  } catch {
    return { error: 'the dev.sigstore.cosign/bundle annotation is not JSON' };
  }
  const p = rekor.Payload;
  if (
    typeof rekor.SignedEntryTimestamp !== 'string' ||
    typeof p?.body !== 'string' ||
    typeof p.integratedTime !== 'number' ||
    typeof p.logIndex !== 'number' ||
    typeof p.logID !== 'string'
  ) {
    return { error: 'the dev.sigstore.cosign/bundle annotation is not a Rekor bundle ({SignedEntryTimestamp, Payload})' };
  }
  let entry: { kind?: unknown; apiVersion?: unknown };
  try {
    entry = JSON.parse(Buffer.from(p.body, 'base64').toString('utf8')) as typeof entry;
  } catch {
    return { error: 'the Rekor entry body is not JSON' };
  }
  return {
    bundle: {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: certificates.map((rawBytes) => ({ rawBytes })) },
        tlogEntries: [
          {
            logIndex: String(p.logIndex),
            logId: { keyId: Buffer.from(p.logID, 'hex').toString('base64') },
            kindVersion: { kind: String(entry.kind), version: String(entry.apiVersion) },
            integratedTime: String(p.integratedTime),
            inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
            canonicalizedBody: p.body,
          },
        ],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(sig.payload).digest('base64') },
        signature: sig.signature,
      },
    },
  };
}

/** Why each legacy signature failed; the image digest is named by the caller. */
export function verifyLegacyKeyless(
  signatures: LegacyKeylessSignature[],
  digest: string,
  policy: KeylessPolicy,
  verifier: Verifier,
): CosignVerdict {
  const problems: string[] = [];
  for (const [i, sig] of signatures.entries()) {
    const which = signatures.length > 1 ? `signature ${i + 1}: ` : '';
    const problem = checkLegacy(sig, digest, policy, verifier);
    if (problem === undefined) return { verified: true };
    problems.push(`${which}${problem}`);
  }
  return { verified: false, reason: problems.join('; ') || 'it has no keyless cosign signature' };
}

function checkLegacy(sig: LegacyKeylessSignature, digest: string, policy: KeylessPolicy, verifier: Verifier): string | undefined {
  const converted = legacyToBundle(sig);
  if ('error' in converted) return converted.error;
  let signer: Signer;
  try {
    signer = verifier.verify(toSignedEntity(bundleFromJSON(converted.bundle), Buffer.from(sig.payload)));
  } catch (error) {
    const e = error as Error & { code?: string };
    return `the signature does not verify against the trusted root (${e.code ? `${e.code}: ` : ''}${e.message})`;
  }
  const who = checkIdentity(signer, policy);
  if (who) return who;
  const claim = readClaim(sig.payload);
  if ('error' in claim) return claim.error;
  if (claim.digest !== digest) {
    return `signed with the right identity, but for another image (${claim.digest ?? 'no digest in the payload'})`;
  }
  return undefined;
}
