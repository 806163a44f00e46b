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
    // Map state + 16 (staging) + 18 (prod with approval); each environment's path starts at the
    // FreezeWindows? choice (one transition, also without windows).
    expect(r.perDeployment.transitions).toBe(35);
    // 8 + 10 in the state machine, plus the trigger and the approval decision
    expect(r.perDeployment.lambdaInvocations).toBe(20);
    expect(r.perDeployment.gbSeconds).toBe(20);
    expect(r.perDeployment.buildMinutes).toBe(6);
    const [sfn, lambda, build] = r.perDeployment.lines;
    expect(sfn?.usd).toBeCloseTo(35 * 0.000025, 10);
    expect(lambda?.usd).toBeCloseTo(20 * 0.2e-6 + 20 * 0.0000133334, 10);
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
});
