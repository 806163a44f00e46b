/**
 * Reads an ECS service: its state, and the task definition it runs now and the one it ran
 * before (what a rollback goes back to). Read-only on purpose: deploying to ECS is the ecs
 * target's business; this only looks.
 */
import {
  DescribeServicesCommand,
  type DescribeServicesCommandOutput,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  ListTaskDefinitionsCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { NotFoundError } from '../core/model/errors.ts';
import { errorName, namedAwsError } from './errors.ts';

export interface TaskDefinitionSummary {
  arn: string;
  family: string;
  revision: number;
  images: { container: string; image: string }[];
  registeredAt?: string;
}

export interface ServiceDeployment {
  id: string;
  /** PRIMARY (the newest), ACTIVE (still running tasks), INACTIVE. */
  status: string;
  rolloutState?: string;
  taskDefinition: string;
  runningCount: number;
  desiredCount: number;
}

export interface ServiceState {
  cluster: string;
  service: string;
  status: string;
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  deployments: ServiceDeployment[];
}

export class EcsReader {
  private readonly ecs: ECSClient;
  constructor(ecs: ECSClient) {
    this.ecs = ecs;
  }

  async serviceState(cluster: string, service: string): Promise<ServiceState> {
    const what = `ECS service ${service} in cluster ${cluster}`;
    let res: DescribeServicesCommandOutput;
    try {
      res = await this.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    } catch (error) {
      throw namedAwsError(what, error);
    }
    const found = res.services?.[0];
    if (!found?.serviceName || found.status === 'INACTIVE') {
      const reason = res.failures?.[0]?.reason ?? found?.status ?? 'MISSING';
      throw new NotFoundError(`${what} does not exist (${reason})`);
    }
    return {
      cluster,
      service: found.serviceName,
      status: found.status ?? 'UNKNOWN',
      taskDefinition: found.taskDefinition ?? '',
      desiredCount: found.desiredCount ?? 0,
      runningCount: found.runningCount ?? 0,
      deployments: (found.deployments ?? []).map((d) => ({
        id: d.id ?? '',
        status: d.status ?? 'UNKNOWN',
        ...(d.rolloutState ? { rolloutState: d.rolloutState } : {}),
        taskDefinition: d.taskDefinition ?? '',
        runningCount: d.runningCount ?? 0,
        desiredCount: d.desiredCount ?? 0,
      })),
    };
  }

  /**
   * The task definition the service runs now, and the one before it: the task definition of
   * a deployment still being replaced when there is one, else the previous ACTIVE revision of
   * the same family.
   */
  async taskDefinitions(
    cluster: string,
    service: string,
  ): Promise<{ current: TaskDefinitionSummary; previous?: TaskDefinitionSummary }> {
    const state = await this.serviceState(cluster, service);
    const current = await this.describeTaskDefinition(state.taskDefinition);
    const replacing = state.deployments.find((d) => d.status !== 'PRIMARY' && d.taskDefinition !== state.taskDefinition);
    const previousArn = replacing?.taskDefinition ?? (await this.previousRevision(current));
    return previousArn ? { current, previous: await this.describeTaskDefinition(previousArn) } : { current };
  }

  async describeTaskDefinition(taskDefinition: string): Promise<TaskDefinitionSummary> {
    let definition: TaskDefinition | undefined;
    try {
      definition = (await this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }))).taskDefinition;
    } catch (error) {
      if (errorName(error) === 'ClientException' && /not found|unable to describe/i.test((error as Error).message)) {
        throw new NotFoundError(`ECS task definition ${taskDefinition} does not exist`);
      }
      throw namedAwsError(`ECS task definition ${taskDefinition}`, error);
    }
    if (!definition?.taskDefinitionArn) throw new NotFoundError(`ECS task definition ${taskDefinition} does not exist`);
    return {
      arn: definition.taskDefinitionArn,
      family: definition.family ?? '',
      revision: definition.revision ?? 0,
      images: (definition.containerDefinitions ?? []).map((c) => ({ container: c.name ?? '', image: c.image ?? '' })),
      ...(definition.registeredAt ? { registeredAt: definition.registeredAt.toISOString() } : {}),
    };
  }

  private async previousRevision(current: TaskDefinitionSummary): Promise<string | undefined> {
    let nextToken: string | undefined;
    try {
      do {
        const res = await this.ecs.send(
          new ListTaskDefinitionsCommand({ familyPrefix: current.family, status: 'ACTIVE', sort: 'DESC', nextToken }),
        );
        for (const arn of res.taskDefinitionArns ?? []) {
          const match = /:task-definition\/([^:]+):(\d+)$/.exec(arn);
          // familyPrefix matches other families that start the same way: keep ours only.
          if (match?.[1] === current.family && Number(match[2]) < current.revision) return arn;
        }
        nextToken = res.nextToken;
      } while (nextToken);
    } catch (error) {
      throw namedAwsError(`ECS task definitions of family ${current.family}`, error);
    }
    return undefined;
  }
}
