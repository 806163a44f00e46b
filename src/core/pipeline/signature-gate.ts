/**
 * The signed-image gate: in each environment of a service with `verify:`, before anything else
 * (after the scan gate, before approval), the image digest's cosign signatures are fetched from
 * its registry and checked against the configured public key (./cosign-verify.ts), its Sigstore
 * bundles against the configured identity and issuer (keyless, ./cosign-keyless-gate.ts), or its
 * Notation signatures against the trusted roots and identities (./notation-gate.ts). An unsigned or
 * wrongly signed image stops the deployment there, as the scan gate does: the stage is FAILED
 * naming the digest and why, later environments are SKIPPED, nothing was changed on the target.
 * A signature is about a digest, never a tag (a tag can be moved): an image without a digest is
 * refused, and so is one whose signatures could not be fetched.
 */

import { NotFoundError } from '../model/errors.ts';
import { ERRORS } from '../model/failure.ts';
import type { ImageSignatures } from '../ports.ts';
import { describeKeylessPolicy, type KeylessCosignPolicy, runKeylessGate } from './cosign-keyless-gate.ts';
import { parseCosignKey, signatureTag, verifyCosignSignatures } from './cosign-verify.ts';
import { runNotationCheck } from './notation-gate.ts';
import type { NotationPolicy } from './notation-verify.ts';
import { type Outcome, recordFailed, type StageDeps, type StageRef } from './stage-steps.ts';

/** What the plan hands the gate (PlanEnvironment.verify). */
export interface VerifyPolicy {
  /** A public key (PEM), or keyless: who must have signed and, optionally, a trusted root (JSON text). */
  cosign?: { key: string } | KeylessCosignPolicy | undefined;
  /** Notation: trusted roots (PEM) and identities or an AWS Signer profile (./notation-gate.ts). */
  notation?: NotationPolicy | undefined;
  /** The service's image.pullSecret, for private repositories. */
  pullSecret?: string | undefined;
}

export interface SignatureGateResult {
  passed: boolean;
  digest?: string;
  outcome?: Outcome;
}

export async function runSignatureGate(
  deps: StageDeps & { signatures?: ImageSignatures | undefined },
  ref: StageRef,
  policy: VerifyPolicy,
): Promise<SignatureGateResult> {
  const deployment = await deps.store.getDeployment(ref.deploymentId);
  if (!deployment) throw new NotFoundError(`deployment ${ref.deploymentId} has no record`);
  const image = deployment.image;
  const name = `${image.registry} image ${image.repository}`;
  const refuse = async (reason: string, digest?: string): Promise<SignatureGateResult> => {
    const outcome = await recordFailed(deps, ref, { Error: ERRORS.signatureInvalid, Cause: reason }, 'verify');
    return { passed: false, ...(digest ? { digest } : {}), outcome };
  };

  const digest = image.digest;
  if (!digest) {
    return refuse(
      `verify: is set for ${ref.service}, but ${name}:${image.tag} has no known digest; signatures are checked on a digest, never a tag: refused`,
    );
  }
  if (policy.notation) return runNotationCheck(deps, ref, policy.notation, { ...image, digest }, policy.pullSecret, refuse);
  if (!policy.cosign) return refuse(`${name}@${digest} cannot be verified: verify: names neither cosign nor notation`, digest);
  if (!('key' in policy.cosign)) {
    const problem = await runKeylessGate(deps.signatures, { ...image, digest }, policy.cosign, policy.pullSecret);
    if (problem) return refuse(`${name}@${digest} ${problem}`, digest);
    deps.log.info(
      `signature gate passed: ${image.repository}@${digest} for ${ref.environment} (cosign keyless, ${describeKeylessPolicy(policy.cosign)})`,
      { deploymentId: ref.deploymentId, environment: ref.environment },
    );
    return { passed: true, digest };
  }
  const parsed = parseCosignKey(policy.cosign.key);
  if ('error' in parsed) return refuse(`${name}@${digest} cannot be verified: ${parsed.error}`, digest);
  if (!deps.signatures) {
    return refuse(
      `${name}@${digest} cannot be verified: this runtime has no registry client for ${image.registry} signatures; refused, an unverified image is never deployed as signed`,
      digest,
    );
  }
  let stored: Awaited<ReturnType<ImageSignatures['cosignSignatures']>>;
  try {
    stored = await deps.signatures.cosignSignatures({ ...image, digest }, policy.pullSecret);
  } catch (error) {
    return refuse(
      `${name}@${digest}: its signatures (${signatureTag(digest)}) could not be fetched: ${(error as Error).message}`,
      digest,
    );
  }
  const verdict = verifyCosignSignatures(stored, digest, parsed.key);
  if (!verdict.verified) {
    return refuse(`${name}@${digest} is not signed with the key in verify.cosign.key: ${verdict.reason}`, digest);
  }
  deps.log.info(`signature gate passed: ${image.repository}@${digest} for ${ref.environment} (cosign, key)`, {
    deploymentId: ref.deploymentId,
    environment: ref.environment,
  });
  return { passed: true, digest };
}
