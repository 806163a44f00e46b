/**
 * The keyless branch of the signed-image gate (./signature-gate.ts): gets the trusted root (the
 * configured verify.cosign.trustedRoot, or Sigstore's public-good root through the runtime), the
 * image's Sigstore bundles from its registry, and verifies them (./cosign-keyless.ts). Returns why
 * the image is refused — a sentence that follows "<image>@<digest> " — or undefined when it passes.
 */
import type { Verifier } from '@sigstore/verify';
import { z } from 'zod';
import type { ImageRef } from '../model/deployment.ts';
import type { ImageSignatures, StoredSigstoreBundles } from '../ports.ts';
import { describeKeylessPolicy, type KeylessPolicy, parseTrustedRoot, verifyKeylessBundles } from './cosign-keyless.ts';
import { verifyLegacyKeyless } from './cosign-keyless-legacy.ts';

export { describeKeylessPolicy };

/** A keyless policy as the state machine hands it to the step (pipeline-steps.ts): who, and how to trust. */
export const keylessStepSchema = z
  .object({
    identity: z.string().min(1).optional(),
    identityRegexp: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
    issuerRegexp: z.string().min(1).optional(),
    trustedRoot: z.string().min(1).optional(),
  })
  .refine((k) => (k.identity !== undefined) !== (k.identityRegexp !== undefined), {
    message: 'expected exactly one of identity or identityRegexp',
  })
  .refine((k) => (k.issuer !== undefined) !== (k.issuerRegexp !== undefined), {
    message: 'expected exactly one of issuer or issuerRegexp',
  });

/** verify.cosign without a key, as a plan carries it. */
export type KeylessCosignPolicy = KeylessPolicy & {
  /** A Sigstore trusted_root.json (its text); absent means Sigstore's public-good instance. */
  trustedRoot?: string | undefined;
};

// Building the trust material parses every key and certificate: keep the last one per root text.
let lastRoot: { text: string; verifier: Verifier } | undefined;

async function verifierFor(
  signatures: ImageSignatures | undefined,
  policy: KeylessCosignPolicy,
): Promise<{ verifier: Verifier } | { problem: string }> {
  let text = policy.trustedRoot;
  const from = text === undefined ? "Sigstore's public-good trusted root" : 'verify.cosign.trustedRoot';
  if (text === undefined) {
    if (!signatures?.publicGoodTrustedRoot) {
      return {
        problem: `cannot be verified: this runtime cannot get ${from}; refused, an unverified image is never deployed as signed`,
      };
    }
    try {
      text = JSON.stringify(await signatures.publicGoodTrustedRoot());
    } catch (error) {
      return { problem: `cannot be verified: ${(error as Error).message}` };
    }
  }
  if (lastRoot?.text === text) return { verifier: lastRoot.verifier };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: `cannot be verified: ${from} is not JSON` };
  }
  const parsed = parseTrustedRoot(json);
  if ('error' in parsed) return { problem: `cannot be verified: ${from}: ${parsed.error}` };
  lastRoot = { text, verifier: parsed.verifier };
  return parsed;
}

export async function runKeylessGate(
  signatures: ImageSignatures | undefined,
  image: ImageRef & { digest: string },
  policy: KeylessCosignPolicy,
  pullSecret: string | undefined,
): Promise<string | undefined> {
  const who = describeKeylessPolicy(policy);
  if (!signatures?.sigstoreBundles) {
    return `cannot be verified: this runtime has no registry client for ${image.registry} Sigstore bundles; refused, an unverified image is never deployed as signed`;
  }
  const trust = await verifierFor(signatures, policy);
  if ('problem' in trust) return trust.problem;
  let stored: StoredSigstoreBundles;
  try {
    stored = await signatures.sigstoreBundles(image, pullSecret);
  } catch (error) {
    return `cannot be verified: its Sigstore bundles (the OCI referrers of ${image.digest}) could not be fetched: ${(error as Error).message}`;
  }
  if (stored.bundles.length === 0 && stored.legacy.length > 0) {
    // cosign before v3: the certificate and Rekor entry in the annotations of the .sig tag.
    const legacy = verifyLegacyKeyless(stored.legacy, image.digest, policy, trust.verifier);
    return legacy.verified ? undefined : `is not signed keyless by ${who}: ${legacy.reason}`;
  }
  const verdict = verifyKeylessBundles(stored.bundles, image.digest, policy, trust.verifier);
  return verdict.verified ? undefined : `is not signed keyless by ${who}: ${verdict.reason}`;
}
