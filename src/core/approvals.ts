/**
 * Approvals: the deploy state machine waits on a task token; the token stays in the store and
 * people see only an approval id (a Slack button value is limited to 2,000 characters, a
 * token can be 2,048, and a token must never leave the service anyway).
 */
import { createHash } from 'node:crypto';
import type { CoconutConfig } from './config/schema.ts';
import { ConflictError, ForbiddenError, NotFoundError, TaskTokenExpiredError } from './errors.ts';
import { ERRORS } from './failure.ts';
import type { ApprovalRecord, Clock, Log, Notifier, Orchestrator, Store } from './ports.ts';

export interface ApprovalDeps {
  store: Store;
  orchestrator: Orchestrator;
  notifier: Notifier;
  clock: Clock;
  log: Log;
  config: CoconutConfig;
}

export interface ApprovalRequest {
  taskToken: string;
  deploymentId: string;
  service: string;
  environment: string;
  version: string;
  timeoutSeconds: number;
}

/** Short and stable for one wait: a retried request for the same token gets the same id. */
export function approvalIdFor(taskToken: string): string {
  return `apr-${createHash('sha256').update(taskToken).digest('hex').slice(0, 10)}`;
}

export async function requestApproval(deps: ApprovalDeps, req: ApprovalRequest): Promise<ApprovalRecord> {
  const approvalId = approvalIdFor(req.taskToken);
  const existing = await deps.store.getApproval(approvalId);
  if (existing) return existing;
  const now = deps.clock.now();
  const [envState, deployment] = await Promise.all([
    deps.store.getEnvironmentState(req.service, req.environment),
    deps.store.getDeployment(req.deploymentId),
  ]);
  const trigger = deployment?.trigger;
  const approval: ApprovalRecord = {
    approvalId,
    deploymentId: req.deploymentId,
    service: req.service,
    environment: req.environment,
    version: req.version,
    ...(envState?.current ? { fromVersion: envState.current.version } : {}),
    taskToken: req.taskToken,
    requestedBy: trigger ? (trigger.actor ?? trigger.kind) : 'unknown',
    requestedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + req.timeoutSeconds * 1000).toISOString(),
    status: 'PENDING',
  };
  await deps.store.putApproval(approval);
  await deps.store
    .updateStage(req.deploymentId, req.environment, { state: 'AWAITING_APPROVAL', approvalId }, now)
    .catch((error) => deps.log.warn('could not link the approval to its stage', { error: String(error) }));
  deps.log.info(`${req.service} ${req.version} waits for approval to deploy to ${req.environment}: approval ${approvalId}`, {
    approvalId,
    deploymentId: req.deploymentId,
  });
  try {
    const message = await deps.notifier.approvalRequested(approval);
    if (message) {
      approval.message = message;
      await deps.store.putApproval(approval);
    }
  } catch (error) {
    deps.log.warn('could not post the approval request; it is still in the inbox', { error: String(error) });
  }
  return approval;
}

export interface Actor {
  /** Slack user id, or a local user name. */
  id: string;
  name?: string;
  /** Where the decision came from: the local inbox trusts its operator; chat checks approvers. */
  source: 'local' | 'slack' | 'dashboard';
}

export function environmentApprovers(config: CoconutConfig, service: string, environment: string): string[] | undefined {
  return config.services.find((s) => s.name === service)?.environments.find((e) => e.name === environment)?.approval?.approvers;
}

export type Decision = 'approve' | 'reject';

export async function decideApproval(
  deps: ApprovalDeps,
  input: { approvalId: string; decision: Decision; actor: Actor; comment?: string },
): Promise<ApprovalRecord> {
  const approval = await deps.store.getApproval(input.approvalId);
  if (!approval) throw new NotFoundError(`approval ${input.approvalId} does not exist`);
  if (approval.status !== 'PENDING') {
    throw new ConflictError(
      `approval ${approval.approvalId} is already ${approval.status.toLowerCase()}${approval.decidedBy ? ` by ${approval.decidedBy}` : ''}`,
    );
  }
  const now = deps.clock.now();
  if (now.toISOString() > approval.expiresAt) {
    await deps.store.decideApproval(approval.approvalId, {
      status: 'EXPIRED',
      decidedBy: 'timeout',
      decidedAt: now.toISOString(),
    });
    throw new ConflictError(`approval ${approval.approvalId} expired at ${approval.expiresAt}`);
  }
  if (input.actor.source !== 'local') {
    const approvers = environmentApprovers(deps.config, approval.service, approval.environment) ?? [];
    if (!approvers.includes(input.actor.id)) {
      throw new ForbiddenError(
        `${input.actor.name ?? input.actor.id} is not an approver of ${approval.service} on ${approval.environment}`,
      );
    }
  }
  const decidedBy = input.actor.name ?? input.actor.id;
  const { decided, approval: stored } = await deps.store.decideApproval(approval.approvalId, {
    status: input.decision === 'approve' ? 'APPROVED' : 'REJECTED',
    decidedBy,
    decidedAt: now.toISOString(),
    ...(input.comment ? { comment: input.comment } : {}),
  });
  if (!decided) {
    throw new ConflictError(
      `approval ${approval.approvalId} is already ${stored.status.toLowerCase()} by ${stored.decidedBy ?? 'someone'}`,
    );
  }
  try {
    if (input.decision === 'approve') {
      await deps.orchestrator.sendTaskSuccess(stored.taskToken, { approvalId: stored.approvalId, approvedBy: decidedBy });
    } else {
      const cause = `rejected by ${decidedBy}${input.comment ? `: ${input.comment}` : ''}`;
      await deps.orchestrator.sendTaskFailure(stored.taskToken, ERRORS.rejected, cause);
    }
  } catch (error) {
    if (error instanceof TaskTokenExpiredError) {
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

/** The approval wait timed out in the state machine: mark the approval EXPIRED. */
export async function expireApproval(
  deps: Pick<ApprovalDeps, 'store' | 'notifier' | 'clock'>,
  approvalId: string | undefined,
): Promise<void> {
  if (!approvalId) return;
  const { decided, approval } = await deps.store.decideApproval(approvalId, {
    status: 'EXPIRED',
    decidedBy: 'timeout',
    decidedAt: deps.clock.now().toISOString(),
  });
  if (decided) await deps.notifier.approvalDecided(approval).catch(() => {});
}
