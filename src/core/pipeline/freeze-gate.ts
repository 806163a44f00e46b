/**
 * The freeze gate of deploy.asl.json, before an environment's lock: is the environment open
 * now (freeze.ts)? When it is not, the stage says "FROZEN until <time> (<tz>): <reason>" and
 * the state machine holds the deployment on a task token whose timeout is the moment the
 * window opens; then it asks again. Nothing polls: one check per window change.
 *
 * The hold is an approval record with purpose "freeze", so an approver can break the glass:
 * `coconut unfreeze DEPLOYMENT --comment "..."` (or approving its id with a comment) settles the
 * token, and who, when and why stay on the approval and the stage, and go to the Slack thread.
 * Rollback executions never reach this gate (their plans carry no windows; the ASL checks too).
 *
 * The same gate holds automatic deployments at a pin (pins.ts): a hold without an end time, whose
 * task token waits in the pin until `coconut unpin` (a day at most, then the gate looks again).
 * A pin is asked first: it outlasts any window, and unfreezing cannot let a pinned deployment by.
 */
import { ConflictError, NotFoundError } from '../model/errors.ts';
import type { ApprovalRecord, ApprovalRecords, Pins } from '../ports.ts';
import { approvalIdFor } from './approvals.ts';
import { type FreezeStatus, type FreezeWindow, formatLocal, freezeStatus, frozenMessage } from './freeze.ts';
import { pinHold, waitingAtPin } from './pins.ts';
import type { StageDeps, StageRef } from './stage-steps.ts';

/** The stage steps' ports, and the approval records a hold is kept in. */
export type FreezeGateDeps = StageDeps & { store: StageDeps['store'] & ApprovalRecords & Pins };

/** With no opening within a year, look again after a day (config may change meanwhile). */
const RECHECK_SECONDS = 86400;

export interface FreezeGateResult {
  open: boolean;
  /** Held at a pin (pins.ts), not by a window: the hold waits in the pin. */
  pinned: boolean;
  /** How long the hold waits before asking again (seconds, at least 1). */
  waitSeconds: number;
  message?: string;
  /** When the window opens, ISO 8601. */
  until?: string;
}

export async function runFreezeGate(deps: FreezeGateDeps, ref: StageRef, windows: FreezeWindow[]): Promise<FreezeGateResult> {
  const now = deps.clock.now();
  const status = freezeStatus(windows, now);
  const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
  // A hold whose window opened: its break-glass request is no longer needed.
  await expireHold(deps, stage?.approvalId);
  const pin = await pinHold(deps, ref);
  if (pin) {
    const message = waitingAtPin(pin);
    if (stage?.reason !== message) await note(deps, ref, message);
    return { open: false, pinned: true, waitSeconds: RECHECK_SECONDS, message };
  }
  if (status.open) {
    if (stage?.reason?.startsWith('FROZEN')) {
      await note(deps, ref, `freeze window opened at ${formatLocal(now, status.next?.timeZone ?? 'UTC')}`);
    }
    return { open: true, pinned: false, waitSeconds: 0 };
  }
  const message = frozenMessage(status);
  if (stage?.reason !== message) await note(deps, ref, message);
  return {
    open: false,
    pinned: false,
    waitSeconds: waitSeconds(status, now),
    message,
    ...(status.next ? { until: status.next.at } : {}),
  };
}

function waitSeconds(status: FreezeStatus, now: Date): number {
  if (!status.next) return RECHECK_SECONDS;
  return Math.max(1, Math.ceil((Date.parse(status.next.at) - now.getTime()) / 1000));
}

/** The stage stays PENDING; its reason says why it waits (and the Slack thread hears it). */
async function note(deps: FreezeGateDeps, ref: StageRef, reason: string, approvalId?: string): Promise<void> {
  const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
  const updated = await deps.store.updateStage(
    ref.deploymentId,
    ref.environment,
    { state: stage?.state ?? 'PENDING', reason, ...(approvalId ? { approvalId } : {}) },
    deps.clock.now(),
  );
  deps.log.info(`${ref.service} ${ref.version} on ${ref.environment}: ${reason}`, {
    deploymentId: ref.deploymentId,
    environment: ref.environment,
  });
  await deps.notifier
    .stageChanged(updated)
    .catch((error) => deps.log.warn('could not notify about a stage change', { error: String(error) }));
}

/**
 * The hold's task token is kept as an approval with purpose "freeze" (never shown as a chat
 * approval request: letting a frozen deployment through needs a comment, which a button has not).
 */
export async function holdFrozen(
  deps: FreezeGateDeps,
  ref: StageRef,
  hold: { taskToken: string; waitSeconds: number; message?: string | undefined },
): Promise<ApprovalRecord> {
  const approvalId = approvalIdFor(hold.taskToken);
  const existing = await deps.store.getApproval(approvalId);
  if (existing) return existing;
  const now = deps.clock.now();
  const deployment = await deps.store.getDeployment(ref.deploymentId);
  const approval: ApprovalRecord = {
    approvalId,
    deploymentId: ref.deploymentId,
    service: ref.service,
    environment: ref.environment,
    version: ref.version,
    taskToken: hold.taskToken,
    requestedBy: deployment?.trigger ? (deployment.trigger.actor ?? deployment.trigger.kind) : 'unknown',
    requestedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + hold.waitSeconds * 1000).toISOString(),
    status: 'PENDING',
    purpose: 'freeze',
  };
  await deps.store.putApproval(approval);
  const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
  await deps.store.updateStage(ref.deploymentId, ref.environment, { state: stage?.state ?? 'PENDING', approvalId }, now);
  deps.log.info(
    `${ref.service} ${ref.version} is held on ${ref.environment} (${hold.message ?? 'frozen'}); to let it through: coconut unfreeze ${ref.deploymentId} --comment "why"`,
    { deploymentId: ref.deploymentId, approvalId },
  );
  return approval;
}

async function expireHold(deps: FreezeGateDeps, approvalId: string | undefined): Promise<void> {
  if (!approvalId) return;
  const approval = await deps.store.getApproval(approvalId);
  if (approval?.purpose !== 'freeze' || approval.status !== 'PENDING') return;
  await deps.store.decideApproval(approvalId, {
    status: 'EXPIRED',
    decidedBy: 'freeze window opened',
    decidedAt: deps.clock.now().toISOString(),
  });
}

/** The held approval of a deployment (its frozen environment), for `coconut unfreeze`. */
export async function frozenHoldOf(deps: Pick<FreezeGateDeps, 'store'>, deploymentId: string): Promise<ApprovalRecord> {
  const deployment = await deps.store.getDeployment(deploymentId);
  if (!deployment) throw new NotFoundError(`deployment ${deploymentId} does not exist`);
  for (const stage of deployment.stages) {
    if (!stage.approvalId) continue;
    const approval = await deps.store.getApproval(stage.approvalId);
    if (approval?.purpose === 'freeze' && approval.status === 'PENDING') return approval;
  }
  throw new ConflictError(`deployment ${deploymentId} is not held by a freeze window (nothing to unfreeze)`);
}
