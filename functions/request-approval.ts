/**
 * Invoked by the approval state with .waitForTaskToken: stores the approval (the token stays
 * in the store), tells the approvers, and returns. The execution resumes when someone decides.
 */
import middy from '@middy/core';
import { z } from 'zod';
import { withRequestIds } from '../src/aws/json-log.ts';
import { awsPortsWith } from '../src/aws/ports.ts';
import { optionalSecret } from '../src/aws/secrets.ts';
import type { PortsProvider } from '../src/core/handler-ports.ts';
import { requestApproval } from '../src/core/pipeline/approvals.ts';
import { logErrors, parsedAs, parseEvent } from './commons/middleware.ts';

export const approvalRequestSchema = z.object({
  taskToken: z.string().min(1).max(8192),
  deploymentId: z.string().min(1).max(80),
  service: z.string().min(1),
  environment: z.string().min(1),
  version: z.string().min(1),
  timeoutSeconds: z.number().int().positive(),
  /** $$.State.EnteredTime: when the wait (and its timeout) started. */
  enteredAt: z.iso.datetime({ offset: true }).optional(),
  /** Between the steps of a rollout (RequestStepApproval): the step that waits, e.g. "canary 50%". */
  step: z
    .string()
    .regex(/^(canary|linear) \d{1,3}%$/)
    .optional(),
});

export function createRequestApprovalHandler(ports: PortsProvider) {
  return middy<z.input<typeof approvalRequestSchema>, { approvalId: string }>()
    .use(logErrors(ports, 'request-approval'))
    .use(parseEvent(approvalRequestSchema, 'approval request'))
    .handler(async (event) => {
      const approval = await requestApproval(await ports(), parsedAs(approvalRequestSchema, event));
      return { approvalId: approval.approvalId };
    });
}

// Slack (optional) from the sst.Secrets linked to this function (infra/function-manifest.ts).
export const handler = withRequestIds(
  createRequestApprovalHandler(awsPortsWith(() => ({ botToken: optionalSecret('SlackBotToken') }))),
);
