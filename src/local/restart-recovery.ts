/**
 * The previous process died with executions running: their stages are closed as nothing will
 * finish them (core/pipeline/unfinished-stage.ts: INTERRUPTED, a rollback ROLLBACK_FAILED, PENDING
 * SKIPPED, each with the reason and the runtime's clock), their locks are released, what they
 * waited on is settled as after a stopped execution (a pending approval or freeze hold EXPIRED, a
 * pin waiter removed: execution-ended.ts), and history stays intact. `coconut deploy` or `coconut rollback` continues from there.
 */
import { expireApprovalsOf } from '../core/pipeline/ended-approvals.ts';
import { dropPinWaitersOf } from '../core/pipeline/ended-pin-waits.ts';
import { type LockDeps, lockKey, releaseLock } from '../core/pipeline/locks.ts';
import { closeUnfinishedStage } from '../core/pipeline/unfinished-stage.ts';
import type { ApprovalRecords, DeploymentReader, Notifier, Pins, StageProgress } from '../core/ports.ts';

export async function recoverInterrupted(
  engine: { recoverInterrupted(): { name: string }[] },
  deps: LockDeps & { store: DeploymentReader & StageProgress & ApprovalRecords & Pins; notifier: Notifier },
): Promise<void> {
  for (const execution of engine.recoverInterrupted()) {
    const deployment = await deps.store.getDeployment(execution.name);
    if (!deployment) continue;
    const closed: string[] = [];
    for (const stage of deployment.stages) {
      const now = deps.clock.now();
      const closing = closeUnfinishedStage(stage.state, { kind: 'interrupted', why: 'the local runtime stopped' }, now);
      if (!closing) continue;
      await deps.store.updateStage(stage.deploymentId, stage.environment, closing, now);
      closed.push(`${stage.environment} ${closing.state}`);
      // Their waiting tasks died with the process: their tokens are refused, so the lock skips them.
      await releaseLock(deps, lockKey(stage.service, stage.environment), stage.deploymentId);
    }
    const settled = [
      ...(await expireApprovalsOf(deps, deployment, 'the local runtime stopped')),
      ...(await dropPinWaitersOf(deps, deployment)),
    ];
    deps.log.warn(
      `deployment ${execution.name} was interrupted by a restart; marked ${closed.join(', ') || 'nothing (it had ended)'} and its locks released${settled.length ? `; ${settled.join('; ')}` : ''}`,
    );
  }
}
