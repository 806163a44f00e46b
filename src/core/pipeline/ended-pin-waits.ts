/**
 * Loose end of an execution that ended from outside: a hold waiting at a pin (pins.ts keeps the
 * hold's task token in the pin record, under the deployment id). The token died with the
 * execution, so the waiter is taken off the pin: the pin no longer lists a deployment that waits
 * for nothing, and `coconut unpin` does not try to wake it.
 *
 * Written with the pin's revision (as every pin write): a concurrent hold or unpin makes the
 * write fail and it reads again. A pin lifted meanwhile, or a waiter gone, needs nothing.
 */
import type { DeploymentView } from '../model/deployment.ts';
import type { Pins } from '../ports.ts';

/** Concurrent writers of one pin: tries before giving up (as pins.ts). */
const MAX_TRIES = 10;

export async function dropPinWaitersOf(deps: { store: Pins }, deployment: Pick<DeploymentView, 'stages'>): Promise<string[]> {
  const repaired: string[] = [];
  for (const stage of deployment.stages) {
    for (let attempt = 0; ; attempt++) {
      const pin = await deps.store.getPin(stage.service, stage.environment);
      if (!pin?.waiters[stage.deploymentId]) break;
      const { [stage.deploymentId]: _gone, ...waiters } = pin.waiters;
      if (await deps.store.putPin({ ...pin, waiters, revision: pin.revision + 1 })) {
        repaired.push(`${stage.environment}: no longer waits at the pin`);
        break;
      }
      if (attempt + 1 >= MAX_TRIES) {
        throw new Error(`the pin on ${stage.service}/${stage.environment} kept changing while removing ${stage.deploymentId}`);
      }
    }
  }
  return repaired;
}
