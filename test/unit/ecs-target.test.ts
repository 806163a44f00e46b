/**
 * EcsTargetAdapter's rollout calls with aws-sdk-client-mock: moto 5 does not implement
 * DescribeServiceDeployments or ContinueServiceDeployment, so the responses here are typed by
 * @aws-sdk/client-ecs itself and shaped as the ECS API reference documents them:
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
 * (The rolling deploy and rollback run against moto in test/integration/ecs-target.test.ts.)
 */
import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  type DescribeServiceDeploymentsCommandOutput,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type Service,
  type ServiceDeployment,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcsTargetAdapter } from '../../src/aws/ecs-target.ts';
import {
  answerEcsRolloutApproval,
  ecsDeploymentConfiguration,
  ecsRolloutEventService,
  onEcsRolloutWake,
} from '../../src/core/pipeline/ecs-rollout.ts';

const ecs = mockClient(ECSClient);
const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'2'.repeat(64)}`;
const TD1 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:1';
const TD2 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:2';
const SERVICE_ARN = 'arn:aws:ecs:us-east-1:123456789012:service/demo/api';
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-blue/0123456789abcdef';
const OLD_SD = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/api/OLDaaaaaaaaaaaaaaaaaa';
const SD = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/api/EZe5RNVLH6PPzHXINuP28';
const request = { cluster: 'demo', service: 'api', repository: 'demo-api', digest: DIGEST, alarms: ['demo-api-prod-health'] };
const prod = { name: 'prod', bake: 10, alarms: ['demo-api-prod-health'] };

function service(over: Partial<Service> = {}): Service {
  return {
    serviceArn: SERVICE_ARN,
    serviceName: 'api',
    status: 'ACTIVE',
    taskDefinition: TD1,
    deploymentController: { type: 'ECS' },
    deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100, strategy: 'ROLLING' },
    currentServiceDeployment: OLD_SD,
    // Canary and linear traffic goes through a load balancer (or Service Connect).
    loadBalancers: [{ targetGroupArn: TG, containerName: 'api', containerPort: 8080 }],
    ...over,
  };
}

/** One DescribeServiceDeployments answer for SD. */
function described(over: Partial<ServiceDeployment>): DescribeServiceDeploymentsCommandOutput {
  return {
    $metadata: {},
    serviceDeployments: [{ serviceDeploymentArn: SD, serviceArn: SERVICE_ARN, status: 'IN_PROGRESS', ...over }],
    failures: [],
  };
}

/** The ECS developer guide's "ECS Deployment State Change" / "ECS Hook State Change" events, for this service. */
function ecsEvent(detailType: 'ECS Deployment State Change' | 'ECS Hook State Change', eventName: string) {
  return {
    version: '0',
    id: 'ddca6449-b258-46c0-8653-e0e3a6EXAMPLE',
    'detail-type': detailType,
    source: 'aws.ecs',
    account: '123456789012',
    time: '2026-12-02T10:00:00Z',
    region: 'us-east-1',
    resources: [SERVICE_ARN],
    detail: { eventType: 'INFO', eventName },
  };
}

beforeEach(() => {
  ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
  ecs.on(DescribeTaskDefinitionCommand).resolves({
    taskDefinition: {
      taskDefinitionArn: TD1,
      family: 'api',
      status: 'ACTIVE',
      containerDefinitions: [{ name: 'api', image: `${REGISTRY}/demo-api:1.0.0`, essential: true }],
    },
  });
  ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD2 } });
  ecs.on(UpdateServiceCommand).resolves({ service: service({ taskDefinition: TD2, currentServiceDeployment: SD }) });
  ecs.on(ContinueServiceDeploymentCommand).resolves({ serviceDeploymentArn: SD });
});
afterEach(() => ecs.reset());

describe('EcsTargetAdapter.startRollout (aws-sdk-client-mock: moto 5 has no ECS canary/linear)', () => {
  it('updates the service with the CANARY deploymentConfiguration, keeping its own pacing, and returns the service deployment', async () => {
    const settings = ecsDeploymentConfiguration({ strategy: 'canary', steps: [10], bake: 30, approveSteps: true }, prod);
    const started = await new EcsTargetAdapter().startRollout(request, settings);
    expect(started).toEqual({ serviceDeploymentArn: SD, serviceArn: SERVICE_ARN, taskDefinitionArn: TD2 });
    const register = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    expect(register?.containerDefinitions?.[0]?.image).toBe(`${REGISTRY}/demo-api@${DIGEST}`);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      {
        cluster: 'demo',
        service: 'api',
        taskDefinition: TD2,
        deploymentConfiguration: {
          maximumPercent: 200,
          minimumHealthyPercent: 100,
          strategy: 'CANARY',
          canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 1 },
          bakeTimeInMinutes: 1,
          alarms: { alarmNames: ['demo-api-prod-health'], enable: true, rollback: true },
          deploymentCircuitBreaker: { enable: true, rollback: true },
          lifecycleHooks: [
            {
              targetType: 'PAUSE',
              lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT'],
              timeoutConfiguration: { timeoutInMinutes: 1440, action: 'ROLLBACK' },
            },
          ],
        },
      },
    ]);
  });

  it('on a repeat (service already on the revision) updates nothing and follows the current service deployment', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ taskDefinition: TD2, currentServiceDeployment: SD })] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        taskDefinitionArn: TD2,
        family: 'api',
        containerDefinitions: [{ name: 'api', image: `${REGISTRY}/demo-api@${DIGEST}` }],
      },
    });
    const settings = ecsDeploymentConfiguration({ strategy: 'linear', stepPercent: 25, approveSteps: false }, prod);
    expect(await new EcsTargetAdapter().startRollout(request, settings)).toEqual({
      serviceDeploymentArn: SD,
      serviceArn: SERVICE_ARN,
      taskDefinitionArn: TD2,
    });
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });
});

describe('EcsTargetAdapter.startRollout refuses a service ECS cannot shift traffic for (aws-sdk-client-mock)', () => {
  it('without a load balancer or Service Connect: refused before anything is registered or updated, naming what to do', async () => {
    // ECS developer guide, "Required resources for Amazon ECS canary deployments": Elastic Load Balancing or Service Connect.
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ loadBalancers: [] })] });
    const settings = ecsDeploymentConfiguration({ strategy: 'canary', steps: [10], approveSteps: false }, prod);
    await expect(new EcsTargetAdapter().startRollout(request, settings)).rejects.toMatchObject({
      name: 'Coconut.TargetInvalid',
      message: expect.stringContaining('demo/api has no load balancer and no Service Connect'),
    });
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    // Service Connect is enough.
    ecs.on(DescribeServicesCommand).resolves({
      services: [service({ loadBalancers: [], deployments: [{ serviceConnectConfiguration: { enabled: true } }] })],
    });
    await expect(new EcsTargetAdapter().startRollout(request, settings)).resolves.toMatchObject({ serviceDeploymentArn: SD });
  });
});

describe('EcsTargetAdapter after a rollout (aws-sdk-client-mock)', () => {
  it('a rollback UpdateService sets strategy ROLLING with no lifecycle hooks: a PAUSE hook left from the canary would stop it', async () => {
    // What UpdateService left on the service after a canary with approveSteps (DeploymentConfiguration in the API reference).
    const afterCanary = ecsDeploymentConfiguration({ strategy: 'canary', steps: [10], approveSteps: true }, prod);
    ecs
      .on(DescribeServicesCommand)
      .resolvesOnce({
        services: [service({ taskDefinition: TD2, deploymentConfiguration: { maximumPercent: 200, ...afterCanary } })],
      })
      .resolves({ services: [service({ deployments: [{ taskDefinition: TD1, rolloutState: 'COMPLETED' }] })] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD1, status: 'ACTIVE' } });
    await new EcsTargetAdapter().rollback({ ...request, taskDefinitionArn: TD1, deadline: Date.now() + 60_000 });
    const sent = ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input.deploymentConfiguration;
    expect(sent).toMatchObject({ maximumPercent: 200, strategy: 'ROLLING', lifecycleHooks: [] });
  });
});

describe('EcsTargetAdapter rollout state and hooks (aws-sdk-client-mock: DescribeServiceDeployments, ContinueServiceDeployment)', () => {
  it('follows a canary with approval, woken by ECS events: auto-continues the first shift, rolls back on an alarm naming it', async () => {
    const adapter = new EcsTargetAdapter();
    ecs
      .on(DescribeServiceDeploymentsCommand, { serviceDeploymentArns: [SD] })
      // 1. HOOK_AWAITING_ACTION before the first shift: the new revision has no traffic yet.
      .resolvesOnce(
        described({
          targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 0 },
          lifecycleHookDetails: [{ hookId: 'ecs-pause-first', targetType: 'PAUSE', status: 'AWAITING_ACTION' }],
        }),
      )
      // 2. HOOK_AWAITING_ACTION before 100%: the canary has 10%.
      .resolvesOnce(
        described({
          lifecycleStage: 'BAKE_TIME',
          targetServiceRevision: { arn: TD2, requestedProductionTrafficWeight: 10 },
          lifecycleHookDetails: [
            { hookId: 'ecs-pause-first', targetType: 'PAUSE', status: 'SUCCEEDED' },
            { hookId: 'ecs-pause-second', targetType: 'PAUSE', status: 'AWAITING_ACTION', timeoutAction: 'ROLLBACK' },
          ],
        }),
      )
      // 3. SERVICE_DEPLOYMENT_FAILED after the approval: the alarm fired at 100%, ECS rolled back.
      .resolvesOnce(
        described({
          status: 'ROLLBACK_SUCCESSFUL',
          rollback: {
            reason: 'CloudWatch alarm triggered',
            serviceRevisionArn: 'arn:aws:ecs:us-east-1:123456789012:service-revision/demo/api/1',
          },
          alarms: { status: 'TRIGGERED', alarmNames: ['demo-api-prod-health'], triggeredAlarmNames: ['demo-api-prod-health'] },
        }),
      );

    const wake = async (event: ReturnType<typeof ecsEvent>) => {
      expect(ecsRolloutEventService(event)).toBe(SERVICE_ARN);
      return onEcsRolloutWake(adapter, SD);
    };
    expect(await wake(ecsEvent('ECS Hook State Change', 'HOOK_AWAITING_ACTION'))).toEqual({ action: 'wait', trafficPercent: 0 });
    const paused = await wake(ecsEvent('ECS Hook State Change', 'HOOK_AWAITING_ACTION'));
    expect(paused).toEqual({ action: 'approve', hookId: 'ecs-pause-second', trafficPercent: 10 });
    expect(await answerEcsRolloutApproval(adapter, { serviceDeploymentArn: SD, hookId: 'ecs-pause-second' }, 'approved')).toBe(
      'CONTINUE',
    );
    expect(await wake(ecsEvent('ECS Deployment State Change', 'SERVICE_DEPLOYMENT_FAILED'))).toEqual({
      action: 'rolledBack',
      alarms: ['demo-api-prod-health'],
      reason: 'ECS rolled back: alarm demo-api-prod-health went into ALARM (CloudWatch alarm triggered)',
    });
    expect(ecs.commandCalls(ContinueServiceDeploymentCommand).map((c) => c.args[0].input)).toEqual([
      { serviceDeploymentArn: SD, hookId: 'ecs-pause-first', action: 'CONTINUE' },
      { serviceDeploymentArn: SD, hookId: 'ecs-pause-second', action: 'CONTINUE' },
    ]);
    expect(ecs.commandCalls(DescribeServiceDeploymentsCommand)).toHaveLength(3);
  });

  it('answers a rejected approval with ContinueServiceDeployment ROLLBACK', async () => {
    const action = await answerEcsRolloutApproval(
      new EcsTargetAdapter(),
      { serviceDeploymentArn: SD, hookId: 'ecs-pause-second', region: 'eu-west-1' },
      'rejected',
    );
    expect(action).toBe('ROLLBACK');
    expect(ecs.commandCalls(ContinueServiceDeploymentCommand)[0]?.args[0].input).toEqual({
      serviceDeploymentArn: SD,
      hookId: 'ecs-pause-second',
      action: 'ROLLBACK',
    });
  });

  it('reports SUCCEEDED when the service deployment is SUCCESSFUL', async () => {
    ecs.on(DescribeServiceDeploymentsCommand).resolves(described({ status: 'SUCCESSFUL' }));
    expect(await onEcsRolloutWake(new EcsTargetAdapter(), SD)).toEqual({ action: 'succeeded' });
    expect(ecs.commandCalls(ContinueServiceDeploymentCommand)).toHaveLength(0);
  });

  it('names the deployment and ECS failure when it cannot be described (e.g. MISSING)', async () => {
    ecs.on(DescribeServiceDeploymentsCommand).resolves({
      serviceDeployments: [],
      failures: [{ arn: SD, reason: 'MISSING', detail: 'created before October 25, 2024' }],
    });
    await expect(new EcsTargetAdapter().rolloutState(SD)).rejects.toThrow(
      `ECS service deployment ${SD} cannot be described: MISSING (created before October 25, 2024)`,
    );
  });
});
