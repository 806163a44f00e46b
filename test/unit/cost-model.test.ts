import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { choiceMatches, costModel, PRICES, walk } from '../../src/core/cost/model.ts';

const definition = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8'));
const inner = definition.States.Environments.ItemProcessor;
const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 5m, alarms: [a] }
      - { name: prod, approval: { approvers: [U1] }, bake: 10m, alarms: [b] }
`);
const service = config.services[0]!;

describe('Cost model (core/cost)', () => {
  it('walks deploy.asl.json along the happy path, with and without an approval', () => {
    const plain = walk(inner, {
      input: { env: { bakeSeconds: 300 }, alarmCheck: { breached: false } },
      errors: { Bake: 'States.Timeout' },
    });
    expect(plain.states).toEqual([
      'FreezeWindows?',
      'AcquireLock',
      'NeedsScan?',
      'NeedsApproval?',
      'RecordDeploying',
      'DeployTarget?',
      'Deploy',
      'RecordBaking',
      'CheckAlarmsBeforeBake',
      'BreachedBeforeBake?',
      'Bake',
      'CheckAlarmsAfterBake',
      'BreachedAfterBake?',
      'RecordSucceeded',
      'ReleaseLock',
      'EnvironmentDone',
    ]);
    expect(plain).toMatchObject({ transitions: 16, lambdaInvocations: 8, builds: 1 });
    const gated = walk(inner, {
      input: {
        env: { approval: { timeoutSeconds: 60 }, bakeSeconds: 300 },
        alarmCheck: { breached: false },
      },
      errors: { Bake: 'States.Timeout' },
    });
    expect(gated.states.slice(3, 6)).toEqual(['NeedsApproval?', 'RecordAwaitingApproval', 'RequestApproval']);
    expect(gated.transitions).toBe(18);
  });

  it('prices a deployment from the path, beside CodePipeline V2', () => {
    const r = costModel(definition, service, {
      deploysPerDay: 10,
      buildMinutes: 3,
      computeType: 'general1.small',
      lambdaMemoryMb: 1024,
      lambdaMilliseconds: 1000,
      architecture: 'arm64',
    });
    // Map state + 18 (staging) + 20 (prod with approval): a push passes the freeze and pin gate
    // in each environment (FreezeWindows?, FreezeGate, FreezeOpen?; plan.ts gatedAtPins).
    expect(r.perDeployment.transitions).toBe(39);
    // 9 + 11 in the state machine, plus the trigger and the approval decision
    expect(r.perDeployment.lambdaInvocations).toBe(22);
    expect(r.perDeployment.gbSeconds).toBe(22);
    expect(r.perDeployment.buildMinutes).toBe(6);
    const [sfn, lambda, build] = r.perDeployment.lines;
    expect(sfn?.usd).toBeCloseTo(39 * 0.000025, 10);
    expect(lambda?.usd).toBeCloseTo(22 * 0.2e-6 + 22 * 0.0000133334, 10);
    expect(build?.usd).toBeCloseTo(6 * 0.005, 10);
    expect(r.perMonth.deployments).toBe(300);
    // CodePipeline: per environment the build (3 min) and the bake (5 and 10 min) as action minutes.
    expect(r.codePipelineV2.actionMinutesPerDeployment).toBe(3 + 5 + 3 + 10);
    expect(r.codePipelineV2.perDeploymentUsd).toBeCloseTo(21 * 0.002 + 6 * 0.005, 10);
    // A rollback in staging: Map + the failure path through Rollback.
    expect(r.rolledBack.transitions).toBeGreaterThan(14);
  });

  it('counts no transition for waiting behind a lock: the path is the same whether the lock is free or held', () => {
    // The scenario data a lock poll would read ($.lock.acquired); the old Wait -> AcquireLock loop
    // never left the lock with it false, so the walk failed ("the path loops").
    const scenario = (acquired: boolean) => ({
      input: { lock: { acquired }, env: { bakeSeconds: 300 }, alarmCheck: { breached: false } },
      errors: { Bake: 'States.Timeout' },
    });
    const free = walk(inner, scenario(true));
    const held = walk(inner, scenario(false));
    expect(held).toEqual(free);
    expect(free.states.filter((s) => inner.States[s].Type === 'Wait')).toEqual([]);
  });

  it('evaluates compound Choice rules (And, Or, Not) as Step Functions does', () => {
    // https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html (Boolean operators And, Or, Not)
    const gate = {
      And: [{ Variable: '$.env.freeze', IsPresent: true }, { Not: { Variable: '$.env.buildAction', StringEquals: 'rollback' } }],
      Next: 'FreezeGate',
    };
    expect(choiceMatches(gate, { env: { freeze: [], buildAction: 'deploy' } })).toBe(true);
    expect(choiceMatches(gate, { env: { freeze: [], buildAction: 'rollback' } })).toBe(false);
    expect(choiceMatches(gate, { env: { buildAction: 'deploy' } })).toBe(false);
    const either = {
      Or: [
        { Variable: '$.a', BooleanEquals: true },
        { Variable: '$.b', BooleanEquals: true },
      ],
      Next: 'n',
    };
    expect(choiceMatches(either, { a: false, b: true })).toBe(true);
    expect(choiceMatches(either, { a: false, b: false })).toBe(false);
  });

  it('refuses Choice rules it cannot evaluate instead of guessing', () => {
    expect(() => choiceMatches({ Variable: '$.x', StringMatches: 'a*', Next: 'n' }, {})).toThrow(
      'cannot evaluate Choice operator StringMatches',
    );
    expect(choiceMatches({ Variable: '$.a.b', IsPresent: false, Next: 'n' }, { a: {} })).toBe(true);
  });

  it('keeps every price with its source, marking unverified figures', () => {
    for (const section of [PRICES.stepFunctions, PRICES.lambda, PRICES.codeBuild, PRICES.codePipelineV2]) {
      expect(section.source.length).toBeGreaterThan(20);
      expect(typeof section.verified).toBe('boolean');
    }
    expect(PRICES.codeBuild.verified).toBe(false);
    expect(PRICES.stepFunctions.perStateTransition).toBe(0.025 / 1000);
    expect(PRICES.retrieved).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('counts the extra transitions of a rollout: the step loop once per step, step approvals included', () => {
    const stepped = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: ansible, inventory: inventory.yml }
    environments:
      - name: prod
        approval: { approvers: [U1] }
        bake: 10m
        alarms: [b]
        rollout: { strategy: canary, steps: [10, 50], bake: 5m, approveSteps: true }
`).services[0]!;
    const allAtOnce = costModel(definition, { ...stepped, environments: [{ ...stepped.environments[0]!, rollout: undefined }] });
    const report = costModel(definition, stepped);
    const path = report.environments[0]!.path;
    // Three deploys, three bakes, and an approval before the 50% and the 100% step.
    expect(path.builds).toBe(3);
    expect(path.states.filter((s) => s === 'StepBake')).toHaveLength(3);
    expect(path.states.filter((s) => s === 'RequestStepApproval')).toHaveLength(2);
    expect(path.states.filter((s) => s === 'NextStep')).toHaveLength(2);
    expect(path.states.at(-3)).toBe('RecordSucceeded');
    // Up to DeployTarget? as all at once (10, the freeze and pin gate first), StartRollout, per step 11 states (select,
    // approval choice, record, deploy, record, check, choice, bake, check, choice, last-step choice), 2 more per
    // approved step, NextStep between steps, and the 3 closing states.
    expect(allAtOnce.environments[0]!.path.transitions).toBe(20);
    expect(path.transitions).toBe(10 + 1 + 3 * 11 + 2 * 2 + 2 + 3);
    expect(report.perDeployment.transitions).toBeGreaterThan(allAtOnce.perDeployment.transitions);
    expect(report.perDeployment.lambdaInvocations).toBeGreaterThan(allAtOnce.perDeployment.lambdaInvocations);
    // Failing at the first step's bake: one deploy, then the rollback.
    expect(report.rolledBack.transitions).toBeLessThan(report.perDeployment.transitions);
  });
});

describe('Cost model: an ECS canary, which ECS steps itself', () => {
  const ecsCanary = parseConfig(`
services:
  - name: orders
    image: { registry: ecr, repository: orders }
    target: { kind: ecs, cluster: main }
    environments:
      - name: prod
        approval: { approvers: [U1] }
        bake: 10m
        alarms: [b]
        rollout: { strategy: canary, steps: [10], bake: 5m, approveSteps: true }
`).services[0]!;

  it('counts one token wait per ECS event that matters, not a loop of Coconut steps, and no build', () => {
    const report = costModel(definition, ecsCanary);
    const path = report.environments[0]!.path;
    expect(path.builds).toBe(0);
    expect(path.states).not.toContain('SelectStep');
    // The wait ends at the hook before 100% (approval) and at the end: two follows, one step approval.
    // Each whole 5-minute re-check interval of a wait adds a follow that times out, its re-check and a
    // Choice: one in the 5-minute canary bake, two in the 10-minute bake at 100%.
    expect(path.states.filter((s) => s === 'FollowEcsRollout')).toHaveLength(2 + 3);
    expect(path.states.filter((s) => s === 'RecheckEcsRollout')).toHaveLength(3);
    expect(path.states).not.toContain('EcsRecheckMovedOn');
    expect(path.states.filter((s) => s === 'RequestEcsStepApproval')).toHaveLength(1);
    expect(path.states.filter((s) => s === 'ContinueEcsRollout')).toHaveLength(1);
    expect(path.states.at(-3)).toBe('RecordSucceeded');
    // 10 states up to DeployTarget? (the freeze and pin gate included); start, record, follow, choice; 7 for the approval (record, request,
    // record, continue, then record, follow and choice again); 3 closing; 3 per re-check.
    expect(path.transitions).toBe(10 + 4 + 7 + 3 + 3 * 3);
    // Failing: ECS rolled back; Coconut records it without running a rollback of its own.
    const failed = walk(inner, {
      input: {
        targetKind: 'ecs',
        env: { rollout: { ecs: {} } },
        rollback: { canRollBack: true },
        failure: { Error: 'Coconut.EcsRolledBack' },
      },
      errors: { FollowEcsRollout: 'Coconut.EcsRolledBack' },
    });
    expect(failed.states).toContain('EcsRolledBackItself');
    expect(failed.states).not.toContain('RollbackEcs');
    expect(report.rolledBack.transitions).toBeLessThan(report.perDeployment.transitions);
  });
});

describe('Cost model: the Choice rules it evaluates', () => {
  const rule = (op: string, value: unknown, variable = '$.a.b') => ({ Variable: variable, [op]: value, Next: 'n' });

  it('reads a path through objects only; a missing or null step is absent', () => {
    expect(choiceMatches(rule('IsPresent', true), { a: { b: 0 } })).toBe(true);
    expect(choiceMatches(rule('IsPresent', true), { a: { c: 1 } })).toBe(false);
    expect(choiceMatches(rule('IsPresent', true), { a: null })).toBe(false);
    expect(choiceMatches(rule('IsPresent', true), { a: 'b' })).toBe(false);
    expect(choiceMatches(rule('IsPresent', false), { a: 7 })).toBe(true);
    // `$` is the whole input; a rule without a Variable reads it too.
    expect(choiceMatches(rule('IsPresent', true, '$'), {})).toBe(true);
    expect(choiceMatches({ IsPresent: true, Next: 'n' }, { x: 1 })).toBe(true);
    expect(choiceMatches(rule('StringEquals', 'v', '$.a'), { a: 'v' })).toBe(true);
    // Only a leading `$` is the root: one later is part of a key.
    expect(choiceMatches(rule('IsPresent', true, 'x$.y'), { x$: { y: 1 } })).toBe(true);
  });

  it('compares equal values only when present, and numbers strictly', () => {
    expect(choiceMatches(rule('BooleanEquals', true), { a: { b: true } })).toBe(true);
    expect(choiceMatches(rule('BooleanEquals', true), { a: { b: 'true' } })).toBe(false);
    expect(choiceMatches(rule('BooleanEquals', false), { a: { b: false } })).toBe(true);
    expect(choiceMatches(rule('StringEquals', 'ecs'), { a: { b: 'ecs' } })).toBe(true);
    expect(choiceMatches(rule('StringEquals', 'ecs'), { a: { b: 'helm' } })).toBe(false);
    expect(choiceMatches(rule('NumericEquals', 0), { a: { b: 0 } })).toBe(true);
    // An absent value equals nothing, not even undefined.
    expect(choiceMatches(rule('StringEquals', undefined), {})).toBe(false);
    expect(choiceMatches(rule('NumericGreaterThan', 3), { a: { b: 4 } })).toBe(true);
    expect(choiceMatches(rule('NumericGreaterThan', 3), { a: { b: 3 } })).toBe(false);
    expect(choiceMatches(rule('NumericGreaterThan', -1), {})).toBe(false);
    expect(choiceMatches(rule('NumericLessThan', 3), { a: { b: 2 } })).toBe(true);
    expect(choiceMatches(rule('NumericLessThan', 3), { a: { b: 3 } })).toBe(false);
    expect(choiceMatches(rule('NumericLessThan', 1), {})).toBe(false);
  });

  it('names the operator it cannot evaluate and a rule without any', () => {
    expect(() => choiceMatches(rule('StringMatches', 'a*', '$.x'), {})).toThrow(
      new Error('the cost model cannot evaluate Choice operator StringMatches (on $.x)'),
    );
    expect(() => choiceMatches({ Variable: '$.x', Next: 'n' }, {})).toThrow(new Error('a Choice rule on $.x has no operator'));
  });
});

describe('Cost model: walking a state machine', () => {
  const task = (resource: string, next?: string, extra: Record<string, unknown> = {}) => ({
    Type: 'Task',
    Resource: `arn:aws:states:::${resource}`,
    ...(next ? { Next: next } : { End: true }),
    ...extra,
  });
  const machine = (States: Record<string, unknown>, StartAt = 'A') =>
    ({ StartAt, States }) as unknown as Parameters<typeof walk>[0];

  it('follows Next to a Succeed, Fail or End state, counting Lambda invocations and builds among the tasks', () => {
    const m = machine({
      A: task('lambda:invoke.waitForTaskToken', 'B'),
      B: { Type: 'Pass', Next: 'C' },
      C: task('codebuild:startBuild.sync', 'D'),
      D: task('sns:publish', 'E'),
      E: task('lambda:invoke', 'F'),
      F: { Type: 'Succeed' },
    });
    expect(walk(m, { input: {}, errors: {} })).toEqual({
      states: ['A', 'B', 'C', 'D', 'E', 'F'],
      transitions: 6,
      lambdaInvocations: 2,
      builds: 1,
    });
    expect(
      walk(machine({ A: task('lambda:invoke', 'B'), B: { Type: 'Fail' }, C: { Type: 'Pass', End: true } }), {
        input: {},
        errors: {},
      }).states,
    ).toEqual(['A', 'B']);
    expect(walk(machine({ A: task('lambda:invoke') }), { input: {}, errors: {} }).states).toEqual(['A']);
  });

  it('takes the first Catch that names the error, or States.ALL, when a task fails', () => {
    const m = machine({
      A: task('lambda:invoke', 'Z', {
        Catch: [
          { ErrorEquals: ['States.Timeout'], Next: 'T' },
          { ErrorEquals: ['States.ALL'], Next: 'X' },
        ],
      }),
      T: { Type: 'Succeed' },
      X: { Type: 'Fail' },
      Z: { Type: 'Succeed' },
    });
    expect(walk(m, { input: {}, errors: { A: 'States.Timeout' } }).states).toEqual(['A', 'T']);
    expect(walk(m, { input: {}, errors: { A: 'Coconut.AlarmFired' } }).states).toEqual(['A', 'X']);
    expect(walk(m, { input: {}, errors: { B: 'States.Timeout' } }).states).toEqual(['A', 'Z']);
    expect(() =>
      walk(
        machine({
          A: task('lambda:invoke', 'Z', { Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Z' }] }),
          Z: { Type: 'Succeed' },
        }),
        { input: {}, errors: { A: 'Boom' } },
      ),
    ).toThrow(new Error('A has no Catch for Boom'));
    expect(() =>
      walk(machine({ A: task('lambda:invoke', 'Z'), Z: { Type: 'Succeed' } }), { input: {}, errors: { A: 'Boom' } }),
    ).toThrow('A has no Catch for Boom');
  });

  it('takes the first matching Choice rule, else the Default; neither is an error naming the state', () => {
    const m = machine(
      {
        'C?': {
          Type: 'Choice',
          Choices: [
            { Variable: '$.n', NumericGreaterThan: 5, Next: 'Big' },
            { Variable: '$.n', NumericGreaterThan: 0, Next: 'Small' },
          ],
          Default: 'None',
        },
        Big: { Type: 'Succeed' },
        Small: { Type: 'Succeed' },
        None: { Type: 'Succeed' },
      },
      'C?',
    );
    expect(walk(m, { input: { n: 9 }, errors: {} }).states).toEqual(['C?', 'Big']);
    expect(walk(m, { input: { n: 2 }, errors: {} }).states).toEqual(['C?', 'Small']);
    expect(walk(m, { input: { n: 0 }, errors: {} }).states).toEqual(['C?', 'None']);
    // A Choice without rules goes to its Default.
    expect(
      walk(machine({ 'C?': { Type: 'Choice', Default: 'Z' }, Z: { Type: 'Succeed' } }, 'C?'), { input: {}, errors: {} }).states,
    ).toEqual(['C?', 'Z']);
    const noDefault = machine(
      { 'C?': { Type: 'Choice', Choices: [{ Variable: '$.n', IsPresent: true, Next: 'Z' }] }, Z: { Type: 'Succeed' } },
      'C?',
    );
    expect(() => walk(noDefault, { input: {}, errors: {} })).toThrow(new Error('Choice C? has no matching rule and no Default'));
  });

  it('refuses a Next to a state that does not exist, and a path that never ends (cut after 501 states)', () => {
    expect(() => walk(machine({ A: task('lambda:invoke', 'Nowhere') }), { input: {}, errors: {} })).toThrow(
      new Error('the state machine has no state Nowhere'),
    );
    const loop = machine({ A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', Next: 'A' } });
    expect(() => walk(loop, { input: {}, errors: {} })).toThrow(new Error('the path loops (at B): the scenario never leaves it'));
  });
});

describe('Cost model: the figures, with round test prices', () => {
  // Test prices chosen so every figure below can be worked out by hand.
  const p = {
    ...PRICES,
    stepFunctions: { ...PRICES.stepFunctions, perStateTransition: 1, freeTransitionsPerMonth: 100 },
    lambda: {
      ...PRICES.lambda,
      perMillionRequests: 1e6,
      perGbSecond: { arm64: 10, x86_64: 20 },
      freeRequestsPerMonth: 50,
      freeGbSecondsPerMonth: 5,
    },
    codeBuild: {
      ...PRICES.codeBuild,
      perBuildMinute: { 'general1.small': 100, 'general1.medium': 200, 'general1.large': 300 },
      freeMinutesPerMonth: 7,
    },
    codePipelineV2: { ...PRICES.codePipelineV2, perActionMinute: 1000, freeActionMinutesPerMonth: 3 },
  } as typeof PRICES;
  const twoEnvs = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 5m }
      - { name: prod, approval: { approvers: [U1] }, bake: 90s }
`).services[0]!;
  const assumptions = {
    deploysPerDay: 10,
    buildMinutes: 2.5,
    computeType: 'general1.small' as const,
    lambdaMemoryMb: 1024,
    lambdaMilliseconds: 1000,
    architecture: 'arm64' as const,
  };

  it('per deployment: transitions, invocations (plus the trigger and each approval), GB-seconds and build minutes, each priced', () => {
    const r = costModel(definition, twoEnvs, assumptions, p);
    expect(r.environments.map((e) => [e.environment, e.approval, e.bakeSeconds, e.path.transitions])).toEqual([
      ['staging', false, 300, 18],
      ['prod', true, 90, 20],
    ]);
    // The Map state, then 18 and 20 (each starts with the freeze and pin gate); 9 and 11 invocations; one build each.
    expect(r.perDeployment).toEqual({
      transitions: 39,
      lambdaInvocations: 22,
      gbSeconds: 22,
      buildMinutes: 5,
      usd: 39 + (22 + 22 * 10) + 5 * 100,
      lines: [
        { what: 'Step Functions', quantity: '39 state transitions', usd: 39, verified: true },
        { what: 'Lambda', quantity: '22 invocations, 22 GB-s', usd: 242, verified: false },
        { what: 'CodeBuild', quantity: '2 build(s) x 2.5 min, general1.small', usd: 500, verified: false },
      ],
    });
    expect(r).toMatchObject({ service: 'api', region: 'us-east-1', pricesRetrieved: PRICES.retrieved, assumptions });
  });

  it('a rollback in the first environment: the Map and its failure path (9 invocations plus the trigger, two builds)', () => {
    const r = costModel(definition, twoEnvs, assumptions, p);
    expect(r.rolledBack).toEqual({ transitions: 21, usd: 21 + 10 + 10 * 10 + 2 * 2.5 * 100 });
    // A first environment without a bake never enters Bake: its "failure" is the plain path.
    const unbaked = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 0s }
`).services[0]!;
    const quick = costModel(definition, unbaked, assumptions, p);
    expect(quick.environments[0]?.path.states.at(-3)).toBe('RecordSucceeded');
    expect(quick.rolledBack.transitions).toBe(quick.perDeployment.transitions);
  });

  it('per month: 30 days of deployments, and what is left to pay after each free tier', () => {
    const r = costModel(definition, twoEnvs, assumptions, p);
    expect(r.perMonth).toEqual({
      deployments: 300,
      usd: 781 * 300,
      // transitions, requests, GB-seconds, build minutes, each over its free tier
      afterFreeTiers: 39 * 300 - 100 + (22 * 300 - 50) + (22 * 300 - 5) * 10 + (5 * 300 - 7) * 100,
    });
    // The free build minutes are general1.small's only.
    const medium = costModel(definition, twoEnvs, { ...assumptions, computeType: 'general1.medium', architecture: 'x86_64' }, p);
    expect(medium.perDeployment.lines[2]?.usd).toBe(5 * 200);
    expect(medium.perDeployment.lines[1]?.usd).toBe(22 + 22 * 20);
    expect(medium.perMonth.afterFreeTiers).toBe(11600 + 6550 + 6595 * 20 + 1500 * 200);
    // Free tiers bigger than the use: nothing to pay, never less.
    const generous = {
      ...p,
      stepFunctions: { ...p.stepFunctions, freeTransitionsPerMonth: 1e9 },
      lambda: { ...p.lambda, freeRequestsPerMonth: 1e9, freeGbSecondsPerMonth: 1e9 },
      codeBuild: { ...p.codeBuild, freeMinutesPerMonth: 1e9 },
      codePipelineV2: { ...p.codePipelineV2, freeActionMinutesPerMonth: 1e9 },
    } as typeof PRICES;
    const free = costModel(definition, twoEnvs, assumptions, generous);
    expect(free.perMonth.afterFreeTiers).toBe(0);
    expect(free.codePipelineV2.afterFreeTier).toBe(0);
  });

  it('prices transitions, GB-seconds and their free tiers with the rates and the assumptions, not around them', () => {
    const dear = { ...p, stepFunctions: { ...p.stepFunctions, perStateTransition: 2 } } as typeof PRICES;
    const r = costModel(definition, twoEnvs, { ...assumptions, lambdaMemoryMb: 2048, lambdaMilliseconds: 500 }, dear);
    // 21 transitions at 2; 10 invocations, each 2 GB for 0.5 s at 10; two builds of 2.5 minutes at 100.
    expect(r.rolledBack.usd).toBe(21 * 2 + 10 + 10 * 2 * 0.5 * 10 + 2 * 2.5 * 100);
    expect(r.perMonth.afterFreeTiers).toBe((39 * 300 - 100) * 2 + (22 * 300 - 50) + (22 * 300 - 5) * 10 + (5 * 300 - 7) * 100);
  });

  it('beside CodePipeline V2: per environment the build and the bake, each rounded up to the minute', () => {
    const r = costModel(definition, twoEnvs, assumptions, p);
    // staging: 3 + 5 minutes; prod: 3 + 2 (90 s) minutes.
    expect(r.codePipelineV2).toEqual({
      actionMinutesPerDeployment: 13,
      perDeploymentUsd: 13 * 1000 + 5 * 100,
      perMonthUsd: 13_500 * 300,
      afterFreeTier: (13 * 300 - 3) * 1000 + (5 * 300 - 7) * 100,
      note: expect.stringContaining('rounded up to the minute'),
    });
    expect(r.notCounted).toEqual([
      expect.stringContaining('DynamoDB'),
      expect.stringContaining('CloudWatch'),
      expect.stringContaining('API Gateway'),
    ]);
  });

  it('rounds the GB-seconds it shows to two decimals', () => {
    const r = costModel(definition, twoEnvs, { ...assumptions, lambdaMemoryMb: 100, lambdaMilliseconds: 123 }, p);
    expect(r.perDeployment.gbSeconds).toBeCloseTo(22 * (100 / 1024) * 0.123, 12);
    expect(r.perDeployment.lines[1]?.quantity).toBe('22 invocations, 0.26 GB-s');
  });

  it('refuses a state machine without a Map over environments', () => {
    expect(() => costModel({ StartAt: 'A', States: { A: { Type: 'Succeed' } } } as never, twoEnvs, assumptions, p)).toThrow(
      new Error('the deploy state machine has no Map over environments'),
    );
  });
});
