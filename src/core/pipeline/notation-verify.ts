/**
 * Checking Notation (Notary Project) signatures of an image digest the way `notation verify` does
 * with a trust store and a trust policy. The rules, from the Notary Project's own specifications
 * (https://github.com/notaryproject/specifications/tree/main/specs) and notation-go's verifier:
 * - signature-specification.md: a signature is an OCI referrer of the image (artifactType
 *   `application/vnd.cncf.notary.signature`) with one blob, the envelope: `application/jose+json`
 *   (JWS) or `application/cose` (COSE_Sign1). Its payload (`application/vnd.cncf.notary.payload.v1+json`)
 *   is `{"targetArtifact": <the image's descriptor>}`.
 * - signature-envelope-jws.md: flattened JWS JSON with exactly payload/protected/header/signature;
 *   protected headers `alg` (PS256/384/512 or ES256/384/512, and it MUST match the signing key),
 *   `cty`, `crit` (MUST list io.cncf.notary.signingScheme), `io.cncf.notary.signingScheme`
 *   (notary.x509 or notary.x509.signingAuthority), `io.cncf.notary.signingTime` or
 *   `io.cncf.notary.authenticSigningTime`, optional `io.cncf.notary.expiry`; unprotected `x5c`:
 *   leaf first, then intermediates, then the root.
 * - trust-store-trust-policy.md "Signature Verification": integrity (the envelope verifies with
 *   the leaf's key), authenticity (a complete chain from a code-signing leaf to a root, leading to
 *   a certificate of the trust store; the leaf's subject matches an `x509.subject:` trusted
 *   identity — every RDN of the identity present with the same value, as notation-go's
 *   isSubsetDN — or `*`), expiry (now after `expiry` fails), trusted time (notary.x509 without a
 *   timestamp countersignature: the chain must be valid now; notary.x509.signingAuthority: valid
 *   at the authentic signing time). A trust store's type follows the scheme: `ca` for notary.x509,
 *   `signingAuthority` for notary.x509.signingAuthority.
 * - AWS Signer (aws/aws-signer-notation-plugin, internal/verifier): its signatures name the
 *   verification plugin com.amazonaws.signer.notation.plugin and carry the signed attribute
 *   com.amazonaws.signer.signingProfileVersion; a trusted signing profile ARN matches the
 *   attribute without its last `/version` segment, case-insensitively (a version ARN matches whole).
 * Envelopes are opened by ./notation-jws.ts and ./notation-cose.ts (COSE_Sign1, signature-envelope-cose.md).
 * Not checked (said in the README's signed-image section): revocation (OCSP/CRL, AWS Signer's
 * GetRevocationStatus), RFC 3161 timestamp countersignatures (the chain must then be valid now),
 * the key-usage bits of certificates (node:crypto does not expose them; basic constraints and
 * extended key usage are checked).
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import { openCose } from './notation-cose.ts';
import { parseTrustedIdentity, type Rdn } from './notation-identity.ts';
import { openJws } from './notation-jws.ts';

export { parseTrustedIdentity };

export const NOTATION_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
export const JWS_MEDIA_TYPE = 'application/jose+json';
export const COSE_MEDIA_TYPE = 'application/cose';
export const NOTATION_PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
export const AWS_SIGNER_PLUGIN = 'com.amazonaws.signer.notation.plugin';
const SIGNING_SCHEME = 'io.cncf.notary.signingScheme';
const SIGNING_TIME = 'io.cncf.notary.signingTime';
const AUTHENTIC_SIGNING_TIME = 'io.cncf.notary.authenticSigningTime';
const EXPIRY = 'io.cncf.notary.expiry';
const VERIFICATION_PLUGIN = 'io.cncf.notary.verificationPlugin';
const VERIFICATION_PLUGIN_MIN_VERSION = 'io.cncf.notary.verificationPluginMinVersion';
const AWS_PROFILE_VERSION = 'com.amazonaws.signer.signingProfileVersion';
const AWS_SIGNING_JOB = 'com.amazonaws.signer.signingJob';
const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';
/** RFC 5280 / CA/B: a code-signing leaf must not also claim these (signature-specification.md). */
const FORBIDDEN_EKUS = ['2.5.29.37.0', '1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.8'];

/** One signature the registry holds for a digest: its envelope blob (digest-checked when fetched). */
export interface NotationSignature {
  /** The signature manifest's digest, to name it in reasons. */
  manifestDigest: string;
  /** The envelope's media type (the manifest's one layer). */
  mediaType: string;
  envelope: Uint8Array;
}

/** What `verify.notation` says, the PEM text of the roots read in (load.ts reads a path). */
export interface NotationPolicy {
  trustedRoots: string;
  identities?: string[] | undefined;
  signingProfileArn?: string | undefined;
}

export interface ParsedNotationPolicy {
  roots: X509Certificate[];
  /** 'any' is the trust policy's `*`. */
  identities: Rdn[] | 'any' | undefined;
  signingProfileArn: string | undefined;
}

export type NotationVerdict = { verified: true; signer: string } | { verified: false; reason: string };

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

export function parseNotationPolicy(policy: NotationPolicy): ParsedNotationPolicy | { error: string } {
  const blocks = policy.trustedRoots.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    return { error: 'verify.notation.trustedRoots holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")' };
  }
  const roots: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      roots.push(new X509Certificate(block));
    } catch {
      return { error: `certificate ${i + 1} of verify.notation.trustedRoots is not a valid X.509 certificate` };
    }
  }
  let identities: ParsedNotationPolicy['identities'];
  if (policy.identities) {
    if (policy.identities.length === 1 && policy.identities[0]?.trim() === '*') identities = 'any';
    else {
      identities = [];
      for (const identity of policy.identities) {
        const parsed = parseTrustedIdentity(identity);
        if ('error' in parsed) return parsed;
        identities.push(parsed.rdn);
      }
    }
  }
  return { roots, identities, signingProfileArn: policy.signingProfileArn };
}

/** A certificate's subject as RDN -> values (node prints one `TYPE=value` a line). */
function subjectOf(cert: X509Certificate): Rdn {
  const rdn: Rdn = new Map();
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const type = line.slice(0, eq).trim().toUpperCase();
    rdn.set(type, [...(rdn.get(type) ?? []), line.slice(eq + 1)]);
  }
  return rdn;
}

function isSubset(identity: Rdn, subject: Rdn): boolean {
  for (const [type, values] of identity) {
    const held = subject.get(type) ?? [];
    if (!values.every((v) => held.includes(v))) return false;
  }
  return true;
}

function formatRdn(rdn: Rdn): string {
  return [...rdn].map(([t, vs]) => vs.map((v) => `${t}=${v}`).join(', ')).join(', ');
}

/** The JWS `alg` a signing key must use (signature-envelope-jws.md "Supported alg header values"). */
function algorithmOf(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return { 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' }[details?.modulusLength ?? 0];
  }
  if (key.asymmetricKeyType === 'ec') {
    return { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[details?.namedCurve ?? ''];
  }
  return undefined;
}

const validAt = (cert: X509Certificate, at: Date) =>
  at.getTime() >= new Date(cert.validFrom).getTime() && at.getTime() <= new Date(cert.validTo).getTime();

/** Why one signature does not pass, or who signed it. */
async function verifyOne(
  s: NotationSignature,
  digest: string,
  policy: ParsedNotationPolicy,
  now: Date,
): Promise<{ signer: string } | { error: string }> {
  const opened =
    s.mediaType === JWS_MEDIA_TYPE
      ? openJws(s.envelope)
      : s.mediaType === COSE_MEDIA_TYPE
        ? openCose(s.envelope)
        : {
            error: `its envelope type ${s.mediaType} is not a Notary Project envelope (${JWS_MEDIA_TYPE} or ${COSE_MEDIA_TYPE})`,
          };
  if ('error' in opened) return opened;
  const { headers, chain } = opened;
  const leaf = chain[0] as X509Certificate;
  if (headers.cty !== NOTATION_PAYLOAD_TYPE) {
    return { error: `its content type (cty) is ${JSON.stringify(headers.cty)}, expected ${NOTATION_PAYLOAD_TYPE}` };
  }
  const scheme = headers[SIGNING_SCHEME];
  if (scheme !== 'notary.x509' && scheme !== 'notary.x509.signingAuthority') {
    return { error: `its signing scheme ${JSON.stringify(scheme)} is not notary.x509 or notary.x509.signingAuthority` };
  }
  const crit = headers.crit;
  if (!Array.isArray(crit) || !crit.includes(SIGNING_SCHEME)) {
    return { error: `its crit header does not list ${SIGNING_SCHEME}` };
  }
  const plugin = headers[VERIFICATION_PLUGIN];
  const understood = [SIGNING_SCHEME, AUTHENTIC_SIGNING_TIME, EXPIRY, VERIFICATION_PLUGIN, VERIFICATION_PLUGIN_MIN_VERSION];
  if (plugin === AWS_SIGNER_PLUGIN) understood.push(AWS_PROFILE_VERSION, AWS_SIGNING_JOB);
  const unknown = crit.filter((c) => !understood.includes(c as string));
  if (unknown.length > 0) return { error: `its critical headers ${unknown.join(', ')} are not understood: refused` };
  const alg = algorithmOf(leaf.publicKey);
  if (!alg)
    return { error: `its signing key (${leaf.publicKey.asymmetricKeyType}) is not an algorithm the Notary Project allows` };
  if (headers.alg !== alg) {
    return { error: `its alg ${JSON.stringify(headers.alg)} does not match the signing certificate's key (${alg})` };
  }
  const payloadBytes = await opened.verify(leaf.publicKey, alg, understood);
  if (!payloadBytes) {
    return { error: 'its signature does not verify with its signing certificate (the envelope or payload was altered)' };
  }

  // The payload names the signed image: another digest is another image.
  let target: unknown;
  try {
    target = (JSON.parse(Buffer.from(payloadBytes).toString('utf8')) as { targetArtifact?: { digest?: unknown } }).targetArtifact
      ?.digest;
  } catch {
    return { error: 'its payload is not JSON' };
  }
  if (target !== digest)
    return { error: `it signs another image (${typeof target === 'string' ? target : 'no digest in the payload'})` };

  // Authenticity: a complete chain, code-signing leaf, CA intermediates, self-signed root.
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as X509Certificate;
    const parent = chain[i + 1] as X509Certificate;
    if (!parent.ca) return { error: `certificate ${i + 2} of its chain signs others but is not a CA` };
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      return { error: `certificate ${i + 1} of its chain (${child.subject.replace(/\n/g, ', ')}) is not issued by the next one` };
    }
  }
  const root = chain[chain.length - 1] as X509Certificate;
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) {
    return { error: 'its certificate chain does not end with a root certificate (self-signed)' };
  }
  if (leaf.ca && chain.length > 1) return { error: 'its signing certificate is a CA, not a code-signing certificate' };
  const ekus = leaf.keyUsage ?? [];
  if (ekus.length > 0 && (!ekus.includes(CODE_SIGNING_EKU) || ekus.some((e) => FORBIDDEN_EKUS.includes(e)))) {
    return { error: `its signing certificate is not for code signing (extended key usage ${ekus.join(', ')})` };
  }
  if (!chain.some((c) => policy.roots.some((r) => r.raw.equals(c.raw)))) {
    return {
      error: `its certificate chain (root ${root.subject.replace(/\n/g, ', ')}) does not lead to a certificate of verify.notation.trustedRoots`,
    };
  }

  // The trust store's type follows the scheme: AWS Signer (signingProfileArn) is a signing authority.
  const wantsAuthority = policy.signingProfileArn !== undefined;
  if (wantsAuthority && scheme !== 'notary.x509.signingAuthority') {
    return {
      error: `it is signed with scheme ${scheme}, not by a signing authority such as AWS Signer (verify.notation.signingProfileArn is set)`,
    };
  }
  if (!wantsAuthority && scheme !== 'notary.x509') {
    return {
      error: `it is signed by a signing authority (${scheme}${plugin ? `, plugin ${String(plugin)}` : ''}); for AWS Signer set verify.notation.signingProfileArn`,
    };
  }
  if (plugin !== undefined && plugin !== AWS_SIGNER_PLUGIN) {
    return { error: `it requires the verification plugin ${String(plugin)}, which Coconut does not run` };
  }

  // Identity: AWS Signer's signing profile, or the leaf's subject.
  let signer: string;
  if (policy.signingProfileArn) {
    const version = headers[AWS_PROFILE_VERSION];
    if (plugin !== AWS_SIGNER_PLUGIN || typeof version !== 'string') {
      return { error: `it is not an AWS Signer signature (no ${AWS_PROFILE_VERSION} signed attribute)` };
    }
    const wanted = policy.signingProfileArn.toLowerCase();
    const profile = version.slice(0, version.lastIndexOf('/')).toLowerCase();
    if (profile !== wanted && version.toLowerCase() !== wanted) {
      return { error: `it is signed by signing profile ${version}, not ${policy.signingProfileArn}` };
    }
    signer = version;
  } else {
    const subject = subjectOf(leaf);
    const identities = policy.identities;
    if (identities !== 'any' && !identities?.some((id) => isSubset(id, subject))) {
      return { error: `its signer (${formatRdn(subject)}) is not one of verify.notation.identities` };
    }
    signer = formatRdn(subject);
  }

  // Expiry, then trusted time: the chain must be valid when it signed (authentic time) or now.
  const expiry = headers[EXPIRY];
  if (expiry !== undefined) {
    const at = opened.time(EXPIRY);
    if (!at) return { error: `its expiry ${JSON.stringify(expiry)} is not a time` };
    if (now.getTime() > at.getTime()) return { error: `it expired at ${at.toISOString().replace('.000Z', 'Z')}` };
  }
  let at = now;
  let when = `now (${now.toISOString()})`;
  if (scheme === 'notary.x509.signingAuthority') {
    const authentic = opened.time(AUTHENTIC_SIGNING_TIME);
    if (!authentic || !crit.includes(AUTHENTIC_SIGNING_TIME)) {
      return { error: `it has no critical ${AUTHENTIC_SIGNING_TIME}, which scheme notary.x509.signingAuthority requires` };
    }
    at = authentic;
    when = `at its authentic signing time ${authentic.toISOString()}`;
  } else if (!opened.time(SIGNING_TIME)) {
    return { error: `it has no ${SIGNING_TIME}, which scheme notary.x509 requires` };
  }
  const invalid = chain.find((c) => !validAt(c, at));
  if (invalid) {
    return {
      error: `certificate ${invalid.subject.replace(/\n/g, ', ')} is not valid ${when} (valid ${invalid.validFrom} to ${invalid.validTo})`,
    };
  }
  return { signer };
}

/** Passes when at least one signature passes every check; otherwise says why each failed. */
export async function verifyNotationSignatures(
  signatures: NotationSignature[],
  digest: string,
  policy: ParsedNotationPolicy,
  now: Date,
): Promise<NotationVerdict> {
  if (signatures.length === 0) return { verified: false, reason: 'it has no Notation signature' };
  const problems: string[] = [];
  for (const s of signatures) {
    const result = await verifyOne(s, digest, policy, now);
    if ('signer' in result) return { verified: true, signer: result.signer };
    problems.push(signatures.length > 1 ? `signature ${s.manifestDigest}: ${result.error}` : result.error);
  }
  return { verified: false, reason: problems.join('; ') };
}
