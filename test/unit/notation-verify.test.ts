/**
 * Notation verification against the Notary Project's rules, with throwaway PKIs made by the
 * openssl CLI and envelopes signed by `jose` in the test (test/support/notation.ts):
 * - specs/trust-store-trust-policy.md "Signature Verification" (integrity, authenticity with
 *   trusted identities `x509.subject:` at least C/ST/O, expiry, trusted timestamp per scheme) and
 *   "Trusted Identities Constraints";
 * - specs/signature-envelope-jws.md (alg must match the signing key, cty, crit, x5c);
 * - aws/aws-signer-notation-plugin internal/verifier/verifier.go (signing profile ARN matches the
 *   signingProfileVersion attribute without its version, case-insensitively).
 * https://github.com/notaryproject/specifications/tree/main/specs
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  COSE_MEDIA_TYPE,
  JWS_MEDIA_TYPE,
  type NotationPolicy,
  type NotationSignature,
  parseNotationPolicy,
  parseTrustedIdentity,
  verifyNotationSignatures,
} from '../../src/core/pipeline/notation-verify.ts';
import { type EnvelopeOptions, notationEnvelope, notationPki, type TestPki } from '../support/notation.ts';

const DIGEST = `sha256:${createHash('sha256').update('image').digest('hex')}`;
const OTHER = `sha256:${createHash('sha256').update('other').digest('hex')}`;
const PROFILE = 'arn:aws:signer:us-west-2:111122223333:/signing-profiles/notation_test';
const WABBIT = 'x509.subject: C=US, ST=WA, O=wabbit-networks.io';

describe('Notation verification (openssl-made PKI, jose-signed JWS envelopes)', () => {
  let pki: TestPki;
  let stranger: TestPki;
  let aws: TestPki;
  beforeAll(() => {
    pki = notationPki();
    stranger = notationPki({ subject: '/C=US/ST=WA/O=wabbit-networks.io/CN=net-monitor' });
    aws = notationPki({ curve: 'P-384', subject: '/C=US/ST=WA/L=Seattle/O=AWS Signer/OU=111122223333/CN=notation_test' });
  });

  async function check(
    signer: TestPki,
    policy: Partial<NotationPolicy>,
    o: EnvelopeOptions = {},
    extra: Partial<NotationSignature> = {},
  ) {
    const parsed = parseNotationPolicy({ trustedRoots: pki.rootPem, ...policy });
    if ('error' in parsed) throw new Error(parsed.error);
    const envelope = await notationEnvelope(signer, DIGEST, o);
    return verifyNotationSignatures(
      [{ manifestDigest: 'sha256:sig', mediaType: JWS_MEDIA_TYPE, envelope, ...extra }],
      DIGEST,
      parsed,
      new Date(),
    );
  }

  it('passes a signature by a trusted identity chaining to the trusted root (notary.x509)', async () => {
    expect(await check(pki, { identities: [WABBIT] })).toEqual({
      verified: true,
      signer: 'C=US, ST=WA, L=Seattle, O=wabbit-networks.io, CN=net-monitor',
    });
    expect(await check(pki, { identities: ['*'] })).toMatchObject({ verified: true });
  });

  it('refuses another identity, naming the signer', async () => {
    expect(await check(pki, { identities: ['x509.subject: C=US, ST=WA, O=acme-rockets.io'] })).toEqual({
      verified: false,
      reason:
        'its signer (C=US, ST=WA, L=Seattle, O=wabbit-networks.io, CN=net-monitor) is not one of verify.notation.identities',
    });
  });

  it('refuses a chain to an untrusted root even when the subject matches', async () => {
    const verdict = await check(stranger, { identities: [WABBIT] });
    expect(verdict).toMatchObject({ verified: false });
    expect(verdict.verified || verdict.reason).toContain('does not lead to a certificate of verify.notation.trustedRoots');
  });

  it('refuses a tampered payload and a signature for another digest', async () => {
    expect(await check(pki, { identities: [WABBIT] }, { tamper: true })).toEqual({
      verified: false,
      reason: 'its signature does not verify with its signing certificate (the envelope or payload was altered)',
    });
    expect(await check(pki, { identities: [WABBIT] }, { payloadDigest: OTHER })).toEqual({
      verified: false,
      reason: `it signs another image (${OTHER})`,
    });
  });

  it('refuses an expired signature and unknown critical headers', async () => {
    expect(await check(pki, { identities: [WABBIT] }, { expiry: '2020-01-01T00:00:00Z' })).toEqual({
      verified: false,
      reason: 'it expired at 2020-01-01T00:00:00Z',
    });
    // RFC 7515 4.1.11 / signature-envelope-jws.md: every crit header must be understood.
    const substituted = await check(
      pki,
      { identities: [WABBIT] },
      {
        extraProtected: { crit: ['io.cncf.notary.signingScheme', 'io.example.mine'], 'io.example.mine': 1 },
      },
    );
    expect(substituted).toEqual({ verified: false, reason: 'its critical headers io.example.mine are not understood: refused' });
  });

  it('follows a chain through an intermediate CA, and refuses one whose middle certificate is not a CA', async () => {
    const verdictFor = async (signer: TestPki) => {
      const parsed = parseNotationPolicy({ trustedRoots: signer.rootPem, identities: [WABBIT] });
      if ('error' in parsed) throw new Error(parsed.error);
      const envelope = await notationEnvelope(signer, DIGEST);
      return verifyNotationSignatures(
        [{ manifestDigest: 'sha256:sig', mediaType: JWS_MEDIA_TYPE, envelope }],
        DIGEST,
        parsed,
        new Date(),
      );
    };
    expect(await verdictFor(notationPki({ intermediate: 'ca' }))).toMatchObject({ verified: true });
    expect(await verdictFor(notationPki({ intermediate: 'notCa' }))).toEqual({
      verified: false,
      reason: 'certificate 2 of its chain signs others but is not a CA',
    });
  });

  it('refuses a leaf that is not a code-signing certificate', async () => {
    const server = notationPki({ leafExtensions: 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' });
    const parsed = parseNotationPolicy({ trustedRoots: server.rootPem, identities: ['*'] });
    if ('error' in parsed) throw new Error(parsed.error);
    const verdict = await verifyNotationSignatures(
      [{ manifestDigest: 'sha256:sig', mediaType: JWS_MEDIA_TYPE, envelope: await notationEnvelope(server, DIGEST) }],
      DIGEST,
      parsed,
      new Date(),
    );
    expect(verdict).toEqual({
      verified: false,
      reason: 'its signing certificate is not for code signing (extended key usage 1.3.6.1.5.5.7.3.1)',
    });
  });

  describe('COSE_Sign1 envelopes (specs/signature-envelope-cose.md, RFC 9052)', () => {
    const cose = (o: EnvelopeOptions = {}, signer = pki) =>
      check(signer, { identities: [WABBIT] }, { format: 'cose', ...o }, { mediaType: COSE_MEDIA_TYPE });

    it('passes a COSE signature by the trusted identity, with the same checks as JWS', async () => {
      expect(await cose()).toMatchObject({ verified: true, signer: expect.stringContaining('O=wabbit-networks.io') });
      expect(await cose({ tamper: true })).toEqual({
        verified: false,
        reason: 'its signature does not verify with its signing certificate (the envelope or payload was altered)',
      });
      expect(await cose({ payloadDigest: OTHER })).toEqual({ verified: false, reason: `it signs another image (${OTHER})` });
      expect(await cose({ expiry: '2020-01-01T00:00:00Z' })).toEqual({
        verified: false,
        reason: 'it expired at 2020-01-01T00:00:00Z',
      });
      expect((await cose({}, stranger)).verified).toBe(false);
    });

    it('refuses a JWS blob labelled COSE, and a COSE blob labelled JWS', async () => {
      expect(await check(pki, { identities: [WABBIT] }, {}, { mediaType: COSE_MEDIA_TYPE })).toEqual({
        verified: false,
        reason: 'its COSE envelope is not CBOR',
      });
      expect(await check(pki, { identities: [WABBIT] }, { format: 'cose' })).toEqual({
        verified: false,
        reason: 'its JWS envelope is not JSON',
      });
    });
  });

  it("says when there is no signature, and names an envelope type that is not the Notary Project's", async () => {
    const parsed = parseNotationPolicy({ trustedRoots: pki.rootPem, identities: ['*'] });
    if ('error' in parsed) throw new Error(parsed.error);
    expect(await verifyNotationSignatures([], DIGEST, parsed, new Date())).toEqual({
      verified: false,
      reason: 'it has no Notation signature',
    });
    expect(await check(pki, { identities: ['*'] }, {}, { mediaType: 'application/octet-stream' })).toEqual({
      verified: false,
      reason:
        'its envelope type application/octet-stream is not a Notary Project envelope (application/jose+json or application/cose)',
    });
  });

  describe('AWS Signer (notary.x509.signingAuthority, signing profile)', () => {
    const version = `${PROFILE}/IrwHQeF7XW`;
    const awsCheck = (policy: Partial<NotationPolicy>, o: EnvelopeOptions = {}) =>
      (async () => {
        const parsed = parseNotationPolicy({ trustedRoots: aws.rootPem, ...policy });
        if ('error' in parsed) throw new Error(parsed.error);
        return verifyNotationSignatures(
          [{ manifestDigest: 'sha256:sig', mediaType: JWS_MEDIA_TYPE, envelope: await notationEnvelope(aws, DIGEST, o) }],
          DIGEST,
          parsed,
          new Date(),
        );
      })();

    it('passes the signing profile, by profile ARN (any version, any case) or by version ARN', async () => {
      expect(await awsCheck({ signingProfileArn: PROFILE }, { awsProfileVersion: version })).toEqual({
        verified: true,
        signer: version,
      });
      expect(
        await awsCheck(
          { signingProfileArn: PROFILE.toUpperCase().replace('ARN:AWS', 'arn:aws') },
          { awsProfileVersion: version },
        ),
      ).toMatchObject({
        verified: true,
      });
      expect(await awsCheck({ signingProfileArn: version }, { awsProfileVersion: version })).toMatchObject({ verified: true });
    });

    it("refuses another signing profile, and a signature outside the certificates' validity at its authentic time", async () => {
      expect(await awsCheck({ signingProfileArn: PROFILE }, { awsProfileVersion: `${PROFILE}_other/IrwHQeF7XW` })).toEqual({
        verified: false,
        reason: `it is signed by signing profile ${PROFILE}_other/IrwHQeF7XW, not ${PROFILE}`,
      });
      const old = await awsCheck(
        { signingProfileArn: PROFILE },
        { awsProfileVersion: version, authenticSigningTime: '2021-06-01T00:00:00Z' },
      );
      expect(old.verified || old.reason).toMatch(
        /^certificate .* is not valid at its authentic signing time 2021-06-01T00:00:00.000Z/,
      );
    });

    it('tells a user with x509 identities that an AWS Signer signature needs signingProfileArn, and the reverse', async () => {
      expect(await awsCheck({ identities: ['*'] }, { awsProfileVersion: version })).toEqual({
        verified: false,
        reason:
          'it is signed by a signing authority (notary.x509.signingAuthority, plugin com.amazonaws.signer.notation.plugin); for AWS Signer set verify.notation.signingProfileArn',
      });
      expect(await awsCheck({ signingProfileArn: PROFILE })).toMatchObject({
        verified: false,
        reason: expect.stringContaining('not by a signing authority such as AWS Signer'),
      });
    });
  });

  it('parses trusted identities as the trust policy spec writes them, refusing incomplete ones', () => {
    expect(parseTrustedIdentity('x509.subject: C=US, ST=WA, O=wabbit\\, inc., OU=org1')).toEqual({
      rdn: new Map([
        ['C', ['US']],
        ['ST', ['WA']],
        ['O', ['wabbit, inc.']],
        ['OU', ['org1']],
      ]),
    });
    expect(parseTrustedIdentity('x509.subject: C=US, O=wabbit')).toEqual({
      error: 'trusted identity "x509.subject: C=US, O=wabbit" lacks ST: the Notary Project requires at least C, ST and O',
    });
    expect(parseTrustedIdentity('C=US, ST=WA, O=x')).toMatchObject({ error: expect.stringContaining('is not "x509.subject:') });
    expect(parseNotationPolicy({ trustedRoots: 'nope', identities: ['*'] })).toEqual({
      error: 'verify.notation.trustedRoots holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")',
    });
  });
});
