/**
 * Helm, Copilot and ECS targets deploy by digest, never by a mutable tag, and the execution
 * name includes the digest (the same tag pushed with new content is a new deployment). Docker
 * Hub's webhook carries no digest, nor does a git tag, nor (sometimes) a GHCR event: before
 * anything is planned the digest is asked of the registry. When it cannot be had, nothing is
 * planned or started and the error names the image and why.
 */
import type { ServiceConfig } from '../config/schema.ts';
import type { ImageRef } from '../model/deployment.ts';
import { DigestUnresolvedError } from '../model/errors.ts';
import { isValidDigest } from '../model/oci.ts';
import type { ImageRegistry, Log } from '../ports.ts';

export interface DigestDeps {
  /** Absent: images stay as the event gave them (test doubles that wire no registry). */
  registry?: ImageRegistry | undefined;
  log: Log;
}

/** The image with its digest: the event's, else the registry's. */
export async function withDigest(image: ImageRef, services: ServiceConfig[], deps: DigestDeps, why: string): Promise<ImageRef> {
  if (image.digest || !deps.registry) return image;
  const what = `${image.registry} image ${image.repository}:${image.tag}`;
  // Services of one image name one secret in practice; the first one named is used.
  const pullSecret = services.find((s) => s.image.pullSecret)?.image.pullSecret;
  let digest: string;
  try {
    digest = await deps.registry.resolveDigest(
      { registry: image.registry, repository: image.repository, tag: image.tag },
      pullSecret,
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DigestUnresolvedError(
      `could not resolve the digest of ${what} (${why}), so nothing was deployed: ${reason}. ` +
        `Coconut deploys images by digest; once the registry answers, push the tag again or run \`coconut deploy ${services[0]?.name ?? 'SERVICE'} ${image.tag} --digest sha256:…\``,
    );
  }
  if (!isValidDigest(digest)) {
    throw new DigestUnresolvedError(
      `could not resolve the digest of ${what} (${why}), so nothing was deployed: the registry answered ${JSON.stringify(String(digest).slice(0, 80))}, not a digest (expected sha256:<64 hex>)`,
    );
  }
  deps.log.info(`resolved ${what} to ${digest} (${why})`, { repository: image.repository, tag: image.tag, digest });
  return { ...image, digest };
}
