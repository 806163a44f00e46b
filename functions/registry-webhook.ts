/**
 * POST /webhooks/dockerhub/{token}: Docker Hub repository webhooks. Docker Hub signs nothing, so
 * the token in the URL is the secret (compared in constant time before the body is parsed).
 * A push of a tag deploys the services using that Docker Hub repository; others are ignored.
 * The payload carries no digest: src/core resolves it from the registry before planning. When
 * that fails the answer is 502 naming the image and why (logged as an error too) and nothing
 * starts. Docker Hub shows each delivery as successful or failed in the webhook's history and
 * documents no retry (https://docs.docker.com/docker-hub/repos/manage/webhooks/): the failed
 * delivery is the user's signal; a new push or `coconut deploy` redoes it.
 */
import { awsPorts } from '../src/aws/ports.ts';
import { secret } from '../src/aws/secrets.ts';
import { normalizeDockerhubPush } from '../src/core/events/dockerhub.ts';
import { startDeployments } from '../src/core/triggers/start-deployment.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { type PortsProvider, withSecrets } from './commons/ports.ts';
import { answerFor, parseJsonBody, pathToken, webhookRoute } from './commons/webhook.ts';

export function createRegistryWebhookHandler(ports: PortsProvider) {
  return webhookRoute(ports, 'registry-webhook', pathToken(ports)).handler(async (event) => {
    const p = await ports();
    const release = normalizeDockerhubPush(parseJsonBody(event), p.clock.now());
    // No delivery id here: the execution name (service + image) is what makes a repeat harmless.
    return answerFor({ event: 'dockerhub-push' }, await startDeployments(release, p));
  });
}

// On AWS the secret is the sst.Secret linked to this function (infra/function-manifest.ts).
export const handler = onLambda(
  createRegistryWebhookHandler(withSecrets(awsPorts, () => ({ dockerhubToken: secret('DockerhubToken') }))),
);
