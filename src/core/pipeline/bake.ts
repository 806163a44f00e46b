/**
 * Bake: after a deploy, watch the environment's alarms for a while. The state machine waits on
 * a task token; this module registers the token against every watched alarm so that an alarm
 * change can fail exactly the bakes that watch it, within seconds, with no polling.
 */

import { TaskTokenExpiredError } from '../model/errors.ts';
import { ERRORS, type StepFailure } from '../model/failure.ts';
import type { AlarmStatus, Alarms, BakeWatches, Clock, Log, Orchestrator } from '../ports.ts';

export interface AlarmCheck {
  breached: boolean;
  failure?: StepFailure;
  states: AlarmStatus[];
}

/**
 * ALARM breaches. INSUFFICIENT_DATA does not: an alarm without data says nothing about the
 * release (the same choice as CloudWatch's treatMissingData=notBreaching); it is logged.
 * An alarm that does not exist is logged too: it protects nothing.
 * `tolerate` lists alarms that were already firing before the deploy: during the bake they
 * count only if they fire again; at the end of the bake (no `tolerate`) they must be OK.
 */
export async function checkAlarms(alarms: Alarms, names: string[], log: Log, tolerate: string[] = []): Promise<AlarmCheck> {
  if (names.length === 0) return { breached: false, states: [] };
  const states = await alarms.getStates(names);
  for (const s of states) {
    if (s.state === 'UNKNOWN') log.warn(`alarm ${s.name} does not exist: it cannot protect this bake`, { alarm: s.name });
    if (s.state === 'INSUFFICIENT_DATA') {
      log.info(`alarm ${s.name} has insufficient data; not counted as a breach`, { alarm: s.name });
    }
    if (s.state === 'ALARM' && tolerate.includes(s.name)) {
      log.info(`alarm ${s.name} was already in ALARM before this deploy; it must recover by the end of the bake`, {
        alarm: s.name,
      });
    }
  }
  const firing = states.find((s) => s.state === 'ALARM' && !tolerate.includes(s.name));
  return firing
    ? { breached: true, failure: { Error: ERRORS.alarmFired, Cause: firing.name }, states }
    : { breached: false, states };
}

export interface BakeDeps {
  store: BakeWatches;
  alarms: Alarms;
  orchestrator: Orchestrator;
  clock: Clock;
  log: Log;
}

export interface BakeRef {
  deploymentId: string;
  environment: string;
  alarms: string[];
}

export async function startBake(
  deps: BakeDeps,
  ref: BakeRef & { taskToken: string; bakeSeconds: number; tolerate?: string[] },
): Promise<void> {
  const expiresAt = Math.floor(deps.clock.now().getTime() / 1000) + ref.bakeSeconds + 3600;
  for (const alarm of ref.alarms) {
    await deps.store.putBakeWatch({
      alarm,
      deploymentId: ref.deploymentId,
      environment: ref.environment,
      taskToken: ref.taskToken,
      expiresAt,
    });
  }
  // An alarm that went to ALARM between the pre-bake check and now sent its event before the
  // watch existed: check once more now that it does, and fail the bake ourselves if so.
  const check = await checkAlarms(deps.alarms, ref.alarms, deps.log, ref.tolerate);
  if (check.breached && check.failure) {
    await endWatches(deps.store, ref);
    await deps.orchestrator.sendTaskFailure(ref.taskToken, check.failure.Error, check.failure.Cause ?? '').catch((error) => {
      if (!(error instanceof TaskTokenExpiredError)) throw error;
    });
  }
}

/** The bake timer ran out: stop watching and look at the alarms one last time. */
export async function endBake(deps: BakeDeps, ref: BakeRef): Promise<AlarmCheck> {
  await endWatches(deps.store, ref);
  return checkAlarms(deps.alarms, ref.alarms, deps.log);
}

async function endWatches(store: BakeWatches, ref: BakeRef): Promise<void> {
  for (const alarm of ref.alarms) await store.deleteBakeWatch(alarm, ref.deploymentId, ref.environment);
}

export interface AlarmChange {
  alarmName: string;
  state: string;
  reason?: string;
}

/** An alarm changed state: every bake watching it fails, with the alarm name as the cause. */
export async function handleAlarmChange(deps: BakeDeps, change: AlarmChange): Promise<{ failedBakes: number; ignored?: string }> {
  if (change.state !== 'ALARM') return { failedBakes: 0, ignored: `state ${change.state} is not ALARM` };
  const watches = await deps.store.listBakeWatches(change.alarmName);
  let failedBakes = 0;
  for (const watch of watches) {
    try {
      await deps.orchestrator.sendTaskFailure(watch.taskToken, ERRORS.alarmFired, change.alarmName);
      failedBakes++;
      deps.log.info(`alarm ${change.alarmName} fired: failing the bake of ${watch.deploymentId} on ${watch.environment}`, {
        alarm: change.alarmName,
        deploymentId: watch.deploymentId,
      });
    } catch (error) {
      if (!(error instanceof TaskTokenExpiredError)) throw error;
      deps.log.info(`bake of ${watch.deploymentId} on ${watch.environment} had already ended`, { alarm: change.alarmName });
    }
    await deps.store.deleteBakeWatch(watch.alarm, watch.deploymentId, watch.environment);
  }
  if (watches.length === 0) return { failedBakes, ignored: `no bake is watching ${change.alarmName}` };
  return { failedBakes };
}
