/**
 * startDeployments / startPlan: a registry push becomes a deployment record, PENDING stages and one
 * execution of deploy.asl.json per matching service; a duplicate push starts nothing; pushes that match no
 * service, or a service released by git tags, are skipped with the reason. On dynalite (the local
 * runtime's DynamoDB) with a recording orchestrator whose names are idempotency keys, as Step Functions'.
 * The recording orchestrator refuses a second execution of one name, as Step Functions does (StartExecution:
 * a name already used is ExecutionAlreadyExists, or the running execution's own answer for the same input;
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html), which the Orchestrator
 * port reports as started: false (src/aws/sfn-orchestrator.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import type { ReleaseEvent } from '../../src/core/model/release.ts';
import type { Orchestrator, Store } from '../../src/core/ports.ts';
import { type DeploymentPlan, executionName } from '../../src/core/triggers/plan.ts';
import { type StartDeps, startDeployments, startPlan } from '../../src/core/triggers/start-deployment.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { dynaliteStore } from '../support/stores.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: team/api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 1m }
      - { name: prod, bake: 5m }
  - name: api-worker
    image: { registry: ecr, repository: team/api }
    target: { kind: helm, chart: charts/worker }
    environments: [{ name: prod }]
  - name: site
    image: { registry: ghcr, repository: acme/site }
    source: { github: acme/site }
    target: { kind: helm, chart: charts/site }
    environments: [{ name: prod }]
  - name: hub
    image: { registry: dockerhub, repository: acme/hub, pullSecret: hub-pull }
    target: { kind: helm, chart: charts/hub }
    environments: [{ name: prod }]
  - name: other
    image: { registry: ghcr, repository: acme/other }
    target: { kind: helm, chart: charts/other }
    environments: [{ name: prod }]
`);

const NOW = new Date('2026-03-04T05:06:07.000Z');
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('startDeployments and startPlan', () => {
  let dynamo: LocalDynamo;
  let deps: StartDeps & { store: Store };
  let started: { machine: string; name: string; input: DeploymentPlan }[];
  let names: Set<string>;
  let logged: { message: string; extra?: Record<string, unknown> }[];
  let resolved: { image: unknown; pullSecret?: string }[];

  const orchestrator: Orchestrator = {
    startExecution: async (machine, name, input) => {
      if (names.has(name)) return { executionArn: `arn:sfn:${name}`, started: false };
      names.add(name);
      started.push({ machine, name, input: input as DeploymentPlan });
      return { executionArn: `arn:sfn:${name}`, started: true };
    },
    sendTaskSuccess: async () => {},
    sendTaskFailure: async () => {},
  };
  const push = (over: Partial<ReleaseEvent> = {}): ReleaseEvent => ({
    registry: 'ecr',
    repository: 'team/api',
    tag: '1.0.0',
    digest: DIGEST,
    trigger: { kind: 'ecr-push', id: 'evt-1', at: '2026-03-04T05:00:00Z' },
    ...over,
  });

  beforeAll(async () => {
    const made = await dynaliteStore();
    dynamo = made.dynamo;
    const add = (message: string, extra?: Record<string, unknown>) => {
      logged.push({ message, ...(extra ? { extra } : {}) });
    };
    deps = {
      config,
      store: made.store,
      orchestrator,
      clock: { now: () => NOW },
      log: { debug: add, info: add, warn: add, error: add },
      registry: {
        resolveDigest: async (image, pullSecret) => {
          resolved.push({ image, ...(pullSecret ? { pullSecret } : {}) });
          return `sha256:${'f'.repeat(64)}`;
        },
      },
    };
  });
  beforeEach(() => {
    started = [];
    names = new Set();
    logged = [];
    resolved = [];
  });
  afterAll(() => dynamo?.stop());

  it('plans a push to pass the freeze and pin gate in every environment (freeze present, maybe empty)', async () => {
    await startDeployments(push({ tag: '7.7.7' }), deps);
    const plan = started[0]?.input;
    expect(plan?.environments.length).toBeGreaterThan(0);
    for (const env of plan?.environments ?? []) expect(env.freeze, env.name).toEqual([]);
  });

  it('ignores a push of a repository no service uses, says why, and writes nothing', async () => {
    const outcome = await startDeployments(push({ registry: 'ghcr', repository: 'acme/unknown' }), deps);
    const reason = 'no service in coconut.yaml uses ghcr repository "acme/unknown" (configured: acme/site, acme/other)';
    expect(outcome).toEqual({ outcomes: [], ignored: reason });
    expect(logged).toEqual([
      { message: `ignored push acme/unknown:1.0.0: ${reason}`, extra: { repository: 'acme/unknown', tag: '1.0.0' } },
    ]);
    expect(started).toEqual([]);
  });

  it('records and starts one deployment per matching service, skipping the one whose tag pattern refuses the tag', async () => {
    const outcome = await startDeployments(push({ tag: '1.0.0-rc1' }), deps);
    const reason = `tag "1.0.0-rc1" does not match api's tagPattern ^\\d+\\.\\d+\\.\\d+$`;
    expect(outcome.ignored).toBeUndefined();
    expect(outcome.outcomes).toEqual([
      { status: 'skipped', reason },
      { status: 'started', service: 'api-worker', deploymentId: started[0]?.name, executionArn: `arn:sfn:${started[0]?.name}` },
    ]);
    expect(logged[0]).toEqual({ message: `ignored push team/api:1.0.0-rc1: ${reason}` });
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ machine: 'deploy', input: { service: 'api-worker', version: '1.0.0-rc1' } });
    expect(started[0]?.input.deploymentId).toBe(started[0]?.name);
    // Unsalted: the name a push of this image always gets, so a redelivery of it starts nothing.
    expect(started[0]?.name).toBe(
      executionName('api-worker', { registry: 'ecr', repository: 'team/api', tag: '1.0.0-rc1', digest: DIGEST }),
    );
    expect(resolved).toEqual([]); // the event carried the digest
  });

  it('writes the record (trigger, kind, environments, time) and PENDING stages before the execution starts', async () => {
    const recordsAtStart: unknown[] = [];
    const watching: StartDeps & { store: Store } = {
      ...deps,
      orchestrator: {
        ...orchestrator,
        startExecution: async (machine, name, input) => {
          recordsAtStart.push(await deps.store.getDeployment(name));
          return orchestrator.startExecution(machine, name, input);
        },
      },
    };
    const outcome = await startDeployments(push({ tag: '2.0.0' }), watching);
    expect(outcome.outcomes.map((o) => o.status)).toEqual(['started', 'started']);
    const api = started.find((s) => s.input.service === 'api');
    const record = await deps.store.getDeployment(api?.name as string);
    expect(record).toMatchObject({
      deploymentId: api?.name,
      service: 'api',
      version: '2.0.0',
      image: { registry: 'ecr', repository: 'team/api', tag: '2.0.0', digest: DIGEST },
      trigger: { kind: 'ecr-push', id: 'evt-1' },
      environments: ['staging', 'prod'],
      createdAt: NOW.toISOString(),
      kind: 'deploy',
      state: 'PENDING',
    });
    expect(record?.stages.map((s) => [s.environment, s.order, s.state, s.version, s.createdAt, s.kind])).toEqual([
      ['staging', 0, 'PENDING', '2.0.0', NOW.toISOString(), undefined],
      ['prod', 1, 'PENDING', '2.0.0', NOW.toISOString(), undefined],
    ]);
    expect(recordsAtStart).toHaveLength(2);
    expect(recordsAtStart.every((r) => r !== undefined)).toBe(true);
    expect(logged.map((l) => l.message)).toEqual(['started deployment of api 2.0.0', 'started deployment of api-worker 2.0.0']);
    expect(logged[0]?.extra).toEqual({ service: 'api', version: '2.0.0', deploymentId: api?.name });
  });

  it('starts nothing for the same push twice, and says so', async () => {
    await startDeployments(push({ tag: '3.0.0' }), deps);
    logged = [];
    const again = await startDeployments(push({ tag: '3.0.0', trigger: { kind: 'ecr-push', id: 'evt-2', at: 'x' } }), deps);
    expect(started).toHaveLength(2);
    expect(again.outcomes).toEqual(started.map((s) => ({ status: 'duplicate', service: s.input.service, deploymentId: s.name })));
    expect(logged[0]).toEqual({
      message: `duplicate push: api 3.0.0 is already deploying or deployed (${started[0]?.name})`,
      extra: { service: 'api', version: '3.0.0', deploymentId: started[0]?.name },
    });
  });

  it('a salt makes a deliberate redeployment of the same image a new execution', async () => {
    await startDeployments(push({ tag: '4.0.0' }), deps);
    await startDeployments(push({ tag: '4.0.0' }), deps, 'manual:req-1');
    expect(started).toHaveLength(4);
    expect(new Set(started.map((s) => s.name)).size).toBe(4);
  });

  it('starts an execution whose record an earlier attempt wrote before dying, and says the record existed', async () => {
    await startDeployments(push({ tag: '5.0.0' }), deps);
    names.clear(); // as if the executions had never started
    logged = [];
    const retry = await startDeployments(push({ tag: '5.0.0' }), deps);
    expect(retry.outcomes.map((o) => o.status)).toEqual(['started', 'started']);
    expect(logged.map((l) => l.message)).toEqual([
      'started deployment of api 5.0.0 (record existed)',
      'started deployment of api-worker 5.0.0 (record existed)',
    ]);
  });

  it('skips a registry push of a service that git tags deploy, so one tag deploys once', async () => {
    const ghcr = push({
      registry: 'ghcr',
      repository: 'acme/site',
      tag: '1.2.0',
      trigger: { kind: 'ghcr-push', id: 'p', at: 'x' },
    });
    const reason = 'site releases on git tags of acme/site (source.onTag: deploy); registry pushes do not deploy it';
    expect(await startDeployments(ghcr, deps)).toEqual({ outcomes: [{ status: 'skipped', reason }] });
    expect(logged).toEqual([{ message: `ignored push acme/site:1.2.0: ${reason}` }]);
    for (const kind of ['ecr-push', 'dockerhub-push'] as const) {
      expect((await startDeployments({ ...ghcr, trigger: { kind, id: 'p', at: 'x' } }, deps)).outcomes).toEqual([
        { status: 'skipped', reason },
      ]);
    }
    expect(started).toEqual([]);
    // The git tag itself (or a person) deploys it.
    const tagged = await startDeployments({ ...ghcr, trigger: { kind: 'git-tag', id: 't', at: 'x' } }, deps);
    expect(tagged.outcomes.map((o) => o.status)).toEqual(['started']);
  });

  it("resolves a missing digest once, with the services' pull secret, before anything starts", async () => {
    const hub = push({
      registry: 'dockerhub',
      repository: 'acme/hub',
      tag: '7.0.0',
      trigger: { kind: 'dockerhub-push', id: 'h', at: 'x' },
    });
    delete hub.digest;
    const outcome = await startDeployments(hub, deps);
    expect(outcome.outcomes.map((o) => o.status)).toEqual(['started']);
    expect(resolved).toEqual([
      { image: { registry: 'dockerhub', repository: 'acme/hub', tag: '7.0.0' }, pullSecret: 'hub-pull' },
    ]);
    expect(started[0]?.input.image.digest).toBe(`sha256:${'f'.repeat(64)}`);
    expect(logged[0]?.message).toBe(
      `resolved dockerhub image acme/hub:7.0.0 to sha256:${'f'.repeat(64)} (the dockerhub-push event carried no digest)`,
    );
  });

  it('starts nothing, and writes no record, when the digest cannot be resolved', async () => {
    const failing: StartDeps & { store: Store } = {
      ...deps,
      registry: {
        resolveDigest: async () => {
          throw new Error('registry down');
        },
      },
    };
    const hub = push({
      registry: 'dockerhub',
      repository: 'acme/hub',
      tag: '8.0.0',
      trigger: { kind: 'dockerhub-push', id: 'h', at: 'x' },
    });
    delete hub.digest;
    await expect(startDeployments(hub, failing)).rejects.toThrow('registry down');
    expect(started).toEqual([]);
    expect((await deps.store.listDeployments({ service: 'hub', limit: 50 })).filter((d) => d.version === '8.0.0')).toEqual([]);
  });

  it('does not ask the registry when every match was skipped', async () => {
    const hub = push({
      registry: 'ghcr',
      repository: 'acme/site',
      tag: '9.0.0',
      trigger: { kind: 'ghcr-push', id: 'h', at: 'x' },
    });
    delete hub.digest;
    const outcome = await startDeployments(hub, deps);
    expect(outcome.outcomes.map((o) => o.status)).toEqual(['skipped']);
    expect(resolved).toEqual([]);
  });

  it('startPlan records a rollback with rollback stages', async () => {
    const plan: DeploymentPlan = {
      deploymentId: 'rb-plan-1',
      service: 'other',
      version: '0.1.0',
      image: { registry: 'ghcr', repository: 'acme/other', tag: '0.1.0', digest: DIGEST },
      targetKind: 'helm',
      environments: [
        { name: 'prod', order: 0, bakeSeconds: 0, alarms: [], lockSeconds: 7200, buildEnv: [], buildAction: 'rollback' },
      ],
    };
    const outcome = await startPlan(plan, { trigger: { kind: 'rollback', id: 'r', at: 'x' } }, deps, 'rollback');
    expect(outcome).toEqual({
      status: 'started',
      service: 'other',
      deploymentId: 'rb-plan-1',
      executionArn: 'arn:sfn:rb-plan-1',
    });
    const record = await deps.store.getDeployment('rb-plan-1');
    expect(record?.kind).toBe('rollback');
    expect(record?.stages.map((s) => s.kind)).toEqual(['rollback']);
    expect(started[0]?.input).toEqual(plan);
  });
});
