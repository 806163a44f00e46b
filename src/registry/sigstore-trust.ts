/**
 * The Sigstore public-good trusted root (Fulcio CAs, Rekor and CT log keys), as cosign gets it:
 * through TUF from https://tuf-repo-cdn.sigstore.dev, starting from the TUF root embedded in
 * @sigstore/tuf (its seeds.json) and updated over the network, so key rotations reach us without a
 * Coconut release. The metadata is cached under the system's temporary folder (/tmp on Lambda,
 * the only writable path there) and the root is kept in memory for an hour per process.
 * A deployment with its own Sigstore sets verify.cosign.trustedRoot instead, and nothing is fetched.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';

const KEEP_MS = 3600_000;
let cached: { at: number; root: Promise<unknown> } | undefined;

export function publicGoodTrustedRoot(now = Date.now()): Promise<unknown> {
  if (cached && now - cached.at < KEEP_MS) return cached.root;
  const root = getTrustedRoot({ cachePath: path.join(tmpdir(), 'coconut-sigstore-tuf'), timeout: 10_000, retry: 1 })
    .then((r) => TrustedRoot.toJSON(r))
    .catch((error: unknown) => {
      cached = undefined;
      throw new Error(
        `could not get the Sigstore public-good trusted root through TUF (tuf-repo-cdn.sigstore.dev): ${(error as Error).message}; set verify.cosign.trustedRoot to a trusted_root.json to verify offline`,
      );
    });
  cached = { at: now, root };
  return root;
}
