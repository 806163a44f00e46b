/**
 * Rollbacks (`coconut rollback`, POST /api/rollbacks) called directly: which version they go back to, who
 * may ask, what plan they start (the rollback buildspec, no approval wait) and every refusal's words. On
 * dynalite (the local runtime's DynamoDB) with a recording orchestrator whose names are idempotency keys.
 * The recording orchestrator refuses a second execution of one name, as Step Functions does (StartExecution:
 * a name already used is ExecutionAlreadyExists, or the running execution's own answer for the same input;
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html), which the Orchestrator
 * port reports as started: false (src/aws/sfn-orchestrator.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import type { DeploymentRecord, StageRecord } from '../../src/core/model/deployment.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../../src/core/model/errors.ts';
import type { Actor } from '../../src/core/pipeline/approvals.ts';
import type { Store } from '../../src/core/ports.ts';
import { ForeignImageError } from '../../src/core/triggers/image-policy.ts';
import type { DeploymentPlan } from '../../src/core/triggers/plan.ts';
import type { RollbackDeps } from '../../src/core/triggers/rollback.ts';
import { chooseRollbackTarget, knownGoodVersions, startRollback } from '../../src/core/triggers/rollback.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { dynaliteStore } from '../support/stores.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 1m }
      - { name: prod, approval: { approvers: [U0OTHER, U0BOSS], timeout: 10m }, bake: 5m, alarms: [api-5xx] }
  - name: web
    image: { registry: ecr, repository: web }
    target: { kind: helm, chart: charts/web }
    environments: [{ name: prod, bake: 2m }]
  - name: lone
    image: { registry: ecr, repository: lone }
    target: { kind: helm, chart: charts/lone }
    environments: [{ name: prod }]
`);

const NOW = new Date('2026-05-01T12:00:00.000Z');
const digestOf = (version: string) => `sha256:${version.replace(/\D/g, '').padEnd(64, '0')}`;
const local: Actor = { id: 'dev', source: 'local' };
const boss: Actor = { id: 'U0BOSS', name: 'Boss', source: 'slack' };
const intern: Actor = { id: 'U0INTERN', name: 'Intern', source: 'slack' };

describe('rollbacks', () => {
  let dynamo: LocalDynamo;
  let store: Store;
  let deps: RollbackDeps;
  let started: { machine: string; name: string; input: DeploymentPlan }[];
  let names: Set<string>;
  let seq = 0;

  /** A deployment of `version` to `environment` that ended in `state`, written as the pipeline writes it. */
  async function deployed(
    service: string,
    environment: string,
    version: string,
    state: 'SUCCEEDED' | 'FAILED' | 'ROLLED_BACK',
    options: { current?: boolean; rehearsal?: boolean; image?: DeploymentRecord['image'] } = {},
  ): Promise<string> {
    seq++;
    const id = `dep-${service}-${environment}-${version}-${seq}`;
    const at = new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString();
    const stage: StageRecord = {
      deploymentId: id,
      service,
      environment,
      order: 0,
      version,
      state: 'PENDING',
      createdAt: at,
      updatedAt: at,
    };
    const image = options.image ?? { registry: 'ecr', repository: service, tag: version, digest: digestOf(version) };
    await store.createDeployment(
      {
        deploymentId: id,
        service,
        version,
        image,
        trigger: { kind: 'ecr-push', id, at },
        environments: [environment],
        createdAt: at,
        kind: 'deploy',
      },
      [stage],
    );
    await store.updateStage(
      id,
      environment,
      { state: 'DEPLOYING', ...(options.rehearsal ? { rehearsal: { tools: ['helm'], steps: ['deploy'] } } : {}) },
      NOW,
    );
    if (state === 'ROLLED_BACK') {
      await store.updateStage(id, environment, { state: 'ROLLING_BACK' }, NOW);
      await store.updateStage(id, environment, { state: 'ROLLED_BACK' }, NOW);
    } else {
      await store.updateStage(id, environment, { state }, NOW);
    }
    if (options.current)
      await store.setEnvironmentVersions(service, environment, { current: { version, deploymentId: id } }, NOW);
    return id;
  }

  beforeAll(async () => {
    const made = await dynaliteStore();
    dynamo = made.dynamo;
    store = made.store;
    const quiet = () => {};
    deps = {
      config,
      store,
      orchestrator: {
        startExecution: async (machine, name, input) => {
          if (names.has(name)) return { executionArn: `arn:sfn:${name}`, started: false };
          names.add(name);
          started.push({ machine, name, input: input as DeploymentPlan });
          return { executionArn: `arn:sfn:${name}`, started: true };
        },
        sendTaskSuccess: async () => {},
        sendTaskFailure: async () => {},
      },
      clock: { now: () => NOW },
      log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    };
    // api on prod: 1.0.0 and 1.1.0 passed, 1.2.0 failed, 1.3.0 only rehearsed, 1.1.0 again, 1.4.0 rolled back, 1.5.0 runs now.
    await deployed('api', 'prod', '1.0.0', 'SUCCEEDED');
    await deployed('api', 'prod', '1.1.0', 'SUCCEEDED');
    await deployed('api', 'prod', '1.2.0', 'FAILED');
    await deployed('api', 'prod', '1.3.0', 'SUCCEEDED', { rehearsal: true });
    await deployed('api', 'prod', '1.1.0', 'SUCCEEDED');
    await deployed('api', 'prod', '1.4.0', 'ROLLED_BACK');
    await deployed('api', 'prod', '1.5.0', 'SUCCEEDED', { current: true });
    // web on prod: one good version, nothing recorded as running.
    const web = await deployed('web', 'prod', '2.0.0', 'SUCCEEDED');
    // Its environment state knows a good version but nothing running (as after an import of that state alone).
    await store.setEnvironmentVersions('web', 'prod', { lastKnownGood: { version: '2.0.0', deploymentId: web } }, NOW);
  });
  beforeEach(() => {
    started = [];
    names = new Set();
  });
  afterAll(() => dynamo?.stop());

  it('knows the versions that passed their bake there, newest first, each once, not the rehearsed ones', async () => {
    const good = await knownGoodVersions(deps, 'api', 'prod');
    expect(good.map((s) => s.version)).toEqual(['1.5.0', '1.1.0', '1.0.0']);
    expect(good.every((s) => s.state === 'SUCCEEDED' && s.environment === 'prod')).toBe(true);
    expect(await knownGoodVersions(deps, 'api', 'staging')).toEqual([]);
  });

  describe('chooseRollbackTarget', () => {
    it('goes back to the newest good version other than the running one, saying where from', async () => {
      const target = await chooseRollbackTarget(deps, { service: 'api', environment: 'prod' });
      expect(target).toMatchObject({ version: '1.1.0', from: '1.5.0', proof: { version: '1.1.0', state: 'SUCCEEDED' } });
    });

    it('goes to the named version when it passed its bake there', async () => {
      expect(await chooseRollbackTarget(deps, { service: 'api', environment: 'prod', to: '1.0.0' })).toMatchObject({
        version: '1.0.0',
        from: '1.5.0',
        proof: { version: '1.0.0' },
      });
    });

    it('says nothing of where from when nothing is recorded as running', async () => {
      const target = await chooseRollbackTarget(deps, { service: 'web', environment: 'prod' });
      expect(target.version).toBe('2.0.0');
      expect(target).not.toHaveProperty('from');
      const named = await chooseRollbackTarget(deps, { service: 'web', environment: 'prod', to: '2.0.0' });
      expect(named).not.toHaveProperty('from');
    });

    it('refuses the running version, a version that never passed there, and an environment without another good one', async () => {
      await expect(chooseRollbackTarget(deps, { service: 'api', environment: 'prod', to: '1.5.0' })).rejects.toThrow(
        new ConflictError('api 1.5.0 is already what runs on prod'),
      );
      for (const to of ['1.2.0', '1.3.0', '1.4.0']) {
        const refused = chooseRollbackTarget(deps, { service: 'api', environment: 'prod', to });
        await expect(refused).rejects.toThrow(InvalidInputError);
        await expect(refused).rejects.toThrow(
          `api ${to} never passed its bake on prod, so it cannot be rolled back to (versions that did: 1.5.0, 1.1.0, 1.0.0)`,
        );
      }
      await expect(chooseRollbackTarget(deps, { service: 'lone', environment: 'prod', to: '1.0.0' })).rejects.toThrow(
        'lone 1.0.0 never passed its bake on prod, so it cannot be rolled back to (versions that did: none yet)',
      );
      await expect(chooseRollbackTarget(deps, { service: 'lone', environment: 'prod' })).rejects.toThrow(
        new ConflictError('no earlier good version of lone on prod to roll back to (running: nothing; good versions: none yet)'),
      );
    });
  });

  describe('startRollback', () => {
    it('starts the rollback buildspec on that environment only, without the approval wait, for the recorded image', async () => {
      const outcome = await startRollback(deps, { service: 'api', environment: 'prod', requestId: 'rb-req-0001', actor: boss });
      expect(started).toHaveLength(1);
      const plan = started[0]?.input as DeploymentPlan;
      expect(outcome).toEqual({
        status: 'started',
        service: 'api',
        deploymentId: plan.deploymentId,
        executionArn: `arn:sfn:${plan.deploymentId}`,
        plan,
        target: expect.objectContaining({ version: '1.1.0', from: '1.5.0' }),
      });
      expect(plan).toMatchObject({
        service: 'api',
        version: '1.1.0',
        image: { registry: 'ecr', repository: 'api', tag: '1.1.0', digest: digestOf('1.1.0') },
      });
      expect(plan.environments).toHaveLength(1);
      const env = plan.environments[0];
      expect(env).toMatchObject({ name: 'prod', order: 1, bakeSeconds: 300, alarms: ['api-5xx'], buildAction: 'rollback' });
      expect(env).not.toHaveProperty('approval');
      // The deploy plan's lock term less the approval wait that a rollback skips.
      expect(env?.lockSeconds).toBe(300 + 2 * 3600);
      const vars = Object.fromEntries(env?.buildEnv.map((v) => [v.Name, v.Value]) ?? []);
      expect(vars).toMatchObject({
        COCONUT_ACTION: 'rollback',
        COCONUT_DEPLOYMENT_ID: plan.deploymentId,
        COCONUT_ENVIRONMENT: 'prod',
        COCONUT_VERSION: '1.1.0',
        COCONUT_IMAGE_DIGEST: digestOf('1.1.0'),
      });
      const record = await store.getDeployment(plan.deploymentId);
      expect(record).toMatchObject({
        kind: 'rollback',
        environments: ['prod'],
        trigger: { kind: 'rollback', id: 'rb-req-0001', actor: 'Boss', actorId: 'U0BOSS', at: NOW.toISOString() },
      });
      expect(record?.stages.map((s) => [s.environment, s.kind, s.state])).toEqual([['prod', 'rollback', 'PENDING']]);

      // The same request again starts nothing; another request is another execution.
      const again = await startRollback(deps, { service: 'api', environment: 'prod', requestId: 'rb-req-0001', actor: boss });
      expect(again.status).toBe('duplicate');
      const other = await startRollback(deps, { service: 'api', environment: 'prod', requestId: 'rb-req-0002', actor: boss });
      expect(other.status).toBe('started');
      expect(other.deploymentId).not.toBe(outcome.deploymentId);
    });

    it('lets the local operator and anyone on an environment without approvers roll back', async () => {
      const byOperator = await startRollback(deps, { service: 'api', environment: 'prod', to: '1.0.0', actor: local });
      expect(byOperator.status).toBe('started');
      expect((await store.getDeployment(byOperator.deploymentId))?.trigger).not.toHaveProperty('actorId');
      expect(byOperator.deploymentId).toMatch(/^api-1_0_0-[0-9a-f]{12}$/);
      const byAnyone = await startRollback(deps, { service: 'web', environment: 'prod', actor: intern });
      expect(byAnyone).toMatchObject({ status: 'started', target: { version: '2.0.0' } });
      expect(byAnyone.plan.environments[0]?.lockSeconds).toBe(120 + 2 * 3600); // no approval wait to take off
    });

    it('lets any one of several approvers roll back, not only one listed by all', async () => {
      const outcome = await startRollback(deps, {
        service: 'api',
        environment: 'prod',
        to: '1.0.0',
        requestId: 'rb-req-0009',
        actor: boss,
      });
      expect(outcome.status).toBe('started');
      expect(deps.config.services[0]?.environments[1]?.approval?.approvers).toEqual(['U0OTHER', 'U0BOSS']);
    });

    it('refuses a caller who is not an approver of the environment, naming them, and starts nothing', async () => {
      const refused = startRollback(deps, { service: 'api', environment: 'prod', actor: intern });
      await expect(refused).rejects.toThrow(ForbiddenError);
      await expect(refused).rejects.toThrow('Intern is not an approver of api on prod, so may not roll it back');
      await expect(
        startRollback(deps, { service: 'api', environment: 'prod', actor: { id: 'U0NONAME', source: 'slack' } }),
      ).rejects.toThrow('U0NONAME is not an approver of api on prod, so may not roll it back');
      expect(started).toEqual([]);
    });

    it('refuses an unknown service or environment and a malformed request id', async () => {
      await expect(startRollback(deps, { service: 'nope', environment: 'prod', actor: local })).rejects.toThrow(NotFoundError);
      await expect(startRollback(deps, { service: 'api', environment: 'qa', actor: local })).rejects.toThrow(
        new InvalidInputError('api has no environment qa (environments: staging, prod)'),
      );
      await expect(startRollback(deps, { service: 'api', environment: 'prod', requestId: 'x', actor: local })).rejects.toThrow(
        InvalidInputError,
      );
      expect(started).toEqual([]);
    });

    it('refuses when the deployment that proved the version is gone', async () => {
      const forgetful = Object.create(store) as Store;
      forgetful.getDeployment = async () => undefined;
      const refused = startRollback({ ...deps, store: forgetful }, { service: 'api', environment: 'prod', actor: local });
      await expect(refused).rejects.toThrow(NotFoundError);
      await expect(refused).rejects.toThrow(/^deployment dep-api-prod-1\.1\.0-\d+ of api 1\.1\.0 is gone$/);
      expect(started).toEqual([]);
    });

    it("refuses to send back out an image that is not the service's own", async () => {
      await deployed('lone', 'prod', '3.0.0', 'SUCCEEDED', {
        image: { registry: 'dockerhub', repository: 'evil/lone', tag: '3.0.0' },
      });
      const refused = startRollback(deps, { service: 'lone', environment: 'prod', actor: local });
      await expect(refused).rejects.toThrow(ForeignImageError);
      await expect(refused).rejects.toThrow(
        /^cannot roll lone on prod back to 3\.0\.0: deployment dep-lone-prod-3\.0\.0-\d+ recorded image evil\/lone:3\.0\.0 on Docker Hub is not lone's/,
      );
      expect(started).toEqual([]);
    });
  });
});
