/**
 * Opening a Notary Project COSE envelope (notaryproject/specifications
 * specs/signature-envelope-cose.md; RFC 9052 COSE_Sign1): a COSE_Sign1_Tagged item, tag 18,
 * [protected: bstr of a map, unprotected: map, payload: bstr, signature: bstr]. Protected labels:
 * 1 alg (ES256 -7, ES384 -35, ES512 -36, PS256 -37, PS384 -38, PS512 -39), 2 crit, 3 content type,
 * and the io.cncf.notary.* attributes by name, times as epoch date/times (CBOR tag 1). The chain is
 * label 33 x5chain (DER bstr(s), leaf first), unprotected or protected. The signature is over the
 * CBOR of Sig_structure ["Signature1", protected bytes, h'', payload]: ECDSA as r||s (RFC 9053 2.1),
 * RSASSA-PSS with the salt as long as the hash (RFC 8230 2). CBOR by cbor2 (pure JS: no native
 * add-on, whose platform packages an npm mirror may lack).
 */
import { constants, type KeyObject, verify, X509Certificate } from 'node:crypto';
import { decode, encode, Tag } from 'cbor2';
import type { Opened } from './notation-envelope.ts';

const COSE_ALGS: Record<number, string> = {
  [-7]: 'ES256',
  [-35]: 'ES384',
  [-36]: 'ES512',
  [-37]: 'PS256',
  [-38]: 'PS384',
  [-39]: 'PS512',
};
const HASH_BYTES: Record<string, number> = { '256': 32, '384': 48, '512': 64 };
// Maps stay Maps (integer labels), byte strings stay bytes: nothing is read as a JS object.
const decoder = { decode: (bytes: Uint8Array) => decode(bytes, { preferMap: true }) };

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

export function openCose(envelope: Uint8Array): Opened {
  let item: unknown;
  try {
    item = decoder.decode(new Uint8Array(envelope));
  } catch {
    return { error: 'its COSE envelope is not CBOR' };
  }
  const parts = item instanceof Tag && Number(item.tag) === 18 ? item.contents : undefined;
  if (!Array.isArray(parts) || parts.length !== 4)
    return { error: 'its envelope is not a COSE_Sign1_Tagged item (tag 18, 4 parts)' };
  const [protectedBytes, unprotected, payload, signature] = parts as unknown[];
  if (!isBytes(protectedBytes) || !(unprotected instanceof Map) || !isBytes(signature)) {
    return { error: 'its COSE_Sign1 parts are not [bstr, map, bstr, bstr]' };
  }
  if (!isBytes(payload)) return { error: 'its COSE payload is detached (nil): a Notary Project signature carries it' };
  let protectedMap: unknown;
  try {
    protectedMap = decoder.decode(new Uint8Array(protectedBytes));
  } catch {
    return { error: 'its COSE protected header is not CBOR' };
  }
  if (!(protectedMap instanceof Map)) return { error: 'its COSE protected header is not a map' };

  const headers: Record<string, unknown> = {};
  for (const [label, value] of protectedMap) {
    if (label === 1) headers.alg = typeof value === 'number' ? (COSE_ALGS[value] ?? `COSE alg ${value}`) : value;
    else if (label === 2) headers.crit = value;
    else if (label === 3) headers.cty = value;
    else if (typeof label === 'string') headers[label] = value;
  }
  const x5chain = protectedMap.get(33) ?? unprotected.get(33);
  const ders = isBytes(x5chain) ? [x5chain] : Array.isArray(x5chain) && x5chain.every(isBytes) ? x5chain : undefined;
  if (!ders || ders.length === 0) return { error: 'its envelope has no certificate chain (x5chain, label 33)' };
  let chain: X509Certificate[];
  try {
    chain = ders.map((der) => new X509Certificate(Buffer.from(der)));
  } catch {
    return { error: 'a certificate in its x5chain cannot be parsed' };
  }
  return {
    headers,
    chain,
    time: (name) => {
      const value = headers[name];
      return value instanceof Date && !Number.isNaN(value.getTime()) ? value : undefined;
    },
    verify: async (key: KeyObject, alg: string) => {
      const bits = alg.slice(2);
      const hash = `sha${bits}`;
      // Sig_structure (RFC 9052 4.4): byte strings as plain Uint8Array, so nothing is tagged as a typed array.
      const toBeSigned = encode(['Signature1', new Uint8Array(protectedBytes), new Uint8Array(0), new Uint8Array(payload)]);
      const options = alg.startsWith('PS')
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[bits] }
        : { key, dsaEncoding: 'ieee-p1363' as const };
      try {
        return verify(hash, toBeSigned, options, Buffer.from(signature)) ? payload : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
