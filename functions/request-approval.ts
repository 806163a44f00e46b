/**
 * Invoked by the approval state with .waitForTaskToken: stores the approval (the token stays
 * in the store), tells the approvers, and returns. The execution resumes when someone decides.
 */
import middy from '@middy/core';
import { awsPortsWith } from '../src/aws/ports.ts';
import { optionalSecret } from '../src/aws/secrets.ts';
import { type ApprovalRequestEvent, approvalRequestSchema } from '../src/core/events/step-functions.ts';
import type { PortsProvider } from '../src/core/handler-ports.ts';
import { requestApproval } from '../src/core/pipeline/approvals.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { logErrors, parsedAs, parseEvent } from './commons/middleware.ts';

export function createRequestApprovalHandler(ports: PortsProvider) {
  return middy<ApprovalRequestEvent, { approvalId: string }>()
    .use(logErrors(ports, 'request-approval'))
    .use(parseEvent(approvalRequestSchema, 'approval request'))
    .handler(async (event) => {
      const approval = await requestApproval(await ports(), parsedAs(approvalRequestSchema, event));
      return { approvalId: approval.approvalId };
    });
}

// Slack (optional) from the sst.Secrets linked to this function (infra/function-manifest.ts).
export const handler = onLambda(
  createRequestApprovalHandler(awsPortsWith(() => ({ botToken: optionalSecret('SlackBotToken') }))),
);
