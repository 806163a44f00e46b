/**
 * Signs images in a test the way `notation sign` stores them, written from the Notary Project's
 * specifications (https://github.com/notaryproject/specifications/tree/main/specs), not from
 * Coconut's verifier:
 * - signature-specification.md "Storage": an OCI image manifest, artifactType
 *   application/vnd.cncf.notary.signature, config application/vnd.oci.empty.v1+json, one layer (the
 *   envelope), `subject` = the image's descriptor, annotation io.cncf.notary.x509chain.thumbprint#S256.
 * - signature-envelope-jws.md: flattened JWS JSON; protected alg/cty/crit/signingScheme/
 *   signingTime (or authenticSigningTime)/expiry; unprotected x5c leaf..root; payload
 *   {"targetArtifact": descriptor}.
 * - OCI distribution spec "Listing Referrers" / "Referrers Tag Schema": the registry answers
 *   GET /v2/<name>/referrers/<digest> with an image index, or (without that API) the client keeps
 *   the index under the tag `sha256-<hex>`.
 * Throwaway PKI from the openssl CLI: a root CA (basicConstraints CA, keyCertSign) and a leaf
 * (CA:FALSE, digitalSignature, extendedKeyUsage codeSigning), as `notation cert generate-test`
 * and AWS Signer issue them. JWS signing through `jose` (FlattenedSign).
 * The AWS Signer shape (scheme notary.x509.signingAuthority, authenticSigningTime, plugin
 * com.amazonaws.signer.notation.plugin, com.amazonaws.signer.signingProfileVersion) follows
 * `notation inspect` of an AWS Signer signature quoted in aws/aws-signer-notation-plugin's docs.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, type KeyObject, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode, Tag } from 'cbor2';
import { FlattenedSign } from 'jose';
import { type FakeImage, type FakeRegistry, fakeImage, INDEX } from './oci-registry.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface TestPki {
  rootPem: string;
  root: X509Certificate;
  leaf: X509Certificate;
  leafKey: KeyObject;
  /** Between the leaf and the root in x5c, in order. */
  intermediates: X509Certificate[];
  alg: string;
}

export interface PkiOptions {
  subject?: string;
  /** P-256 (ES256, default) or P-384 (ES384, what AWS Signer uses). */
  curve?: 'P-256' | 'P-384';
  rootSubject?: string;
  /** Leaf is a CA or lacks codeSigning: a certificate notation refuses. */
  leafExtensions?: string;
  /** Root -> intermediate CA -> leaf; `notCa` makes the intermediate a non-CA (a broken chain). */
  intermediate?: 'ca' | 'notCa';
}

function openssl(dir: string, args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function notationPki(o: PkiOptions = {}): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-notation-pki-'));
  const curve = o.curve ?? 'P-256';
  const words = (text: string) => text.split(' ');
  const newKey = (name: string, curveName: string) =>
    words(`-newkey ec -pkeyopt ec_paramgen_curve:${curveName} -nodes -keyout ${name}.key`);
  const issue = (name: string, by: string, days: number, ext: string) => {
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(
      dir,
      words(
        `x509 -req -in ${name}.csr -CA ${by}.pem -CAkey ${by}.key -CAcreateserial -out ${name}.pem -days ${days} -extfile ${name}.ext`,
      ),
    );
  };
  openssl(dir, [
    ...words('req -x509'),
    ...newKey('root', 'P-256'),
    ...words('-out root.pem -days 30 -subj'),
    o.rootSubject ?? '/C=US/ST=WA/O=Test Root CA',
    ...words('-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign'),
  ]);
  let issuer = 'root';
  if (o.intermediate) {
    openssl(dir, [
      ...words('req -new'),
      ...newKey('mid', 'P-256'),
      ...words('-out mid.csr -subj'),
      '/C=US/ST=WA/O=Test Intermediate CA',
    ]);
    issue(
      'mid',
      'root',
      20,
      o.intermediate === 'ca'
        ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
        : 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n',
    );
    issuer = 'mid';
  }
  openssl(dir, [
    ...words('req -new'),
    ...newKey('leaf', curve),
    ...words('-out leaf.csr -subj'),
    o.subject ?? '/C=US/ST=WA/L=Seattle/O=wabbit-networks.io/CN=net-monitor',
  ]);
  issue(
    'leaf',
    issuer,
    10,
    o.leafExtensions ?? 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n',
  );
  const rootPem = readFileSync(path.join(dir, 'root.pem'), 'utf8');
  return {
    rootPem,
    root: new X509Certificate(rootPem),
    leaf: new X509Certificate(readFileSync(path.join(dir, 'leaf.pem'))),
    leafKey: createPrivateKey(readFileSync(path.join(dir, 'leaf.key'))),
    intermediates: o.intermediate ? [new X509Certificate(readFileSync(path.join(dir, 'mid.pem')))] : [],
    alg: curve === 'P-384' ? 'ES384' : 'ES256',
  };
}

export interface EnvelopeOptions {
  /** The digest the payload names (default: the signed one). */
  payloadDigest?: string;
  /** AWS Signer's shape with this signing profile version ARN. */
  awsProfileVersion?: string;
  authenticSigningTime?: string;
  expiry?: string;
  /** Replace the payload after signing (a tampered envelope). */
  tamper?: boolean;
  /** Extra protected headers (e.g. an unknown critical one). */
  extraProtected?: Record<string, unknown>;
  /** JWS (default, `notation sign --signature-format jws`) or COSE (`--signature-format cose`). */
  format?: 'jws' | 'cose';
  alg?: string;
}

const seconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/** A JWS envelope, as `notation sign --signature-format jws` (or AWS Signer) writes it. */
export async function notationEnvelope(pki: TestPki, digest: string, o: EnvelopeOptions = {}): Promise<Buffer> {
  const payload = JSON.stringify({
    targetArtifact: { mediaType: INDEX, digest: o.payloadDigest ?? digest, size: 312 },
  });
  const now = new Date();
  const aws = o.awsProfileVersion;
  const protectedHeader: Record<string, unknown> = aws
    ? {
        alg: o.alg ?? pki.alg,
        cty: 'application/vnd.cncf.notary.payload.v1+json',
        'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
        'io.cncf.notary.authenticSigningTime': o.authenticSigningTime ?? seconds(now),
        'io.cncf.notary.expiry': o.expiry ?? seconds(new Date(now.getTime() + 86_400_000)),
        'io.cncf.notary.verificationPlugin': 'com.amazonaws.signer.notation.plugin',
        'com.amazonaws.signer.signingProfileVersion': aws,
        'com.amazonaws.signer.signingJob': `${aws.split(':/')[0]}:/signing-jobs/5808635f-05de-4207-a891-c95f827b50f4`,
        crit: [
          'io.cncf.notary.signingScheme',
          'io.cncf.notary.authenticSigningTime',
          'io.cncf.notary.expiry',
          'io.cncf.notary.verificationPlugin',
          'com.amazonaws.signer.signingProfileVersion',
          'com.amazonaws.signer.signingJob',
        ],
      }
    : {
        alg: o.alg ?? pki.alg,
        cty: 'application/vnd.cncf.notary.payload.v1+json',
        'io.cncf.notary.signingScheme': 'notary.x509',
        'io.cncf.notary.signingTime': seconds(now),
        ...(o.expiry ? { 'io.cncf.notary.expiry': o.expiry } : {}),
        crit: ['io.cncf.notary.signingScheme', ...(o.expiry ? ['io.cncf.notary.expiry'] : [])],
      };
  Object.assign(protectedHeader, o.extraProtected);
  if (o.format === 'cose') return coseEnvelope(pki, payload, protectedHeader, o);
  const jws = await new FlattenedSign(Buffer.from(payload))
    .setProtectedHeader(protectedHeader as Parameters<FlattenedSign['setProtectedHeader']>[0])
    .setUnprotectedHeader({
      x5c: [pki.leaf, ...pki.intermediates, pki.root].map((c) => c.raw.toString('base64')),
      'io.cncf.notary.signingAgent': 'coconut-test/1.0',
    })
    .sign(pki.leafKey, {
      crit: Object.fromEntries((protectedHeader.crit as string[]).map((c) => [c, true])),
    });
  if (o.tamper) {
    jws.payload = Buffer.from(payload.replace('"size":312', '"size":313')).toString('base64url');
  }
  return Buffer.from(JSON.stringify(jws));
}

const COSE_ALG: Record<string, number> = { ES256: -7, ES384: -35, ES512: -36, PS256: -37, PS384: -38, PS512: -39 };
const TIMES = ['io.cncf.notary.signingTime', 'io.cncf.notary.authenticSigningTime', 'io.cncf.notary.expiry'];

/**
 * The same attributes as a COSE_Sign1_Tagged envelope, written from signature-envelope-cose.md and
 * RFC 9052 section 4.4: labels 1/2/3 for alg/crit/cty, times as tag 1 epoch seconds, x5chain
 * (label 33) unprotected, signature over the CBOR Sig_structure, ECDSA as r||s.
 */
function coseEnvelope(pki: TestPki, payload: string, header: Record<string, unknown>, o: EnvelopeOptions): Buffer {
  // Byte strings as plain Uint8Array (a Buffer is one, but cbor2 picks the encoder by constructor).
  const bytes = (b: Uint8Array) => new Uint8Array(b);
  const protectedMap = new Map<number | string, unknown>();
  for (const [name, value] of Object.entries(header)) {
    if (name === 'alg') protectedMap.set(1, COSE_ALG[value as string]);
    else if (name === 'crit') protectedMap.set(2, value);
    else if (name === 'cty') protectedMap.set(3, value);
    else if (TIMES.includes(name)) protectedMap.set(name, new Tag(1, Math.floor(new Date(value as string).getTime() / 1000)));
    else protectedMap.set(name, value);
  }
  const protectedBytes = encode(protectedMap);
  const signed = Buffer.from(payload);
  const toBeSigned = encode(['Signature1', protectedBytes, new Uint8Array(0), bytes(signed)]);
  const signature = sign(`sha${pki.alg.slice(2)}`, toBeSigned, { key: pki.leafKey, dsaEncoding: 'ieee-p1363' });
  const stored = o.tamper ? Buffer.from(payload.replace('"size":312', '"size":313')) : signed;
  const unprotected = new Map<number | string, unknown>([
    [33, [pki.leaf, ...pki.intermediates, pki.root].map((c) => bytes(c.raw))],
    ['io.cncf.notary.signingAgent', 'coconut-test/1.0'],
  ]);
  return Buffer.from(encode(new Tag(18, [protectedBytes, unprotected, bytes(stored), bytes(signature)])));
}

export interface NotationSignOptions extends EnvelopeOptions {
  /** Keep the index under the `sha256-<hex>` tag (no referrers API), as for GHCR. Default true. */
  tagSchema?: boolean;
  mediaType?: string;
}

/**
 * Signs `image` (already served by `registry`) and stores the signature as a referrer of it: the
 * signature manifest by digest, and the referrers index under the tag schema or for the API.
 */
export async function notationSign(
  registry: FakeRegistry,
  images: FakeImage[],
  image: FakeImage,
  pki: TestPki,
  o: NotationSignOptions = {},
) {
  const digest = registry.digestOf(image);
  const envelope = await notationEnvelope(pki, digest, o);
  const envelopeDigest = registry.putBlob(image.repository, envelope);
  const emptyDigest = registry.putBlob(image.repository, '{}');
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.cncf.notary.signature',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
    layers: [
      {
        mediaType: o.mediaType ?? (o.format === 'cose' ? 'application/cose' : 'application/jose+json'),
        digest: envelopeDigest,
        size: envelope.length,
      },
    ],
    subject: { mediaType: image.mediaType, digest, size: Buffer.byteLength(image.body) },
    annotations: {
      'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify([pki.leaf.fingerprint256, pki.root.fingerprint256]),
    },
  });
  const signature = fakeImage(image.repository, `notation-${createHash('sha256').update(manifest).digest('hex').slice(0, 12)}`, {
    mediaType: OCI_MANIFEST,
    body: manifest,
  });
  images.push(signature);
  const descriptor = {
    mediaType: OCI_MANIFEST,
    digest: registry.digestOf(signature),
    size: Buffer.byteLength(manifest),
    artifactType: 'application/vnd.cncf.notary.signature',
  };
  const tag = digest.replace(':', '-');
  if (o.tagSchema ?? true) {
    const at = images.findIndex((i) => i.repository === image.repository && i.tag === tag);
    const previous = at >= 0 ? (JSON.parse((images[at] as FakeImage).body) as { manifests: unknown[] }).manifests : [];
    if (at >= 0) images.splice(at, 1);
    images.push(
      fakeImage(image.repository, tag, {
        mediaType: INDEX,
        body: JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [...previous, descriptor] }),
      }),
    );
  } else {
    const key = `${image.repository}@${digest}`;
    registry.referrers.set(key, [...(registry.referrers.get(key) ?? []), descriptor]);
  }
  return { digest, signatureDigest: descriptor.digest };
}
