/**
 * cosign signature checks (src/core/pipeline/cosign-verify.ts) on payloads signed in the test with
 * throwaway P-256 keys, shaped as sigstore/cosign specs/SIGNATURE_SPEC.md defines them
 * (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md, "Simple Signing" and
 * "Signature Schemes"); the digest rule is pkg/cosign/verifiers.go SimpleClaimVerifier's.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCosignKey, signatureTag, verifyCosignSignatures } from '../../src/core/pipeline/cosign-verify.ts';
import { cosignKeys, simpleSigningPayload } from '../support/cosign.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const keys = cosignKeys();
const stranger = cosignKeys();

function signed(payload: string, key = keys.privateKey) {
  return { payload: Buffer.from(payload), signature: sign('sha256', Buffer.from(payload), key).toString('base64') };
}

describe('verifyCosignSignatures', () => {
  it('accepts a payload for the digest signed with the key', () => {
    expect(verifyCosignSignatures([signed(simpleSigningPayload(DIGEST))], DIGEST, keys.publicKey)).toEqual({ verified: true });
  });

  it('refuses an unsigned image, another key, a tampered payload, and a payload for another digest', () => {
    expect(verifyCosignSignatures([], DIGEST, keys.publicKey)).toEqual({ verified: false, reason: 'it has no cosign signature' });
    expect(verifyCosignSignatures([signed(simpleSigningPayload(DIGEST), stranger.privateKey)], DIGEST, keys.publicKey)).toEqual({
      verified: false,
      reason: 'not made with the configured key (or its payload was altered)',
    });
    const tampered = { ...signed(simpleSigningPayload(OTHER)), payload: Buffer.from(simpleSigningPayload(DIGEST)) };
    expect(verifyCosignSignatures([tampered], DIGEST, keys.publicKey)).toMatchObject({
      verified: false,
      reason: 'not made with the configured key (or its payload was altered)',
    });
    expect(verifyCosignSignatures([signed(simpleSigningPayload(OTHER))], DIGEST, keys.publicKey)).toEqual({
      verified: false,
      reason: `signed with the key, but for another image (${OTHER})`,
    });
  });

  it('passes when any one signature holds, and names each failure otherwise', () => {
    const good = signed(simpleSigningPayload(DIGEST));
    const foreign = signed(simpleSigningPayload(DIGEST), stranger.privateKey);
    expect(verifyCosignSignatures([foreign, good], DIGEST, keys.publicKey)).toEqual({ verified: true });
    expect(verifyCosignSignatures([foreign, { payload: good.payload, signature: undefined }], DIGEST, keys.publicKey)).toEqual({
      verified: false,
      reason:
        'signature 1: not made with the configured key (or its payload was altered); signature 2: the layer has no dev.cosignproject.cosign/signature annotation',
    });
  });

  it("reads the payload's keys case-insensitively, as Go's encoding/json does (the spec's example writes Docker-manifest-digest)", () => {
    const payload = JSON.stringify({
      critical: {
        identity: { 'docker-reference': 'x' },
        image: { 'Docker-manifest-digest': DIGEST },
        type: 'cosign container image signature',
      },
    });
    expect(verifyCosignSignatures([signed(payload)], DIGEST, keys.publicKey)).toEqual({ verified: true });
  });

  it('refuses a signed payload that is not a cosign simple signing claim', () => {
    const wrongType = JSON.stringify({
      critical: { image: { 'docker-manifest-digest': DIGEST }, type: 'atomic container signature' },
    });
    expect(verifyCosignSignatures([signed(wrongType)], DIGEST, keys.publicKey)).toEqual({
      verified: false,
      reason: `the payload's critical.type is "atomic container signature", expected "cosign container image signature"`,
    });
    expect(verifyCosignSignatures([signed('not json')], DIGEST, keys.publicKey)).toMatchObject({
      reason: 'the payload is not JSON (expected a simple signing payload)',
    });
    const noDigest = JSON.stringify({ critical: { type: 'cosign container image signature' } });
    expect(verifyCosignSignatures([signed(noDigest)], DIGEST, keys.publicKey)).toMatchObject({
      reason: 'signed with the key, but for another image (no digest in the payload)',
    });
  });
});

describe('parseCosignKey and signatureTag', () => {
  it('takes an ECDSA P-256 PEM key and refuses anything else, saying what it got', () => {
    expect('key' in parseCosignKey(keys.publicPem)).toBe(true);
    expect(parseCosignKey('not a key')).toEqual({
      error: 'verify.cosign.key is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as in cosign.pub)',
    });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(parseCosignKey(rsa)).toEqual({
      error: 'verify.cosign.key is a rsa key; expected an ECDSA P-256 key (what `cosign generate-key-pair` writes)',
    });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(parseCosignKey(p384)).toMatchObject({ error: expect.stringContaining('is a ec secp384r1 key') });
  });

  it("names the .sig tag as the spec's Tag-based Discovery does", () => {
    // SIGNATURE_SPEC.md's own example: sha256:97fc… -> sha256-97fc….sig
    const digest = 'sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36';
    expect(signatureTag(digest)).toBe('sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36.sig');
  });
});
