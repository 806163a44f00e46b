/**
 * What Step Functions sends Coconut's Lambdas.
 *
 * - EventBridge "Step Functions Execution Status Change" (source aws.states), the safety net's
 *   trigger: Step Functions Developer Guide, "Automating Step Functions event delivery with
 *   EventBridge" (https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html):
 *   `detail: { executionArn, stateMachineArn, name, status, startDate, stopDate, input, output,
 *   error, cause }`, status one of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED,
 *   PENDING_REDRIVE. Delivery is best effort (EventBridge events reference, "AWS Step Functions
 *   events", https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-states.html).
 * - The approval request: the Payload deploy.asl.json's RequestApproval state gives the
 *   request-approval Lambda: the task token of its `.waitForTaskToken` integration
 *   (`$$.Task.Token`; Developer Guide, "Wait for a Callback with Task Token",
 *   https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token)
 *   and the state's `$$.State.EnteredTime` (Context object, "Accessing execution data from the
 *   Context object", https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
 */
import { z } from 'zod';

export const executionStatusChangeSchema = z.object({
  id: z.string(),
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    // Execution names are 1-80 characters (StartExecution); Coconut's are deployment ids.
    name: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'expected an execution name of 1-80 [A-Za-z0-9_-]'),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

export type ExecutionStatusChangeEvent = z.input<typeof executionStatusChangeSchema>;

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

export type ApprovalRequestEvent = z.input<typeof approvalRequestSchema>;
