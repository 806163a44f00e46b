/**
 * The native ECS branch of deploy.asl.json: chosen by targetKind, no CodeBuild, the same result path and
 * failure handling as the build it replaces, and a retry that only waits again.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const states = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8')).States.Environments.ItemProcessor
  .States as Record<string, Record<string, unknown> & { Choices?: { Variable: string; StringEquals?: string; Next: string }[] }>;

describe('State machine: deploy.asl.json native ECS branch', () => {
  it.each([
    ['DeployTarget?', 'DeployEcs', 'Deploy'],
    ['RollbackTarget?', 'RollbackEcs', 'Rollback'],
  ])('%s sends ecs services to %s and every other kind to %s', (choice, ecs, build) => {
    // DeployTarget? first sends environments with a rollout to their step loop (asl-rollout.test.ts).
    const rules = (states[choice]?.Choices ?? []).filter((c) => c.Variable === '$.targetKind');
    expect(states[choice]).toMatchObject({ Type: 'Choice', Default: build });
    expect(rules).toEqual([{ Variable: '$.targetKind', StringEquals: 'ecs', Next: ecs }]);
  });

  it('is entered after RecordDeploying and after a rollback was planned', () => {
    expect(states.RecordDeploying?.Next).toBe('DeployTarget?');
    expect(states['CanRollBack?']?.Choices?.[0]?.Next).toBe('RollbackTarget?');
  });

  it.each([
    ['DeployEcs', 'ecsDeploy', '$.env.buildEnv', '$.deployBuild', 'RecordBaking', 'PrepareRollback'],
    ['RollbackEcs', 'ecsRollback', '$.rollback.plan.buildEnv', '$.rollbackBuild', 'RecordRolledBack', 'RecordRollbackFailed'],
  ])(
    '%s invokes the pipeline-step function (%s) and answers like the build it replaces',
    (name, action, env, resultPath, next, onError) => {
      const state = states[name] as Record<string, unknown>;
      expect(state).toMatchObject({
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: `\${PipelineStepFunctionArn}`, Payload: { action, 'ref.$': '$.ref', 'buildEnv.$': env } },
        ResultSelector: { 'Id.$': '$.Payload.Id', 'Build.$': '$.Payload' },
        ResultPath: resultPath,
        Next: next,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: onError }],
      });
      const retry = state.Retry as { ErrorEquals: string[]; MaxAttempts: number }[];
      expect(retry.find((r) => r.ErrorEquals.includes('Coconut.EcsDeploymentInProgress'))?.MaxAttempts).toBeGreaterThan(1);
      // The build it replaces reads the same places.
      expect(states[name.replace('Ecs', '')]).toMatchObject({ ResultPath: resultPath, Next: next });
    },
  );
});
