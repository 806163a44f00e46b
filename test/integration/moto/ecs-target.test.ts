/**
 * The native ECS target against moto_server's ECS API: the adapter (register a revision that
 * changes only the image, UpdateService with circuit breaker and alarms, wait until settled,
 * roll back to a recorded task definition) and the pipeline step built on it.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EcsTargetAdapter, imageNameOf } from '../../../src/aws/ecs-target.ts';
import { runEcsStep } from '../../../src/core/pipeline/ecs-step.ts';
import { rollbackEnvironment } from '../../../src/core/triggers/plan.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { memoryLog } from '../../support/runtime.ts';

const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('Class: EcsTargetAdapter (moto_server ECS)', () => {
  let moto: Moto;
  let ecs: ECSClient;
  let adapter: EcsTargetAdapter;
  const base = { cluster: 'demo', service: 'orders', repository: 'demo-orders', alarms: ['orders-5xx'] };
  const soon = () => Date.now() + 5000;

  beforeAll(async () => {
    // Every new ECS service starts with one running task: a service of desiredCount 1 is stable.
    moto = await startMoto({ env: { MOTO_ECS_SERVICE_RUNNING: '1' } });
    ecs = new ECSClient(moto.clientOptions);
    adapter = new EcsTargetAdapter({ client: moto.clientOptions, pollMs: 50 });
  });
  afterAll(() => moto?.stop());
  afterEach(() => moto.reset());

  async function givenService(opts: { desiredCount?: number; image?: string; sidecar?: boolean } = {}): Promise<string> {
    await ecs.send(new CreateClusterCommand({ clusterName: 'demo' }));
    const def = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'orders',
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        executionRoleArn: 'arn:aws:iam::123456789012:role/orders-exec',
        taskRoleArn: 'arn:aws:iam::123456789012:role/orders-task',
        tags: [{ key: 'team', value: 'payments' }],
        containerDefinitions: [
          {
            name: 'orders',
            image: opts.image ?? `${REGISTRY}/demo-orders:1.0.0`,
            essential: true,
            user: '10001',
            readonlyRootFilesystem: true,
            environment: [{ name: 'LOG_LEVEL', value: 'info' }],
            portMappings: [{ containerPort: 8080 }],
          },
          ...(opts.sidecar === false
            ? []
            : [{ name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable', essential: false }]),
        ],
      }),
    );
    const arn = def.taskDefinition?.taskDefinitionArn as string;
    await ecs.send(
      new CreateServiceCommand({
        cluster: 'demo',
        serviceName: 'orders',
        taskDefinition: arn,
        desiredCount: opts.desiredCount ?? 1,
      }),
    );
    return arn;
  }

  const describeService = async () =>
    (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['orders'] }))).services?.[0];
  const describeDef = async (arn: string) =>
    (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }))) as unknown as {
      taskDefinition: Record<string, unknown> & { containerDefinitions: { name: string; image: string }[] };
      tags?: unknown[];
    };

  it('registers a revision that changes only the image (by digest), updates the service with circuit breaker and alarms, and settles', async () => {
    const first = await givenService();
    const outcome = await adapter.deploy({ ...base, digest: D1, deadline: soon() });

    expect(outcome).toEqual({ state: 'COMPLETED', taskDefinitionArn: first.replace(/:1$/, ':2') });
    const before = await describeDef(first);
    const after = await describeDef(outcome.taskDefinitionArn);
    expect(after.taskDefinition.containerDefinitions.map((c) => [c.name, c.image])).toEqual([
      ['orders', `${REGISTRY}/demo-orders@${D1}`],
      ['log-router', 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable'],
    ]);
    // Everything but the image (and the revision bookkeeping) is the same definition.
    const strip = (d: Record<string, unknown>) => {
      const { taskDefinitionArn: _a, revision: _r, registeredAt: _t, ...rest } = d;
      return JSON.parse(JSON.stringify(rest).replaceAll(`demo-orders@${D1}`, 'demo-orders:1.0.0'));
    };
    expect(strip(after.taskDefinition)).toEqual(strip(before.taskDefinition));
    expect(after.tags).toEqual([{ key: 'team', value: 'payments' }]);

    const service = await describeService();
    expect(service?.taskDefinition).toBe(outcome.taskDefinitionArn);
    expect(service?.deploymentConfiguration).toMatchObject({
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: ['orders-5xx'], enable: true, rollback: true },
    });
  });

  it('is idempotent: deploying the same digest again registers nothing and keeps the service', async () => {
    await givenService();
    const once = await adapter.deploy({ ...base, digest: D1, deadline: soon() });
    const twice = await adapter.deploy({ ...base, digest: D1, deadline: soon() });
    expect(twice).toEqual(once);
    const list = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'orders' }));
    expect(list.taskDefinitionArns).toHaveLength(2);
  });

  it('rolls back to a recorded task definition with the circuit breaker on and alarms off', async () => {
    await givenService();
    const good = await adapter.deploy({ ...base, digest: D1, deadline: soon() });
    const bad = await adapter.deploy({ ...base, digest: D2, deadline: soon() });
    expect(bad.taskDefinitionArn).not.toBe(good.taskDefinitionArn);

    const back = await adapter.rollback({ ...base, taskDefinitionArn: good.taskDefinitionArn, deadline: soon() });
    expect(back).toEqual({ state: 'COMPLETED', taskDefinitionArn: good.taskDefinitionArn });
    const service = await describeService();
    expect(service?.taskDefinition).toBe(good.taskDefinitionArn);
    expect(service?.deploymentConfiguration).toMatchObject({
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: [], enable: false, rollback: false },
    });
  });

  it('refuses a container that runs another repository, changing nothing', async () => {
    const first = await givenService({ image: `${REGISTRY}/someone-else:3.1.0`, sidecar: false });
    const error = await adapter.deploy({ ...base, digest: D1, deadline: soon() }).catch((e: Error) => e);
    expect(error).toMatchObject({
      name: 'Coconut.TargetInvalid',
      message: `container orders runs ${REGISTRY}/someone-else:3.1.0, which is not repository demo-orders from coconut.yaml; refusing to replace it`,
    });
    expect((await describeService())?.taskDefinition).toBe(first);
    const list = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'orders' }));
    expect(list.taskDefinitionArns).toEqual([first]);
  });

  it('picks the container named like the service, and names the containers when the configured one is missing', async () => {
    await givenService();
    const error = await adapter.deploy({ ...base, service: 'orders', digest: D1, deadline: soon() }).then(
      () => undefined,
      (e: Error) => e,
    );
    // "orders" is both the service and a container name: that one is chosen.
    expect(error).toBeUndefined();
    const named = await adapter.deploy({ ...base, container: 'api', digest: D1, deadline: soon() }).catch((e: Error) => e);
    expect(named).toMatchObject({
      name: 'Coconut.TargetInvalid',
      message: expect.stringContaining('has no container "api" (it has: orders, log-router)'),
    });
  });

  it('reports a missing service before changing anything', async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: 'demo' }));
    const error = await adapter.deploy({ ...base, digest: D1, deadline: soon() }).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'Coconut.TargetInvalid', message: 'ECS service orders in cluster demo: MISSING' });
  });

  it('reports IN_PROGRESS when the service has not settled by the deadline', async () => {
    await givenService({ desiredCount: 2 }); // one task runs, two are wanted: never stable in moto
    const outcome = await adapter.deploy({ ...base, digest: D1, deadline: Date.now() + 300 });
    expect(outcome.state).toBe('IN_PROGRESS');
    expect((await describeService())?.taskDefinition).toBe(outcome.taskDefinitionArn);
  });

  it('fails when ECS points the service elsewhere while it waits (circuit breaker or alarm rollback)', async () => {
    const first = await givenService({ desiredCount: 2 });
    const waiting = adapter.deploy({ ...base, digest: D1, deadline: Date.now() + 10_000 }).catch((e: Error) => e);
    // What ECS does when the circuit breaker trips: back to the last completed deployment.
    for (let i = 0; i < 100 && (await describeService())?.taskDefinition === first; i++)
      await new Promise((r) => setTimeout(r, 20));
    await ecs.send(new UpdateServiceCommand({ cluster: 'demo', service: 'orders', taskDefinition: first }));
    const error = await waiting;
    expect(error).toMatchObject({ name: 'Coconut.EcsDeploymentFailed' });
    expect((error as Error).message).toContain(`no longer runs ${first.replace(/:1$/, ':2')} but ${first}`);
  });
});

describe('Function: runEcsStep (pipeline step on moto_server ECS)', () => {
  let moto: Moto;
  let ecs: ECSClient;
  const log = memoryLog();
  const clock = { now: () => new Date() };
  const ref = { deploymentId: 'orders-1_0_0-abc', service: 'orders', version: '1.0.0', environment: 'prod' };
  const env = (vars: Record<string, string>) =>
    Object.entries(vars).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const }));
  const deployEnv = env({
    COCONUT_ECS_CLUSTER: 'demo',
    COCONUT_ECS_SERVICE: 'orders',
    COCONUT_ECS_CONTAINER: 'orders',
    COCONUT_ECS_REGION: '',
    COCONUT_ECS_ALARMS: 'orders-5xx,orders-latency',
    COCONUT_IMAGE_REPOSITORY: 'demo-orders',
    COCONUT_IMAGE_DIGEST: D1,
  });

  beforeAll(async () => {
    moto = await startMoto({ env: { MOTO_ECS_SERVICE_RUNNING: '1' } });
    ecs = new ECSClient(moto.clientOptions);
    await ecs.send(new CreateClusterCommand({ clusterName: 'demo' }));
    const def = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'orders',
        containerDefinitions: [{ name: 'orders', image: `${REGISTRY}/demo-orders:0.9.0`, memory: 256 }],
      }),
    );
    await ecs.send(
      new CreateServiceCommand({
        cluster: 'demo',
        serviceName: 'orders',
        taskDefinition: def.taskDefinition?.taskDefinitionArn,
        desiredCount: 1,
      }),
    );
  });
  afterAll(() => moto?.stop());

  it('deploys and answers like a CodeBuild build: the version and the task definition as exported variables', async () => {
    const ecsTarget = new EcsTargetAdapter({ client: moto.clientOptions, pollMs: 50 });
    const result = await runEcsStep('deploy', ref, deployEnv, { ecs: ecsTarget, clock, log }, 60_000);
    expect(result).toEqual({
      Id: `ecs:demo/orders:arn:aws:ecs:us-east-1:123456789012:task-definition/orders:2`,
      BuildStatus: 'SUCCEEDED',
      ExportedEnvironmentVariables: [
        { Name: 'COCONUT_DEPLOYED_VERSION', Value: '1.0.0' },
        { Name: 'COCONUT_TARGET_REVISION', Value: 'arn:aws:ecs:us-east-1:123456789012:task-definition/orders:2' },
      ],
    });
    const service = (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['orders'] }))).services?.[0];
    expect(service?.deploymentConfiguration?.alarms?.alarmNames).toEqual(['orders-5xx', 'orders-latency']);

    // The rollback plan carries the recorded task definition; the step returns the service to it.
    const second = await runEcsStep(
      'deploy',
      { ...ref, version: '1.1.0' },
      env({ ...Object.fromEntries(deployEnv.map((v) => [v.Name, v.Value])), COCONUT_IMAGE_DIGEST: D2 }),
      { ecs: ecsTarget, clock, log },
      60_000,
    );
    expect(second.ExportedEnvironmentVariables[1]?.Value).toMatch(/orders:3$/);
    const back = await runEcsStep(
      'rollback',
      ref,
      rollbackEnvironment(deployEnv, {
        version: '1.0.0',
        digest: D1,
        revision: 'arn:aws:ecs:us-east-1:123456789012:task-definition/orders:2',
      }),
      { ecs: ecsTarget, clock, log },
      60_000,
    );
    expect(back.ExportedEnvironmentVariables).toContainEqual({
      Name: 'COCONUT_TARGET_REVISION',
      Value: 'arn:aws:ecs:us-east-1:123456789012:task-definition/orders:2',
    });
    expect(
      (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['orders'] }))).services?.[0]?.taskDefinition,
    ).toMatch(/orders:2$/);
  });

  it('turns a deadline into a retryable error and a missing digest into a refusal', async () => {
    const never = {
      deploy: async () => ({ state: 'IN_PROGRESS' as const, taskDefinitionArn: 'arn:x' }),
      rollback: async () => ({ state: 'IN_PROGRESS' as const, taskDefinitionArn: 'arn:x' }),
    };
    await expect(runEcsStep('deploy', ref, deployEnv, { ecs: never, clock, log }, 60_000)).rejects.toMatchObject({
      name: 'Coconut.EcsDeploymentInProgress',
    });
    const noDigest = deployEnv.map((v) => (v.Name === 'COCONUT_IMAGE_DIGEST' ? { ...v, Value: '' } : v));
    await expect(runEcsStep('deploy', ref, noDigest, { ecs: never, clock, log }, 60_000)).rejects.toMatchObject({
      name: 'Coconut.TargetInvalid',
      message: expect.stringContaining('the ecs target deploys images by digest'),
    });
  });
});

describe('Function: imageNameOf', () => {
  it('strips tag and digest, keeping a registry port', () => {
    expect(imageNameOf(`${REGISTRY}/demo-orders:1.0.0`)).toBe(`${REGISTRY}/demo-orders`);
    expect(imageNameOf(`${REGISTRY}/demo-orders@${D1}`)).toBe(`${REGISTRY}/demo-orders`);
    expect(imageNameOf('localhost:5000/team/app:2')).toBe('localhost:5000/team/app');
    expect(imageNameOf('nginx')).toBe('nginx');
  });
});
