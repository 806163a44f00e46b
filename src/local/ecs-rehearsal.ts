/**
 * The ECS target of a local runtime without an ECS endpoint (COCONUT_AWS_ENDPOINT): nothing
 * runs, the step is a labelled rehearsal that says what would have happened — or, with
 * --strict, a failure naming what is missing. With an endpoint (moto_server, LocalStack) the
 * runtime wires the real adapter instead.
 */
import type { EcsDeploymentSettings, EcsHookAction, EcsRolloutState, EcsRolloutTarget } from '../core/pipeline/ecs-rollout.ts';
import type { EcsDeployOutcome, EcsDeployRequest, EcsRollbackRequest, EcsTarget, Log } from '../core/ports.ts';

export const ECS_ENDPOINT_HINT = 'ECS endpoint (COCONUT_AWS_ENDPOINT)';

export class RehearsalEcsTarget implements EcsTarget, EcsRolloutTarget {
  private readonly log: Log;
  private readonly strict: boolean;

  constructor(opts: { log: Log; strict: boolean }) {
    this.log = opts.log;
    this.strict = opts.strict;
  }

  async deploy(request: EcsDeployRequest): Promise<EcsDeployOutcome> {
    return this.rehearse(request, [
      `DescribeServices ${request.cluster}/${request.service}; DescribeTaskDefinition of its task definition`,
      `RegisterTaskDefinition: the same definition with container ${request.container ?? '(the only one)'} image -> <registry>/${request.repository}@${request.digest}`,
      `UpdateService: deploymentCircuitBreaker {enable, rollback}; alarms ${request.alarms.length ? `[${request.alarms.join(', ')}] {enable, rollback}` : 'off (the environment has none)'}`,
      'wait until the service settles on the new task definition',
    ]);
  }

  async rollback(request: EcsRollbackRequest): Promise<EcsDeployOutcome> {
    return this.rehearse(request, [
      `UpdateService ${request.cluster}/${request.service} -> task definition ${request.taskDefinitionArn} (circuit breaker on)`,
      'wait until the service settles on it',
    ]);
  }

  /** A canary or linear rollout, rehearsed: the UpdateService it would send, with its deploymentConfiguration. */
  async startRollout(
    request: Omit<EcsDeployRequest, 'deadline'>,
    settings: EcsDeploymentSettings,
  ): Promise<{ serviceDeploymentArn: string; taskDefinitionArn: string; rehearsal: { missing: string[] } }> {
    const outcome = this.rehearse(request, [
      `DescribeServices ${request.cluster}/${request.service}; DescribeTaskDefinition of its task definition`,
      `RegisterTaskDefinition: the same definition with container ${request.container ?? '(the only one)'} image -> <registry>/${request.repository}@${request.digest}`,
      `UpdateService: deploymentConfiguration ${JSON.stringify(settings)}`,
      'follow the service deployment: DescribeServiceDeployments on each "ECS Deployment State Change" / "ECS Hook State Change" event',
    ]);
    return {
      serviceDeploymentArn: '(rehearsal)',
      taskDefinitionArn: outcome.taskDefinitionArn,
      rehearsal: outcome.rehearsal ?? { missing: [] },
    };
  }

  /** Nothing ran, so nothing can fail: the rehearsed rollout counts as done (the step says REHEARSAL). */
  async rolloutState(): Promise<EcsRolloutState> {
    return { state: 'SUCCEEDED' };
  }

  async continueRollout(serviceDeploymentArn: string, hookId: string, action: EcsHookAction): Promise<void> {
    this.log.warn(`ECS REHEARSAL (nothing ran): ContinueServiceDeployment ${serviceDeploymentArn} hook ${hookId} ${action}`, {
      rehearsal: true,
    });
  }

  private rehearse(request: { cluster: string; service: string }, steps: string[]): EcsDeployOutcome {
    if (this.strict) {
      throw Object.assign(
        new Error(
          `no ${ECS_ENDPOINT_HINT} for the ecs target ${request.cluster}/${request.service}; set it (e.g. to a moto_server), or run without --strict to rehearse`,
        ),
        { name: 'Coconut.MissingTool' },
      );
    }
    this.log.warn(
      [
        `ECS ${request.cluster}/${request.service}: REHEARSAL (PLANNED, nothing ran): no ${ECS_ENDPOINT_HINT}. These calls would run:`,
        ...steps.map((s) => `  ${s}`),
      ].join('\n'),
      { rehearsal: true },
    );
    return { state: 'COMPLETED', taskDefinitionArn: '(rehearsal)', rehearsal: { missing: [ECS_ENDPOINT_HINT] } };
  }
}
