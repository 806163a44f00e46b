/**
 * An ECS canary through deploy.asl.json, run for real: the same ASL in aws-local-stepfunctions, the
 * real pipeline-step, request-approval and ecs-rollout-changed handlers over dynalite, the real
 * EcsTargetAdapter — only ECS's API answers stand in (aws-sdk-client-mock, typed by
 * @aws-sdk/client-ecs: moto 5 has no DescribeServiceDeployments / ContinueServiceDeployment), shaped
 * as the ECS docs describe a canary with a PAUSE hook and a deployment alarm:
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 * ECS steps itself: Coconut waits on a task token between ECS events (one DescribeServiceDeployments
 * per wake, no polling loop), asks the approvers at the hook, and answers CONTINUE or ROLLBACK.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ContinueServiceDeploymentCommand,
  type ContinueServiceDeploymentCommandInput,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type ServiceDeployment,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEcsRolloutChangedHandler } from '../../functions/ecs-rollout-changed.ts';
import { createPipelineStepHandler } from '../../functions/pipeline-step.ts';
import { createRequestApprovalHandler } from '../../functions/request-approval.ts';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { EcsTargetAdapter } from '../../src/aws/ecs-target.ts';
import type { AslDefinition } from '../../src/core/asl.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { decideApproval } from '../../src/core/pipeline/approvals.ts';
import type { AlarmStatus } from '../../src/core/ports.ts';
import { buildPlan, deploymentRecord, initialStages } from '../../src/core/triggers/plan.ts';
import { loadStateMachine } from '../../src/local/asl.ts';
import { RehearsalEcsTarget } from '../../src/local/ecs-rehearsal.ts';
import { LocalEngine } from '../../src/local/engine.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

const config = parseConfig(`
services:
  - name: demo-orders
    image: { registry: ecr, repository: demo-orders }
    target: { kind: ecs, cluster: demo }
    environments:
      - name: prod
        bake: 2m
        alarms: [demo-orders-prod-5xx]
        approval: { approvers: [U0APPROVER], timeout: 1h }
        rollout: { strategy: canary, steps: [10], bake: 1m, approveSteps: true }
`);
const service = config.services[0] as NonNullable<(typeof config.services)[0]>;

const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const TD1 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/demo-orders:1';
const TD2 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/demo-orders:2';
const SERVICE_ARN = 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo-orders';
const SD = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/demo-orders/EZe5RNVLH6PPzHXINuP28';
const digest = (n: number) => `sha256:${String(n).repeat(64)}`;

const ecs = mockClient(ECSClient);

/** The service deployment as ECS describes it at this moment (the test moves it along). */
let deployment: ServiceDeployment = {};
const at = (over: ServiceDeployment): void => {
  deployment = { serviceDeploymentArn: SD, serviceArn: SERVICE_ARN, status: 'IN_PROGRESS', ...over };
};
/** Where ECS will be when RecheckEcsRollout next reads the deployment, and how the mock tells that read. */
let atRecheck: ServiceDeployment | undefined;
let recheckReading: (() => boolean) | undefined;
const hook = (hookId: string, status: 'AWAITING_ACTION' | 'SUCCEEDED') => ({ hookId, targetType: 'PAUSE' as const, status });

/** The ECS developer guide's event, for this service. */
function ecsEvent(detailType: 'ECS Deployment State Change' | 'ECS Hook State Change', eventName: string) {
  return {
    version: '0',
    id: `ev-${eventName}-${Math.random()}`,
    'detail-type': detailType,
    source: 'aws.ecs',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [SERVICE_ARN],
    detail: { eventType: 'INFO', eventName },
  };
}

describe('deploy.asl.json: an ECS canary (10% -> 100%) that ECS steps itself (aws-sdk-client-mock for ECS: moto 5 lacks these calls)', () => {
  let definition: AslDefinition;
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    definition = await loadStateMachine(PROJECT_ROOT, 'deploy');
  });
  // A store per test: every test deploys demo-orders/prod, so a test that fails mid-rollout would hold the
  // environment lock and time the next ones out behind it (a CI run showed that cascade).
  beforeEach(async () => {
    ({ store, dynamo } = await dynaliteStore());
  });
  afterEach(async () => {
    atRecheck = undefined;
    recheckReading = undefined;
    ecs.reset();
    await dynamo?.stop();
  });

  /** ECS on the mock: the service runs TD1; ContinueServiceDeployment moves the deployment as `onContinue` says. */
  function ecsApi(onContinue: (input: ContinueServiceDeploymentCommandInput) => void) {
    const svc = {
      serviceArn: SERVICE_ARN,
      serviceName: 'demo-orders',
      status: 'ACTIVE',
      taskDefinition: TD1,
      deploymentController: { type: 'ECS' as const },
      deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100, strategy: 'ROLLING' as const },
      loadBalancers: [
        {
          targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders/0123456789abcdef',
          containerName: 'demo-orders',
          containerPort: 8080,
        },
      ],
    };
    ecs.on(DescribeServicesCommand).resolves({ services: [svc] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        taskDefinitionArn: TD1,
        family: 'demo-orders',
        status: 'ACTIVE',
        containerDefinitions: [{ name: 'demo-orders', image: `${REGISTRY}/demo-orders:1.0.0` }],
      },
    });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD2 } });
    ecs.on(UpdateServiceCommand).callsFake(() => {
      // ECS pauses at the PRE_PRODUCTION_TRAFFIC_SHIFT hook before the first shift.
      at({
        targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 0 },
        lifecycleHookDetails: [hook('ecs-pause-1', 'AWAITING_ACTION')],
      });
      return { service: { ...svc, taskDefinition: TD2, currentServiceDeployment: SD } };
    });
    ecs.on(DescribeServiceDeploymentsCommand).callsFake(() => {
      // A change the test scheduled for the re-check's read (not a follow's own read) happens now.
      if (atRecheck && recheckReading?.()) {
        at(atRecheck);
        atRecheck = undefined;
      }
      return { serviceDeployments: [deployment], failures: [] };
    });
    ecs.on(ContinueServiceDeploymentCommand).callsFake((input: ContinueServiceDeploymentCommandInput) => {
      onContinue(input);
      return { serviceDeploymentArn: SD };
    });
  }

  /** `recheckSeconds`: the plan's re-check interval, shortened for the lost-event tests (the ASL reads it from the plan). */
  async function run(version: string, n: number, target: unknown = new EcsTargetAdapter(), recheckSeconds?: number) {
    const good = { version: '1.0.0', deploymentId: 'earlier', revision: TD1 };
    await store.setEnvironmentVersions('demo-orders', 'prod', { current: good, lastKnownGood: good }, new Date());
    const log = memoryLog();
    const alarms = {
      getStates: async (names: string[]): Promise<AlarmStatus[]> => names.map((name) => ({ name, state: 'OK' as const })),
    };
    const notifier = {
      approvalRequested: async () => undefined,
      approvalDecided: async () => undefined,
      stageChanged: async () => undefined,
    };
    let engine: LocalEngine;
    const deps = () =>
      ({
        store,
        orchestrator: engine,
        clock: { now: () => new Date() },
        log,
        notifier,
        alarms,
        config,
        ecs: target,
      }) as never;
    const pipelineStep = createPipelineStepHandler(async () => deps());
    const requestApproval = createRequestApprovalHandler(async () => deps());
    const ecsChanged = createEcsRolloutChangedHandler(async () => deps());
    engine = new LocalEngine({
      definitions: { deploy: definition },
      functions: {
        'pipeline-step': (event, context) => pipelineStep(event as never, context),
        'request-approval': (event, context) => requestApproval(event as never, context),
      },
      builds: { run: async () => Promise.reject(new Error('an ECS rollout runs no build')) },
      dataDir: mkdtempSync(path.join(tmpdir(), 'coconut-ecs-rollout-')),
      log,
    });
    const image = { registry: 'ecr' as const, repository: 'demo-orders', tag: version, digest: digest(n) };
    const plan = buildPlan(service, image);
    const ecsPlan = plan.environments[0]?.rollout?.ecs;
    if (recheckSeconds !== undefined && ecsPlan) ecsPlan.recheckSeconds = recheckSeconds;
    const now = new Date();
    await store.createDeployment(
      deploymentRecord(plan, { kind: 'manual', id: version, at: now.toISOString() }, 'deploy', now),
      initialStages(plan, now),
    );
    await engine.startExecution('deploy', plan.deploymentId, plan);

    const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const value = await probe();
        if (value) return value;
        if (Date.now() > deadline) {
          const states = engine.events(plan.deploymentId).map((e) => `${e.type} ${e.state ?? ''} ${e.error ?? ''}`);
          throw new Error(`timed out waiting for ${what}:\n${states.join('\n')}\n${log.lines.map((l) => l.message).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const pendingApproval = (step?: string) =>
      until(`an approval${step ? ` of ${step}` : ''}`, async () =>
        (await store.listApprovals({ status: 'PENDING' })).find(
          (a) => a.deploymentId === plan.deploymentId && (step ? a.step === step : !a.step),
        ),
      );
    const decide = async (decision: 'approve' | 'reject', step?: string) => {
      const approval = await pendingApproval(step);
      await decideApproval(deps(), {
        approvalId: approval.approvalId,
        decision,
        actor: { id: 'alice', source: 'local' } as never,
      });
    };
    /**
     * FollowEcsRollout holds its token (its wait is stored) — what an ECS event then wakes — and has
     * answered `answered` hooks after `reads` reads of the deployment in all: the follow stores its wait
     * BEFORE its one read and its CONTINUE, so a test that looked only at the wait raced them on a loaded
     * machine (an event fired before the follow's read could find the stage settled by the follow itself).
     */
    const following = (answered: number, reads: number) =>
      until(
        `the rollout to wait on ECS with ${answered} hook(s) answered after ${reads} read(s)`,
        async () =>
          (await store.listBakeWatches(`ecs-rollout|${SERVICE_ARN}`)).length > 0 &&
          ecs.commandCalls(ContinueServiceDeploymentCommand).length >= answered &&
          ecs.commandCalls(DescribeServiceDeploymentsCommand).length >= reads,
      );
    const stageIn = (state: string) =>
      until(`the stage to be ${state}`, async () => (await store.getStage(plan.deploymentId, 'prod'))?.state === state);
    const event = (detailType: Parameters<typeof ecsEvent>[0], name: string) =>
      ecsChanged(ecsEvent(detailType, name) as never, {} as never);
    /** How often the state machine has entered `state` so far. */
    const entered = (state: string) =>
      engine.events(plan.deploymentId).filter((e) => e.type === 'StateEntered' && e.state === state).length;
    recheckReading = () =>
      engine
        .events(plan.deploymentId)
        .filter((e) => e.type === 'StateEntered')
        .at(-1)?.state === 'RecheckEcsRollout';
    return { engine, plan, decide, following, stageIn, event, log, until, pendingApproval, entered };
  }

  const describes = () => ecs.commandCalls(DescribeServiceDeploymentsCommand).length;
  const answers = () =>
    ecs.commandCalls(ContinueServiceDeploymentCommand).map((c) => [c.args[0].input.hookId, c.args[0].input.action]);

  it('waits on ECS, asks the approvers at the PAUSE hook, CONTINUEs on approval and ends SUCCEEDED', async () => {
    ecsApi((input) => {
      // Each CONTINUE lets ECS shift: the first to 10%, the second to 100%.
      const shifted = input.hookId === 'ecs-pause-1' ? 10 : 100;
      at({
        targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: shifted },
        lifecycleHookDetails: [hook(input.hookId as string, 'SUCCEEDED')],
      });
    });
    const { engine, plan, decide, following, stageIn, event } = await run('1.1.0', 1);
    await decide('approve'); // the environment's own approval, before anything deploys

    // UpdateService carried ECS's CANARY with the PAUSE hook; the hook before the first shift is answered at once.
    await following(1, 1);
    const update = ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input;
    expect(update).toMatchObject({
      taskDefinition: TD2,
      deploymentConfiguration: {
        strategy: 'CANARY',
        canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 1 },
        bakeTimeInMinutes: 2,
        alarms: { alarmNames: ['demo-orders-prod-5xx'], enable: true, rollback: true },
        lifecycleHooks: [
          {
            targetType: 'PAUSE',
            lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT'],
            timeoutConfiguration: { timeoutInMinutes: 60, action: 'ROLLBACK' },
          },
        ],
      },
    });
    expect(answers()).toEqual([['ecs-pause-1', 'CONTINUE']]);
    await stageIn('BAKING');

    // The canary baked at 10%; ECS pauses before 100% and says so.
    at({
      targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
      lifecycleHookDetails: [hook('ecs-pause-1', 'SUCCEEDED'), hook('ecs-pause-2', 'AWAITING_ACTION')],
    });
    expect(await event('ECS Hook State Change', 'HOOK_AWAITING_ACTION')).toMatchObject({ settled: 1 });
    await decide('approve', 'canary 100%');
    await following(2, 3);
    expect(answers()).toEqual([
      ['ecs-pause-1', 'CONTINUE'],
      ['ecs-pause-2', 'CONTINUE'],
    ]);

    // An event while ECS shifts and bakes only looks once; the completion ends the stage.
    expect(await event('ECS Deployment State Change', 'SERVICE_DEPLOYMENT_IN_PROGRESS')).toMatchObject({ settled: 0 });
    at({ status: 'SUCCESSFUL', targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 100 } });
    expect(await event('ECS Deployment State Change', 'SERVICE_DEPLOYMENT_COMPLETED')).toMatchObject({ settled: 1 });
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.status, record?.cause).toBe('SUCCEEDED');
    const stage = await store.getStage(plan.deploymentId, 'prod');
    expect(stage).toMatchObject({
      state: 'SUCCEEDED',
      rollout: { strategy: 'canary', step: 2, of: 2, percent: 100, previousPercent: 10 },
    });
    expect((await store.getEnvironmentState('demo-orders', 'prod'))?.lastKnownGood).toMatchObject({
      version: '1.1.0',
      revision: TD2,
    });
    // One read per follow and per event (2 follows, 3 events): nothing polled. ECS's own steps, one UpdateService.
    expect(describes()).toBe(5);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    const entered = engine
      .events(plan.deploymentId)
      .filter((e) => e.type === 'StateEntered')
      .map((e) => e.state);
    expect(entered.filter((s) => s === 'FollowEcsRollout')).toHaveLength(2);
    expect(entered).not.toContain('SelectStep');
  }, 60_000);

  it("ends ROLLED_BACK naming the alarm when ECS's deployment alarm rolls the canary back, and deploys nothing more", async () => {
    ecsApi((input) =>
      at({
        targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
        lifecycleHookDetails: [hook(input.hookId as string, 'SUCCEEDED')],
      }),
    );
    const { engine, plan, decide, following, event } = await run('1.2.0', 2);
    await decide('approve');
    await following(1, 1);
    // At 10% the alarm fires; ECS rolls back by itself and reports the end of its rollback.
    at({
      status: 'ROLLBACK_SUCCESSFUL',
      rollback: {
        reason: 'CloudWatch alarm triggered',
        serviceRevisionArn: 'arn:aws:ecs:us-east-1:123456789012:service-revision/demo/demo-orders/1',
      },
      alarms: { status: 'TRIGGERED', alarmNames: ['demo-orders-prod-5xx'], triggeredAlarmNames: ['demo-orders-prod-5xx'] },
    });
    await event('ECS Deployment State Change', 'SERVICE_DEPLOYMENT_COMPLETED');
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.status).toBe('FAILED');
    expect(record?.error).toBe('Coconut.RolledBack');
    expect(record?.cause).toContain('alarm demo-orders-prod-5xx went into ALARM');
    expect(record?.cause).toContain('at canary 10% (step 1 of 2)');
    expect(await store.getStage(plan.deploymentId, 'prod')).toMatchObject({
      state: 'ROLLED_BACK',
      alarm: 'demo-orders-prod-5xx',
      rolledBackTo: '1.0.0',
    });
    // Coconut did not fight ECS: no second UpdateService; what runs is the known-good revision.
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect((await store.getEnvironmentState('demo-orders', 'prod'))?.current).toMatchObject({ version: '1.0.0', revision: TD1 });
    const entered = engine
      .events(plan.deploymentId)
      .filter((e) => e.type === 'StateEntered')
      .map((e) => e.state);
    expect(entered).toContain('EcsRolledBackItself');
    expect(entered).not.toContain('RollbackEcs');
  }, 60_000);

  it('answers ROLLBACK at the hook when the next step is rejected, and ends ROLLED_BACK saying who rejected it', async () => {
    ecsApi((input) => {
      if (input.action === 'ROLLBACK') at({ status: 'ROLLBACK_IN_PROGRESS', rollback: { reason: 'lifecycle hook ROLLBACK' } });
      else
        at({
          targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
          lifecycleHookDetails: [hook(input.hookId as string, 'SUCCEEDED')],
        });
    });
    const { engine, plan, decide, following, event } = await run('1.3.0', 3);
    await decide('approve');
    await following(1, 1);
    at({
      targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
      lifecycleHookDetails: [hook('ecs-pause-2', 'AWAITING_ACTION')],
    });
    await event('ECS Hook State Change', 'HOOK_AWAITING_ACTION');
    await decide('reject', 'canary 100%');
    await following(2, 3);
    expect(answers()).toEqual([
      ['ecs-pause-1', 'CONTINUE'],
      ['ecs-pause-2', 'ROLLBACK'],
    ]);
    at({ status: 'ROLLBACK_SUCCESSFUL', rollback: { reason: 'lifecycle hook ROLLBACK' } });
    await event('ECS Deployment State Change', 'SERVICE_DEPLOYMENT_COMPLETED');
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.error).toBe('Coconut.RolledBack');
    expect(record?.cause).toMatch(/rejected by alice.*ECS rolled back to the previous revision at canary 100% \(step 2 of 2\)/);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  }, 60_000);
  it('locally without an ECS endpoint, the rollout is a labelled rehearsal: nothing ran, nothing recorded as running', async () => {
    const { engine, plan, decide, log } = await run('1.4.0', 4, new RehearsalEcsTarget({ log: memoryLog(), strict: false }));
    await decide('approve');
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.status, record?.cause).toBe('SUCCEEDED');
    const stage = await store.getStage(plan.deploymentId, 'prod');
    expect(stage?.rehearsal).toEqual({ tools: ['ECS endpoint (COCONUT_AWS_ENDPOINT)'], steps: ['deploy'] });
    // What runs is still the version from before: a rehearsal changes nothing.
    expect((await store.getEnvironmentState('demo-orders', 'prod'))?.current?.version).toBe('1.0.0');
    expect(ecs.calls()).toHaveLength(0);
    expect(log.lines.some((l) => l.message.includes('ECS CANARY rollout'))).toBe(true);
  }, 60_000);
  // EventBridge may deliver an ECS event late or drop it ("If an event isn't delivered after all retry
  // attempts are exhausted, the event is dropped": https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).
  // These rollouts get no event at all after the start; the follow's re-check (1 s here, from the plan) reads
  // the deployment with DescribeServiceDeployments as an event would:
  //   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html
  it('a PAUSE hook whose ECS event is lost still asks for approval: the follow re-checks after recheckSeconds', async () => {
    ecsApi((input) => {
      if (input.hookId === 'ecs-pause-1') {
        at({
          targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
          lifecycleHookDetails: [hook('ecs-pause-1', 'SUCCEEDED')],
        });
      } else at({ status: 'SUCCESSFUL', targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 100 } });
    });
    const { engine, plan, decide, following, entered, until, log } = await run('1.5.0', 5, undefined, 1);
    await decide('approve');
    await following(1, 1);
    // ECS bakes the canary; a re-check finds it still busy and follows again on a fresh token.
    await until('a re-check that found ECS busy to follow again', async () => entered('FollowEcsRollout') >= 2);
    expect(entered('RecheckEcsRollout')).toBeGreaterThanOrEqual(1);
    // ECS pauses before 100% (seen first by a re-check's read), and its HOOK_AWAITING_ACTION event never arrives.
    atRecheck = {
      serviceDeploymentArn: SD,
      serviceArn: SERVICE_ARN,
      status: 'IN_PROGRESS',
      targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
      lifecycleHookDetails: [hook('ecs-pause-1', 'SUCCEEDED'), hook('ecs-pause-2', 'AWAITING_ACTION')],
    };
    await decide('approve', 'canary 100%');
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.status, record?.cause).toBe('SUCCEEDED');
    // Asked once, answered once: the re-check moved the stage as the event would have.
    expect(answers()).toEqual([
      ['ecs-pause-1', 'CONTINUE'],
      ['ecs-pause-2', 'CONTINUE'],
    ]);
    expect(await store.listApprovals({ status: 'APPROVED' })).toHaveLength(2);
    expect(entered('EcsRecheckMovedOn')).toBeGreaterThanOrEqual(1);
    expect(log.lines.some((l) => l.message.includes('an EventBridge event was lost or is late'))).toBe(true);
    expect(await store.getStage(plan.deploymentId, 'prod')).toMatchObject({
      state: 'SUCCEEDED',
      rollout: { strategy: 'canary', step: 2, of: 2, percent: 100 },
    });
  }, 60_000);

  it('a rollout whose completion event is never delivered still ends SUCCEEDED after the re-check, not at the lock timeout', async () => {
    ecsApi((input) =>
      at({
        targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: input.hookId === 'ecs-pause-1' ? 10 : 100 },
        lifecycleHookDetails: [hook(input.hookId as string, 'SUCCEEDED')],
      }),
    );
    const { engine, plan, decide, following, entered, until } = await run('1.6.0', 6, undefined, 1);
    await decide('approve');
    await following(1, 1);
    at({
      targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
      lifecycleHookDetails: [hook('ecs-pause-1', 'SUCCEEDED'), hook('ecs-pause-2', 'AWAITING_ACTION')],
    });
    await decide('approve', 'canary 100%');
    await following(2, 3);
    // At 100% ECS bakes; the re-checks find it busy and wait again.
    const follows = entered('FollowEcsRollout');
    await until('a re-check during the final bake', async () => entered('FollowEcsRollout') > follows);
    // ECS completes (seen first by a re-check's read); SERVICE_DEPLOYMENT_COMPLETED is lost.
    atRecheck = {
      serviceDeploymentArn: SD,
      serviceArn: SERVICE_ARN,
      status: 'SUCCESSFUL',
      targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 100 },
    };
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.status, record?.cause).toBe('SUCCEEDED');
    expect((await store.getEnvironmentState('demo-orders', 'prod'))?.lastKnownGood).toMatchObject({
      version: '1.6.0',
      revision: TD2,
    });
    // Nothing left waiting on the service, and ECS was not touched beyond the rollout.
    expect(await store.listBakeWatches(`ecs-rollout|${SERVICE_ARN}`)).toEqual([]);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    const states = engine
      .events(plan.deploymentId)
      .filter((e) => e.type === 'StateEntered')
      .map((e) => e.state);
    expect(states.at(states.lastIndexOf('RecheckEcsRollout') + 2)).toBe('EcsRecheckMovedOn');
    expect(states).not.toContain('PrepareRollback');
  }, 60_000);
  it("a lost event of ECS's own rollback still ends ROLLED_BACK naming the alarm, through the re-check", async () => {
    ecsApi((input) =>
      at({
        targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
        lifecycleHookDetails: [hook(input.hookId as string, 'SUCCEEDED')],
      }),
    );
    const { engine, plan, decide, following } = await run('1.7.0', 7, undefined, 1);
    await decide('approve');
    await following(1, 1);
    atRecheck = {
      serviceDeploymentArn: SD,
      serviceArn: SERVICE_ARN,
      status: 'ROLLBACK_SUCCESSFUL',
      rollback: { reason: 'CloudWatch alarm triggered' },
      alarms: { status: 'TRIGGERED', alarmNames: ['demo-orders-prod-5xx'], triggeredAlarmNames: ['demo-orders-prod-5xx'] },
    };
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.error).toBe('Coconut.RolledBack');
    expect(record?.cause).toContain('alarm demo-orders-prod-5xx went into ALARM');
    expect(await store.getStage(plan.deploymentId, 'prod')).toMatchObject({
      state: 'ROLLED_BACK',
      alarm: 'demo-orders-prod-5xx',
    });
    const states = engine
      .events(plan.deploymentId)
      .filter((e) => e.type === 'StateEntered')
      .map((e) => e.state);
    expect(states).toEqual(expect.arrayContaining(['RecheckEcsRollout', 'EcsRecheckEnded', 'EcsRolledBackItself']));
    expect(states).not.toContain('RollbackEcs');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  }, 60_000);
});
