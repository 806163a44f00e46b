/**
 * What Coconut costs on AWS, from its own state machine: the states a typical deployment
 * enters (each one a billed Step Functions transition), the Lambda invocations among them, and
 * the CodeBuild minutes of its builds; beside the same pipeline on CodePipeline V2, billed per
 * action minute. The path is found by walking deploy.asl.json with the Choice rules evaluated
 * on a scenario (approval as configured, alarms quiet), so an edit of the state machine changes
 * the figures by itself. Prices come from prices.json. Waiting for the environment lock costs
 * nothing: the AcquireLock task waits on its token (no transitions), whether the lock is free or not.
 */

import type { AslDefinition, AslState } from '../asl.ts';
import type { ServiceConfig } from '../config/schema.ts';
import { ERRORS } from '../model/failure.ts';
import { ECS_RECHECK_SECONDS } from '../pipeline/ecs-rollout.ts';
import { rolloutSteps } from '../pipeline/rollout.ts';
import prices from './prices.json' with { type: 'json' };

export type Prices = typeof prices;
export const PRICES: Prices = prices;

/** A state machine definition as the cost model walks it. */
export type AslMachine = AslDefinition;

/** What happens in one environment: the data the Choice states read, and how tasks end. */
export interface Scenario {
  /** The Map item's state input, as the inner Choice states see it. */
  input: Record<string, unknown>;
  /** Tasks that end with an error (caught) instead of Next, e.g. Bake: States.Timeout. */
  errors: Record<string, string>;
  /** Called as each state is entered, to move what the scenario's Choice states read (a loop's cursor). */
  visit?: (state: string, input: Record<string, unknown>) => void;
}

export interface PathCount {
  states: string[];
  transitions: number;
  lambdaInvocations: number;
  builds: number;
}

function readPath(input: unknown, jsonPath: string): { present: boolean; value?: unknown } {
  let at: unknown = input;
  for (const key of jsonPath
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)) {
    if (!at || typeof at !== 'object' || !(key in at)) return { present: false };
    at = (at as Record<string, unknown>)[key];
  }
  return { present: true, value: at };
}

/** Evaluates the simple Choice rules the deploy machine uses; anything else is an error to fix here. */
export function choiceMatches(rule: Record<string, unknown>, input: unknown): boolean {
  const variable = String(rule.Variable ?? '');
  const found = readPath(input, variable);
  for (const [op, expected] of Object.entries(rule)) {
    if (op === 'Variable' || op === 'Next') continue;
    switch (op) {
      case 'IsPresent':
        return found.present === expected;
      case 'BooleanEquals':
      case 'StringEquals':
      case 'NumericEquals':
        return found.present && found.value === expected;
      case 'NumericGreaterThan':
        return found.present && Number(found.value) > Number(expected);
      case 'NumericLessThan':
        return found.present && Number(found.value) < Number(expected);
      // Compound rules (the freeze gate skips rollbacks: And + Not).
      case 'And':
        return (expected as Record<string, unknown>[]).every((r) => choiceMatches(r, input));
      case 'Or':
        return (expected as Record<string, unknown>[]).some((r) => choiceMatches(r, input));
      case 'Not':
        return !choiceMatches(expected as Record<string, unknown>, input);
      default:
        throw new Error(`the cost model cannot evaluate Choice operator ${op} (on ${variable})`);
    }
  }
  throw new Error(`a Choice rule on ${variable} has no operator`);
}

/** The states entered from StartAt to the end, for one scenario. */
export function walk(machine: AslMachine, scenario: Scenario): PathCount {
  const states: string[] = [];
  let name: string | undefined = machine.StartAt;
  while (name) {
    if (states.length > 500) throw new Error(`the path loops (at ${name}): the scenario never leaves it`);
    const state = machine.States[name] as AslState | undefined;
    if (!state) throw new Error(`the state machine has no state ${name}`);
    states.push(name);
    scenario.visit?.(name, scenario.input);
    const error: string | undefined = scenario.errors[name];
    if (error) {
      const catcher: { Next: string } | undefined = state.Catch?.find(
        (c) => c.ErrorEquals.includes(error) || c.ErrorEquals.includes('States.ALL'),
      );
      if (!catcher) throw new Error(`${name} has no Catch for ${error}`);
      name = catcher.Next;
    } else if (state.Type === 'Choice') {
      name = state.Choices?.find((c) => choiceMatches(c, scenario.input))?.Next ?? state.Default;
      if (!name) throw new Error(`Choice ${states.at(-1)} has no matching rule and no Default`);
    } else name = state.Next; // an End, Succeed or Fail state has no Next: the walk ends there
  }
  const tasks = states.map((s) => machine.States[s] as AslState).filter((s) => s.Type === 'Task');
  return {
    states,
    transitions: states.length,
    lambdaInvocations: tasks.filter((t) => t.Resource?.includes(':lambda:invoke')).length,
    builds: tasks.filter((t) => t.Resource?.includes(':codebuild:startBuild')).length,
  };
}

export interface CostAssumptions {
  deploysPerDay: number;
  /** Minutes one deploy build takes. */
  buildMinutes: number;
  computeType: keyof Prices['codeBuild']['perBuildMinute'];
  lambdaMemoryMb: number;
  lambdaMilliseconds: number;
  architecture: keyof Prices['lambda']['perGbSecond'];
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  deploysPerDay: 10,
  buildMinutes: 2,
  computeType: 'general1.small',
  lambdaMemoryMb: 512,
  lambdaMilliseconds: 300,
  architecture: 'arm64',
};

export interface EnvironmentCost {
  environment: string;
  approval: boolean;
  bakeSeconds: number;
  path: PathCount;
}

export interface CostLine {
  what: string;
  quantity: string;
  usd: number;
  verified: boolean;
}

export interface CostReport {
  service: string;
  region: string;
  pricesRetrieved: string;
  assumptions: CostAssumptions;
  environments: EnvironmentCost[];
  perDeployment: {
    transitions: number;
    lambdaInvocations: number;
    gbSeconds: number;
    buildMinutes: number;
    lines: CostLine[];
    usd: number;
  };
  /** The same deployment when the first environment's bake fails and it rolls back. */
  rolledBack: { transitions: number; usd: number };
  perMonth: { deployments: number; usd: number; afterFreeTiers: number };
  codePipelineV2: {
    actionMinutesPerDeployment: number;
    perDeploymentUsd: number;
    perMonthUsd: number;
    afterFreeTier: number;
    note: string;
  };
  notCounted: string[];
}

/**
 * Step Functions' inner path of one environment, plus the Map state itself. A rollout walks its
 * step loop once per step (SelectStep moves the cursor, as the Pass state does on AWS); failing,
 * the first step's bake fails. An ECS rollout is ECS's own: Coconut's FollowEcsRollout wait ends
 * once per PAUSE hook (an approval) and once at the end; failing, ECS rolls the first step back.
 * While ECS bakes, the follow's safety re-check (every ECS_RECHECK_SECONDS with no event) finds it
 * busy and waits again: FollowEcsRollout (timed out), RecheckEcsRollout and its Choice, once per
 * whole interval of each wait (ecsFollowWaits).
 */
function environmentScenario(
  env: ServiceConfig['environments'][number],
  kind: ServiceConfig['target']['kind'],
  failing = false,
): Scenario {
  const steps = env.rollout ? rolloutSteps(env.rollout) : [];
  const stepBake = env.rollout?.bake ?? env.bake;
  const ecsRollout = kind === 'ecs' && env.rollout !== undefined;
  // The hooks before each shift after the first wait for people; the first one Coconut answers itself.
  const ecsApprovals = ecsRollout && env.rollout?.approveSteps ? steps.length - 1 : 0;
  let cursor = -1;
  let follows = 0;
  const bakeError = failing ? 'Coconut.AlarmFired' : undefined;
  // Failing, ECS rolls the first step back at once (its alarm): no re-check is counted.
  const waits = ecsRollout && !failing && env.rollout ? ecsFollowWaits(env.rollout, env.bake) : [];
  let rechecksLeft = Math.floor((waits[0] ?? 0) / ECS_RECHECK_SECONDS);
  const errors: Record<string, string> = {
    ...(bakeError ? { Bake: bakeError, StepBake: bakeError } : {}),
    ...(!failing && env.bake > 0 ? { Bake: 'States.Timeout' } : {}),
    ...(!failing && stepBake > 0 ? { StepBake: 'States.Timeout' } : {}),
    ...(failing && ecsRollout ? { FollowEcsRollout: ERRORS.ecsRolledBack } : {}),
  };
  return {
    input: {
      targetKind: kind,
      env: {
        ...(env.approval ? { approval: { timeoutSeconds: env.approval.timeout } } : {}),
        bakeSeconds: env.bake,
        ...(env.rollout ? { rollout: { bakeSeconds: stepBake, ...(ecsRollout ? { ecs: {} } : {}) } } : {}),
        // A push: automatic deployments pass the freeze and pin gate in every environment (plan.ts gatedAtPins).
        freeze: [],
      },
      // ...and find it open (no window closed, no pin).
      freezeGate: { open: true },
      alarmCheck: { breached: false },
      rollback: { canRollBack: true },
      ...(failing && ecsRollout ? { failure: { Error: ERRORS.ecsRolledBack } } : {}),
    },
    errors,
    visit: (state, input) => {
      if (state === 'FollowEcsRollout' && !failing) {
        if (rechecksLeft > 0) {
          // No event within the interval: the token times out and the re-check finds ECS still baking.
          rechecksLeft--;
          errors.FollowEcsRollout = 'States.Timeout';
          input.ecsRecheck = { said: { action: 'wait' } };
          return;
        }
        delete errors.FollowEcsRollout;
        follows++;
        rechecksLeft = Math.floor((waits[follows] ?? 0) / ECS_RECHECK_SECONDS);
        input.ecsWake = { action: follows <= ecsApprovals ? 'approve' : 'succeeded' };
      }
      if (state !== 'SelectStep') return;
      cursor++;
      input.at = { step: { approve: Boolean(env.rollout?.approveSteps) && cursor > 0, last: cursor === steps.length - 1 } };
    },
  };
}

/**
 * How long each FollowEcsRollout wait lasts (seconds): with approveSteps, one wait per step, ending at
 * the next PAUSE hook after the step's bake (the last one after ECS's final bake at 100%); without,
 * one wait for every step's bake and the final one.
 */
function ecsFollowWaits(rollout: NonNullable<ServiceConfig['environments'][number]['rollout']>, bake: number): number[] {
  const steps = rolloutSteps(rollout);
  const stepBake = rollout.bake ?? bake;
  const shifts = steps.slice(0, -1).map(() => stepBake);
  return rollout.approveSteps ? [...shifts, bake] : [shifts.reduce((a, b) => a + b, 0) + bake];
}

/**
 * ECS events that invoke functions/ecs-rollout-changed.ts during a deployment's ECS rollouts:
 * SERVICE_DEPLOYMENT_IN_PROGRESS and _COMPLETED, and one HOOK_AWAITING_ACTION per PAUSE hook
 * (before each shift, with approveSteps).
 */
function ecsEvents(service: ServiceConfig): number {
  if (service.target.kind !== 'ecs') return 0;
  return service.environments.reduce(
    (n, env) => n + (env.rollout ? 2 + (env.rollout.approveSteps ? rolloutSteps(env.rollout).length : 0) : 0),
    0,
  );
}

/** How many approvals an environment waits for: its own, plus one per later step with approveSteps. */
function approvalsOf(env: ServiceConfig['environments'][number]): number {
  if (!env.approval) return 0;
  return env.rollout?.approveSteps ? rolloutSteps(env.rollout).length : 1;
}

export function costModel(
  definition: AslMachine,
  service: ServiceConfig,
  assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS,
  p: Prices = PRICES,
): CostReport {
  const map = Object.values(definition.States).find((s) => (s as AslState).Type === 'Map') as AslState | undefined;
  if (!map?.ItemProcessor) throw new Error('the deploy state machine has no Map over environments');
  const inner = map.ItemProcessor;
  const outer = walk(definition, { input: {}, errors: {} });
  const environments = service.environments.map((env) => ({
    environment: env.name,
    approval: Boolean(env.approval),
    bakeSeconds: env.bake,
    path: walk(inner, environmentScenario(env, service.target.kind)),
  }));
  const transitions = outer.transitions + environments.reduce((n, e) => n + e.path.transitions, 0);
  const approvals = service.environments.reduce((n, env) => n + approvalsOf(env), 0);
  // Outside the state machine: the trigger (ecr-push or a webhook) and each approval decision.
  const lambdaInvocations = environments.reduce((n, e) => n + e.path.lambdaInvocations, 0) + 1 + approvals + ecsEvents(service);
  const gbSeconds = lambdaInvocations * (assumptions.lambdaMemoryMb / 1024) * (assumptions.lambdaMilliseconds / 1000);
  const builds = environments.reduce((n, e) => n + e.path.builds, 0);
  const buildMinutes = builds * assumptions.buildMinutes;
  const buildRate = p.codeBuild.perBuildMinute[assumptions.computeType];
  const lambdaRate = p.lambda.perGbSecond[assumptions.architecture];

  const lines: CostLine[] = [
    {
      what: 'Step Functions',
      quantity: `${transitions} state transitions`,
      usd: transitions * p.stepFunctions.perStateTransition,
      verified: p.stepFunctions.verified,
    },
    {
      what: 'Lambda',
      quantity: `${lambdaInvocations} invocations, ${round(gbSeconds, 2)} GB-s`,
      usd: (lambdaInvocations / 1e6) * p.lambda.perMillionRequests + gbSeconds * lambdaRate,
      verified: p.lambda.verified,
    },
    {
      what: 'CodeBuild',
      quantity: `${builds} build(s) x ${assumptions.buildMinutes} min, ${assumptions.computeType}`,
      usd: buildMinutes * buildRate,
      verified: p.codeBuild.verified,
    },
  ];
  const perDeploymentUsd = lines.reduce((n, l) => n + l.usd, 0);

  const first = service.environments[0];
  const failedFirst = first ? walk(inner, environmentScenario(first, service.target.kind, true)) : undefined;
  const rolledBackTransitions = outer.transitions + (failedFirst?.transitions ?? 0);
  const rolledBackBuilds = failedFirst?.builds ?? 0;
  const rolledBackLambda = (failedFirst?.lambdaInvocations ?? 0) + 1;
  const rolledBackUsd =
    rolledBackTransitions * p.stepFunctions.perStateTransition +
    (rolledBackLambda / 1e6) * p.lambda.perMillionRequests +
    rolledBackLambda * (assumptions.lambdaMemoryMb / 1024) * (assumptions.lambdaMilliseconds / 1000) * lambdaRate +
    rolledBackBuilds * assumptions.buildMinutes * buildRate;

  const deployments = assumptions.deploysPerDay * 30;
  const monthTransitions = Math.max(0, transitions * deployments - p.stepFunctions.freeTransitionsPerMonth);
  const monthRequests = Math.max(0, lambdaInvocations * deployments - p.lambda.freeRequestsPerMonth);
  const monthGbSeconds = Math.max(0, gbSeconds * deployments - p.lambda.freeGbSecondsPerMonth);
  const freeBuildMinutes = assumptions.computeType === 'general1.small' ? p.codeBuild.freeMinutesPerMonth : 0;
  const monthBuildMinutes = Math.max(0, buildMinutes * deployments - freeBuildMinutes);
  const afterFreeTiers =
    monthTransitions * p.stepFunctions.perStateTransition +
    (monthRequests / 1e6) * p.lambda.perMillionRequests +
    monthGbSeconds * lambdaRate +
    monthBuildMinutes * buildRate;

  // CodePipeline V2: per environment a deploy action as long as the build (rounded up), a free
  // manual approval, and the bake as an action that waits the bake time (rounded up).
  // A rollout: a deploy action and a bake action per step.
  const actionMinutes = service.environments.reduce((n, env) => {
    const steps = env.rollout ? rolloutSteps(env.rollout).length : 1;
    const bake = env.rollout?.bake ?? env.bake;
    return n + steps * (Math.ceil(assumptions.buildMinutes) + (bake > 0 ? Math.ceil(bake / 60) : 0));
  }, 0);
  const pipelinePerDeployment = actionMinutes * p.codePipelineV2.perActionMinute + buildMinutes * buildRate;
  const pipelineMonthMinutes = Math.max(0, actionMinutes * deployments - p.codePipelineV2.freeActionMinutesPerMonth);

  return {
    service: service.name,
    region: p.region,
    pricesRetrieved: p.retrieved,
    assumptions,
    environments,
    perDeployment: { transitions, lambdaInvocations, gbSeconds, buildMinutes, lines, usd: perDeploymentUsd },
    rolledBack: { transitions: rolledBackTransitions, usd: rolledBackUsd },
    perMonth: { deployments, usd: perDeploymentUsd * deployments, afterFreeTiers },
    codePipelineV2: {
      actionMinutesPerDeployment: actionMinutes,
      perDeploymentUsd: pipelinePerDeployment,
      perMonthUsd: pipelinePerDeployment * deployments,
      afterFreeTier: pipelineMonthMinutes * p.codePipelineV2.perActionMinute + monthBuildMinutes * buildRate,
      note: 'deploy actions as long as the build plus the bake as a waiting action, each rounded up to the minute; approvals free; the same CodeBuild minutes',
    },
    notCounted: [
      'DynamoDB on-demand requests (a few dozen small writes per deployment)',
      'CloudWatch alarms and logs, EventBridge events (AWS service events are free to receive)',
      'API Gateway requests from the dashboard and CLI',
    ],
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
