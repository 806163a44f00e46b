/**
 * Loose end of an execution that ended from outside: a hold waiting at a pin (pins.ts keeps the
 * hold's task token in the pin record, under the deployment id). The token died with the
 * execution, so the waiter is taken off the pin (pins.ts dropPinWaiter, with the pin's revision
 * as every pin write): the pin no longer lists a deployment that waits for nothing, and
 * `coconut unpin` does not try to wake it. A pin lifted meanwhile, or a waiter gone, needs nothing.
 */
import type { DeploymentView } from '../model/deployment.ts';
import type { Pins } from '../ports.ts';
import { dropPinWaiter } from './pins.ts';

export async function dropPinWaitersOf(deps: { store: Pins }, deployment: Pick<DeploymentView, 'stages'>): Promise<string[]> {
  const repaired: string[] = [];
  for (const stage of deployment.stages) {
    if (await dropPinWaiter(deps, stage)) repaired.push(`${stage.environment}: no longer waits at the pin`);
  }
  return repaired;
}
