/**
 * What the verifier (./notation-verify.ts) needs of a Notary Project envelope, whichever format
 * it is in (./notation-jws.ts, ./notation-cose.ts): the signed attributes by name, the certificate
 * chain (leaf first), and a check of the signature that answers the payload only when it verifies.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';

export interface OpenedEnvelope {
  /**
   * Protected (signed) headers: `alg` as its JWS name (ES256…PS512), `cty`, `crit`, and the
   * string-named attributes (io.cncf.notary.*, extended attributes) as they are.
   */
  headers: Record<string, unknown>;
  /** A time attribute (signingTime, authenticSigningTime, expiry); undefined when absent or not a time. */
  time(name: string): Date | undefined;
  chain: X509Certificate[];
  /** The payload, when the signature verifies with `key` under `alg`; `crit` lists the headers understood. */
  verify(key: KeyObject, alg: string, crit: string[]): Promise<Uint8Array | undefined>;
}

export type Opened = OpenedEnvelope | { error: string };
