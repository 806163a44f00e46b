/**
 * EcsReader against moto_server: the task definition an ECS service runs and the one before it.
 * (CodeBuildBuilds is tested with aws-sdk-client-mock in test/unit/aws-codebuild-builds.test.ts:
 * moto 5.2's CodeBuild answers timestamps as ISO strings, which SDK v3 refuses to parse.)
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcsReader } from '../../../src/aws/ecs-reader.ts';
import { NotFoundError } from '../../../src/core/model/errors.ts';
import { type Moto, startMoto } from '../../support/moto.ts';

let moto: Moto;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(() => moto?.stop());

describe('Class: EcsReader (moto_server)', () => {
  it('reads the current and the previous task definition of a service', async () => {
    const ecs = new ECSClient(moto.clientOptions);
    await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
    const register = async (tag: string) =>
      (
        await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: 'api',
            containerDefinitions: [
              { name: 'api', image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/api:${tag}`, memory: 512 },
            ],
          }),
        )
      ).taskDefinition?.taskDefinitionArn as string;
    const v1 = await register('1.0.0');
    // Another family whose name starts the same way must not count as "previous".
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'api-worker',
        containerDefinitions: [{ name: 'w', image: 'w:1', memory: 128 }],
      }),
    );
    const v2 = await register('1.1.0');
    await ecs.send(new CreateServiceCommand({ cluster: 'prod', serviceName: 'api', taskDefinition: v1, desiredCount: 2 }));
    await ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'api', taskDefinition: v2 }));

    const reader = new EcsReader(ecs);
    const state = await reader.serviceState('prod', 'api');
    expect(state).toMatchObject({ cluster: 'prod', service: 'api', status: 'ACTIVE', taskDefinition: v2, desiredCount: 2 });
    const { current, previous } = await reader.taskDefinitions('prod', 'api');
    expect(current).toMatchObject({ arn: v2, family: 'api', revision: 2 });
    expect(current.images).toEqual([{ container: 'api', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.1.0' }]);
    expect(previous).toMatchObject({ arn: v1, family: 'api', revision: 1 });
    expect(previous?.images[0]?.image).toMatch(/api:1\.0\.0$/);
  });

  it('has no previous task definition for a first revision, and names a missing service', async () => {
    const ecs = new ECSClient(moto.clientOptions);
    await ecs.send(new CreateClusterCommand({ clusterName: 'staging' }));
    const first = (
      await ecs.send(
        new RegisterTaskDefinitionCommand({ family: 'solo', containerDefinitions: [{ name: 's', image: 's:1', memory: 128 }] }),
      )
    ).taskDefinition?.taskDefinitionArn as string;
    await ecs.send(new CreateServiceCommand({ cluster: 'staging', serviceName: 'solo', taskDefinition: first, desiredCount: 1 }));
    const reader = new EcsReader(ecs);
    const result = await reader.taskDefinitions('staging', 'solo');
    expect(result.current.arn).toBe(first);
    expect(result.previous).toBeUndefined();
    await expect(reader.serviceState('staging', 'ghost')).rejects.toThrow(NotFoundError);
    await expect(reader.serviceState('staging', 'ghost')).rejects.toThrow(/ECS service ghost in cluster staging does not exist/);
  });
});
