/**
 * What POST /slack/interactions checks before it trusts a byte, in this order (beside the GitHub
 * and Docker Hub checks in ./webhook.ts):
 *   1. Slack is configured here (503 naming the two secrets otherwise);
 *   2. X-Slack-Signature over the raw body (src/aws/slack/verify-request.ts, as Slack's bolt-js
 *      does it): anything else is a bare 401, nothing parsed;
 *   3. the same signed request seen before: a bare 401 (an exact replay resumes nothing).
 * Rejections answer at once (middy early response).
 */
import type middy from '@middy/core';
import { MAX_REQUEST_AGE_SECONDS, verifySlackRequest } from '../../src/aws/slack/verify-request.ts';
import type { PortsProvider } from '../../src/core/handler-ports.ts';
import { type HttpEvent, type HttpResult, rawBody } from './http.ts';

/** Slack reads only the status of an interaction's answer; errors carry no body to show. */
export const emptyAnswer = (statusCode: number): HttpResult => ({ statusCode, body: '' });

export const textAnswer = (statusCode: number, body: string): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body,
});

export function slackSignature(ports: PortsProvider): middy.MiddlewareObj<HttpEvent, HttpResult> {
  const slackSignatureBefore = async (request: middy.Request<HttpEvent, HttpResult>) => {
    const p = await ports();
    if (!p.slack) return textAnswer(503, 'Slack is not configured here: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET');
    // httpHeaderNormalizer lowercases names; the local server and API Gateway v2 do too.
    const headers = request.event.headers ?? {};
    const verified = verifySlackRequest(
      p.slack.signingSecret,
      {
        signature: headers['x-slack-signature'],
        timestamp: headers['x-slack-request-timestamp'],
        rawBody: rawBody(request.event),
      },
      p.clock.now().getTime(),
    );
    if (!verified.ok) {
      p.log.warn(`refused a Slack interaction: ${verified.reason}`);
      return emptyAnswer(401);
    }
    // Past the acceptance window the timestamp check refuses it anyway; remember it that long.
    const fresh = await p.store.rememberOnce(`slack#${verified.signature}`, verified.timestamp + 2 * MAX_REQUEST_AGE_SECONDS);
    if (!fresh) {
      p.log.warn('refused a replayed Slack interaction (same signed request seen before)');
      return emptyAnswer(401);
    }
    return undefined;
  };
  return { before: slackSignatureBefore };
}
