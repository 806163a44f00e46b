/**
 * Opening a Notary Project JWS envelope (notaryproject/specifications
 * specs/signature-envelope-jws.md): flattened JWS JSON with exactly payload, protected, header and
 * signature; the chain in the unprotected `x5c` (base64 DER, leaf first); times as RFC 3339
 * strings. The signature itself is checked by `jose` (flattenedVerify), which also enforces RFC 7515
 * `crit` processing.
 */
import { X509Certificate } from 'node:crypto';
import { flattenedVerify } from 'jose';
import type { Opened } from './notation-envelope.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function openJws(envelope: Uint8Array): Opened {
  let jws: Record<string, unknown>;
  try {
    jws = JSON.parse(Buffer.from(envelope).toString('utf8')) as Record<string, unknown>;
  } catch {
    return { error: 'its JWS envelope is not JSON' };
  }
  const extra = Object.keys(jws ?? {}).filter((k) => !['payload', 'protected', 'header', 'signature'].includes(k));
  if (
    !jws ||
    typeof jws !== 'object' ||
    extra.length > 0 ||
    typeof jws.protected !== 'string' ||
    typeof jws.payload !== 'string'
  ) {
    return { error: 'its envelope is not a flattened JWS JSON (payload, protected, header, signature only)' };
  }
  let headers: Record<string, unknown>;
  try {
    headers = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (!headers || typeof headers !== 'object' || Array.isArray(headers)) throw new Error('not an object');
  } catch {
    return { error: 'its protected header is not base64url JSON' };
  }
  const header = (jws.header ?? {}) as Record<string, unknown>;
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c) => typeof c === 'string')) {
    return { error: 'its envelope has no certificate chain (x5c)' };
  }
  let chain: X509Certificate[];
  try {
    chain = x5c.map((c) => new X509Certificate(Buffer.from(c as string, 'base64')));
  } catch {
    return { error: 'a certificate in its x5c chain cannot be parsed' };
  }
  const flattened = { payload: jws.payload, protected: jws.protected, header, signature: String(jws.signature ?? '') };
  return {
    headers,
    chain,
    time: (name) => {
      const value = headers[name];
      if (typeof value !== 'string' || !RFC3339.test(value)) return undefined;
      const date = new Date(value);
      return Number.isNaN(date.getTime()) ? undefined : date;
    },
    verify: async (key, alg, crit) => {
      try {
        const result = await flattenedVerify(flattened as Parameters<typeof flattenedVerify>[0], key, {
          algorithms: [alg],
          crit: Object.fromEntries(crit.map((c) => [c, true])),
        });
        return result.payload;
      } catch {
        return undefined;
      }
    },
  };
}
