/**
 * A throwaway Sigstore deployment for tests: a Fulcio-like CA, a CT log and a Rekor-like
 * transparency log, made by sigstore-js's own mock package (@sigstore/mock: initializeCA,
 * initializeCTLog, initializeTLog — what sigstore-js tests its verifier with), and a trusted root
 * naming their keys in the format of sigstore/protobuf-specs (protos/sigstore_trustroot.proto).
 *
 * `signImage` signs an image digest the way cosign v3 does (cmd/cosign/cli/sign/sign.go
 * signDigestBundle): an in-toto Statement v1 whose subject is the digest and whose predicateType is
 * https://sigstore.dev/cosign/sign/v1, in a DSSE envelope (payloadType application/vnd.in-toto+json)
 * signed by an ephemeral P-256 key whose Fulcio certificate carries the identity as SAN and the
 * OIDC issuer in extensions 1.3.6.1.4.1.57264.1.1 (raw) and .1.8 (DER UTF8String); the envelope is
 * logged as a Rekor `dsse` v0.0.1 entry (SET and inclusion proof with a signed checkpoint), and all
 * of it is a Sigstore bundle v0.3 (protos/sigstore_bundle.proto). No network is used.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';
import { OCI_MANIFEST, simpleSigningPayload } from './cosign.ts';
import { type FakeImage, type FakeRegistry, fakeImage, INDEX } from './oci-registry.ts';

const REKOR_URL = 'https://rekor.coconut.test';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const WORKFLOW_IDENTITY = 'https://github.com/octo/web/.github/workflows/release.yml@refs/heads/main';

function keyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

const spki = (key: KeyObject): Buffer => key.export({ format: 'der', type: 'spki' });
const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64');
const sha256 = (bytes: Uint8Array | string): Buffer => createHash('sha256').update(bytes).digest();

/** DSSE's pre-authentication encoding (secure-systems-lab/dsse, protocol.md). */
export function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

export interface SignOptions {
  identity?: string;
  issuer?: string;
  /** The statement's predicateType (cosign `verify` wants https://sigstore.dev/cosign/sign/v1). */
  predicateType?: string;
}

export interface ThrowawaySigstore {
  /** A TrustedRoot (JSON) naming this CA, CT log and transparency log. */
  trustedRoot: Record<string, unknown>;
  /** A Sigstore bundle (JSON) signing `digest` as cosign v3 does. */
  signImage(digest: string, opts?: SignOptions): Promise<Record<string, unknown>>;
  /** A keyless signature as cosign before v3 stored it in the `.sig` tag's annotations. */
  signImageLegacy(digest: string, opts?: SignOptions & { payloadDigest?: string }): Promise<LegacySignature>;
}

export async function throwawaySigstore(): Promise<ThrowawaySigstore> {
  const caKeys = keyPair();
  const ctKeys = keyPair();
  const tlogKeys = keyPair();
  const ctLog = await initializeCTLog(ctKeys);
  const ca = await initializeCA(caKeys, ctLog);
  const tlog = await initializeTLog(REKOR_URL, tlogKeys);
  const start = new Date(Date.now() - 3600_000).toISOString();
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: REKOR_URL,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(spki(tlogKeys.publicKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
        logId: { keyId: b64(sha256(spki(tlogKeys.publicKey))) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.coconut.test',
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate as unknown as Uint8Array) }] },
        validFor: { start },
      },
    ],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.coconut.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(spki(ctKeys.publicKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
        logId: { keyId: b64(sha256(spki(ctKeys.publicKey))) },
      },
    ],
    timestampAuthorities: [],
  };

  async function signImage(digest: string, opts: SignOptions = {}): Promise<Record<string, unknown>> {
    const issuer = opts.issuer ?? GITHUB_ISSUER;
    const [algorithm, hex] = digest.split(':') as [string, string];
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { [algorithm]: hex } }],
      predicateType: opts.predicateType ?? 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    };
    const payload = Buffer.from(JSON.stringify(statement));
    const payloadType = 'application/vnd.in-toto+json';
    const ephemeral = keyPair();
    const signature = sign('sha256', pae(payloadType, payload), ephemeral.privateKey);
    const cert = Buffer.from(
      (await ca.issueCertificate({
        publicKey: spki(ephemeral.publicKey) as unknown as ArrayBufferView<ArrayBuffer>,
        subjectAltName: opts.identity ?? WORKFLOW_IDENTITY,
        extensions: [
          { oid: '1.3.6.1.4.1.57264.1.1', value: issuer, legacy: true },
          { oid: '1.3.6.1.4.1.57264.1.8', value: issuer },
        ],
      })) as unknown as Uint8Array,
    );
    const certPem = pem('CERTIFICATE', cert);
    const envelope = { payload: b64(payload), payloadType, signatures: [{ sig: b64(signature), keyid: '' }] };
    // Rekor's dsse v0.0.1 entry as Rekor stores it (rekor pkg/types/dsse/v0.0.1).
    const proposed = {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256(JSON.stringify(envelope)).toString('hex') },
        payloadHash: { algorithm: 'sha256', value: sha256(payload).toString('hex') },
        signatures: [{ signature: b64(signature), verifier: b64(certPem) }],
      },
    };
    const logged = await tlog.log(proposed);
    const entry = Object.values(logged)[0] as unknown as {
      body: string;
      integratedTime: number;
      logID: string;
      logIndex: number;
      verification: {
        signedEntryTimestamp: string;
        inclusionProof: { logIndex: number; treeSize: number; rootHash: string; hashes: string[]; checkpoint: string };
      };
    };
    const proof = entry.verification.inclusionProof;
    return {
      mediaType: BUNDLE_V03,
      verificationMaterial: {
        certificate: { rawBytes: b64(cert) },
        tlogEntries: [
          {
            logIndex: String(entry.logIndex),
            logId: { keyId: b64(Buffer.from(entry.logID, 'hex')) },
            kindVersion: { kind: 'dsse', version: '0.0.1' },
            integratedTime: String(entry.integratedTime),
            inclusionPromise: { signedEntryTimestamp: entry.verification.signedEntryTimestamp },
            inclusionProof: {
              logIndex: String(proof.logIndex),
              rootHash: b64(Buffer.from(proof.rootHash, 'hex')),
              treeSize: String(proof.treeSize),
              hashes: proof.hashes,
              checkpoint: { envelope: proof.checkpoint },
            },
            canonicalizedBody: entry.body,
          },
        ],
        timestampVerificationData: {},
      },
      dsseEnvelope: envelope,
    };
  }

  /**
   * Signs `digest` as cosign before v3 signed keyless (sigstore/cosign specs/SIGNATURE_SPEC.md): a
   * simple signing payload signed by an ephemeral key whose Fulcio certificate carries the identity,
   * logged as a Rekor hashedrekord v0.0.1 entry; what the `.sig` layer annotations hold.
   */
  async function signImageLegacy(digest: string, opts: SignOptions & { payloadDigest?: string } = {}): Promise<LegacySignature> {
    const issuer = opts.issuer ?? GITHUB_ISSUER;
    const payload = Buffer.from(simpleSigningPayload(opts.payloadDigest ?? digest, 'octo/web'));
    const ephemeral = keyPair();
    const signature = sign('sha256', payload, ephemeral.privateKey);
    const cert = Buffer.from(
      (await ca.issueCertificate({
        publicKey: spki(ephemeral.publicKey) as unknown as ArrayBufferView<ArrayBuffer>,
        subjectAltName: opts.identity ?? WORKFLOW_IDENTITY,
        extensions: [
          { oid: '1.3.6.1.4.1.57264.1.1', value: issuer, legacy: true },
          { oid: '1.3.6.1.4.1.57264.1.8', value: issuer },
        ],
      })) as unknown as Uint8Array,
    );
    const certPem = pem('CERTIFICATE', cert);
    // Rekor's hashedrekord v0.0.1 entry (rekor pkg/types/hashedrekord/v0.0.1).
    const logged = await tlog.log({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: sha256(payload).toString('hex') } },
        signature: { content: b64(signature), publicKey: { content: b64(certPem) } },
      },
    });
    const entry = Object.values(logged)[0] as unknown as {
      body: string;
      integratedTime: number;
      logID: string;
      logIndex: number;
      verification: { signedEntryTimestamp: string };
    };
    // sigstore/cosign pkg/cosign/bundle/rekor.go RekorBundle, as the annotation stores it.
    const rekorBundle = JSON.stringify({
      SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
      Payload: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logID },
    });
    const chain = pem('CERTIFICATE', Buffer.from(ca.rootCertificate as unknown as Uint8Array));
    return { payload: payload.toString('utf8'), signature: b64(signature), certificate: certPem, chain, rekorBundle };
  }

  return { trustedRoot, signImage, signImageLegacy };
}

export interface LegacySignature {
  payload: string;
  signature: string;
  certificate: string;
  chain: string;
  rekorBundle: string;
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${b64(der).replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;
}

/** Stores a keyless signature of cosign before v3: the `.sig` manifest, its layer's annotations. */
export function attachLegacy(registry: FakeRegistry, images: FakeImage[], image: FakeImage, sig: LegacySignature): void {
  const layerDigest = registry.putBlob(image.repository, sig.payload);
  const configDigest = registry.putBlob(image.repository, '{}');
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: configDigest },
    layers: [
      {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        size: Buffer.byteLength(sig.payload),
        digest: layerDigest,
        annotations: {
          'dev.cosignproject.cosign/signature': sig.signature,
          'dev.sigstore.cosign/certificate': sig.certificate,
          'dev.sigstore.cosign/chain': sig.chain,
          'dev.sigstore.cosign/bundle': sig.rekorBundle,
        },
      },
    ],
  });
  const tag = `${registry.digestOf(image).replace(':', '-')}.sig`;
  images.push(fakeImage(image.repository, tag, { mediaType: OCI_MANIFEST, body: manifest }));
}

/**
 * Attaches a bundle to `image` as cosign v3 does (sigstore/cosign specs/BUNDLE_SPEC.md "Publishing";
 * pkg/oci/remote/write.go WriteAttestationNewBundleFormat): the bundle JSON as a blob, an OCI image
 * manifest with artifactType application/vnd.dev.sigstore.bundle.v0.3+json, the empty config, the
 * bundle as its single layer and `subject` the image; a registry without the referrers API gets the
 * referrers tag schema instead: an image index tagged `sha256-<hex>` listing the manifest.
 */
export function attachBundle(
  registry: FakeRegistry,
  images: FakeImage[],
  image: FakeImage,
  bundle: Record<string, unknown> | string,
): { manifestDigest: string } {
  const bytes = typeof bundle === 'string' ? bundle : JSON.stringify(bundle);
  const layerDigest = registry.putBlob(image.repository, bytes);
  const emptyDigest = registry.putBlob(image.repository, '{}');
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_V03,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
    layers: [{ mediaType: BUNDLE_V03, digest: layerDigest, size: Buffer.byteLength(bytes) }],
    subject: { mediaType: image.mediaType, digest: registry.digestOf(image), size: Buffer.byteLength(image.body) },
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
    },
  });
  const artifact = fakeImage(image.repository, `bundle-${createHash('sha256').update(manifest).digest('hex').slice(0, 16)}`, {
    mediaType: OCI_MANIFEST,
    body: manifest,
  });
  images.push(artifact);
  const manifestDigest = registry.digestOf(artifact);
  if (!registry.referrersApi) {
    const tag = registry.digestOf(image).replace(':', '-');
    const at = images.findIndex((i) => i.repository === image.repository && i.tag === tag);
    const index = at >= 0 ? (JSON.parse((images[at] as FakeImage).body) as { manifests: unknown[] }) : { manifests: [] };
    index.manifests.push({
      mediaType: OCI_MANIFEST,
      digest: manifestDigest,
      size: Buffer.byteLength(manifest),
      artifactType: BUNDLE_V03,
    });
    const body = JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: index.manifests });
    if (at >= 0) images.splice(at, 1);
    images.push(fakeImage(image.repository, tag, { mediaType: INDEX, body }));
  }
  return { manifestDigest };
}
