/**
 * Keyless cosign verification (src/core/pipeline/cosign-keyless.ts) with sigstore-js's verifier
 * against a throwaway Sigstore (test/support/sigstore-keyless.ts, built with sigstore-js's own
 * @sigstore/mock CA, CT log and transparency log). Bundles are signed as cosign v3 signs images
 * (sigstore/cosign cmd/cosign/cli/sign/sign.go signDigestBundle: an in-toto statement about the
 * digest, predicateType https://sigstore.dev/cosign/sign/v1, in DSSE) and checked as `cosign verify
 * --certificate-identity[-regexp] --certificate-oidc-issuer[-regexp]` checks them
 * (pkg/cosign/verify.go CheckCertificatePolicy). No network.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type KeylessPolicy, parseTrustedRoot, verifyKeylessBundles } from '../../src/core/pipeline/cosign-keyless.ts';
import { GITHUB_ISSUER, type ThrowawaySigstore, throwawaySigstore, WORKFLOW_IDENTITY } from '../support/sigstore-keyless.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const policy: KeylessPolicy = { identity: WORKFLOW_IDENTITY, issuer: GITHUB_ISSUER };
const bytes = (json: unknown): Uint8Array => Buffer.from(JSON.stringify(json));

let sigstore: ThrowawaySigstore;
let other: ThrowawaySigstore;
beforeAll(async () => {
  sigstore = await throwawaySigstore();
  other = await throwawaySigstore();
}, 30_000);

function verifier(root = sigstore.trustedRoot) {
  const parsed = parseTrustedRoot(root);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.verifier;
}

describe('keyless cosign verification (sigstore-js verifier, throwaway Sigstore)', () => {
  it('passes a bundle for this digest from the expected identity and issuer', async () => {
    const bundle = await sigstore.signImage(DIGEST);
    expect(verifyKeylessBundles([bytes(bundle)], DIGEST, policy, verifier())).toEqual({ verified: true });
  });

  it('passes with regexps, matched unanchored like cosign (Go regexp.MatchString)', async () => {
    const bundle = await sigstore.signImage(DIGEST);
    const byRegexp = { identityRegexp: '^https://github\\.com/octo/', issuerRegexp: 'githubusercontent' };
    expect(verifyKeylessBundles([bytes(bundle)], DIGEST, byRegexp, verifier())).toEqual({ verified: true });
    const wrong = { identityRegexp: '^https://github\\.com/evil/', issuer: GITHUB_ISSUER };
    expect(verifyKeylessBundles([bytes(bundle)], DIGEST, wrong, verifier())).toMatchObject({ verified: false });
  });

  it('refuses another identity, naming who signed and who was expected', async () => {
    const bundle = await sigstore.signImage(DIGEST, {
      identity: 'https://github.com/evil/web/.github/workflows/x.yml@refs/heads/main',
    });
    const verdict = verifyKeylessBundles([bytes(bundle)], DIGEST, policy, verifier());
    expect(verdict).toEqual({
      verified: false,
      reason: `signed by https://github.com/evil/web/.github/workflows/x.yml@refs/heads/main (issuer ${GITHUB_ISSUER}), expected identity ${WORKFLOW_IDENTITY} (issuer ${GITHUB_ISSUER})`,
    });
  });

  it('refuses another OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8)', async () => {
    const bundle = await sigstore.signImage(DIGEST, { issuer: 'https://accounts.google.com' });
    const verdict = verifyKeylessBundles([bytes(bundle)], DIGEST, policy, verifier());
    expect(verdict).toMatchObject({ verified: false });
    expect((verdict as { reason: string }).reason).toContain('(issuer https://accounts.google.com), expected');
  });

  it('refuses a bundle made for another digest', async () => {
    const bundle = await sigstore.signImage(OTHER);
    const verdict = verifyKeylessBundles([bytes(bundle)], DIGEST, policy, verifier());
    expect(verdict).toEqual({ verified: false, reason: `signed with the right identity, but for another image (${OTHER})` });
  });

  it('refuses a tampered signature and a tampered payload', async () => {
    const bundle = (await sigstore.signImage(DIGEST)) as { dsseEnvelope: { signatures: { sig: string }[]; payload: string } };
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]?.sig ?? '', 'base64');
    sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
    const badSig = structuredClone(bundle);
    (badSig.dsseEnvelope.signatures[0] as { sig: string }).sig = sig.toString('base64');
    const v1 = verifyKeylessBundles([bytes(badSig)], DIGEST, policy, verifier());
    expect(v1).toMatchObject({ verified: false });
    expect((v1 as { reason: string }).reason).toMatch(/does not verify against the trusted root/);

    // The payload names another digest after signing: the signature (and the log entry's hash) no longer match.
    const badPayload = structuredClone(bundle);
    badPayload.dsseEnvelope.payload = Buffer.from(
      Buffer.from(bundle.dsseEnvelope.payload, 'base64')
        .toString()
        .replace('b'.repeat(64), 'c'.repeat(64))
        .replace('a'.repeat(64), 'c'.repeat(64)),
    ).toString('base64');
    const v2 = verifyKeylessBundles([bytes(badPayload)], `sha256:${'c'.repeat(64)}`, policy, verifier());
    expect((v2 as { reason: string }).reason).toMatch(/does not verify against the trusted root/);
  });

  it('refuses a bundle from another Sigstore (its CA and log are not in the trusted root)', async () => {
    const bundle = await other.signImage(DIGEST);
    const verdict = verifyKeylessBundles([bytes(bundle)], DIGEST, policy, verifier());
    expect((verdict as { reason: string }).reason).toMatch(/does not verify against the trusted root \(\w+/);
  });

  it('refuses a bundle whose transparency-log entry is missing (the log proof is required)', async () => {
    const bundle = (await sigstore.signImage(DIGEST)) as { verificationMaterial: { tlogEntries: unknown[] } };
    bundle.verificationMaterial.tlogEntries = [];
    const verdict = verifyKeylessBundles([bytes(bundle)], DIGEST, policy, verifier());
    expect(verdict).toMatchObject({ verified: false });
  });

  it('refuses an attestation that is not a cosign signature (another predicateType)', async () => {
    const bundle = await sigstore.signImage(DIGEST, { predicateType: 'https://slsa.dev/provenance/v1' });
    const verdict = verifyKeylessBundles([bytes(bundle)], DIGEST, policy, verifier());
    expect((verdict as { reason: string }).reason).toContain(
      '"https://slsa.dev/provenance/v1" attestation, not a cosign signature',
    );
  });

  it('refuses an unsigned image and bytes that are not a bundle', () => {
    expect(verifyKeylessBundles([], DIGEST, policy, verifier())).toEqual({
      verified: false,
      reason: 'it has no Sigstore bundle (no keyless cosign signature)',
    });
    const verdict = verifyKeylessBundles([Buffer.from('{"mediaType":"x"}')], DIGEST, policy, verifier());
    expect((verdict as { reason: string }).reason).toMatch(/^not a valid Sigstore bundle/);
  });

  it('passes when any one of several bundles holds, and says why each failed otherwise', async () => {
    const wrong = await sigstore.signImage(OTHER);
    const right = await sigstore.signImage(DIGEST);
    expect(verifyKeylessBundles([bytes(wrong), bytes(right)], DIGEST, policy, verifier())).toEqual({ verified: true });
    const verdict = verifyKeylessBundles([bytes(wrong), bytes(wrong)], DIGEST, policy, verifier());
    expect((verdict as { reason: string }).reason).toMatch(/^bundle 1: .*; bundle 2: /);
  });

  it('refuses a trusted root that is not one', () => {
    expect(parseTrustedRoot({ mediaType: 'x' })).toEqual({
      error: 'the trusted root names no certificate authority or no transparency log',
    });
  });
});

/**
 * Real cosign output: sigstore/cosign's own test data (pkg/cosign/testdata/oci-attestation.sigstore.json
 * and trusted_root_pgi.json, Apache-2.0, used by pkg/cosign/verify_oci_test.go; the same JSON, laid out by
 * our formatter): a bundle that
 * `cosign attest --new-bundle-format` made on Sigstore's public-good instance (Fulcio certificate for
 * cody@soyland.com via https://github.com/login/oauth, Rekor dsse entry), and the public-good trusted
 * root. It is an attestation, not an image signature, so the gate refuses it — but only after the
 * certificate chain, SCT, Rekor SET and inclusion proof, signature and identity all verified.
 */
describe('keyless cosign verification of real cosign output (public-good Sigstore)', () => {
  const fixture = (name: string) => readFileSync(new URL(`../fixtures/sigstore/${name}`, import.meta.url));
  const bundle = fixture('cosign-oci-attestation.sigstore.json');
  const subject = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
  const real = () => verifier(JSON.parse(fixture('trusted_root_pgi.json').toString('utf8')));

  it('verifies everything up to what was signed, which is an attestation and not a cosign signature', () => {
    const verdict = verifyKeylessBundles(
      [bundle],
      subject,
      { identity: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' },
      real(),
    );
    expect(verdict).toEqual({
      verified: false,
      reason:
        'the signed statement is a "https://cosign.sigstore.dev/attestation/v1" attestation, not a cosign signature (https://sigstore.dev/cosign/sign/v1)',
    });
  });

  it('names the real signer when the identity is another', () => {
    const verdict = verifyKeylessBundles([bundle], subject, policy, real());
    expect(verdict).toEqual({
      verified: false,
      reason: `signed by cody@soyland.com (issuer https://github.com/login/oauth), expected identity ${WORKFLOW_IDENTITY} (issuer ${GITHUB_ISSUER})`,
    });
  });

  it("verifies it as well against the public-good root embedded in @sigstore/tuf (the TUF seed Coconut's default starts from)", () => {
    const seeds = JSON.parse(
      readFileSync(new URL('../../node_modules/@sigstore/tuf/seeds.json', import.meta.url), 'utf8'),
    ) as Record<string, { targets: Record<string, string> }>;
    const embedded = seeds['https://tuf-repo-cdn.sigstore.dev']?.targets['trusted_root.json'] ?? '';
    const root = verifier(JSON.parse(Buffer.from(embedded, 'base64').toString('utf8')));
    const verdict = verifyKeylessBundles(
      [bundle],
      subject,
      { identity: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' },
      root,
    );
    expect((verdict as { reason: string }).reason).toMatch(/attestation, not a cosign signature/);
  });

  it('refuses it against a trusted root that is not the one it was made with', () => {
    const verdict = verifyKeylessBundles([bundle], subject, policy, verifier());
    expect((verdict as { reason: string }).reason).toMatch(/^the bundle does not verify against the trusted root/);
  });
});
