/**
 * The ImageRegistry port on AWS: ECR through its API (DescribeImages, with the function's role),
 * GHCR and Docker Hub through the OCI distribution API (src/registry/oci-digest.ts), with the
 * credentials of the service's image.pullSecret from Secrets Manager when one is named.
 */
import type { ImageRef } from '../core/model/deployment.ts';
import type { ImageRegistry } from '../core/ports.ts';
import type { OciDigestClient } from '../registry/oci-digest.ts';
import type { EcrRegistry } from './ecr-registry.ts';
import type { PullSecrets } from './pull-secrets.ts';

export class AwsImageRegistry implements ImageRegistry {
  private readonly ecr: EcrRegistry;
  private readonly oci: OciDigestClient;
  private readonly secrets: PullSecrets;
  constructor(deps: { ecr: EcrRegistry; oci: OciDigestClient; secrets: PullSecrets }) {
    this.ecr = deps.ecr;
    this.oci = deps.oci;
    this.secrets = deps.secrets;
  }

  async resolveDigest(image: Pick<ImageRef, 'registry' | 'repository' | 'tag'>, pullSecret?: string): Promise<string> {
    // ECR answers to the function's role; a pull secret has no meaning there.
    if (image.registry === 'ecr') return this.ecr.resolveDigest(image.repository, image.tag);
    const credentials = pullSecret ? await this.secrets.read(pullSecret) : undefined;
    return this.oci.resolve(image.registry, image.repository, image.tag, credentials);
  }
}
