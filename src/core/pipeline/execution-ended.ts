/**
 * Safety net for when an execution stops without finishing its own bookkeeping (it was
 * aborted, timed out, or hit an error no Catch handled): no stage stays in progress, no lock
 * stays held, no queued deployment waits for a holder that is gone (the next one is woken), and
 * nothing it waited on still offers a decision: its pending approval or freeze hold becomes
 * EXPIRED (ended-approvals.ts) and it leaves any pin it waited at (ended-pin-waits.ts). Bake
 * watches and ECS rollout watches need nothing: they carry a TTL, and whoever finds one whose
 * token is dead drops it (bake.ts handleAlarmChange, ecs-rollout-wait.ts wake). On AWS this
 * runs on the "Step Functions Execution Status Change" event; locally when the engine reports
 * the end of an execution. On a normal end it finds nothing to do.
 */

import type {
  ApprovalRecords,
  Clock,
  DeploymentReader,
  LockTable,
  Log,
  Notifier,
  Orchestrator,
  Pins,
  StageProgress,
} from '../ports.ts';
import { expireApprovalsOf } from './ended-approvals.ts';
import { dropPinWaitersOf } from './ended-pin-waits.ts';
import { lockKey, releaseLock } from './locks.ts';
import { closeUnfinishedStage } from './unfinished-stage.ts';

export interface ExecutionEnd {
  deploymentId: string;
  status: string;
  error?: string;
  cause?: string;
}

export async function repairAfterExecution(
  deps: {
    store: DeploymentReader & StageProgress & LockTable & ApprovalRecords & Pins;
    clock: Clock;
    log: Log;
    orchestrator: Pick<Orchestrator, 'sendTaskSuccess'>;
    /** Takes the buttons off an expired approval's chat message. */
    notifier: Notifier;
  },
  end: ExecutionEnd,
): Promise<{ repaired: string[] }> {
  const deployment = await deps.store.getDeployment(end.deploymentId);
  if (!deployment) return { repaired: [] };
  const repaired: string[] = [];
  const why = `execution ${end.status.toLowerCase()}${end.error ? ` (${end.error}${end.cause ? `: ${end.cause.slice(0, 200)}` : ''})` : ''}`;
  for (const stage of deployment.stages) {
    const closing = closeUnfinishedStage(stage.state, { kind: 'execution-ended', why }, deps.clock.now());
    if (closing) {
      await deps.store.updateStage(stage.deploymentId, stage.environment, closing, deps.clock.now());
      repaired.push(`${stage.environment}: ${stage.state} -> ${closing.state}`);
    }
    // Releasing also hands the lock to the next waiter and wakes it (or drops this one from the queue).
    if (await releaseLock(deps, lockKey(stage.service, stage.environment), stage.deploymentId)) {
      repaired.push(`${stage.environment}: lock released`);
    }
  }
  repaired.push(...(await expireApprovalsOf(deps, deployment, why)), ...(await dropPinWaitersOf(deps, deployment)));
  if (repaired.length)
    deps.log.warn(`deployment ${end.deploymentId} ended (${why}) with loose ends, repaired: ${repaired.join('; ')}`);
  return { repaired };
}
