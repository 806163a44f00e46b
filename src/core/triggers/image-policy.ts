/**
 * Which images may reach a service's environments. A push is matched against coconut.yaml
 * before anything is planned (plan.ts matchServices); every other way an image can be named —
 * a manual deploy, a rollback to what the history recorded, a history import — passes through
 * assertServiceImage, so a history line or a request cannot send another repository, or a tag
 * the service never releases, to an environment.
 */
import type { ServiceConfig } from '../config/schema.ts';
import type { ImageRef } from '../model/deployment.ts';
import { InvalidInputError } from '../model/errors.ts';

/** An image that is not one of the service's releases. */
export class ForeignImageError extends InvalidInputError {
  override name = 'ForeignImageError';
}

const REGISTRY_NAMES: Record<ImageRef['registry'], string> = {
  ecr: 'ECR',
  ghcr: 'GitHub Container Registry',
  dockerhub: 'Docker Hub',
};

/** "team/api:1.0.0 on Docker Hub", for messages. */
export function describeImage(image: Pick<ImageRef, 'registry' | 'repository' | 'tag'>): string {
  return `${image.repository}:${image.tag} on ${REGISTRY_NAMES[image.registry] ?? image.registry}`;
}

/** Why the image is not the service's, or undefined when it is. */
export function foreignImageReason(
  service: ServiceConfig,
  image: Pick<ImageRef, 'registry' | 'repository' | 'tag'>,
): string | undefined {
  const expected = `${service.name} deploys only ${service.image.repository} on ${REGISTRY_NAMES[service.image.registry]} with tags matching ${service.image.tagPattern}`;
  if (image.registry !== service.image.registry || image.repository !== service.image.repository) {
    return `image ${describeImage(image)} is not ${service.name}'s: ${expected}`;
  }
  if (!new RegExp(service.image.tagPattern).test(image.tag)) {
    return `image ${describeImage(image)}: tag "${image.tag}" does not match ${service.name}'s tagPattern (${expected})`;
  }
  return undefined;
}

/**
 * Throws ForeignImageError unless the image's registry and repository are the service's and its
 * tag matches the service's tagPattern. (`target.imageRepository` only says where the target
 * pulls that same image from — a mirror, an ECR host — so it plays no part here.)
 */
export function assertServiceImage(service: ServiceConfig, image: Pick<ImageRef, 'registry' | 'repository' | 'tag'>): void {
  const reason = foreignImageReason(service, image);
  if (reason) throw new ForeignImageError(reason);
}

/** True when a recorded image is one of the service's releases (same registry and repository). */
export function isServiceRepository(service: ServiceConfig, image: Pick<ImageRef, 'registry' | 'repository'>): boolean {
  return image.registry === service.image.registry && image.repository === service.image.repository;
}
