/**
 * The native ECS target on @aws-sdk/client-ecs. A deployment registers a new revision of the
 * service's task definition in which only one container's image changes (to repository@digest),
 * updates the service with the deployment circuit breaker and CloudWatch deployment alarms on
 * (both with rollback), and waits until the service has settled on it. A rollback points the
 * service back at the task definition recorded for the last known-good version.
 *
 * Every call is safe to repeat: a retry after a timeout finds the service already on the
 * wanted task definition and only waits again.
 */
import {
  type ContainerDefinition,
  ContinueServiceDeploymentCommand,
  type DeploymentConfiguration,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  type EcsDeploymentSettings,
  type EcsHookAction,
  type EcsRolloutState,
  type EcsRolloutTarget,
  ecsRolloutState,
} from '../core/pipeline/ecs-rollout.ts';
import { EcsDeploymentFailedError, EcsTargetInvalidError } from '../core/pipeline/ecs-step.ts';
import type { EcsDeployOutcome, EcsDeployRequest, EcsRollbackRequest, EcsTarget, Log } from '../core/ports.ts';
import { type ClientOptions, sdkConfig } from './clients.ts';

export interface EcsTargetOptions {
  /** Client options (endpoint, credentials) for an emulator; real AWS needs none. */
  client?: ClientOptions;
  /** Milliseconds between DescribeServices polls while waiting (default 5000). */
  pollMs?: number;
  log?: Log;
}

/** Fields of a described task definition that RegisterTaskDefinition accepts back. */
const REGISTERABLE = [
  'family',
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const satisfies readonly (keyof RegisterTaskDefinitionCommandInput & keyof TaskDefinition)[];

export class EcsTargetAdapter implements EcsTarget, EcsRolloutTarget {
  private readonly clients = new Map<string, ECSClient>();
  private readonly opts: EcsTargetOptions;

  constructor(opts: EcsTargetOptions = {}) {
    this.opts = opts;
  }

  async deploy(request: EcsDeployRequest): Promise<EcsDeployOutcome> {
    const ecs = this.client(request.region);
    const { service, arn } = await this.revisionFor(ecs, request);
    if (service.taskDefinition !== arn) {
      await this.update(ecs, service, request, arn, { alarms: true });
      this.opts.log?.info(`updated ECS service ${request.cluster}/${request.service} to ${arn}`);
    }
    return this.settle(ecs, request, arn);
  }

  async rollback(request: EcsRollbackRequest): Promise<EcsDeployOutcome> {
    const ecs = this.client(request.region);
    const service = await this.service(ecs, request);
    // Fails with a clear message when the recorded revision was deregistered or deleted.
    const target = await this.taskDefinition(ecs, request.taskDefinitionArn);
    if (target.status && target.status !== 'ACTIVE') {
      throw new EcsTargetInvalidError(`task definition ${request.taskDefinitionArn} is ${target.status}, cannot roll back to it`);
    }
    if (service.taskDefinition !== request.taskDefinitionArn) {
      // The alarm that caused the rollback is usually in ALARM right now; ECS would not watch
      // it for this deployment anyway, so the rollback runs with the circuit breaker only.
      await this.update(ecs, service, request, request.taskDefinitionArn, { alarms: false });
      this.opts.log?.info(`rolled ECS service ${request.cluster}/${request.service} back to ${request.taskDefinitionArn}`);
    }
    return this.settle(ecs, request, request.taskDefinitionArn);
  }

  /**
   * The service, and the task definition revision that runs the requested image by digest: the
   * service's current one when it already does, otherwise a new revision registered from it.
   */
  private async revisionFor(ecs: ECSClient, request: Omit<EcsDeployRequest, 'deadline'>) {
    const service = await this.service(ecs, request);
    const current = await this.taskDefinition(ecs, requireTaskDefinition(service, request));
    const container = pickContainer(current, request);
    const image = imageByDigest(container, request);
    let arn = current.taskDefinitionArn as string;
    if (container.image !== image) {
      arn = await this.register(ecs, current, container.name as string, image, request.cluster);
      this.opts.log?.info(`registered ${arn}: container ${container.name} ${container.image} -> ${image}`);
    }
    return { service, arn };
  }

  /**
   * Starts a canary or linear rollout: the same task definition revision as `deploy`, and
   * UpdateService with the rollout's deploymentConfiguration (ecsDeploymentConfiguration). Returns
   * at once with the service deployment to follow; a repeat finds the service already on the
   * revision and returns its current service deployment.
   *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
   */
  async startRollout(
    request: Omit<EcsDeployRequest, 'deadline'>,
    settings: EcsDeploymentSettings,
  ): Promise<{ serviceDeploymentArn: string; serviceArn?: string; taskDefinitionArn: string }> {
    const ecs = this.client(request.region);
    requireTrafficRouting(await this.service(ecs, request), request, settings);
    const { service, arn } = await this.revisionFor(ecs, request);
    let deploymentArn = service.currentServiceDeployment;
    if (service.taskDefinition !== arn) {
      // The SDK's own type: the compiler holds Coconut's subset to what UpdateService accepts.
      const deploymentConfiguration: DeploymentConfiguration = { ...service.deploymentConfiguration, ...settings };
      const res = await ecs.send(
        new UpdateServiceCommand({
          cluster: request.cluster,
          service: request.service,
          taskDefinition: arn,
          deploymentConfiguration,
        }),
      );
      deploymentArn = res.service?.currentServiceDeployment;
      this.opts.log?.info(
        `updated ECS service ${request.cluster}/${request.service} to ${arn} with a ${settings.strategy} deployment (${deploymentArn})`,
      );
    }
    if (!deploymentArn) {
      throw new EcsTargetInvalidError(
        `ECS service ${request.cluster}/${request.service} reports no current service deployment to follow (Service.currentServiceDeployment)`,
      );
    }
    return {
      serviceDeploymentArn: deploymentArn,
      ...(service.serviceArn ? { serviceArn: service.serviceArn } : {}),
      taskDefinitionArn: arn,
    };
  }

  /**
   * One read of the service deployment (called when an ECS event wakes the stage, never in a loop).
   *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html
   */
  async rolloutState(serviceDeploymentArn: string, region?: string): Promise<EcsRolloutState> {
    const ecs = this.client(region);
    const res = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [serviceDeploymentArn] }));
    const deployment = res.serviceDeployments?.find((d) => d.serviceDeploymentArn === serviceDeploymentArn);
    if (!deployment) {
      const failure = res.failures?.[0];
      throw new EcsTargetInvalidError(
        `ECS service deployment ${serviceDeploymentArn} cannot be described: ${failure?.reason ?? 'not returned'}${failure?.detail ? ` (${failure.detail})` : ''}`,
      );
    }
    return ecsRolloutState(deployment);
  }

  /**
   * Answers a PAUSE hook: CONTINUE shifts the next step, ROLLBACK returns to the previous revision.
   *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html
   */
  async continueRollout(serviceDeploymentArn: string, hookId: string, action: EcsHookAction, region?: string): Promise<void> {
    const ecs = this.client(region);
    await ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn, hookId, action }));
    this.opts.log?.info(`ECS service deployment ${serviceDeploymentArn}: hook ${hookId} answered ${action}`);
  }

  private client(region: string | undefined): ECSClient {
    const key = region ?? '';
    let client = this.clients.get(key);
    if (!client) {
      client = new ECSClient(sdkConfig({ ...this.opts.client, ...(region ? { region } : {}) }));
      this.clients.set(key, client);
    }
    return client;
  }

  private async service(ecs: ECSClient, request: { cluster: string; service: string }): Promise<Service> {
    const res = await ecs.send(new DescribeServicesCommand({ cluster: request.cluster, services: [request.service] }));
    const service = res.services?.[0];
    if (!service || service.status === 'INACTIVE') {
      const reason = res.failures?.[0]?.reason ?? service?.status ?? 'MISSING';
      throw new EcsTargetInvalidError(`ECS service ${request.service} in cluster ${request.cluster}: ${reason}`);
    }
    const controller = service.deploymentController?.type ?? 'ECS';
    if (controller !== 'ECS') {
      throw new EcsTargetInvalidError(
        `ECS service ${request.service} uses the ${controller} deployment controller; the ecs target needs the ECS (rolling update) controller`,
      );
    }
    return service;
  }

  private async taskDefinition(
    ecs: ECSClient,
    arn: string,
  ): Promise<TaskDefinition & { tags?: { key?: string; value?: string }[] }> {
    const res = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }));
    if (!res.taskDefinition) throw new EcsTargetInvalidError(`task definition ${arn} not found`);
    return { ...res.taskDefinition, ...(res.tags?.length ? { tags: res.tags } : {}) };
  }

  private async register(
    ecs: ECSClient,
    current: TaskDefinition & { tags?: { key?: string; value?: string }[] },
    containerName: string,
    image: string,
    cluster: string,
  ): Promise<string> {
    const input: Record<string, unknown> = {};
    for (const field of REGISTERABLE) if (current[field] !== undefined) input[field] = current[field];
    input.containerDefinitions = (current.containerDefinitions ?? []).map((c) =>
      c.name === containerName ? { ...c, image } : c,
    );
    if (current.tags?.length) input.tags = current.tags;
    const res = await ecs.send(new RegisterTaskDefinitionCommand(input as unknown as RegisterTaskDefinitionCommandInput));
    const arn = res.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new Error(`RegisterTaskDefinition for ${current.family} in ${cluster} returned no ARN`);
    return arn;
  }

  private async update(
    ecs: ECSClient,
    service: Service,
    request: Pick<EcsDeployRequest, 'cluster' | 'service' | 'alarms'>,
    taskDefinition: string,
    with_: { alarms: boolean },
  ): Promise<void> {
    const alarms = with_.alarms && request.alarms.length > 0;
    const deploymentConfiguration: DeploymentConfiguration = {
      // Keep the service's own pacing (maximumPercent, minimumHealthyPercent...).
      ...service.deploymentConfiguration,
      // ...but not a canary/linear rollout's strategy and PAUSE hook left from an earlier rollout: a
      // plain deploy or a rollback must not stop at a hook that nobody will answer.
      strategy: 'ROLLING',
      lifecycleHooks: [],
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: alarms ? request.alarms : [], enable: alarms, rollback: alarms },
    };
    await ecs.send(
      new UpdateServiceCommand({ cluster: request.cluster, service: request.service, taskDefinition, deploymentConfiguration }),
    );
  }

  /**
   * Settled: the deployment of `arn` reports COMPLETED, or — where no rollout state is known —
   * the condition of the AWS CLI's `services-stable` waiter (one deployment, running = desired)
   * holds while the service points at `arn`. A FAILED rollout, or the service pointing somewhere
   * else (the circuit breaker or an alarm rolled it back), fails at once.
   */
  private async settle(
    ecs: ECSClient,
    request: { cluster: string; service: string; deadline: number },
    arn: string,
  ): Promise<EcsDeployOutcome> {
    const pollMs = this.opts.pollMs ?? 5000;
    for (;;) {
      const service = await this.service(ecs, request);
      const deployments = service.deployments ?? [];
      const ours = deployments.find((d) => d.taskDefinition === arn);
      if (ours?.rolloutState === 'FAILED') {
        throw new EcsDeploymentFailedError(
          `ECS deployment ${ours.id} of ${arn} failed: ${ours.rolloutStateReason ?? 'no reason given'}`,
        );
      }
      if (service.taskDefinition !== arn) {
        const reason = deployments.find((d) => d.status === 'PRIMARY')?.rolloutStateReason;
        throw new EcsDeploymentFailedError(
          `ECS service ${request.cluster}/${request.service} no longer runs ${arn} but ${service.taskDefinition}: rolled back by ECS (circuit breaker or deployment alarm) or replaced by another deployment${reason ? ` — ${reason}` : ''}`,
        );
      }
      const stable = deployments.length <= 1 && service.runningCount === service.desiredCount;
      if (ours?.rolloutState === 'COMPLETED' || (ours?.rolloutState === undefined && stable)) {
        return { state: 'COMPLETED', taskDefinitionArn: arn };
      }
      if (Date.now() + pollMs > request.deadline) return { state: 'IN_PROGRESS', taskDefinitionArn: arn };
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}

/**
 * ECS shifts canary and linear traffic through Elastic Load Balancing or Service Connect ("Required
 * resources for Amazon ECS canary deployments", and the same for linear, in the ECS developer guide).
 * Refused before anything is registered or updated: nothing changed, nothing to roll back.
 */
function requireTrafficRouting(service: Service, request: { cluster: string; service: string }, settings: EcsDeploymentSettings) {
  if (settings.strategy === 'ROLLING') return;
  const balanced = (service.loadBalancers?.length ?? 0) > 0;
  const connected = (service.deployments ?? []).some((d) => d.serviceConnectConfiguration?.enabled);
  if (!balanced && !connected) {
    throw new EcsTargetInvalidError(
      `ECS service ${request.cluster}/${request.service} has no load balancer and no Service Connect: ECS ${settings.strategy} deployments shift traffic through one of them; attach one to the service, or remove rollout from this environment`,
    );
  }
}

function requireTaskDefinition(service: Service, request: { cluster: string; service: string }): string {
  if (!service.taskDefinition) {
    throw new EcsTargetInvalidError(`ECS service ${request.cluster}/${request.service} has no task definition to start from`);
  }
  return service.taskDefinition;
}

function pickContainer(def: TaskDefinition, request: Pick<EcsDeployRequest, 'container' | 'service'>): ContainerDefinition {
  const containers = def.containerDefinitions ?? [];
  const names = containers.map((c) => c.name).join(', ');
  if (request.container) {
    const named = containers.find((c) => c.name === request.container);
    if (!named)
      throw new EcsTargetInvalidError(
        `task definition ${def.taskDefinitionArn} has no container "${request.container}" (it has: ${names})`,
      );
    return named;
  }
  if (containers.length === 1) return containers[0] as ContainerDefinition;
  const byService = containers.find((c) => c.name === request.service);
  if (byService) return byService;
  throw new EcsTargetInvalidError(
    `task definition ${def.taskDefinitionArn} has ${containers.length} containers (${names}): set target.container in coconut.yaml`,
  );
}

/**
 * The new image keeps the registry and repository the container already pulls from and only
 * swaps the tag or digest; it must be the repository coconut.yaml names, so a push of one
 * repository can never change a container that runs another.
 */
export function imageByDigest(container: ContainerDefinition, request: { repository: string; digest: string }): string {
  const image = container.image ?? '';
  const name = imageNameOf(image);
  if (name !== request.repository && !name.endsWith(`/${request.repository}`)) {
    throw new EcsTargetInvalidError(
      `container ${container.name} runs ${image || '(no image)'}, which is not repository ${request.repository} from coconut.yaml; refusing to replace it`,
    );
  }
  return `${name}@${request.digest}`;
}

/** "host/repo:tag", "host/repo@sha256:…", "host:5000/repo" -> the name without tag or digest. */
export function imageNameOf(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}
