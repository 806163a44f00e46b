/**
 * The previous process died with executions running: their stages are closed as nothing will
 * finish them (core/pipeline/unfinished-stage.ts: INTERRUPTED, a rollback ROLLBACK_FAILED, PENDING
 * SKIPPED, each with the reason and the runtime's clock), their locks are released, and history
 * stays intact. `coconut deploy` or `coconut rollback` continues from there.
 */
import { type LockDeps, lockKey, releaseLock } from '../core/pipeline/locks.ts';
import { closeUnfinishedStage } from '../core/pipeline/unfinished-stage.ts';
import type { DeploymentReader, StageProgress } from '../core/ports.ts';

export async function recoverInterrupted(
  engine: { recoverInterrupted(): { name: string }[] },
  deps: LockDeps & { store: DeploymentReader & StageProgress },
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
    deps.log.warn(
      `deployment ${execution.name} was interrupted by a restart; marked ${closed.join(', ') || 'nothing (it had ended)'} and its locks released`,
    );
  }
}
