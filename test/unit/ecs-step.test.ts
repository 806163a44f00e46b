/**
 * The native ECS target as a pipeline step (src/core/pipeline/ecs-step.ts): what it asks the EcsTarget
 * port for, what it refuses before anything changes, and the build-shaped result RecordBaking reads.
 * Platform rules: a task definition ARN is arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>,
 * a family up to 255 letters, numbers, hyphens and underscores (ECS API reference, RegisterTaskDefinition
 * `family`, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html);
 * an image digest is sha256:<64 hex> (OCI image spec, descriptor.md "Digests"); a Lambda invocation
 * lasts at most 900 s (Lambda quotas, "Function timeout"), and the Node.js runtime reports a thrown
 * error's `name` as its errorType, which a Retry's ErrorEquals matches (Step Functions, "Handling
 * errors in Lambda functions").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EcsDeploymentFailedError,
  EcsDeploymentInProgressError,
  EcsTargetInvalidError,
  runEcsStep,
} from '../../src/core/pipeline/ecs-step.ts';
import type { EcsDeployOutcome, EcsDeployRequest, EcsRollbackRequest, Log } from '../../src/core/ports.ts';
import type { BuildEnvVar } from '../../src/core/triggers/plan.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const DIGEST = `sha256:${'a'.repeat(64)}`;
const ARN = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:42';
const REF = { deploymentId: 'dep-1', service: 'api', version: '2.0.0', environment: 'prod' };

const env = (vars: Record<string, string>): BuildEnvVar[] =>
  Object.entries(vars).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const }));
const BASE = { COCONUT_ECS_CLUSTER: 'main', COCONUT_ECS_SERVICE: 'api-svc', COCONUT_IMAGE_REPOSITORY: 'team/api' };

function harness(outcome: Partial<EcsDeployOutcome> = {}) {
  const calls: ['deploy' | 'rollback', EcsDeployRequest | EcsRollbackRequest][] = [];
  const lines: string[] = [];
  const log: Log = { debug() {}, info: (m) => void lines.push(m), warn: (m) => void lines.push(m), error() {} };
  const answer = { state: 'COMPLETED' as const, taskDefinitionArn: ARN, ...outcome };
  const ecs = {
    deploy: async (request: EcsDeployRequest) => {
      calls.push(['deploy', request]);
      return answer;
    },
    rollback: async (request: EcsRollbackRequest) => {
      calls.push(['rollback', request]);
      return answer;
    },
  };
  return { deps: { ecs, clock: { now: () => NOW }, log }, calls, lines };
}

describe('runEcsStep', () => {
  it('deploys the image by digest with the service, container, region and alarms the plan names; answers like a build', async () => {
    const { deps, calls, lines } = harness();
    const result = await runEcsStep(
      'deploy',
      REF,
      env({
        ...BASE,
        COCONUT_ECS_CONTAINER: 'web',
        COCONUT_ECS_REGION: 'eu-west-1',
        COCONUT_ECS_ALARMS: 'api-5xx,,api-latency',
        COCONUT_IMAGE_DIGEST: DIGEST,
      }),
      deps,
      5 * 60_000,
    );
    expect(calls).toEqual([
      [
        'deploy',
        {
          cluster: 'main',
          service: 'api-svc',
          repository: 'team/api',
          container: 'web',
          region: 'eu-west-1',
          alarms: ['api-5xx', 'api-latency'],
          // 5 minutes left, 20 s kept to answer.
          deadline: NOW.getTime() + 5 * 60_000 - 20_000,
          digest: DIGEST,
        },
      ],
    ]);
    expect(lines).toEqual([`api 2.0.0 on prod (ECS main/api-svc): deploying team/api@${DIGEST}`]);
    expect(result).toEqual({
      Id: `ecs:main/api-svc:${ARN}`,
      BuildStatus: 'SUCCEEDED',
      ExportedEnvironmentVariables: [
        { Name: 'COCONUT_DEPLOYED_VERSION', Value: '2.0.0' },
        { Name: 'COCONUT_TARGET_REVISION', Value: ARN },
      ],
    });
  });

  it('waits at most 13 minutes in one invocation, never a negative time; no container, region or alarms unless named', async () => {
    const { deps, calls } = harness();
    await runEcsStep('deploy', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: DIGEST }), deps, 15 * 60_000);
    await runEcsStep('deploy', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: DIGEST }), deps, 10_000);
    await runEcsStep('deploy', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: DIGEST }), deps, 13 * 60_000 + 20_000);
    expect(calls.map(([, r]) => r.deadline - NOW.getTime())).toEqual([13 * 60_000, 0, 13 * 60_000]);
    expect(calls[0]?.[1]).toEqual({
      cluster: 'main',
      service: 'api-svc',
      repository: 'team/api',
      alarms: [],
      deadline: NOW.getTime() + 13 * 60_000,
      digest: DIGEST,
    });
  });

  it('refuses a plan that is not for ECS, or a runtime without ECS, before anything changes', async () => {
    const { deps, calls } = harness();
    for (const missing of ['COCONUT_ECS_CLUSTER', 'COCONUT_ECS_SERVICE', 'COCONUT_IMAGE_REPOSITORY']) {
      const vars: Record<string, string> = { ...BASE, COCONUT_IMAGE_DIGEST: DIGEST };
      delete vars[missing];
      const refused = runEcsStep('deploy', REF, env(vars), deps, 60_000);
      await expect(refused).rejects.toThrow(
        new EcsTargetInvalidError(
          'the plan has no COCONUT_ECS_CLUSTER / COCONUT_ECS_SERVICE / COCONUT_IMAGE_REPOSITORY: is target.kind "ecs"?',
        ),
      );
      await expect(refused).rejects.toMatchObject({ name: 'Coconut.TargetInvalid' });
    }
    await expect(
      runEcsStep('deploy', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: DIGEST }), { ...deps, ecs: undefined }, 60_000),
    ).rejects.toThrow('no ECS adapter is wired into this runtime (Ports.ecs)');
    expect(calls).toEqual([]);
  });

  it('refuses to deploy without a digest, naming what it got', async () => {
    const { deps, calls } = harness();
    await expect(runEcsStep('deploy', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: 'latest' }), deps, 60_000)).rejects.toThrow(
      new EcsTargetInvalidError(
        'the ecs target deploys images by digest, and api 2.0.0 has none (expected sha256:<64 hex>, got "latest")',
      ),
    );
    await expect(
      runEcsStep('deploy', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: 'x'.repeat(200) }), deps, 60_000),
    ).rejects.toThrow(`got "${'x'.repeat(80)}")`);
    await expect(runEcsStep('deploy', REF, env(BASE), deps, 60_000)).rejects.toThrow('got "")');
    expect(calls).toEqual([]);
  });

  it('rolls back to the task definition recorded for the known-good version', async () => {
    const { deps, calls, lines } = harness();
    const result = await runEcsStep(
      'rollback',
      REF,
      env({ ...BASE, COCONUT_ROLLBACK_REVISION: ARN, COCONUT_IMAGE_DIGEST: DIGEST }),
      deps,
      60_000,
    );
    expect(calls).toEqual([
      [
        'rollback',
        {
          cluster: 'main',
          service: 'api-svc',
          repository: 'team/api',
          alarms: [],
          deadline: NOW.getTime() + 40_000,
          taskDefinitionArn: ARN,
        },
      ],
    ]);
    expect(lines).toEqual([`api 2.0.0 on prod (ECS main/api-svc): rolling back to task definition ${ARN}`]);
    expect(result.Id).toBe(`ecs:main/api-svc:${ARN}`);
  });

  it('refuses a recorded revision that is not a task definition ARN', async () => {
    const { deps, calls } = harness();
    for (const revision of ['7', `${ARN} ; rm -rf /`, 'arn:aws:ecs:eu-west-1:123456789012:service/main/api-svc']) {
      await expect(
        runEcsStep('rollback', REF, env({ ...BASE, COCONUT_ROLLBACK_REVISION: revision }), deps, 60_000),
      ).rejects.toThrow(new EcsTargetInvalidError(`the recorded task definition "${revision}" is not a task definition ARN`));
    }
    await expect(
      runEcsStep('rollback', REF, env({ ...BASE, COCONUT_ROLLBACK_REVISION: 'r'.repeat(400) }), deps, 60_000),
    ).rejects.toThrow(`the recorded task definition "${'r'.repeat(300)}" is not`);
    expect(calls).toEqual([]);
    // Other partitions are task definition ARNs too.
    await runEcsStep(
      'rollback',
      REF,
      env({ ...BASE, COCONUT_ROLLBACK_REVISION: 'arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task-definition/api_v2-x:3' }),
      deps,
      60_000,
    );
    expect(calls.map(([action]) => action)).toEqual(['rollback']);
  });

  it('a deploy deploys its digest even when the plan carries a rollback revision', async () => {
    const { deps, calls } = harness();
    await runEcsStep('deploy', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: DIGEST, COCONUT_ROLLBACK_REVISION: ARN }), deps, 60_000);
    expect(calls.map(([action, r]) => [action, (r as EcsDeployRequest).digest])).toEqual([['deploy', DIGEST]]);
  });

  it('a rollback without a recorded task definition redeploys the known-good digest', async () => {
    const { deps, calls, lines } = harness();
    await runEcsStep('rollback', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: DIGEST }), deps, 60_000);
    expect(calls.map(([action, r]) => [action, (r as EcsDeployRequest).digest])).toEqual([['deploy', DIGEST]]);
    expect(lines).toEqual([`api 2.0.0 on prod (ECS main/api-svc): redeploying known-good team/api@${DIGEST}`]);
  });

  it('still rolling out when the invocation must answer: an error the state machine retries, saying which revision', async () => {
    const { deps } = harness({ state: 'IN_PROGRESS' });
    const pending = runEcsStep('deploy', REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: DIGEST }), deps, 60_000);
    await expect(pending).rejects.toThrow(
      new EcsDeploymentInProgressError(`api 2.0.0 on prod (ECS main/api-svc): ${ARN} is still rolling out; waiting again`),
    );
    await expect(pending).rejects.toBeInstanceOf(EcsDeploymentInProgressError);
    // The name is what deploy.asl.json's DeployEcs and RollbackEcs retry on.
    const states = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8')).States.Environments.ItemProcessor.States;
    for (const state of ['DeployEcs', 'RollbackEcs']) {
      const retried = (states[state].Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
      expect(retried).toContain(new EcsDeploymentInProgressError('x').name);
      expect(retried).not.toContain(new EcsDeploymentFailedError('x').name);
    }
    expect(new EcsDeploymentFailedError('x').name).toBe('Coconut.EcsDeploymentFailed');
  });

  it('a runtime without an ECS endpoint rehearses: labelled like a rehearsed build, naming the step', async () => {
    for (const action of ['deploy', 'rollback'] as const) {
      const { deps } = harness({ rehearsal: { missing: ['ecs endpoint', 'aws credentials'] } });
      const result = await runEcsStep(action, REF, env({ ...BASE, COCONUT_IMAGE_DIGEST: DIGEST }), deps, 60_000);
      expect(result).toEqual({
        Id: 'ecs:main/api-svc:rehearsal',
        BuildStatus: 'SUCCEEDED',
        ExportedEnvironmentVariables: [
          { Name: 'COCONUT_REHEARSAL', Value: 'true' },
          { Name: 'COCONUT_MISSING_TOOLS', Value: 'ecs endpoint,aws credentials' },
          { Name: 'COCONUT_REHEARSED_STEP', Value: action },
        ],
      });
    }
  });
});
