/**
 * The Notation half of the signed-image gate (./signature-gate.ts): the digest's Notation
 * signatures (OCI referrers) are fetched through the ImageSignatures port and checked as
 * `notation verify` does with a trust policy (./notation-verify.ts). Refusals name the digest.
 */
import type { ImageRef } from '../model/deployment.ts';
import type { ImageSignatures } from '../ports.ts';
import { type NotationPolicy, parseNotationPolicy, verifyNotationSignatures } from './notation-verify.ts';
import type { SignatureGateResult } from './signature-gate.ts';
import type { StageDeps, StageRef } from './stage-steps.ts';

export async function runNotationCheck(
  deps: StageDeps & { signatures?: ImageSignatures | undefined },
  ref: StageRef,
  policy: NotationPolicy,
  image: ImageRef & { digest: string },
  pullSecret: string | undefined,
  refuse: (reason: string, digest?: string) => Promise<SignatureGateResult>,
): Promise<SignatureGateResult> {
  const { digest } = image;
  const name = `${image.registry} image ${image.repository}@${digest}`;
  const parsed = parseNotationPolicy(policy);
  if ('error' in parsed) return refuse(`${name} cannot be verified: ${parsed.error}`, digest);
  if (!deps.signatures) {
    return refuse(
      `${name} cannot be verified: this runtime has no registry client for ${image.registry} signatures; refused, an unverified image is never deployed as signed`,
      digest,
    );
  }
  let stored: Awaited<ReturnType<ImageSignatures['notationSignatures']>>;
  try {
    stored = await deps.signatures.notationSignatures(image, pullSecret);
  } catch (error) {
    return refuse(`${name}: its Notation signatures (referrers) could not be fetched: ${(error as Error).message}`, digest);
  }
  const verdict = await verifyNotationSignatures(stored, digest, parsed, deps.clock.now());
  const trust = policy.signingProfileArn ? `AWS Signer profile ${policy.signingProfileArn}` : 'verify.notation';
  if (!verdict.verified) return refuse(`${name} is not signed as ${trust} requires: ${verdict.reason}`, digest);
  deps.log.info(`signature gate passed: ${image.repository}@${digest} for ${ref.environment} (notation, ${verdict.signer})`, {
    deploymentId: ref.deploymentId,
    environment: ref.environment,
  });
  return { passed: true, digest };
}
