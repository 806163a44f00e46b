/**
 * Keyless cosign: an image passes when one of its Sigstore bundles verifies as `cosign verify
 * --certificate-identity[-regexp] --certificate-oidc-issuer[-regexp]` would verify it. The
 * cryptography is sigstore-js's (@sigstore/verify, the verifier npm itself uses), never ours:
 * - the Fulcio certificate chains to a certificate authority of the trusted root, was valid when the
 *   signature was made, and carries an SCT from a CT log of the root (ctlogThreshold 1; cosign
 *   checks the SCT unless --insecure-ignore-sct);
 * - the signature was logged: the transparency-log entry's SET (inclusion promise) and/or its
 *   inclusion proof with a signed checkpoint verify against a log of the root, and the entry's
 *   body names this very signature and payload (tlogThreshold 1, cosign's default);
 * - the DSSE signature verifies with the certificate's key.
 * Then, as cosign does (pkg/cosign/verify.go CheckCertificatePolicy): the certificate's SAN is the
 * configured identity (exact, or the regexp matches it — Go's regexp.MatchString, unanchored, as
 * cosign; anchor with ^…$) and its OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or the
 * legacy .1.1) is the configured issuer; and what was signed is this image: cosign v3 signs an
 * in-toto Statement whose subject is the image digest and whose predicateType is
 * https://sigstore.dev/cosign/sign/v1 (cmd/cosign/cli/sign/sign.go signDigestBundle), in a DSSE
 * envelope (payloadType application/vnd.in-toto+json).
 */
import { bundleFromJSON, isBundleWithDsseEnvelope } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { type Signer, toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import type { CosignVerdict } from './cosign-verify.ts';

export const BUNDLE_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
];
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** verify.cosign without a key: one of identity/identityRegexp and one of issuer/issuerRegexp. */
export interface KeylessPolicy {
  identity?: string | undefined;
  identityRegexp?: string | undefined;
  issuer?: string | undefined;
  issuerRegexp?: string | undefined;
}

/** The trust material of a TrustedRoot (sigstore protobuf-specs JSON), or why it is not one. */
export function parseTrustedRoot(json: unknown): { verifier: Verifier } | { error: string } {
  try {
    const root = TrustedRoot.fromJSON(json);
    if (root.certificateAuthorities.length === 0 || root.tlogs.length === 0) {
      return { error: 'the trusted root names no certificate authority or no transparency log' };
    }
    return { verifier: new Verifier(toTrustMaterial(root), { tlogThreshold: 1, ctlogThreshold: 1 }) };
  } catch (error) {
    return { error: `the trusted root is not a Sigstore TrustedRoot: ${(error as Error).message}` };
  }
}

/** How the policy reads in a sentence: `identity X (issuer Y)`. */
export function describeKeylessPolicy(policy: KeylessPolicy): string {
  const who = policy.identity !== undefined ? policy.identity : `matching /${policy.identityRegexp}/`;
  const issuer = policy.issuer !== undefined ? policy.issuer : `matching /${policy.issuerRegexp}/`;
  return `identity ${who} (issuer ${issuer})`;
}

/** Why each bundle failed, in one sentence; the image digest is named by the caller. */
export function verifyKeylessBundles(
  bundles: Uint8Array[],
  digest: string,
  policy: KeylessPolicy,
  verifier: Verifier,
): CosignVerdict {
  if (bundles.length === 0) return { verified: false, reason: 'it has no Sigstore bundle (no keyless cosign signature)' };
  const problems: string[] = [];
  for (const [i, bytes] of bundles.entries()) {
    const which = bundles.length > 1 ? `bundle ${i + 1}: ` : '';
    const problem = checkBundle(bytes, digest, policy, verifier);
    if (problem === undefined) return { verified: true };
    problems.push(`${which}${problem}`);
  }
  return { verified: false, reason: problems.join('; ') };
}

function checkBundle(bytes: Uint8Array, digest: string, policy: KeylessPolicy, verifier: Verifier): string | undefined {
  let bundle: ReturnType<typeof bundleFromJSON>;
  try {
    bundle = bundleFromJSON(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (error) {
    return `not a valid Sigstore bundle (${(error as Error).message})`;
  }
  if (!isBundleWithDsseEnvelope(bundle)) {
    return 'a message-signature bundle (what `cosign sign-blob` makes), not an image signature: cosign signs images with a DSSE envelope';
  }
  let signer: Signer;
  try {
    signer = verifier.verify(toSignedEntity(bundle));
  } catch (error) {
    const e = error as Error & { code?: string };
    return `the bundle does not verify against the trusted root (${e.code ? `${e.code}: ` : ''}${e.message})`;
  }
  return checkIdentity(signer, policy) ?? checkStatement(bundle.content.dsseEnvelope, digest);
}

/** The certificate's SAN and OIDC issuer against the policy (cosign's CheckCertificatePolicy). */
export function checkIdentity(signer: Signer, policy: KeylessPolicy): string | undefined {
  const san = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  if (san === undefined) return 'signed with a key, not a Fulcio certificate (keyless wants an identity)';
  const identityOk = policy.identity !== undefined ? san === policy.identity : matches(policy.identityRegexp, san);
  const issuerOk = policy.issuer !== undefined ? issuer === policy.issuer : matches(policy.issuerRegexp, issuer);
  if (!identityOk || !issuerOk) {
    return `signed by ${san} (issuer ${issuer ?? 'none'}), expected ${describeKeylessPolicy(policy)}`;
  }
  return undefined;
}

function matches(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined || value === undefined) return false;
  return new RegExp(pattern, 'u').test(value);
}

/** The DSSE payload must be cosign's statement about this digest. */
function checkStatement(envelope: { payloadType: string; payload: Buffer }, digest: string): string | undefined {
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE) {
    return `the signed payload is ${JSON.stringify(envelope.payloadType)}, expected an in-toto statement (${INTOTO_PAYLOAD_TYPE})`;
  }
  let statement: { predicateType?: unknown; subject?: unknown };
  try {
    statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8')) as typeof statement;
  } catch {
    return 'the signed in-toto statement is not JSON';
  }
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE) {
    return `the signed statement is a ${JSON.stringify(statement.predicateType)} attestation, not a cosign signature (${COSIGN_SIGN_PREDICATE})`;
  }
  const [algorithm, hex] = digest.split(':') as [string, string];
  const subjects = Array.isArray(statement.subject) ? (statement.subject as { digest?: Record<string, unknown> }[]) : [];
  if (!subjects.some((s) => s?.digest?.[algorithm] === hex)) {
    const named = subjects.flatMap((s) => Object.entries(s?.digest ?? {}).map(([a, h]) => `${a}:${String(h)}`));
    return `signed with the right identity, but for another image (${named.join(', ') || 'no digest in the statement'})`;
  }
  return undefined;
}
