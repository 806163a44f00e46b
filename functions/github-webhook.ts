/**
 * POST /webhooks/github: git tags (push, create), GHCR images (package, registry_package), ping.
 * Verified on the raw body before anything else (functions/commons/webhook.ts), answered once
 * per X-GitHub-Delivery, validated and matched by src/core. Nothing to do -> 202 with the reason.
 */
import { awsPorts } from '../src/aws/ports.ts';
import { secret } from '../src/aws/secrets.ts';
import { DELIVERY_ID_PATTERN, normalizeGithubEvent } from '../src/core/events/github.ts';
import { InvalidInputError } from '../src/core/model/errors.ts';
import { startDeployments } from '../src/core/triggers/start-deployment.ts';
import { startTagRelease } from '../src/core/triggers/start-release.ts';
import { type HttpEvent, type HttpResult, json } from './commons/http.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { type Ports, type PortsProvider, withSecrets } from './commons/ports.ts';
import { answerFor, DeliveryAnswers, githubSignature, header, parseJsonBody, webhookRoute } from './commons/webhook.ts';

const EVENT_NAME = /^[a-z_]{1,64}$/;

function required(event: HttpEvent, name: string, pattern: RegExp, expected: string): string {
  const value = header(event, name);
  if (!value || !pattern.test(value)) throw new InvalidInputError(`header ${name} is missing or not ${expected}`);
  return value;
}

async function handle(p: Ports, event: HttpEvent, name: string, deliveryId: string): Promise<HttpResult> {
  const outcome = normalizeGithubEvent(name, parseJsonBody(event), deliveryId, p.clock.now());
  const base = { event: name, delivery: deliveryId };
  switch (outcome.kind) {
    case 'ping':
      return json(200, { ...base, message: 'pong', ...(outcome.hookId !== undefined ? { hookId: outcome.hookId } : {}) });
    case 'ignored':
      p.log.info(`github ${name} ${deliveryId}: nothing to do: ${outcome.reason}`);
      return json(202, { ...base, outcomes: [], reason: outcome.reason });
    case 'tag':
      return answerFor(base, await startTagRelease(outcome.push, p));
    case 'registry':
      return answerFor(base, await startDeployments(outcome.release, p));
  }
}

export function createGithubWebhookHandler(ports: PortsProvider) {
  const answers = new DeliveryAnswers();
  return webhookRoute(ports, 'github-webhook', githubSignature(ports)).handler(async (event) => {
    const p = await ports();
    const deliveryId = required(event, 'x-github-delivery', DELIVERY_ID_PATTERN, 'a delivery id (GUID)');
    const name = required(event, 'x-github-event', EVENT_NAME, 'an event name like push');
    return answers.once(p, `github:${deliveryId}`, () => handle(p, event, name, deliveryId));
  });
}

// On AWS the secret is the sst.Secret linked to this function (infra/function-manifest.ts).
export const handler = onLambda(
  createGithubWebhookHandler(withSecrets(awsPorts, () => ({ githubWebhookSecret: secret('GithubWebhookSecret') }))),
);
