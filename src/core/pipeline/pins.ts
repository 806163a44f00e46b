/**
 * Pins (issue 16): `coconut pin SERVICE --env ENV [--version V] --reason "..."` holds an
 * environment at what runs there. Automatic deployments (registry pushes, git tags, webhooks)
 * still deploy the earlier environments, then wait at the pin: the freeze gate of deploy.asl.json
 * (freeze-gate.ts) asks `pinHold`, and the hold keeps its task token in the pin record itself, so
 * that `coconut unpin` finds every waiter with one consistent read and wakes it. The woken task
 * fails with Coconut.GateChanged, which the state machine catches by asking the gate again (a
 * freeze window may have closed meanwhile); then the deployment takes the lock as usual.
 *
 * Manual deploys, promotions and rollbacks are never held: a person chose them, and a pinned
 * environment is exactly where one promotes or rolls back by hand. A push of the pinned version
 * itself is held too: a tag may be pushed again with other content, and a pin means nothing
 * changes there on its own.
 *
 * Who may pin and unpin: the environment's approvers when it has any (checked as approvals
 * are), else anyone the API lets in (they could deploy there by hand anyway); the local
 * operator always.
 */
import type { CoconutConfig } from '../config/schema.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, TaskTokenExpiredError } from '../model/errors.ts';
import { ERRORS } from '../model/failure.ts';
import { isValidTag } from '../model/oci.ts';
import { isAutomatic } from '../model/release.ts';
import type {
  Clock,
  EnvironmentVersions,
  Log,
  Notifier,
  Orchestrator,
  PinRecord,
  Pins,
  StageProgress,
  UserGroups,
} from '../ports.ts';
import {
  type Actor,
  chatIdOf,
  checkApprover,
  environmentApprovers,
  groupMembersOnce,
  unresolvedGroupsHint,
} from './approvals.ts';
import type { StageDeps, StageRef } from './stage-steps.ts';

export interface PinDeps {
  store: Pins & EnvironmentVersions & StageProgress;
  orchestrator: Orchestrator;
  notifier: Notifier;
  clock: Clock;
  log: Log;
  config: CoconutConfig;
  userGroups?: UserGroups;
}

export interface PinRequest {
  service: string;
  environment: string;
  version?: string;
  reason: string;
  actor: Actor;
}

export interface UnpinRequest {
  service: string;
  environment: string;
  comment?: string;
  actor: Actor;
}

/** The longest reason or comment kept (they show in one status line and a Slack message). */
const MAX_TEXT = 500;
/** Concurrent writers of one pin (holds arriving together, an unpin): tries before giving up. */
const MAX_TRIES = 10;

/** "PINNED at 1.0.0 by alice: hold for the audit" — how status, stages and Slack name a pin. */
export function pinSummary(pin: Pick<PinRecord, 'version' | 'pinnedBy' | 'reason'>): string {
  return `PINNED${pin.version ? ` at ${pin.version}` : ''} by ${pin.pinnedBy}: ${pin.reason}`;
}

/** The stage reason of a deployment held at a pin. */
export function waitingAtPin(pin: PinRecord): string {
  return `waiting at pin: ${pin.environment} is ${pinSummary(pin)}`;
}

function checkTarget(config: CoconutConfig, service: string, environment: string): void {
  const svc = config.services.find((s) => s.name === service);
  if (!svc) {
    throw new NotFoundError(
      `no service named ${service} in coconut.yaml (services: ${config.services.map((s) => s.name).join(', ') || 'none'})`,
    );
  }
  if (!svc.environments.some((e) => e.name === environment)) {
    throw new NotFoundError(
      `${service} has no environment named ${environment} (environments: ${svc.environments.map((e) => e.name).join(', ')})`,
    );
  }
}

/** Approvers of the environment when it has any (as approvals check them); anyone let in otherwise. */
async function assertMayPin(deps: PinDeps, service: string, environment: string, actor: Actor, verb: string): Promise<void> {
  if (actor.source === 'local') return;
  const approvers = environmentApprovers(deps.config, service, environment);
  if (!approvers?.length) return;
  const { approves, unresolved } = await checkApprover(approvers, actor, groupMembersOnce(deps.userGroups));
  if (approves) return;
  throw new ForbiddenError(
    `${actor.name ?? actor.id} is not an approver of ${service} on ${environment}, so may not ${verb} it (approvers: ${approvers.join(', ')})` +
      unresolvedGroupsHint(unresolved),
  );
}

function cleanText(value: string | undefined, what: string, required: boolean): string | undefined {
  const text = value?.trim();
  if (!text) {
    if (required) throw new InvalidInputError(`${what} is required: say why (e.g. --reason "hold for the audit")`);
    return undefined;
  }
  if (text.length > MAX_TEXT) throw new InvalidInputError(`${what} is ${text.length} characters; at most ${MAX_TEXT}`);
  return text;
}

/** Who did it, as approvals record a decider: a display name, and the stable identity unless local. */
function who(actor: Actor): { by: string; byId?: string } {
  return { by: actor.name ?? actor.id, ...(actor.source === 'local' ? {} : { byId: chatIdOf(actor) ?? actor.id }) };
}

export async function pinEnvironment(deps: PinDeps, req: PinRequest): Promise<PinRecord> {
  checkTarget(deps.config, req.service, req.environment);
  const reason = cleanText(req.reason, 'a reason', true) as string;
  if (req.version !== undefined && !isValidTag(req.version)) {
    throw new InvalidInputError(`"${req.version}" is not a valid version (an image tag)`);
  }
  await assertMayPin(deps, req.service, req.environment, req.actor, 'pin');
  const running = (await deps.store.getEnvironmentState(req.service, req.environment))?.current?.version;
  // The pin says what the environment is held at: it must be true.
  if (req.version !== undefined && req.version !== running) {
    throw new InvalidInputError(
      running
        ? `${req.service} runs ${running} on ${req.environment}, not ${req.version}: deploy ${req.version} there first (coconut promote ${req.service} --to ${req.environment} --version ${req.version}), or pin without --version to hold it at ${running}`
        : `${req.service} has not run any version on ${req.environment} yet, so it cannot be held at ${req.version}: pin without --version`,
    );
  }
  const existing = await deps.store.getPin(req.service, req.environment);
  if (existing) throw alreadyPinned(existing);
  const now = deps.clock.now().toISOString();
  const { by, byId } = who(req.actor);
  const pin: PinRecord = {
    service: req.service,
    environment: req.environment,
    ...(running ? { version: running } : {}),
    reason,
    pinnedBy: by,
    ...(byId ? { pinnedById: byId } : {}),
    pinnedAt: now,
    waiters: {},
    revision: 1,
  };
  if (!(await deps.store.putPin(pin))) {
    const winner = await deps.store.getPin(req.service, req.environment);
    throw winner ? alreadyPinned(winner) : new ConflictError(`${req.service} on ${req.environment} changed meanwhile; try again`);
  }
  await deps.store.addPinEvent({
    service: pin.service,
    environment: pin.environment,
    action: 'pin',
    ...(pin.version ? { version: pin.version } : {}),
    by,
    ...(byId ? { byId } : {}),
    at: now,
    reason,
  });
  deps.log.info(`${pin.service} on ${pin.environment}: ${pinSummary(pin)}`, {
    service: pin.service,
    environment: pin.environment,
  });
  return pin;
}

function alreadyPinned(pin: PinRecord): ConflictError {
  return new ConflictError(
    `${pin.service} on ${pin.environment} is already ${pinSummary(pin)} (since ${pin.pinnedAt}); unpin it first: coconut unpin ${pin.service} --env ${pin.environment}`,
  );
}

export interface UnpinOutcome {
  pin: PinRecord;
  /** Deployments that waited at the pin and were woken. */
  released: string[];
}

export async function unpinEnvironment(deps: PinDeps, req: UnpinRequest): Promise<UnpinOutcome> {
  checkTarget(deps.config, req.service, req.environment);
  const comment = cleanText(req.comment, 'the comment', false);
  await assertMayPin(deps, req.service, req.environment, req.actor, 'unpin');
  let pin: PinRecord | undefined;
  for (let attempt = 0; attempt < MAX_TRIES && !pin; attempt++) {
    const current = await deps.store.getPin(req.service, req.environment);
    if (!current) throw new ConflictError(`${req.service} on ${req.environment} is not pinned (nothing to unpin)`);
    // A hold registering meanwhile changes the revision: read again, so that no waiter is left behind.
    if (await deps.store.deletePin(req.service, req.environment, current.revision)) pin = current;
  }
  if (!pin) throw new ConflictError(`${req.service} on ${req.environment} kept changing while unpinning; try again`);
  const now = deps.clock.now().toISOString();
  const { by, byId } = who(req.actor);
  const released = Object.keys(pin.waiters).sort();
  await deps.store.addPinEvent({
    service: pin.service,
    environment: pin.environment,
    action: 'unpin',
    ...(pin.version ? { version: pin.version } : {}),
    by,
    ...(byId ? { byId } : {}),
    at: now,
    ...(comment ? { reason: comment } : {}),
    released,
  });
  const lifted = `pin on ${pin.environment} lifted by ${by} at ${now}${comment ? `: ${comment}` : ''}`;
  for (const deploymentId of released) {
    const waiter = pin.waiters[deploymentId];
    if (!waiter) continue;
    // The stage says who released it before the deployment moves on (and the Slack thread hears it).
    await noteStage(deps, { deploymentId, environment: pin.environment }, lifted);
    try {
      await deps.orchestrator.sendTaskFailure(waiter.token, ERRORS.gateChanged, lifted);
    } catch (error) {
      // Stopped meanwhile: nothing waits any more. Anything else: the hold asks again within a day.
      if (!(error instanceof TaskTokenExpiredError)) {
        deps.log.warn(`could not wake ${deploymentId} at the pin; it looks again within a day`, { error: String(error) });
      }
    }
  }
  deps.log.info(`${pin.service} on ${pin.environment}: ${lifted}; released ${released.length} deployment(s)`, {
    service: pin.service,
    environment: pin.environment,
    released,
  });
  return { pin, released };
}

async function noteStage(
  deps: Pick<StageDeps, 'clock' | 'log' | 'notifier'> & { store: StageProgress },
  ref: { deploymentId: string; environment: string },
  reason: string,
): Promise<void> {
  try {
    const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
    if (!stage) return;
    const updated = await deps.store.updateStage(
      ref.deploymentId,
      ref.environment,
      { state: stage.state, reason },
      deps.clock.now(),
    );
    await deps.notifier.stageChanged(updated);
  } catch (error) {
    deps.log.warn('could not note the pin on the stage', { error: String(error) });
  }
}

/** The pin that holds this deployment here, if any: only automatic deployments wait at pins. */
export async function pinHold(
  deps: { store: Pins & Pick<StageDeps['store'], 'getDeployment'> },
  ref: StageRef,
): Promise<PinRecord | undefined> {
  const pin = await deps.store.getPin(ref.service, ref.environment);
  if (!pin) return undefined;
  const deployment = await deps.store.getDeployment(ref.deploymentId);
  return deployment && isAutomatic(deployment.trigger) ? pin : undefined;
}

/**
 * The hold's task token goes into the pin, where unpin finds it. When the pin is gone by now the
 * hold fails with Coconut.GateChanged at once, and the state machine asks the gate again.
 */
export async function holdAtPin(deps: { store: Pins; clock: Clock; log: Log }, ref: StageRef, taskToken: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const pin = await deps.store.getPin(ref.service, ref.environment);
    if (!pin) throw gateChanged(`the pin on ${ref.environment} was lifted meanwhile`);
    const waiter = { version: ref.version, token: taskToken, since: deps.clock.now().toISOString() };
    if (pin.waiters[ref.deploymentId]?.token === taskToken) return;
    if (
      await deps.store.putPin({ ...pin, waiters: { ...pin.waiters, [ref.deploymentId]: waiter }, revision: pin.revision + 1 })
    ) {
      deps.log.info(
        `${ref.service} ${ref.version} waits at the pin on ${ref.environment}; to release it: coconut unpin ${ref.service} --env ${ref.environment}`,
        { deploymentId: ref.deploymentId },
      );
      return;
    }
  }
  throw Object.assign(new Error(`the pin on ${ref.environment} kept changing; trying again`), { name: 'Coconut.Retryable' });
}

/**
 * Takes a deployment's waiter off the pin (its execution ended without the hold being released),
 * written with the pin's revision as every pin write. False when there was nothing to take off:
 * the pin lifted meanwhile, or the waiter gone.
 */
export async function dropPinWaiter(
  deps: { store: Pins },
  ref: Pick<StageRef, 'service' | 'environment' | 'deploymentId'>,
): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const pin = await deps.store.getPin(ref.service, ref.environment);
    if (!pin?.waiters[ref.deploymentId]) return false;
    const { [ref.deploymentId]: _gone, ...waiters } = pin.waiters;
    if (await deps.store.putPin({ ...pin, waiters, revision: pin.revision + 1 })) return true;
  }
  throw new Error(`the pin on ${ref.service}/${ref.environment} kept changing while removing ${ref.deploymentId}`);
}

function gateChanged(message: string): Error {
  return Object.assign(new Error(message), { name: ERRORS.gateChanged });
}
