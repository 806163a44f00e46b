/**
 * POST /slack/interactions: Slack's Approve / Reject clicks. Public on the HTTP API (no JWT):
 * the Slack signature over the raw body is checked first, before anything is parsed
 * (commons/slack-signature.ts); then the click is decided (src/aws/slack/interactions.ts, which
 * calls core decideApproval) and answered.
 * Slack wants an answer within 3 s. The decision is a few small calls (store reads and one
 * conditional write, SendTask*, one Slack call on the quick Slack profile, whose timeout and
 * budget bound it), so it all finishes BEFORE the answer: Lambda freezes a function once it has
 * answered, and work left running then may never finish — a decision recorded as APPROVED with
 * the deployment never resumed. Should it still run past the budget, Slack shows the clicker a
 * timeout ("Otherwise, the user will see the timeout error on Slack":
 * https://docs.slack.dev/tools/java-slack-sdk/guides/interactive-components), but the decision
 * is complete (recorded, resumed, message updated) and the log says so; a repeated request
 * decides nothing twice (replay check in the signature middleware, conditional write in
 * decideApproval).
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { awsPortsWith } from '../src/aws/ports.ts';
import { optionalSecret } from '../src/aws/secrets.ts';
import { handleSlackClick } from '../src/aws/slack/interactions.ts';
import type { PortsProvider } from '../src/core/handler-ports.ts';
import { type HttpEvent, type HttpResult, jsonErrors, rawBody } from './commons/http.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { logErrors } from './commons/middleware.ts';
import { emptyAnswer, slackSignature, textAnswer } from './commons/slack-signature.ts';

/** Slack counts 3 s from its side; the network takes some of it. */
export const ANSWER_BUDGET_MS = 2500;

export function createSlackInteractionsHandler(ports: PortsProvider) {
  // The budget counts from the request, signature check included; per event, since one handler
  // answers concurrent requests (locally, and in tests).
  const arrived = new WeakMap<HttpEvent, number>();
  return middy<HttpEvent, HttpResult>()
    .before((request) => {
      arrived.set(request.event, Date.now());
    })
    .use(logErrors(ports, 'slack-interactions'))
    .use(httpHeaderNormalizer())
    .use(jsonErrors())
    .use(slackSignature(ports))
    .handler(async (event) => {
      const p = await ports();
      const outcome = await handleSlackClick(p, rawBody(event));
      if (outcome.kind === 'invalid') return textAnswer(400, outcome.problem);
      if (outcome.kind === 'ignored') return emptyAnswer(200);
      const elapsed = Date.now() - (arrived.get(event) ?? Date.now());
      if (elapsed > ANSWER_BUDGET_MS) {
        p.log.warn(
          `answered a Slack click after ${elapsed} ms (over the ${ANSWER_BUDGET_MS} ms budget): Slack may show the clicker a timeout, but the decision was completed before answering`,
        );
      } else p.log.debug(`answered a Slack click in ${elapsed} ms`);
      return emptyAnswer(200);
    });
}

// Slack (optional) from the sst.Secrets linked to this function (infra/function-manifest.ts).
export const handler = onLambda(
  createSlackInteractionsHandler(
    awsPortsWith(() => ({ botToken: optionalSecret('SlackBotToken'), signingSecret: optionalSecret('SlackSigningSecret') })),
  ),
);
