/**
 * The local stand-in for "the registry announces the push". On AWS, once release.asl.json has
 * pushed an image, the registry itself tells Coconut: ECR through EventBridge, GHCR and Docker
 * Hub through their webhooks. Locally no registry is connected, so when a release execution
 * succeeds (its build ran for real or was a rehearsal) the local runtime sends that very event
 * itself — through the same entry points — and says so in the log.
 *
 * Digests: on AWS a release without a digest (Docker Hub pushes, git tags) is resolved against
 * the real registry before planning (src/aws/image-registry.ts). Locally no registry is
 * consulted and none is wired (Ports.registry is absent): the digests the local runtime uses are
 * DERIVED — `coconut push` and the GHCR announcement below hash "repository:tag", the ECR one
 * passes the build's — and a release without one (a Docker Hub push, a git tag) stays without
 * one, so a target that deploys by digest refuses it locally; `coconut deploy --digest` gives one.
 * No digest is invented for those: it would name no real image, and trivy (the local scan gate)
 * would then be asked to scan an image that does not exist.
 */

import type { WebhookSecrets } from '../core/handler-ports.ts';
import type { ImageRef } from '../core/model/deployment.ts';
import type { Log } from '../core/ports.ts';
import { LocalEventBus } from './bus.ts';
import { dockerhubPush, ghcrPublished, signedGithubRequest } from './webhook-payloads.ts';

export interface StandInDeps {
  bus: LocalEventBus;
  /** The local server, for the webhook entry points. */
  url: () => string;
  secrets: WebhookSecrets;
  log: Log;
}

interface ReleaseOutput {
  releaseId?: string;
  image?: ImageRef;
  build?: { Exported?: { Name: string; Value: string }[] };
}

export async function announceLocalPush(output: unknown, deps: StandInDeps): Promise<void> {
  const release = output as ReleaseOutput;
  const image = release.image;
  if (!image) {
    deps.log.warn(`local registry stand-in: release ${release.releaseId ?? '?'} has no image in its output; nothing announced`);
    return;
  }
  const exported = new Map((release.build?.Exported ?? []).map((v) => [v.Name, v.Value]));
  const rehearsal = exported.get('COCONUT_REHEARSAL') === 'true';
  const digest = exported.get('COCONUT_IMAGE_DIGEST') || undefined;
  deps.log.info(
    `local registry stand-in: announcing the push of ${image.repository}:${image.tag} as ${image.registry} would${
      rehearsal ? ' (the image build was a REHEARSAL: no image was built or pushed)' : ''
    }`,
    { releaseId: release.releaseId, registry: image.registry, rehearsal },
  );
  switch (image.registry) {
    case 'ecr': {
      const event = LocalEventBus.toEvent({
        Source: 'aws.ecr',
        DetailType: 'ECR Image Action',
        Detail: JSON.stringify({
          'action-type': 'PUSH',
          result: 'SUCCESS',
          'repository-name': image.repository,
          'image-tag': image.tag,
          ...(digest ? { 'image-digest': digest } : {}),
        }),
      });
      await deps.bus.publish(event);
      return;
    }
    case 'ghcr': {
      const secret = deps.secrets.githubWebhookSecret;
      if (!secret) return deps.log.warn('local registry stand-in: no GitHub webhook secret; GHCR push not announced');
      const [owner = '', ...rest] = image.repository.split('/');
      const payload = ghcrPublished({
        owner,
        name: rest.join('/'),
        tag: image.tag,
        sender: 'coconut-local',
        ...(digest ? { digest } : {}),
      });
      const request = await signedGithubRequest(secret, 'registry_package', payload);
      await post(deps, '/webhooks/github', request);
      return;
    }
    case 'dockerhub': {
      const token = deps.secrets.dockerhubToken;
      if (!token) return deps.log.warn('local registry stand-in: no Docker Hub token; Docker Hub push not announced');
      const body = JSON.stringify(dockerhubPush({ repository: image.repository, tag: image.tag, pusher: 'coconut-local' }));
      await post(deps, `/webhooks/dockerhub/${encodeURIComponent(token)}`, {
        headers: { 'content-type': 'application/json' },
        body,
      });
      return;
    }
  }
}

async function post(deps: StandInDeps, route: string, request: { headers: Record<string, string>; body: string }) {
  const res = await fetch(`${deps.url()}${route}`, { method: 'POST', headers: request.headers, body: request.body });
  const text = await res.text();
  if (!res.ok) deps.log.warn(`local registry stand-in: the webhook answered HTTP ${res.status}: ${text.slice(0, 300)}`);
}
