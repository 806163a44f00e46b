/**
 * POST /slack/interactions: Slack's Approve / Reject clicks. Public on the HTTP API (no JWT):
 * the Slack signature over the raw body is checked first, before anything is parsed.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { withRequestIds } from '../src/aws/json-log.ts';
import { awsPortsWith } from '../src/aws/ports.ts';
import { optionalSecret } from '../src/aws/secrets.ts';
import { handleSlackInteraction } from '../src/aws/slack/interactions.ts';
import { type HttpEvent, type HttpResult, jsonErrors, rawBody } from './commons/http.ts';
import { logErrors } from './commons/middleware.ts';
import type { PortsProvider } from './commons/ports.ts';

export function createSlackInteractionsHandler(ports: PortsProvider) {
  return middy<HttpEvent, HttpResult>()
    .use(logErrors(ports, 'slack-interactions'))
    .use(httpHeaderNormalizer())
    .use(jsonErrors())
    .handler(async (event) => handleSlackInteraction(await ports(), { headers: event.headers ?? {}, body: rawBody(event) }));
}

// Slack (optional) from the sst.Secrets linked to this function (infra/function-manifest.ts).
export const handler = withRequestIds(
  createSlackInteractionsHandler(
    awsPortsWith(() => ({ botToken: optionalSecret('SlackBotToken'), signingSecret: optionalSecret('SlackSigningSecret') })),
  ),
);
