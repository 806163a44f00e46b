/**
 * What Coconut says in Slack, as Block Kit: the approval request (and its decided, expired and
 * "too late" forms), the parent message of a deployment's thread, and one reply per stage move.
 * Pure functions, so the exact blocks are tested without Slack. Buttons carry the approval id:
 * the task token never leaves the store.
 */
import type { Button, ContextBlock, KnownBlock, SectionBlock } from '@slack/types';
import { type DeploymentRecord, rehearsalLabel, type StageRecord } from '../../core/model/deployment.ts';
import { type Trigger, triggerLabel } from '../../core/model/release.ts';
import { EXECUTION_ENDED } from '../../core/pipeline/ended-approvals.ts';
import { stepLabel } from '../../core/pipeline/rollout.ts';
import type { ApprovalRecord } from '../../core/ports.ts';

export const APPROVAL_BLOCK_ID = 'coconut_approval';
export const APPROVE_ACTION = 'coconut_approve';
export const REJECT_ACTION = 'coconut_reject';

export interface SlackMessage {
  /** Notification and fallback text (screen readers, push notifications). */
  text: string;
  blocks: KnownBlock[];
}

export interface Links {
  dashboard?: string;
  execution?: string;
}

/** Slack mrkdwn treats &, < and > as control characters; event values are escaped. */
export function esc(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** A user (U…/W…) or user group (S…) id as a mention; anything else as plain text. */
export function mention(id: string): string {
  if (/^[UW][A-Z0-9]{1,20}$/.test(id)) return `<@${id}>`;
  if (/^S[A-Z0-9]{1,20}$/.test(id)) return `<!subteam^${id}>`;
  return esc(id);
}

/** Who decided: a mention when their id is a Slack user's, else their name (an ARN or ISSUER#SUB means nothing in Slack). */
function decider(approval: ApprovalRecord): string {
  const id = approval.decidedById;
  return id && /^[UW][A-Z0-9]{1,20}$/.test(id) ? mention(id) : esc(approval.decidedBy ?? 'someone');
}

/** Shown in each reader's time zone; the ISO text is the fallback. */
export function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (Number.isNaN(seconds)) return esc(iso);
  return `<!date^${seconds}^{date_short_pretty} {time}|${esc(iso)}>`;
}

function code(value: string): string {
  return `\`${esc(value).replace(/`/g, "'")}\``;
}

export function triggerText(trigger: Trigger | undefined, users: Record<string, string>, fallback: string): string {
  if (!trigger) return esc(fallback);
  const what = esc(triggerLabel(trigger));
  if (!trigger.actor) return what;
  const slackId = users[trigger.actor];
  return `${what} by ${slackId ? mention(slackId) : esc(trigger.actor)}`;
}

function linksContext(links: Links, extra: string[] = []): ContextBlock | undefined {
  const parts = [
    ...extra,
    ...(links.dashboard ? [`<${links.dashboard}|Dashboard>`] : []),
    ...(links.execution ? [`<${links.execution}|Execution>`] : []),
  ];
  if (parts.length === 0) return undefined;
  return { type: 'context', elements: [{ type: 'mrkdwn', text: parts.join('  ·  ') }] };
}

function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } };
}

function change(approval: ApprovalRecord): string {
  const step = approval.step ? ` — next step: ${esc(approval.step)}` : '';
  return `${approval.fromVersion ? code(approval.fromVersion) : '_(nothing yet)_'} → ${code(approval.version)}${step}`;
}

export interface ApprovalContext {
  approvers: string[];
  trigger: string;
  links: Links;
}

function approvalSummary(approval: ApprovalRecord, ctx: ApprovalContext): KnownBlock[] {
  return [
    { type: 'header', text: { type: 'plain_text', text: clip(`${approval.service} → ${approval.environment}`, 150) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Service*\n${esc(approval.service)}` },
        { type: 'mrkdwn', text: `*Environment*\n${esc(approval.environment)}` },
        { type: 'mrkdwn', text: `*Change*\n${change(approval)}` },
        { type: 'mrkdwn', text: `*Triggered by*\n${ctx.trigger}` },
        { type: 'mrkdwn', text: `*Approvers*\n${ctx.approvers.map(mention).join(', ') || '_none_'}` },
        { type: 'mrkdwn', text: `*Expires*\n${slackDate(approval.expiresAt)}` },
      ],
    },
  ];
}

function withContext(blocks: KnownBlock[], approval: ApprovalRecord, links: Links): KnownBlock[] {
  const context = linksContext(links, [`approval ${code(approval.approvalId)}`]);
  return context ? [...blocks, context] : blocks;
}

/** The request with Approve / Reject buttons; each button's value is the approval id. */
export function approvalRequestMessage(approval: ApprovalRecord, ctx: ApprovalContext): SlackMessage {
  const approve: Button = {
    type: 'button',
    action_id: APPROVE_ACTION,
    text: { type: 'plain_text', text: 'Approve' },
    style: 'primary',
    value: approval.approvalId,
  };
  const reject: Button = {
    type: 'button',
    action_id: REJECT_ACTION,
    text: { type: 'plain_text', text: 'Reject' },
    style: 'danger',
    value: approval.approvalId,
    confirm: {
      title: { type: 'plain_text', text: 'Reject this deployment?' },
      text: {
        type: 'plain_text',
        text: clip(`${approval.service} ${approval.version} will not reach ${approval.environment}.`, 300),
      },
      confirm: { type: 'plain_text', text: 'Reject' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
  return {
    text: `Approval needed: ${approval.service} ${approval.fromVersion ?? '(nothing yet)'} -> ${approval.version} on ${approval.environment}${approval.step ? ` (next step: ${approval.step})` : ''}`,
    blocks: withContext(
      [...approvalSummary(approval, ctx), { type: 'actions', block_id: APPROVAL_BLOCK_ID, elements: [approve, reject] }],
      approval,
      ctx.links,
    ),
  };
}

/** The request arrived after the state machine stopped waiting: nothing left to decide. */
export function approvalTooLateMessage(approval: ApprovalRecord, ctx: ApprovalContext): SlackMessage {
  return {
    text: `Approval for ${approval.service} ${approval.version} on ${approval.environment} arrived after its deadline: expired`,
    blocks: withContext(
      [
        ...approvalSummary(approval, ctx),
        section(
          `:hourglass: This approval request arrived after its deadline (${slackDate(approval.expiresAt)}). ` +
            'The deployment no longer waits for it and ends *REJECTED (expired)*; there is nothing to decide.',
        ),
      ],
      approval,
      ctx.links,
    ),
  };
}

/** The request after a decision: no buttons, who decided and when. */
export function approvalDecidedMessage(approval: ApprovalRecord, ctx: ApprovalContext): SlackMessage {
  const who = decider(approval);
  const when = approval.decidedAt ? ` ${slackDate(approval.decidedAt)}` : '';
  const comment = approval.comment ? `\n> ${esc(clip(approval.comment, 500))}` : '';
  const outcome =
    approval.status === 'APPROVED'
      ? `:white_check_mark: *Approved* by ${who}${when}`
      : approval.status === 'REJECTED'
        ? `:no_entry: *Rejected* by ${who}${when}`
        : approval.decidedBy === EXECUTION_ENDED
          ? // The execution was stopped (or timed out, or failed) while it waited: the comment says how.
            `:hourglass: *Expired*${when}: the deployment stopped waiting for it, so there is nothing to decide.`
          : `:hourglass: *Expired*${when}: nobody approved it in time, so the deployment ends *REJECTED (expired)*.`;
  const label =
    approval.status === 'EXPIRED' ? 'expired' : `${approval.status.toLowerCase()} by ${approval.decidedBy ?? 'someone'}`;
  return {
    text: `${approval.service} ${approval.version} on ${approval.environment}: ${label}`,
    blocks: withContext([...approvalSummary(approval, ctx), section(`${outcome}${comment}`)], approval, ctx.links),
  };
}

/** The parent message of a deployment's thread. */
export function threadParentMessage(deployment: DeploymentRecord, trigger: string, links: Links): SlackMessage {
  const route = deployment.environments.map(esc).join(' → ');
  const context = linksContext(links, [`deployment ${code(deployment.deploymentId)}`]);
  return {
    text: `${deployment.service} ${deployment.version}: deployment started (${deployment.environments.join(' -> ')})`,
    blocks: [
      section(
        `:coconut: *${esc(deployment.service)}* ${code(deployment.version)}: deployment started\n` +
          `${route}  ·  triggered by ${trigger}  ·  image ${code(`${deployment.image.repository}:${deployment.image.tag}`)}`,
      ),
      ...(context ? [context] : []),
    ],
  };
}

export interface StageContext {
  links: Links;
  approvers?: string[];
  /** The decided approval of this stage (for "approved by"). */
  approval?: ApprovalRecord;
  bakeSeconds?: number;
  alarms?: string[];
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

/** One thread reply for a stage that moved. */
export function stageMessage(stage: StageRecord, ctx: StageContext): SlackMessage {
  // A rollout's step beside the environment: "*prod* (canary 25%): deploying …".
  const step = stage.rollout ? ` (${stepLabel(stage.rollout.strategy, stage.rollout.percent)})` : '';
  const env = `*${esc(stage.environment)}*${step}`;
  const version = code(stage.version);
  const reason = stage.reason ? esc(clip(stage.reason, 1500)) : '';
  let line: string;
  switch (stage.state) {
    case 'AWAITING_APPROVAL':
      line = `:double_vertical_bar: ${env}: waiting for approval to deploy ${version}${stage.previousVersion ? ` (now ${code(stage.previousVersion)})` : ''}${ctx.approvers?.length ? ` — approvers ${ctx.approvers.map(mention).join(', ')}` : ''}`;
      break;
    case 'DEPLOYING': {
      const approved = ctx.approval?.status === 'APPROVED' ? ` — approved by ${decider(ctx.approval)}` : '';
      line = `:rocket: ${env}: deploying ${version}${stage.previousVersion ? ` (replacing ${code(stage.previousVersion)})` : ''}${approved}`;
      break;
    }
    case 'BAKING': {
      const watch = ctx.alarms?.length ? ` while watching ${ctx.alarms.map(code).join(', ')}` : '';
      line = `:mag: ${env}: ${version} deployed; baking${ctx.bakeSeconds !== undefined ? ` for ${duration(ctx.bakeSeconds)}` : ''}${watch}`;
      break;
    }
    case 'SUCCEEDED':
      line = `:white_check_mark: ${env}: ${version} deployed and passed its bake`;
      break;
    case 'REJECTED':
      line = `:no_entry: ${env}: ${version} not deployed — ${reason || 'rejected'}`;
      break;
    case 'ROLLING_BACK':
      line = `:leftwards_arrow_with_hook: ${env}: rolling back to ${code(stage.rolledBackTo ?? 'the last good version')}${stage.alarm ? ` — alarm *${esc(stage.alarm)}* fired` : ''}${reason ? ` (${reason})` : ''}`;
      break;
    case 'ROLLED_BACK':
      line = `:leftwards_arrow_with_hook: ${env}: rolled back to ${code(stage.rolledBackTo ?? 'the last good version')}${stage.alarm ? ` after alarm *${esc(stage.alarm)}* fired` : ''}${reason ? ` — ${reason}` : ''}`;
      break;
    case 'FAILED':
      line = `:x: ${env}: ${version} failed — ${reason || 'deployment failed'}. *Needs attention.*`;
      break;
    case 'ROLLBACK_FAILED':
      line = `:sos: ${env}: rollback failed — *needs attention*: ${reason || 'the rollback did not finish'}`;
      break;
    default:
      line = `${env}: ${stage.state.toLowerCase()}${reason ? ` — ${reason}` : ''}`;
  }
  if (stage.rehearsal) {
    line += `\n_Rehearsal only: ${esc(stage.rehearsal.tools.join(', ') || 'a tool')} not installed where Coconut runs, so ${esc(stage.rehearsal.steps.join(', '))} printed its commands and changed nothing._`;
  }
  const context = linksContext(ctx.links);
  return {
    text: `${stage.service} ${stage.version} on ${stage.environment}: ${stage.state}${stage.reason ? ` — ${stage.reason}` : ''}${stage.rehearsal ? ` (${rehearsalLabel(stage.rehearsal)})` : ''}`,
    blocks: [section(line), ...(context ? [context] : [])],
  };
}
