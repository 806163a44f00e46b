/**
 * The local ECS rehearsal (no ECS endpoint): a canary or linear rollout is a labelled REHEARSAL that
 * prints the UpdateService it would send, with the deploymentConfiguration ecsDeploymentConfiguration
 * gives; with --strict it fails naming what is missing.
 */
import { describe, expect, it } from 'vitest';
import { ecsDeploymentConfiguration } from '../../src/core/pipeline/ecs-rollout.ts';
import { ECS_ENDPOINT_HINT, RehearsalEcsTarget } from '../../src/local/ecs-rehearsal.ts';
import { memoryLog } from '../support/runtime.ts';

const request = {
  cluster: 'demo',
  service: 'api',
  repository: 'demo-api',
  digest: `sha256:${'2'.repeat(64)}`,
  alarms: ['demo-api-prod-health'],
};
const settings = ecsDeploymentConfiguration(
  { strategy: 'canary', steps: [10], bake: 30, approveSteps: true },
  { name: 'prod', bake: 10, alarms: ['demo-api-prod-health'] },
);

describe('Class: RehearsalEcsTarget, rollouts', () => {
  it('rehearses a canary: says what UpdateService would carry, and that nothing ran', async () => {
    const log = memoryLog();
    const target = new RehearsalEcsTarget({ log, strict: false });
    const started = await target.startRollout(request, settings);
    expect(started).toEqual({
      serviceDeploymentArn: '(rehearsal)',
      taskDefinitionArn: '(rehearsal)',
      rehearsal: { missing: [ECS_ENDPOINT_HINT] },
    });
    const said = log.lines.map((l) => l.message).join('\n');
    expect(said).toContain('REHEARSAL (PLANNED, nothing ran)');
    expect(said).toContain('"strategy":"CANARY","canaryConfiguration":{"canaryPercent":10,"canaryBakeTimeInMinutes":1}');
    expect(said).toContain('"lifecycleHooks":[{"targetType":"PAUSE","lifecycleStages":["PRE_PRODUCTION_TRAFFIC_SHIFT"]');
    expect(await target.rolloutState()).toEqual({ state: 'SUCCEEDED' });
    await target.continueRollout('(rehearsal)', 'hook', 'ROLLBACK');
    expect(log.lines.at(-1)?.message).toBe(
      'ECS REHEARSAL (nothing ran): ContinueServiceDeployment (rehearsal) hook hook ROLLBACK',
    );
  });

  it('with --strict, refuses to rehearse and names the missing endpoint', async () => {
    const target = new RehearsalEcsTarget({ log: memoryLog(), strict: true });
    await expect(target.startRollout(request, settings)).rejects.toThrow(`no ${ECS_ENDPOINT_HINT} for the ecs target demo/api`);
  });
});
