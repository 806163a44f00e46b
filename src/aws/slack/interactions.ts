/**
 * A click on Approve / Reject, once functions/slack-interactions.ts has checked its signature
 * (functions/commons/slack-signature.ts): the form-encoded `payload` in Slack's format, then the
 * decision through core decideApproval, which checks the approver, four eyes, expiry, and
 * records the decision once (conditional write) before it resumes the execution; then the
 * answer in Slack: the approval message is updated (chat.update); a refusal ("not an approver",
 * "already approved by X", "expired") goes only to the person who clicked (ephemeral).
 * The handler awaits all of it before answering (it says why, and what Slack's 3 s mean).
 */
import { parseSlackPayload, type SlackPayload } from '../../core/events/slack.ts';
import type { Ports } from '../../core/handler-ports.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../core/model/errors.ts';
import { type Decision, decideApproval } from '../../core/pipeline/approvals.ts';
import type { ApprovalRecord, Notifier } from '../../core/ports.ts';
import { describeSlackError } from './client.ts';
import { APPROVE_ACTION, REJECT_ACTION } from './messages.ts';

const APPROVAL_ID = /^apr-[a-f0-9]{10}$/;

/** What a verified click came to: the handler turns it into Slack's HTTP answer. */
export type ClickOutcome = { kind: 'invalid'; problem: string } | { kind: 'ignored'; type: string } | { kind: 'decided' };

/** The body exactly as received (its signature already checked). */
export async function handleSlackClick(p: Ports, body: string): Promise<ClickOutcome> {
  const payload = parseSlackPayload(body);
  if (typeof payload === 'string') return { kind: 'invalid', problem: payload };
  const action = payload.actions.find((a) => a.action_id === APPROVE_ACTION || a.action_id === REJECT_ACTION);
  if (payload.type !== 'block_actions' || !action) {
    p.log.debug(`ignored a Slack interaction of type ${payload.type}`);
    return { kind: 'ignored', type: payload.type };
  }
  if (!action.value || !APPROVAL_ID.test(action.value))
    return { kind: 'invalid', problem: 'the button value is not an approval id' };

  // Awaited in full: nothing this click starts may still be running once the answer is out.
  await decide(p, payload, action.value, action.action_id === APPROVE_ACTION ? 'approve' : 'reject').catch((error) =>
    p.log.error(`Slack interaction failed: ${(error as Error).message}`),
  );
  return { kind: 'decided' };
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
