/**
 * The ECS rollout mapping (src/core/pipeline/ecs-rollout.ts), held to @aws-sdk/client-ecs's own
 * types and enums (node_modules/@aws-sdk/client-ecs/dist-types/models/models_0.d.ts and enums.d.ts):
 * every configuration is assigned to the SDK's DeploymentConfiguration, every value checked against
 * the SDK's enum objects, every ServiceDeployment read is an SDK ServiceDeployment.
 * Limits from the ECS API reference:
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html
 */
import {
  type DeploymentConfiguration,
  DeploymentLifecycleHookAction,
  DeploymentLifecycleHookStage,
  DeploymentLifecycleHookTargetType,
  DeploymentStrategy,
  type ServiceDeployment,
  ServiceDeploymentStatus,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  ECS_ROLLOUT_EVENT_PATTERN,
  EcsRolloutInvalidError,
  ecsDeploymentConfiguration,
  ecsHookAction,
  ecsRolloutEventService,
  ecsRolloutState,
  ecsRolloutSteps,
  nextEcsRolloutAction,
} from '../../src/core/pipeline/ecs-rollout.ts';

const prod = { name: 'prod', bake: 10, alarms: ['demo-api-prod-health'] };
const SD = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/api/EZe5RNVLH6PPzHXINuP28';

/** Assigning to the SDK's type is the compile-time check; the enum checks are the run-time one. */
function asSdk(config: ReturnType<typeof ecsDeploymentConfiguration>): DeploymentConfiguration {
  const sdk: DeploymentConfiguration = config;
  expect(Object.values(DeploymentStrategy)).toContain(sdk.strategy);
  for (const hook of sdk.lifecycleHooks ?? []) {
    expect(Object.values(DeploymentLifecycleHookTargetType)).toContain(hook.targetType);
    for (const stage of hook.lifecycleStages ?? []) expect(Object.values(DeploymentLifecycleHookStage)).toContain(stage);
    expect(Object.values(DeploymentLifecycleHookAction)).toContain(hook.timeoutConfiguration?.action);
  }
  return sdk;
}

describe('Function: ecsDeploymentConfiguration (typed against @aws-sdk/client-ecs DeploymentConfiguration)', () => {
  it('maps a canary to strategy CANARY: one canary percentage, bakes in whole minutes rounded up, alarms with rollback', () => {
    const config = asSdk(ecsDeploymentConfiguration({ strategy: 'canary', steps: [10], bake: 30, approveSteps: false }, prod));
    expect(config).toEqual({
      strategy: 'CANARY',
      canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 1 },
      bakeTimeInMinutes: 1,
      alarms: { alarmNames: ['demo-api-prod-health'], enable: true, rollback: true },
      deploymentCircuitBreaker: { enable: true, rollback: true },
    });
  });

  it('maps a linear rollout to strategy LINEAR; the step bake defaults to the environment bake', () => {
    const config = asSdk(
      ecsDeploymentConfiguration({ strategy: 'linear', stepPercent: 25, approveSteps: false }, { ...prod, bake: 121 }),
    );
    expect(config).toMatchObject({
      strategy: 'LINEAR',
      linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 3 },
      bakeTimeInMinutes: 3,
    });
    expect(config.canaryConfiguration).toBeUndefined();
  });

  it('keeps a bake of 0 at 0 minutes and 60 s at exactly 1 minute', () => {
    const zero = ecsDeploymentConfiguration({ strategy: 'linear', stepPercent: 50, bake: 0, approveSteps: false }, prod);
    expect(zero.linearConfiguration?.stepBakeTimeInMinutes).toBe(0);
    const minute = ecsDeploymentConfiguration({ strategy: 'linear', stepPercent: 50, bake: 60, approveSteps: false }, prod);
    expect(minute.linearConfiguration?.stepBakeTimeInMinutes).toBe(1);
  });

  it('without a rollout keeps the rolling update; without alarms, alarms are off (not enabled with no names)', () => {
    expect(asSdk(ecsDeploymentConfiguration(undefined, { ...prod, alarms: [] }))).toEqual({
      strategy: 'ROLLING',
      alarms: { alarmNames: [], enable: false, rollback: false },
      deploymentCircuitBreaker: { enable: true, rollback: true },
    });
  });

  it('approveSteps adds a PAUSE hook before every traffic shift, rolling back when the approval times out', () => {
    const config = asSdk(
      ecsDeploymentConfiguration({ strategy: 'linear', stepPercent: 25, approveSteps: true }, { ...prod, approvalTimeout: 3601 }),
    );
    // PRE_PRODUCTION_TRAFFIC_SHIFT: "for linear and canary deployments, this stage is invoked before every
    // traffic shift step"; PAUSE hooks may not sit on PRODUCTION_TRAFFIC_SHIFT (DeploymentLifecycleHook docs).
    expect(config.lifecycleHooks).toEqual([
      {
        targetType: 'PAUSE',
        lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT'],
        timeoutConfiguration: { timeoutInMinutes: 61, action: 'ROLLBACK' },
      },
    ]);
    const noTimeout = ecsDeploymentConfiguration({ strategy: 'canary', steps: [5], approveSteps: true }, prod);
    expect(noTimeout.lifecycleHooks?.[0]?.timeoutConfiguration.timeoutInMinutes).toBe(1440);
  });

  it.each([
    [
      'a canary of two steps (ECS has ONE canary percentage)',
      { strategy: 'canary' as const, steps: [10, 50], approveSteps: false },
      /steps is \[10, 50\]; an ECS canary shifts ONE canary percentage.*use strategy: linear/,
    ],
    [
      'a linear step below ECS minimum of 3% (LinearConfiguration.stepPercent 3.0..100)',
      { strategy: 'linear' as const, stepPercent: 2, approveSteps: false },
      /stepPercent is 2; ECS linear deployments shift 3% to 100% per step/,
    ],
    [
      'a step bake above ECS 1440 minutes',
      { strategy: 'linear' as const, stepPercent: 10, bake: 1441 * 60, approveSteps: false },
      /rollout.bake is 86460s \(1441 min\); ECS bakes at most 1440 minutes/,
    ],
  ])('refuses %s, naming the rule', (_what, rollout, message) => {
    expect(() => ecsDeploymentConfiguration(rollout, prod)).toThrow(EcsRolloutInvalidError);
    expect(() => ecsDeploymentConfiguration(rollout, prod)).toThrow(message);
  });

  it('lists the cumulative steps Coconut shows: canary [10] -> 10, 100; linear 25 -> 25, 50, 75, 100', () => {
    expect(ecsRolloutSteps({ strategy: 'canary', steps: [10], approveSteps: false })).toEqual([10, 100]);
    expect(ecsRolloutSteps({ strategy: 'linear', stepPercent: 25, approveSteps: false })).toEqual([25, 50, 75, 100]);
    expect(ecsRolloutSteps({ strategy: 'linear', stepPercent: 30, approveSteps: false })).toEqual([30, 60, 90, 100]);
  });
});

describe('Function: ecsRolloutState (reads @aws-sdk/client-ecs ServiceDeployment)', () => {
  const base: ServiceDeployment = { serviceDeploymentArn: SD, status: ServiceDeploymentStatus.IN_PROGRESS };

  it('maps a rollback that an alarm caused to ROLLED_BACK naming the alarm', () => {
    const deployment: ServiceDeployment = {
      ...base,
      status: ServiceDeploymentStatus.ROLLBACK_SUCCESSFUL,
      rollback: { reason: 'Alarm demo-api-prod-health triggered', startedAt: new Date('2026-12-02T10:00:00Z') },
      alarms: {
        status: 'TRIGGERED',
        alarmNames: ['demo-api-prod-health', 'other'],
        triggeredAlarmNames: ['demo-api-prod-health'],
      },
    };
    expect(ecsRolloutState(deployment)).toEqual({
      state: 'ROLLED_BACK',
      alarms: ['demo-api-prod-health'],
      reason: 'ECS rolled back: alarm demo-api-prod-health went into ALARM (Alarm demo-api-prod-health triggered)',
    });
  });

  it('maps a circuit-breaker rollback to ROLLED_BACK saying so', () => {
    const deployment: ServiceDeployment = {
      ...base,
      status: ServiceDeploymentStatus.ROLLBACK_SUCCESSFUL,
      statusReason: 'tasks failed to start',
      deploymentCircuitBreaker: { status: 'TRIGGERED', failureCount: 3, threshold: 3 },
    };
    const state = ecsRolloutState(deployment);
    expect(state).toEqual({
      state: 'ROLLED_BACK',
      alarms: [],
      reason: 'ECS rolled back: the deployment circuit breaker found failing tasks (tasks failed to start)',
    });
  });

  it('is still IN_PROGRESS while ECS rolls back (the end of the rollback is its own event)', () => {
    expect(
      ecsRolloutState({ ...base, status: ServiceDeploymentStatus.ROLLBACK_IN_PROGRESS, lifecycleStage: 'SCALE_UP' }),
    ).toEqual({
      state: 'IN_PROGRESS',
      stage: 'SCALE_UP',
      trafficPercent: 0,
    });
  });

  it('sees a PAUSE hook awaiting action, with the traffic the new revision has', () => {
    const deployment: ServiceDeployment = {
      ...base,
      // PRE_PRODUCTION_TRAFFIC_SHIFT is a hook stage, not a ServiceDeploymentLifecycleStage (the SDK's enum).
      targetServiceRevision: {
        arn: 'arn:aws:ecs:us-east-1:123456789012:service-revision/demo/api/1',
        requestedProductionTrafficWeight: 10,
      },
      lifecycleHookDetails: [
        { hookId: 'ecs-pause-e7tK9G', targetType: 'PAUSE', status: 'AWAITING_ACTION', timeoutAction: 'ROLLBACK' },
      ],
    };
    expect(ecsRolloutState(deployment)).toEqual({ state: 'AWAITING_ACTION', hookId: 'ecs-pause-e7tK9G', trafficPercent: 10 });
  });

  it('maps SUCCESSFUL, STOPPED and ROLLBACK_FAILED', () => {
    expect(ecsRolloutState({ ...base, status: 'SUCCESSFUL' })).toEqual({ state: 'SUCCEEDED' });
    expect(ecsRolloutState({ ...base, status: 'STOPPED', statusReason: 'stopped by a user' })).toEqual({
      state: 'FAILED',
      reason: 'ECS service deployment STOPPED: stopped by a user',
    });
    expect(ecsRolloutState({ ...base, status: 'ROLLBACK_FAILED' }).state).toBe('FAILED');
  });
});

describe('Functions: nextEcsRolloutAction, ecsHookAction', () => {
  it('continues the hook before the first shift by itself, and asks for approval before each later one', () => {
    expect(nextEcsRolloutAction({ state: 'AWAITING_ACTION', hookId: 'h1', trafficPercent: 0 })).toEqual({
      action: 'continue',
      hookId: 'h1',
    });
    expect(nextEcsRolloutAction({ state: 'AWAITING_ACTION', hookId: 'h2', trafficPercent: 10 })).toEqual({
      action: 'approve',
      hookId: 'h2',
      trafficPercent: 10,
    });
    expect(nextEcsRolloutAction({ state: 'IN_PROGRESS', stage: 'BAKE_TIME', trafficPercent: 100 })).toEqual({
      action: 'wait',
      trafficPercent: 100,
    });
    expect(nextEcsRolloutAction({ state: 'ROLLED_BACK', alarms: ['a'], reason: 'r' })).toEqual({
      action: 'rolledBack',
      alarms: ['a'],
      reason: 'r',
    });
  });

  it('answers CONTINUE only to an approval; a rejection or a timeout rolls back (SDK DeploymentLifecycleHookAction)', () => {
    expect(ecsHookAction('approved')).toBe(DeploymentLifecycleHookAction.CONTINUE);
    expect(ecsHookAction('rejected')).toBe(DeploymentLifecycleHookAction.ROLLBACK);
    expect(ecsHookAction('timedOut')).toBe(DeploymentLifecycleHookAction.ROLLBACK);
  });
});

describe('ECS rollout events (EventBridge)', () => {
  // The example event of the ECS developer guide, "Amazon ECS service deployment state change events":
  // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
  const completed = {
    version: '0',
    id: 'ddca6449-b258-46c0-8653-e0e3a6EXAMPLE',
    'detail-type': 'ECS Deployment State Change',
    source: 'aws.ecs',
    account: '111122223333',
    time: '2020-05-23T12:31:14Z',
    region: 'us-west-2',
    resources: ['arn:aws:ecs:us-west-2:111122223333:service/default/servicetest'],
    detail: {
      eventType: 'INFO',
      eventName: 'SERVICE_DEPLOYMENT_COMPLETED',
      deploymentId: 'ecs-svc/123',
      updatedAt: '2020-05-23T11:11:11Z',
      reason: 'ECS deployment deploymentId completed.',
    },
  };

  it('matches the deployment state and hook state events, and tells which service they are about', () => {
    expect(ECS_ROLLOUT_EVENT_PATTERN['detail-type']).toEqual(['ECS Deployment State Change', 'ECS Hook State Change']);
    expect(ecsRolloutEventService(completed)).toBe('arn:aws:ecs:us-west-2:111122223333:service/default/servicetest');
    expect(ecsRolloutEventService({ ...completed, 'detail-type': 'ECS Hook State Change' })).toBe(
      'arn:aws:ecs:us-west-2:111122223333:service/default/servicetest',
    );
    expect(ecsRolloutEventService({ ...completed, 'detail-type': 'ECS Task State Change' })).toBeUndefined();
    expect(ecsRolloutEventService({ ...completed, source: 'aws.codebuild' })).toBeUndefined();
    expect(ecsRolloutEventService(null)).toBeUndefined();
  });
});
