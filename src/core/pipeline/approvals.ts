/**
 * Approvals: the deploy state machine waits on a task token; the token stays in the store and
 * people see only an approval id (a Slack button value is limited to 2,000 characters, a
 * token can be 2,048, and a token must never leave the service anyway).
 */
import { createHash } from 'node:crypto';
import type { CoconutConfig } from '../config/schema.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, TaskTokenExpiredError } from '../model/errors.ts';
import { ERRORS } from '../model/failure.ts';
import { approverNames, type IamPrincipal, looksLikeArn, parseApproverArn } from '../model/iam-identity.ts';
import type {
  ApprovalRecord,
  ApprovalRecords,
  Clock,
  DeploymentReader,
  EnvironmentVersions,
  Log,
  Notifier,
  Orchestrator,
  StageProgress,
  UserGroups,
} from '../ports.ts';
import { fourEyesVerdict, triggerIdentities } from './four-eyes.ts';

export interface ApprovalDeps {
  /** The deployment and what runs where are read to show the approver what changes; the stage links to it. */
  store: ApprovalRecords & DeploymentReader & StageProgress & EnvironmentVersions;
  orchestrator: Orchestrator;
  notifier: Notifier;
  clock: Clock;
  log: Log;
  config: CoconutConfig;
  /** Resolves approver user groups (Slack S… ids); without it only listed user ids may approve. */
  userGroups?: UserGroups;
}

export interface ApprovalRequest {
  taskToken: string;
  deploymentId: string;
  service: string;
  environment: string;
  version: string;
  timeoutSeconds: number;
  /**
   * When the state machine started waiting ($$.State.EnteredTime): its timeout counts from
   * there, so the expiry people see is the real one, even when this request runs late.
   */
  enteredAt?: string;
  /** Set between the steps of a rollout: the step that waits for this approval ("canary 50%"). */
  step?: string;
}

/** Short and stable for one wait: a retried request for the same token gets the same id. */
export function approvalIdFor(taskToken: string): string {
  return `apr-${createHash('sha256').update(taskToken).digest('hex').slice(0, 10)}`;
}

export async function requestApproval(deps: ApprovalDeps, req: ApprovalRequest): Promise<ApprovalRecord> {
  const approvalId = approvalIdFor(req.taskToken);
  const existing = await deps.store.getApproval(approvalId);
  if (existing) {
    // A retried invocation: post again only if the first one never got its message out.
    if (existing.status === 'PENDING' && !existing.message) await notifyRequested(deps, existing);
    return existing;
  }
  const now = deps.clock.now();
  const [envState, deployment, stage] = await Promise.all([
    deps.store.getEnvironmentState(req.service, req.environment),
    deps.store.getDeployment(req.deploymentId),
    req.step ? deps.store.getStage(req.deploymentId, req.environment) : undefined,
  ]);
  // Between steps the environment already runs the new version in part: the change is from what ran before.
  const fromVersion = req.step ? stage?.previousVersion : envState?.current?.version;
  const trigger = deployment?.trigger;
  const waitStarted = req.enteredAt && !Number.isNaN(Date.parse(req.enteredAt)) ? new Date(req.enteredAt) : now;
  const expiresAt = new Date(waitStarted.getTime() + req.timeoutSeconds * 1000);
  // The state machine has already given up on this wait: record that, offer no decision.
  const late = expiresAt.getTime() <= now.getTime();
  const approval: ApprovalRecord = {
    approvalId,
    deploymentId: req.deploymentId,
    service: req.service,
    environment: req.environment,
    version: req.version,
    ...(fromVersion ? { fromVersion } : {}),
    ...(req.step ? { step: req.step } : {}),
    taskToken: req.taskToken,
    requestedBy: trigger ? (trigger.actor ?? trigger.kind) : 'unknown',
    requestedAt: now.toISOString(),
    expiresAt: expiresAt.toISOString(),
    status: late ? 'EXPIRED' : 'PENDING',
    ...(late ? { decidedBy: 'timeout', decidedAt: now.toISOString() } : {}),
  };
  await deps.store.putApproval(approval);
  await deps.store
    .updateStage(req.deploymentId, req.environment, { state: 'AWAITING_APPROVAL', approvalId }, now)
    .catch((error) => deps.log.warn('could not link the approval to its stage', { error: String(error) }));
  if (late) {
    deps.log.warn(
      `approval ${approvalId} for ${req.service} ${req.version} on ${req.environment} arrived after its deadline (${approval.expiresAt}): expired`,
      { approvalId, deploymentId: req.deploymentId },
    );
  } else {
    deps.log.info(`${req.service} ${req.version} waits for approval to deploy to ${req.environment}: approval ${approvalId}`, {
      approvalId,
      deploymentId: req.deploymentId,
    });
  }
  if (
    !late &&
    approvalConfig(deps.config, req.service, req.environment)?.fourEyes &&
    !triggerIdentities(deps.config, trigger).size
  ) {
    // Said now rather than only at the first click: this wait cannot end in an approval.
    deps.log.warn(
      `four eyes on ${req.service}/${req.environment}: nobody can approve ${approvalId}, because Coconut cannot tell who triggered ${req.deploymentId} (${trigger ? `${trigger.kind}${trigger.actor ? ` by ${trigger.actor}, not in slack.users` : ', naming no user'}` : 'no record'}); reject it and deploy with \`coconut deploy\`, or map who pushed in slack.users`,
      { approvalId, deploymentId: req.deploymentId },
    );
  }
  await notifyRequested(deps, approval);
  return approval;
}

/** Tells people; a chat outage never fails the wait (the inbox and the API still decide it). */
async function notifyRequested(deps: ApprovalDeps, approval: ApprovalRecord): Promise<void> {
  try {
    const message = await deps.notifier.approvalRequested(approval);
    if (message) {
      approval.message = message;
      // Only the message is written: someone may have decided (CLI, dashboard) while it was
      // being posted, and then the fresh message must show that decision, not buttons.
      const stored = await deps.store.setApprovalMessage(approval.approvalId, message);
      if (stored.status !== 'PENDING' && approval.status === 'PENDING') await deps.notifier.approvalDecided(stored);
    }
  } catch (error) {
    deps.log.warn('could not post the approval request; it is still in the inbox', { error: String(error) });
  }
}

export interface Actor {
  /**
   * A stable identity: a Slack user id, a JWT user's `ISSUER#SUB` (four-eyes.ts
   * oidcIdentity), an IAM principal id (see iam-identity.ts: principalId), or a local user name.
   */
  id: string;
  /** For people to read only (an e-mail claim, a display name): never compared. */
  name?: string;
  /**
   * The Slack user id a JWT user is, as coconut.yaml `slack.users` maps their `ISSUER#SUB`:
   * what Slack-id approvers and user groups are matched against. Never taken from a token
   * claim: a user can edit their own attributes (Cognito custom attributes are writable unless
   * the app client's write attributes exclude them).
   */
  slackId?: string;
  /**
   * Where the decision came from: the local inbox trusts its operator; the others are checked
   * against the approvers. `iam`: a SigV4-signed request that API Gateway verified.
   */
  source: 'local' | 'slack' | 'dashboard' | 'iam';
  /** The verified IAM caller (source `iam` only): what IAM-ARN approvers are matched against. */
  iam?: IamPrincipal;
}

/**
 * Does this approver entry name this actor directly (a Slack user id, or an IAM ARN)? Slack
 * user groups (S…) need the workspace and are resolved by assertApprover. An ARN entry only
 * ever matches an IAM caller that API Gateway verified, never an id some token claims.
 */
export function listsActor(approver: string, actor: Actor): boolean {
  if (looksLikeArn(approver)) {
    if (actor.source !== 'iam' || !actor.iam) return false;
    const parsed = parseApproverArn(approver);
    return !('error' in parsed) && approverNames(parsed, actor.iam);
  }
  const chatId = chatIdOf(actor);
  return chatId !== undefined && approver === chatId;
}

/**
 * The Slack user id Slack-id approvers and user groups see this actor as: a Slack user's own
 * id, a JWT user's mapped id (none without a mapping), never an IAM caller's.
 */
export function chatIdOf(actor: Actor): string | undefined {
  switch (actor.source) {
    case 'slack':
    case 'local':
      return actor.id;
    case 'dashboard':
      return actor.slackId;
    case 'iam':
      return undefined;
  }
}

export function environmentApprovers(config: CoconutConfig, service: string, environment: string): string[] | undefined {
  return approvalConfig(config, service, environment)?.approvers;
}

function approvalConfig(config: CoconutConfig, service: string, environment: string) {
  return config.services.find((s) => s.name === service)?.environments.find((e) => e.name === environment)?.approval;
}

/**
 * The members of a Slack user group, each group asked once per decision (an import checks
 * every gated environment, and many name the same group). Without a chat workspace every
 * group fails to resolve.
 */
export function groupMembersOnce(userGroups: UserGroups | undefined): (group: string) => Promise<string[]> {
  const asked = new Map<string, Promise<string[]>>();
  return (group) => {
    let members = asked.get(group);
    if (!members) {
      members = userGroups ? userGroups.members(group) : Promise.reject(new Error('no chat workspace is configured'));
      // Kept as it is; each caller handles the rejection (marked handled so an unused one is not reported).
      members.catch(() => undefined);
      asked.set(group, members);
    }
    return members;
  };
}

export interface ApproverCheck {
  approves: boolean;
  /** Groups whose members could not be fetched: they granted nothing, and the answer should say so. */
  unresolved: { group: string; error: string }[];
}

/**
 * The one approver check (approving, importing history): does an entry of `approvers` name this
 * actor directly (listsActor), or is the actor's Slack id in one of the listed user groups (S…)?
 * A group that cannot be resolved grants nothing and is reported in `unresolved`.
 */
export async function checkApprover(
  approvers: readonly string[],
  actor: Actor,
  members: (group: string) => Promise<string[]>,
): Promise<ApproverCheck> {
  if (approvers.some((a) => listsActor(a, actor))) return { approves: true, unresolved: [] };
  const unresolved: ApproverCheck['unresolved'] = [];
  const chatId = chatIdOf(actor);
  // Slack user groups hold Slack users: an IAM caller, or a JWT user with no Slack id, is never in one.
  if (chatId === undefined) return { approves: false, unresolved };
  for (const group of approvers.filter((a) => a.startsWith('S'))) {
    try {
      if ((await members(group)).includes(chatId)) return { approves: true, unresolved: [] };
    } catch (error) {
      unresolved.push({ group, error: String(error) });
    }
  }
  return { approves: false, unresolved };
}

/** How a refusal names groups that could not be checked ('' when there are none). */
export function unresolvedGroupsHint(unresolved: ApproverCheck['unresolved']): string {
  const groups = [...new Set(unresolved.map((u) => u.group))];
  return groups.length ? `; the members of ${groups.join(', ')} could not be checked right now, try again` : '';
}

/**
 * May this person decide? Listed user ids directly; user group ids (S…) through the chat
 * workspace. A group that cannot be resolved grants nothing, and the answer says so.
 */
async function assertApprover(deps: ApprovalDeps, approval: ApprovalRecord, actor: Actor): Promise<void> {
  const approvers = environmentApprovers(deps.config, approval.service, approval.environment) ?? [];
  const { approves, unresolved } = await checkApprover(approvers, actor, groupMembersOnce(deps.userGroups));
  if (approves) return;
  for (const { group, error } of unresolved) deps.log.warn(`could not resolve the members of user group ${group}`, { error });
  const who = actor.name ?? actor.id;
  throw new ForbiddenError(
    `${who} is not an approver of ${approval.service} on ${approval.environment} (approvers: ${approvers.join(', ') || 'none'})` +
      unresolvedGroupsHint(unresolved) +
      (actor.source === 'dashboard' && !actor.slackId
        ? `; you signed in as ${actor.id}, which coconut.yaml slack.users does not map to a Slack user id`
        : ''),
  );
}

/** Four eyes (four-eyes.ts): refused when this is who triggered it, or when that cannot be told. */
async function assertNotTriggerer(deps: ApprovalDeps, approval: ApprovalRecord, actor: Actor): Promise<void> {
  if (!approvalConfig(deps.config, approval.service, approval.environment)?.fourEyes) return;
  const deployment = await deps.store.getDeployment(approval.deploymentId);
  const slackId = chatIdOf(actor);
  const verdict = fourEyesVerdict(deps.config, deployment?.trigger, {
    id: actor.id,
    ...(slackId ? { slackId } : {}),
    ...(actor.name ? { name: actor.name } : {}),
  });
  if (!verdict.allowed) throw new ForbiddenError(verdict.reason);
}

export type Decision = 'approve' | 'reject';

export async function decideApproval(
  deps: ApprovalDeps,
  input: { approvalId: string; decision: Decision; actor: Actor; comment?: string },
): Promise<ApprovalRecord> {
  const approval = await deps.store.getApproval(input.approvalId);
  if (!approval) throw new NotFoundError(`approval ${input.approvalId} does not exist`);
  if (approval.status !== 'PENDING') throw alreadyDecided(approval);
  // Who may decide comes before anything else that could change the record.
  if (input.actor.source !== 'local') {
    await assertApprover(deps, approval, input.actor);
    if (input.decision === 'approve') await assertNotTriggerer(deps, approval, input.actor);
  }
  // Breaking a freeze is an exception people must be able to account for: it says why.
  if (approval.purpose === 'freeze' && input.decision === 'approve' && !input.comment?.trim()) {
    throw new InvalidInputError(
      `${approval.deploymentId} is held by a freeze window on ${approval.environment}: letting it through needs a comment saying why (coconut unfreeze ${approval.deploymentId} --comment "...")`,
    );
  }
  const now = deps.clock.now();
  if (now.toISOString() > approval.expiresAt) {
    const { decided, approval: expired } = await deps.store.decideApproval(approval.approvalId, {
      status: 'EXPIRED',
      decidedBy: 'timeout',
      decidedAt: now.toISOString(),
    });
    if (decided) {
      await deps.notifier
        .approvalDecided(expired)
        .catch((error) => deps.log.warn('could not update the approval message', { error: String(error) }));
    }
    throw new ConflictError(`approval ${approval.approvalId} expired at ${approval.expiresAt}`);
  }
  const decidedBy = input.actor.name ?? input.actor.id;
  const { decided, approval: stored } = await deps.store.decideApproval(approval.approvalId, {
    status: input.decision === 'approve' ? 'APPROVED' : 'REJECTED',
    decidedBy,
    // The Slack id when there is one (messages mention it), else the identity (an IAM ARN, ISSUER#SUB).
    ...(input.actor.source === 'local' ? {} : { decidedById: chatIdOf(input.actor) ?? input.actor.id }),
    decidedAt: now.toISOString(),
    ...(input.comment ? { comment: input.comment } : {}),
  });
  if (!decided) throw alreadyDecided(stored);
  // Recorded before the token is settled: once it is, the stage moves on (lock, deploy).
  if (stored.purpose === 'freeze' && stored.status === 'APPROVED') await recordBreakGlass(deps, stored);
  try {
    if (input.decision === 'approve') {
      await deps.orchestrator.sendTaskSuccess(stored.taskToken, { approvalId: stored.approvalId, approvedBy: decidedBy });
    } else {
      const cause = `rejected by ${decidedBy}${input.comment ? `: ${input.comment}` : ''}`;
      await deps.orchestrator.sendTaskFailure(stored.taskToken, ERRORS.rejected, cause);
    }
  } catch (error) {
    if (error instanceof TaskTokenExpiredError) {
      // The wait ended (timeout, stopped execution) just before this decision: the record must
      // not say APPROVED for a deployment that never went on.
      const { decidedById: _by, ...rest } = stored;
      const expired: ApprovalRecord = {
        ...rest,
        status: 'EXPIRED',
        decidedBy: 'timeout',
        decidedAt: now.toISOString(),
        comment: `${decidedBy} decided after the deployment had stopped waiting`,
      };
      await deps.store
        .putApproval(expired)
        .catch((e) => deps.log.warn('could not mark the approval expired', { error: String(e) }));
      await deps.notifier
        .approvalDecided(expired)
        .catch((e) => deps.log.warn('could not update the approval message', { error: String(e) }));
      throw new ConflictError(`the deployment no longer waits for approval ${approval.approvalId} (it expired or was stopped)`);
    }
    throw error;
  }
  deps.log.info(`approval ${stored.approvalId} ${stored.status.toLowerCase()} by ${decidedBy}`, {
    approvalId: stored.approvalId,
  });
  await deps.notifier
    .approvalDecided(stored)
    .catch((error) => deps.log.warn('could not update the approval message', { error: String(error) }));
  return stored;
}

/** A frozen deployment let through: the stage and the Slack thread say who, when and why. */
async function recordBreakGlass(deps: ApprovalDeps, approval: ApprovalRecord): Promise<void> {
  const reason = `freeze broken by ${approval.decidedBy ?? 'someone'} at ${approval.decidedAt ?? deps.clock.now().toISOString()}${approval.comment ? `: ${approval.comment}` : ''}`;
  try {
    const stage = await deps.store.getStage(approval.deploymentId, approval.environment);
    const updated = await deps.store.updateStage(
      approval.deploymentId,
      approval.environment,
      { state: stage?.state ?? 'PENDING', reason },
      deps.clock.now(),
    );
    await deps.notifier.stageChanged(updated);
  } catch (error) {
    deps.log.warn('could not record the break glass on the stage', { error: String(error) });
  }
}

function alreadyDecided(approval: ApprovalRecord): ConflictError {
  if (approval.status === 'EXPIRED') return new ConflictError(`approval ${approval.approvalId} expired at ${approval.expiresAt}`);
  return new ConflictError(
    `approval ${approval.approvalId} is already ${approval.status.toLowerCase()} by ${approval.decidedBy ?? 'someone'}${approval.decidedAt ? ` at ${approval.decidedAt}` : ''}`,
  );
}

/**
 * Nothing waits on this approval any more: mark it EXPIRED and take the buttons off its message.
 * Without `because` the approval wait timed out in the state machine ("timeout"); with it the
 * wait ended otherwise (the execution was stopped, timed out or failed: execution-ended.ts).
 * Returns the approval when this call expired it; undefined when it was decided or gone already.
 */
export async function expireApproval(
  deps: { store: ApprovalRecords } & Pick<ApprovalDeps, 'notifier' | 'clock'>,
  approvalId: string | undefined,
  because?: { decidedBy: string; comment: string },
): Promise<ApprovalRecord | undefined> {
  if (!approvalId) return undefined;
  let outcome: { decided: boolean; approval: ApprovalRecord };
  try {
    outcome = await deps.store.decideApproval(approvalId, {
      status: 'EXPIRED',
      decidedBy: because?.decidedBy ?? 'timeout',
      decidedAt: deps.clock.now().toISOString(),
      ...(because ? { comment: because.comment } : {}),
    });
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  if (!outcome.decided) return undefined;
  await deps.notifier.approvalDecided(outcome.approval).catch(() => {});
  return outcome.approval;
}
