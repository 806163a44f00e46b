/**
 * A click on Approve / Reject, as Slack POSTs it to /slack/interactions. In order:
 *   1. the signature over the raw body (anything else: a bare 401, nothing parsed);
 *   2. the same signed request seen before: a bare 401 (an exact replay resumes nothing);
 *   3. the form-encoded `payload`, then the decision through core decideApproval, which checks
 *      the approver, four eyes, expiry, and records the decision once (conditional write)
 *      before it resumes the execution;
 *   4. the answer: the approval message is updated (chat.update); a refusal ("not an approver",
 *      "already approved by X", "expired") goes only to the person who clicked (ephemeral).
 * Slack wants an answer within 3 s. The work above is a few small calls (store reads and one
 * conditional write, SendTask*, one Slack call on the quick Slack profile, whose timeout and
 * budget bound it), so it all finishes BEFORE the answer: Lambda freezes a function once it has
 * answered, and work left running then may never finish — a decision recorded as APPROVED with
 * the deployment never resumed. Should it still run past the budget, Slack shows the clicker a
 * timeout ("Otherwise, the user will see the timeout error on Slack":
 * https://docs.slack.dev/tools/java-slack-sdk/guides/interactive-components), but the decision
 * is complete (recorded, resumed, message updated) and the log says so; a repeated request
 * decides nothing twice (replay check above, conditional write in decideApproval).
 */
import { z } from 'zod';
import type { HttpResult } from '../../../functions/commons/http.ts';
import type { Ports } from '../../../functions/commons/ports.ts';
import { type Decision, decideApproval } from '../../core/approvals.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import type { ApprovalRecord, Notifier } from '../../core/ports.ts';
import { describeSlackError } from './client.ts';
import { APPROVE_ACTION, REJECT_ACTION } from './messages.ts';
import { MAX_REQUEST_AGE_SECONDS, verifySlackRequest } from './verify-request.ts';

/** Slack counts 3 s from its side; the network takes some of it. */
export const ANSWER_BUDGET_MS = 2500;

const APPROVAL_ID = /^apr-[a-f0-9]{10}$/;

const payloadSchema = z.object({
  type: z.string(),
  user: z.object({
    id: z.string().regex(/^[UW][A-Z0-9]{1,20}$/, 'expected a Slack user id'),
    username: z.string().optional(),
    name: z.string().optional(),
  }),
  channel: z.object({ id: z.string().min(1) }).optional(),
  container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).default([]),
});

export type SlackPayload = z.output<typeof payloadSchema>;

const empty = (statusCode: number): HttpResult => ({ statusCode, body: '' });

const text = (statusCode: number, body: string): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body,
});

export interface InteractionRequest {
  headers: Record<string, string | undefined>;
  /** The body exactly as received. */
  body: string;
}

export async function handleSlackInteraction(p: Ports, req: InteractionRequest): Promise<HttpResult> {
  const started = Date.now();
  if (!p.slack) {
    return text(503, 'Slack is not configured here: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET');
  }
  const verified = verifySlackRequest(
    p.slack.signingSecret,
    { signature: req.headers['x-slack-signature'], timestamp: req.headers['x-slack-request-timestamp'], rawBody: req.body },
    p.clock.now().getTime(),
  );
  if (!verified.ok) {
    p.log.warn(`refused a Slack interaction: ${verified.reason}`);
    return empty(401);
  }
  // Past the acceptance window the timestamp check refuses it anyway; remember it that long.
  const fresh = await p.store.rememberOnce(`slack#${verified.signature}`, verified.timestamp + 2 * MAX_REQUEST_AGE_SECONDS);
  if (!fresh) {
    p.log.warn('refused a replayed Slack interaction (same signed request seen before)');
    return empty(401);
  }

  const payload = parsePayload(req.body);
  if (typeof payload === 'string') return text(400, payload);
  const action = payload.actions.find((a) => a.action_id === APPROVE_ACTION || a.action_id === REJECT_ACTION);
  if (payload.type !== 'block_actions' || !action) {
    p.log.debug(`ignored a Slack interaction of type ${payload.type}`);
    return empty(200);
  }
  if (!action.value || !APPROVAL_ID.test(action.value)) return text(400, 'the button value is not an approval id');

  // Awaited in full: nothing this click starts may still be running once the answer is out.
  await decide(p, payload, action.value, action.action_id === APPROVE_ACTION ? 'approve' : 'reject').catch((error) =>
    p.log.error(`Slack interaction failed: ${(error as Error).message}`),
  );
  const elapsed = Date.now() - started;
  if (elapsed > ANSWER_BUDGET_MS) {
    p.log.warn(
      `answered a Slack click after ${elapsed} ms (over the ${ANSWER_BUDGET_MS} ms budget): Slack may show the clicker a timeout, but the decision was completed before answering`,
    );
  } else p.log.debug(`answered a Slack click in ${elapsed} ms`);
  return empty(200);
}

function parsePayload(body: string): SlackPayload | string {
  const raw = new URLSearchParams(body).get('payload');
  if (!raw) return 'expected a form-encoded body with a "payload" field';
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return 'the "payload" field is not JSON';
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `not a Slack interaction payload: ${issue?.path.join('.') || '(payload)'}: ${issue?.message}`;
  }
  return parsed.data;
}

async function decide(p: Ports, payload: SlackPayload, approvalId: string, decision: Decision): Promise<void> {
  const slack = p.slack as NonNullable<Ports['slack']>;
  const user = payload.user;
  const channel = payload.channel?.id ?? payload.container?.channel_id;
  const clicked = channel && payload.container?.message_ts ? { channel, ts: payload.container.message_ts } : undefined;
  // The click names the message it came from: update that one even if the request's own
  // bookkeeping of it was lost.
  const notifier: Notifier = {
    approvalRequested: (a) => slack.interactiveNotifier.approvalRequested(a),
    stageChanged: (s, d) => slack.interactiveNotifier.stageChanged(s, d),
    approvalDecided: (a: ApprovalRecord) =>
      slack.interactiveNotifier.approvalDecided(a.message || !clicked ? a : { ...a, message: clicked }),
  };
  let reply: string | undefined;
  try {
    const approval = await decideApproval(
      { ...p, notifier },
      { approvalId, decision, actor: { id: user.id, name: user.name ?? user.username ?? user.id, source: 'slack' } },
    );
    p.log.info(`Slack: ${user.id} ${approval.status.toLowerCase()} ${approval.approvalId}`, { approvalId });
  } catch (error) {
    if (error instanceof ForbiddenError) reply = `:no_entry_sign: You cannot decide this: ${error.message}. Nothing changed.`;
    else if (error instanceof ConflictError || error instanceof NotFoundError) reply = `Nothing changed: ${error.message}.`;
    else {
      p.log.error(`Slack decision on ${approvalId} failed: ${(error as Error).message}`, { approvalId });
      reply = `Coconut could not complete your decision on ${approvalId} (internal error, see its logs). Try again, or use \`coconut ${decision} ${approvalId}\`.`;
    }
  }
  if (reply && channel) {
    await slack
      .ephemeral(channel, user.id, reply)
      .catch((error) => p.log.warn(`could not tell ${user.id} why: ${describeSlackError(error)}`, { approvalId }));
  }
}
