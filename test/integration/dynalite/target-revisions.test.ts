/**
 * Target revisions (a Helm revision, an ECS task definition ARN) travel from the deploy build's exported
 * variables into the store with the version, stay with it when it becomes the last known-good, and come
 * back as COCONUT_ROLLBACK_REVISION in the rollback plan — against dynalite, the local runtime's DynamoDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import { parseConfig } from '../../../src/core/config/load.ts';
import {
  prepareRollback,
  recordBaking,
  recordDeploying,
  recordRolledBack,
  recordSucceeded,
  type StageDeps,
} from '../../../src/core/pipeline/stage-steps.ts';
import { silentNotifier, systemClock } from '../../../src/core/ports.ts';
import { buildPlan, deploymentRecord, initialStages } from '../../../src/core/triggers/plan.ts';
import type { LocalDynamo } from '../../../src/local/local-dynamodb.ts';
import { memoryLog } from '../../support/runtime.ts';
import { dynaliteStore } from '../../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
let deps: StageDeps;
beforeAll(async () => {
  ({ store, dynamo } = await dynaliteStore());
  deps = { store, clock: systemClock, log: memoryLog(), notifier: silentNotifier };
});
afterAll(() => dynamo.stop());

const service = parseConfig(`
services:
  - name: web
    image: { registry: ecr, repository: web }
    target: { kind: helm }
    environments: [{ name: staging }]
`).services[0]!;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const built = (vars: Record<string, string>) => ({
  Id: 'b',
  ExportedEnvironmentVariables: Object.entries(vars).map(([Name, Value]) => ({ Name, Value })),
});

async function deploy(version: string, d: string) {
  const plan = buildPlan(service, { registry: 'ecr', repository: 'web', tag: version, digest: d });
  const now = new Date();
  await store.createDeployment(
    deploymentRecord(plan, { kind: 'manual', id: 'm', at: now.toISOString() }, 'deploy', now),
    initialStages(plan, now),
  );
  const ref = { deploymentId: plan.deploymentId, service: 'web', version, environment: 'staging', digest: d };
  await recordDeploying(deps, ref);
  return { ref, buildEnv: plan.environments[0]!.buildEnv };
}

describe('Target revisions (dynalite)', () => {
  it('are recorded with the version, kept as last known-good, and handed to the rollback', async () => {
    const good = await deploy('1.0.0', digest('1'));
    await recordBaking(deps, good.ref, built({ COCONUT_DEPLOYED_VERSION: '1.0.0', COCONUT_TARGET_REVISION: '3' }));
    expect((await store.getEnvironmentState('web', 'staging'))?.current).toMatchObject({ version: '1.0.0', revision: '3' });
    await recordSucceeded(deps, good.ref);
    expect((await store.getEnvironmentState('web', 'staging'))?.lastKnownGood).toEqual({
      version: '1.0.0',
      deploymentId: good.ref.deploymentId,
      digest: digest('1'),
      revision: '3',
    });

    const bad = await deploy('1.1.0', digest('2'));
    await recordBaking(deps, bad.ref, built({ COCONUT_TARGET_REVISION: '4' }));
    const plan = await prepareRollback(deps, bad.ref, { Error: 'Coconut.AlarmFired', Cause: 'web-5xx' }, 'deploy', bad.buildEnv);
    const vars = Object.fromEntries((plan.buildEnv ?? []).map((v) => [v.Name, v.Value]));
    expect(vars).toMatchObject({
      COCONUT_ACTION: 'rollback',
      COCONUT_VERSION: '1.0.0',
      COCONUT_IMAGE_DIGEST: digest('1'),
      COCONUT_ROLLBACK_REVISION: '3',
    });

    // helm rollback creates a new revision with the old content: that is what runs now.
    await recordRolledBack(deps, bad.ref, built({ COCONUT_TARGET_REVISION: '5' }));
    const state = await store.getEnvironmentState('web', 'staging');
    expect(state?.current).toMatchObject({ version: '1.0.0', revision: '5' });
    expect(state?.lastKnownGood).toMatchObject({ version: '1.0.0', revision: '3' });
  });

  it('ignores a revision that is not a plain identifier, and records nothing for a rehearsal', async () => {
    const odd = await deploy('2.0.0', digest('3'));
    await recordBaking(deps, odd.ref, built({ COCONUT_TARGET_REVISION: '3\n$(reboot)' }));
    const current = (await store.getEnvironmentState('web', 'staging'))?.current;
    expect(current).toMatchObject({ version: '2.0.0' });
    expect(current?.revision).toBeUndefined();

    const rehearsed = await deploy('2.1.0', digest('4'));
    await recordBaking(deps, rehearsed.ref, built({ COCONUT_REHEARSAL: 'true', COCONUT_TARGET_REVISION: '9' }));
    expect((await store.getEnvironmentState('web', 'staging'))?.current?.version).toBe('2.0.0');
  });
});
