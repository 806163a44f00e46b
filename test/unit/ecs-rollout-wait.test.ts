/**
 * The wait on an ECS rollout (src/core/pipeline/ecs-rollout-wait.ts) and its event handler, over
 * dynalite and a scripted ECS target (a fake of the EcsRolloutTarget port, whose states are those of
 * ECS's ServiceDeployment: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html).
 * The whole flow through the state machine is in asl-ecs-rollout.test.ts; this file holds the edges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEcsRolloutChangedHandler } from '../../functions/ecs-rollout-changed.ts';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { TaskTokenExpiredError } from '../../src/core/model/errors.ts';
import { describeFailure, ERRORS } from '../../src/core/model/failure.ts';
import type { EcsHookAction, EcsRolloutState } from '../../src/core/pipeline/ecs-rollout.ts';
import {
  answerEcsHook,
  type EcsRolloutHandle,
  ecsRolloutWatchKey,
  followEcsRollout,
  nextEcsStep,
  onEcsRolloutEvent,
  recheckEcsRollout,
  serviceArnOf,
} from '../../src/core/pipeline/ecs-rollout-wait.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

const SERVICE_ARN = 'arn:aws:ecs:eu-west-1:123456789012:service/main/orders';
const SD = 'arn:aws:ecs:eu-west-1:123456789012:service-deployment/main/orders/AbCdEf123';

const handle = (over: Partial<EcsRolloutHandle> = {}): EcsRolloutHandle => ({
  serviceDeploymentArn: SD,
  serviceArn: SERVICE_ARN,
  strategy: 'canary',
  percents: [10, 100],
  progress: { strategy: 'canary', step: 1, of: 2, percent: 10, previousPercent: 0 },
  answeredHook: '',
  rehearsal: false,
  recheckSeconds: 300,
  build: { Id: `ecs:${SD}`, ExportedEnvironmentVariables: [] },
  ...over,
});

/** A fake ECS target (the port), scripted by the test. */
function fakeEcs(state: () => EcsRolloutState, onContinue: (hookId: string, action: EcsHookAction) => void = () => {}) {
  const continued: [string, EcsHookAction][] = [];
  return {
    continued,
    startRollout: async () => ({ serviceDeploymentArn: SD, taskDefinitionArn: 'td' }),
    rolloutState: async () => state(),
    continueRollout: async (_arn: string, hookId: string, action: EcsHookAction) => {
      continued.push([hookId, action]);
      onContinue(hookId, action);
    },
  };
}

describe('ECS rollout wait (dynalite, a fake ECS target)', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo?.stop());

  function deps(ecs: ReturnType<typeof fakeEcs>) {
    const settled: unknown[] = [];
    const orchestrator = {
      sendTaskSuccess: async (token: string, output: unknown) => void settled.push(['success', token, output]),
      sendTaskFailure: async (token: string, error: string, cause: string) => void settled.push(['failure', token, error, cause]),
    };
    const notifier = {
      approvalRequested: async () => undefined,
      approvalDecided: async () => undefined,
      stageChanged: async () => undefined,
    };
    return { settled, d: { ecs, store, orchestrator, notifier, clock: { now: () => new Date() }, log: memoryLog() } as never };
  }

  it('maps ECS traffic to the step it shifts to next, and a service deployment ARN to its service', () => {
    expect(nextEcsStep('canary', [10, 100], 0)).toEqual({ strategy: 'canary', step: 1, of: 2, percent: 10, previousPercent: 0 });
    expect(nextEcsStep('canary', [10, 100], 10)).toEqual({
      strategy: 'canary',
      step: 2,
      of: 2,
      percent: 100,
      previousPercent: 10,
    });
    expect(nextEcsStep('linear', [25, 50, 75, 100], 50)).toMatchObject({ step: 3, percent: 75, previousPercent: 50 });
    expect(serviceArnOf(SD)).toBe(SERVICE_ARN);
    expect(serviceArnOf('arn:aws:ecs:eu-west-1:123456789012:service/main/orders')).toBeUndefined();
  });

  it('an event while ECS still shows the hook Coconut just answered waits for the next event instead of asking twice', async () => {
    const paused: EcsRolloutState = { state: 'AWAITING_ACTION', hookId: 'ecs-pause-2', trafficPercent: 10 };
    const ecs = fakeEcs(() => paused);
    const { settled, d } = deps(ecs);
    await followEcsRollout(d, { deploymentId: 'dep-1', environment: 'prod' }, handle({ answeredHook: 'ecs-pause-2' }), 't1', 600);
    expect(await onEcsRolloutEvent(d, SERVICE_ARN)).toEqual({ woken: 1, settled: 0 });
    expect(settled).toEqual([]);
    // A new hook (ECS generates a unique hookId per pause) is asked for.
    paused.hookId = 'ecs-pause-3';
    expect(await onEcsRolloutEvent(d, SERVICE_ARN)).toEqual({ woken: 1, settled: 1 });
    expect(settled).toEqual([
      [
        'success',
        't1',
        {
          action: 'approve',
          hookId: 'ecs-pause-3',
          trafficPercent: 10,
          progress: { strategy: 'canary', step: 2, of: 2, percent: 100, previousPercent: 10 },
          label: 'canary 100%',
        },
      ],
    ]);
    // Settled once: the wait is gone, a repeated event finds nobody.
    expect(await store.listBakeWatches(ecsRolloutWatchKey(SERVICE_ARN))).toEqual([]);
    expect(await onEcsRolloutEvent(d, SERVICE_ARN)).toMatchObject({
      woken: 0,
      ignored: `no rollout of ${SERVICE_ARN} is waiting`,
    });
  });

  it('settles at once when ECS is already done by the time the wait is stored (its event woke nobody)', async () => {
    const { settled, d } = deps(
      fakeEcs(() => ({
        state: 'ROLLED_BACK',
        alarms: ['orders-5xx'],
        reason: 'ECS rolled back: alarm orders-5xx went into ALARM (x)',
      })),
    );
    await followEcsRollout(d, { deploymentId: 'dep-2', environment: 'prod' }, handle(), 't2', 600);
    expect(settled).toEqual([
      [
        'failure',
        't2',
        ERRORS.ecsRolledBack,
        JSON.stringify({ reason: 'ECS rolled back: alarm orders-5xx went into ALARM (x)', alarms: ['orders-5xx'] }),
      ],
    ]);
    const [, , error, cause] = settled[0] as string[];
    expect(describeFailure({ Error: error as string, Cause: cause }, 'deploy')).toEqual({
      reason: 'ECS rolled back: alarm orders-5xx went into ALARM (x)',
      alarm: 'orders-5xx',
    });
    expect(await store.listBakeWatches(ecsRolloutWatchKey(SERVICE_ARN))).toEqual([]);
  });

  it('an expired step approval answers ROLLBACK, marks the approval EXPIRED, and survives ECS refusing (its own timeout rolled back first)', async () => {
    const ecs = fakeEcs(
      () => ({ state: 'IN_PROGRESS', stage: 'ROLLBACK', trafficPercent: 0 }),
      () => {
        throw Object.assign(new Error('The hook is not in AWAITING_ACTION'), { name: 'InvalidParameterException' });
      },
    );
    const { d } = deps(ecs);
    const decided: unknown[] = [];
    const withStage = {
      ...(d as object),
      store: {
        ...storeLike(),
        getStage: async () => ({ state: 'AWAITING_APPROVAL', approvalId: 'apr-1' }),
        decideApproval: async (id: string, decision: unknown) => {
          decided.push([id, decision]);
          return { decided: true, approval: { approvalId: id } };
        },
      },
    } as never;
    const next = await answerEcsHook(
      withStage,
      { deploymentId: 'dep-3', environment: 'prod' },
      handle(),
      { hookId: 'ecs-pause-2' },
      {
        Error: 'States.Timeout',
      },
    );
    expect(ecs.continued).toEqual([['ecs-pause-2', 'ROLLBACK']]);
    expect(decided).toEqual([['apr-1', expect.objectContaining({ status: 'EXPIRED', decidedBy: 'timeout' })]]);
    expect(next).toMatchObject({ answeredHook: 'ecs-pause-2', because: { Error: 'States.Timeout' } });
  });

  it('an approval CONTINUEs and remembers the hook and the step it lets ECS shift to', async () => {
    const ecs = fakeEcs(() => ({ state: 'IN_PROGRESS', stage: 'x', trafficPercent: 10 }));
    const { d } = deps(ecs);
    const step = { strategy: 'canary' as const, step: 2, of: 2, percent: 100, previousPercent: 10 };
    const next = await answerEcsHook(
      d,
      { deploymentId: 'dep-4', environment: 'prod' },
      handle(),
      { hookId: 'h2', progress: step },
      undefined,
    );
    expect(ecs.continued).toEqual([['h2', 'CONTINUE']]);
    expect(next).toMatchObject({ answeredHook: 'h2', progress: step });
    expect(next.because).toBeUndefined();
  });

  it('the event handler refuses what is not an ECS deployment or hook event, and ignores one naming no service', async () => {
    const { d } = deps(fakeEcs(() => ({ state: 'SUCCEEDED' })));
    const handler = createEcsRolloutChangedHandler(async () => d);
    const base = { id: 'e1', source: 'aws.ecs', 'detail-type': 'ECS Deployment State Change', detail: {} };
    expect(
      await handler({ ...base, resources: ['arn:aws:ecs:eu-west-1:123456789012:cluster/main'] } as never, {} as never),
    ).toEqual({
      woken: 0,
      settled: 0,
      ignored: 'the event names no ECS service ARN in resources',
    });
    await expect(
      handler({ ...base, 'detail-type': 'ECS Task State Change', resources: [] } as never, {} as never),
    ).rejects.toThrow(/ECS Deployment State Change \/ ECS Hook State Change event/);
  });

  it('re-check (no event came): moves on as the lost event would have, waits again while ECS is busy, and ends States.Timeout after followUntil', async () => {
    let state: EcsRolloutState = { state: 'IN_PROGRESS', stage: 'BAKE_TIME', trafficPercent: 10 };
    const { settled, d } = deps(fakeEcs(() => state));
    const ref = { deploymentId: 'dep-5', environment: 'prod' };
    const now = Math.floor(Date.now() / 1000);
    await followEcsRollout(d, ref, handle({ followUntil: now + 3600 }), 't5', 60);
    // The follow timed out: the re-check drops the dead token's watch and, ECS still busy, waits again.
    expect(await recheckEcsRollout(d, ref, handle({ followUntil: now + 3600 }))).toEqual({ action: 'wait' });
    expect(await store.listBakeWatches(ecsRolloutWatchKey(SERVICE_ARN))).toEqual([]);
    state = { state: 'AWAITING_ACTION', hookId: 'ecs-pause-2', trafficPercent: 10 };
    expect(await recheckEcsRollout(d, ref, handle({ followUntil: now + 3600 }))).toEqual({
      action: 'approve',
      hookId: 'ecs-pause-2',
      trafficPercent: 10,
      progress: { strategy: 'canary', step: 2, of: 2, percent: 100, previousPercent: 10 },
      label: 'canary 100%',
    });
    state = { state: 'SUCCEEDED' };
    expect(await recheckEcsRollout(d, ref, handle())).toEqual({ action: 'succeeded' });
    state = { state: 'ROLLED_BACK', alarms: ['orders-5xx'], reason: 'ECS rolled back: alarm orders-5xx went into ALARM' };
    expect(await recheckEcsRollout(d, ref, handle())).toEqual({
      action: 'end',
      failure: {
        Error: ERRORS.ecsRolledBack,
        Cause: JSON.stringify({ reason: 'ECS rolled back: alarm orders-5xx went into ALARM', alarms: ['orders-5xx'] }),
      },
    });
    state = { state: 'IN_PROGRESS', stage: 'BAKE_TIME', trafficPercent: 100 };
    expect(await recheckEcsRollout(d, ref, handle({ followUntil: now - 1 }))).toEqual({
      action: 'end',
      failure: { Error: 'States.Timeout', Cause: expect.stringContaining('lock term ran out') },
    });
    // The re-check answers the state machine; it settles no token itself.
    expect(settled).toEqual([]);
  });

  it('an event that read the wait just before the re-check replaced it cannot settle twice nor delete the fresh wait (TaskTimedOut tolerated)', async () => {
    const state: EcsRolloutState = { state: 'SUCCEEDED' };
    const { d } = deps(fakeEcs(() => ({ state: 'IN_PROGRESS', stage: 'BAKE_TIME', trafficPercent: 10 })));
    const ref = { deploymentId: 'dep-6', environment: 'prod' };
    await followEcsRollout(d, ref, handle(), 'old-token', 60);
    const [stale] = await store.listBakeWatches(ecsRolloutWatchKey(SERVICE_ARN));
    // The follow timed out, the re-check found ECS busy, and the next follow stored a fresh token.
    await recheckEcsRollout(d, ref, handle());
    await followEcsRollout(d, ref, handle(), 'fresh-token', 60);
    // Meanwhile the event handler had listed the old wait; Step Functions answers its dead token with
    // TaskTimedOut (the adapters turn TaskTimedOut / InvalidToken into TaskTokenExpiredError).
    const sent: string[] = [];
    const racing = {
      ...(d as object),
      ecs: fakeEcs(() => state),
      store: { ...storeLike(), listBakeWatches: async () => [stale] },
      orchestrator: {
        sendTaskSuccess: async (token: string) => {
          sent.push(token);
          if (token === 'old-token') throw new TaskTokenExpiredError('the task no longer waits (TaskTimedOut)');
        },
        sendTaskFailure: async () => undefined,
      },
    } as never;
    expect(await onEcsRolloutEvent(racing, SERVICE_ARN)).toEqual({ woken: 1, settled: 1 });
    expect(sent).toEqual(['old-token']);
    // The fresh wait survived: the next event (or re-check) still finds the token the state machine waits on.
    expect((await store.listBakeWatches(ecsRolloutWatchKey(SERVICE_ARN))).map((w) => w.taskToken)).toEqual(['fresh-token']);
  });

  function storeLike() {
    return {
      putBakeWatch: store.putBakeWatch.bind(store),
      listBakeWatches: store.listBakeWatches.bind(store),
      deleteBakeWatch: store.deleteBakeWatch.bind(store),
    };
  }
});
