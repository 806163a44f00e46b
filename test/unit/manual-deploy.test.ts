/** Manual deployments and rollback executions, through the API handler, on dynalite with a recording orchestrator. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../functions/api.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { Ports } from '../../src/core/handler-ports.ts';
import { emptyCounts, headerLine, historyLine } from '../../src/core/history/history-transfer.ts';
import type { DeploymentRecord } from '../../src/core/model/deployment.ts';
import { InvalidInputError, NotFoundError } from '../../src/core/model/errors.ts';
import { silentNotifier, systemClock } from '../../src/core/ports.ts';
import {
  checkEnvironments,
  checkRequestId,
  findService,
  type ManualDeployDeps,
  restrictPlan,
  startManualDeployment,
  triggerOf,
} from '../../src/core/triggers/manual-deploy.ts';
import { buildPlan, type DeploymentPlan } from '../../src/core/triggers/plan.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { dynaliteStore } from '../support/stores.ts';

const ISSUER = 'https://idp.example.com';
// JWT users are Slack users only through slack.users (ISSUER#SUB -> Slack id).
const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 1m, alarms: [a] }
      - { name: prod, approval: { approvers: [U0BOSS] }, bake: 5m, alarms: [b] }
slack:
  users: { '${ISSUER}#u-1': U0INTERN, '${ISSUER}#u-2': U0BOSS }
`);

type Started = { name: string; input: DeploymentPlan };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function event(routeKey: string, body: unknown, who: 'local' | { sub: string } | 'anonymous'): APIGatewayProxyEventV2 {
  const authorizer =
    who === 'local'
      ? { lambda: { coconutLocalOperator: true, user: 'dev' } }
      : who === 'anonymous'
        ? undefined
        : {
            jwt: {
              claims: {
                iss: ISSUER,
                sub: who.sub,
                email: `${who.sub}@example.com`,
              },
            },
          };
  return {
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1] ?? '/',
    rawQueryString: '',
    headers: {},
    requestContext: { ...(authorizer ? { authorizer } : {}), http: { method: routeKey.split(' ')[0] } },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

describe('Manual deployments and rollbacks (POST /api/deployments, POST /api/rollbacks)', () => {
  let dynamo: LocalDynamo;
  let ports: Ports;
  let started: Started[];
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, checked by toMatchObject.
  let call: (routeKey: string, body: unknown, who?: Parameters<typeof event>[2]) => Promise<{ statusCode: number; body: any }>;

  beforeAll(async () => {
    const made = await dynaliteStore();
    dynamo = made.dynamo;
    ports = {
      config,
      store: made.store,
      orchestrator: {
        startExecution: async (_machine, name, input) => {
          const again = started.some((s) => s.name === name);
          if (!again) started.push({ name, input: input as DeploymentPlan });
          return { executionArn: `arn:x:${name}`, started: !again };
        },
        sendTaskSuccess: async () => {},
        sendTaskFailure: async () => {},
      },
      alarms: { getStates: async (names) => names.map((name) => ({ name, state: 'OK' as const })) },
      notifier: silentNotifier,
      clock: systemClock,
      log: quiet,
    };
    const handler = createApiHandler(async () => ports);
    call = async (routeKey, body, who = 'local') => {
      const res = (await handler(event(routeKey, body, who), {} as never)) as { statusCode: number; body: string };
      return { statusCode: res.statusCode, body: JSON.parse(res.body) };
    };
  });
  beforeEach(() => {
    started = [];
  });
  afterAll(() => dynamo?.stop());

  it('plans a manual deployment limited to the chosen environments, with the actor as trigger', async () => {
    const res = await call('POST /api/deployments', {
      service: 'api',
      version: '1.0.0',
      environments: ['staging'],
      requestId: 'req-00000001',
    });
    expect(res.statusCode).toBe(201);
    expect(res.body.deployment).toMatchObject({
      service: 'api',
      version: '1.0.0',
      environments: ['staging'],
      kind: 'deploy',
      trigger: { kind: 'manual', actor: 'dev', id: 'req-00000001' },
    });
    expect(started).toHaveLength(1);
    expect(started[0]?.input.environments.map((e) => [e.name, e.buildAction])).toEqual([['staging', 'deploy']]);
    // The same request again starts nothing; a new request is a new execution (a deliberate redeploy).
    const retry = await call('POST /api/deployments', {
      service: 'api',
      version: '1.0.0',
      environments: ['staging'],
      requestId: 'req-00000001',
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.body.status).toBe('duplicate');
    const again = await call('POST /api/deployments', {
      service: 'api',
      version: '1.0.0',
      environments: ['staging'],
      requestId: 'req-00000002',
    });
    expect(again.body.status).toBe('started');
    expect(started.map((s) => s.name)).toHaveLength(2);
    expect(started[0]?.name).not.toBe(started[1]?.name);
  });

  it('says what is wrong with a request', async () => {
    expect((await call('POST /api/deployments', { service: 'api', version: '1.0.0-rc1' })).body.error).toBe(
      'image api:1.0.0-rc1 on ECR: tag "1.0.0-rc1" does not match api\'s tagPattern (api deploys only api on ECR with tags matching ^\\d+\\.\\d+\\.\\d+$)',
    );
    expect((await call('POST /api/deployments', { service: 'api', version: '1.0.0', environments: ['qa'] })).body.error).toBe(
      'api has no environment qa (environments: staging, prod)',
    );
    const unknown = await call('POST /api/deployments', { service: 'web', version: '1.0.0' });
    expect(unknown).toMatchObject({
      statusCode: 404,
      body: { error: 'no service named "web" in coconut.yaml (configured: api)' },
    });
    const extra = await call('POST /api/deployments', { service: 'api', version: '1.0.0', force: true });
    expect(extra.statusCode).toBe(400);
    expect(extra.body.error).toContain('force');
    expect((await call('POST /api/deployments', { service: 'api', version: '1.0.0' }, 'anonymous')).statusCode).toBe(401);
    expect(started).toEqual([]);
  });

  it('rolls back to the newest version that passed its bake there, skipping the approval, with the rollback buildspec', async () => {
    const now = new Date();
    const stage = async (version: string, id: string, at: string) => {
      await ports.store.createDeployment(
        {
          deploymentId: id,
          service: 'api',
          version,
          image: {
            registry: 'ecr',
            repository: 'api',
            tag: version,
            digest: `sha256:${version.replace(/\./g, '').padEnd(64, 'a')}`,
          },
          trigger: { kind: 'ecr-push', id, at },
          environments: ['prod'],
          createdAt: at,
          kind: 'deploy',
        },
        [
          {
            deploymentId: id,
            service: 'api',
            environment: 'prod',
            order: 1,
            version,
            state: 'PENDING',
            createdAt: at,
            updatedAt: at,
          },
        ],
      );
      await ports.store.updateStage(id, 'prod', { state: 'DEPLOYING' }, now);
      await ports.store.updateStage(id, 'prod', { state: 'SUCCEEDED' }, now);
      await ports.store.setEnvironmentVersions(
        'api',
        'prod',
        { current: { version, deploymentId: id }, lastKnownGood: { version, deploymentId: id } },
        now,
      );
    };
    await stage('1.1.0', 'dep-110', '2026-01-01T00:00:00Z');
    await stage('1.2.0', 'dep-120', '2026-01-02T00:00:00Z');

    // A signed-in user who is not an approver of prod may not skip its gate.
    const refused = await call('POST /api/rollbacks', { service: 'api', environment: 'prod' }, { sub: 'u-1' });
    expect(refused).toMatchObject({
      statusCode: 403,
      body: { error: 'u-1@example.com is not an approver of api on prod, so may not roll it back' },
    });

    const res = await call('POST /api/rollbacks', { service: 'api', environment: 'prod' }, { sub: 'u-2' });
    expect(res.statusCode).toBe(201);
    expect(res.body).toMatchObject({
      from: '1.2.0',
      to: '1.1.0',
      deployment: { kind: 'rollback', version: '1.1.0', trigger: { kind: 'rollback', actor: 'u-2@example.com' } },
    });
    expect(res.body.deployment.stages[0]).toMatchObject({ environment: 'prod', kind: 'rollback', state: 'PENDING' });
    const plan = started[0]?.input;
    expect(plan?.image.digest).toBe(`sha256:${'110'.padEnd(64, 'a')}`); // the content that ran, not just the tag
    expect(plan?.environments).toHaveLength(1);
    expect(plan?.environments[0]).toMatchObject({ name: 'prod', buildAction: 'rollback' });
    expect(plan?.environments[0]?.approval).toBeUndefined();
    expect(plan?.environments[0]?.buildEnv).toContainEqual({ Name: 'COCONUT_ACTION', Value: 'rollback', Type: 'PLAINTEXT' });
    expect(plan?.environments[0]?.buildEnv).toContainEqual({ Name: 'COCONUT_VERSION', Value: '1.1.0', Type: 'PLAINTEXT' });

    const named = await call('POST /api/rollbacks', { service: 'api', environment: 'prod', to: '0.9.0' });
    expect(named).toMatchObject({
      statusCode: 400,
      body: {
        error: 'api 0.9.0 never passed its bake on prod, so it cannot be rolled back to (versions that did: 1.2.0, 1.1.0)',
      },
    });
    const same = await call('POST /api/rollbacks', { service: 'api', environment: 'prod', to: '1.2.0' });
    expect(same).toMatchObject({ statusCode: 409, body: { error: 'api 1.2.0 is already what runs on prod' } });
    const nothing = await call('POST /api/rollbacks', { service: 'api', environment: 'staging' });
    expect(nothing.statusCode).toBe(409);
    expect(nothing.body.error).toContain('no earlier good version of api on staging');
  });

  describe("only the service's own images deploy (issue 12, item 3)", () => {
    const FOREIGN = { registry: 'dockerhub' as const, repository: 'someone-else/backdoor', tag: 'latest' };
    const record = (id: string, version: string, image: DeploymentRecord['image']): DeploymentRecord => ({
      deploymentId: id,
      service: 'api',
      version,
      image,
      trigger: { kind: 'ecr-push', id, at: '2026-01-03T00:00:00Z' },
      environments: ['staging'],
      createdAt: '2026-01-03T00:00:00Z',
      kind: 'deploy',
    });
    const importFile = (items: Parameters<typeof historyLine>[0][]) => {
      const counts = emptyCounts();
      for (const i of items) counts[i.kind]++;
      return `${[headerLine('2026-01-04T00:00:00.000Z', counts), ...items.map(historyLine)].join('\n')}\n`;
    };

    it('a manual deploy of a tag outside tagPattern, or of another repository, is a 400 with the reason', async () => {
      const latest = await call('POST /api/deployments', { service: 'api', version: 'latest' });
      expect(latest).toMatchObject({
        statusCode: 400,
        body: {
          error:
            'image api:latest on ECR: tag "latest" does not match api\'s tagPattern (api deploys only api on ECR with tags matching ^\\d+\\.\\d+\\.\\d+$)',
        },
      });
      // A request cannot name a repository at all: the service's is the only one.
      const foreign = await call('POST /api/deployments', { service: 'api', version: '1.0.0', image: 'someone-else/backdoor' });
      expect(foreign.statusCode).toBe(400);
      expect(foreign.body.error).toContain('image');
      expect(started).toEqual([]);
    });

    it('a manual deploy does not borrow the digest a record of another image holds for the same tag', async () => {
      const evil = `sha256:${'e'.repeat(64)}`;
      await ports.store.createDeployment(record('dep-foreign-300', '3.0.0', { ...FOREIGN, tag: '3.0.0', digest: evil }), []);
      const res = await call('POST /api/deployments', { service: 'api', version: '3.0.0', environments: ['staging'] });
      expect(res.statusCode).toBe(201);
      expect(started[0]?.input.image).toEqual({ registry: 'ecr', repository: 'api', tag: '3.0.0' });
    });

    it('an imported line naming another image is refused with its line number, and nothing is written', async () => {
      const dep = record('dep-imported-backdoor', '2.0.0', { ...FOREIGN, tag: '2.0.0' });
      const file = importFile([
        { kind: 'deployment', data: record('dep-imported-ok', '2.0.1', { registry: 'ecr', repository: 'api', tag: '2.0.1' }) },
        { kind: 'deployment', data: dep },
        {
          kind: 'environment',
          data: {
            service: 'api',
            environment: 'staging',
            lastKnownGood: { version: 'latest', deploymentId: 'dep-imported-ok' },
            updatedAt: '2026-01-03T00:00:00Z',
          },
        },
        {
          kind: 'deployment',
          data: {
            ...record('dep-imported-other', '2.0.2', { registry: 'ecr', repository: 'web', tag: '2.0.2' }),
            service: 'web',
          },
        },
      ]);
      const res = await call('POST /api/import', file);
      expect(res.statusCode).toBe(400);
      expect(res.body.error).toContain(
        "line 3: data.image: image someone-else/backdoor:2.0.0 on Docker Hub is not api's: api deploys only api on ECR with tags matching",
      );
      expect(res.body.error).toContain(
        'line 4: data.lastKnownGood.version: image api:latest on ECR: tag "latest" does not match',
      );
      expect(res.body.error).toContain('line 5: data.service: no service named "web" in coconut.yaml (configured: api)');
      expect(res.body.error).toContain('nothing was imported');
      expect(await ports.store.getDeployment('dep-imported-ok')).toBeUndefined();
      expect(await ports.store.getDeployment('dep-imported-backdoor')).toBeUndefined();
    });

    it('a rollback whose recorded known-good image is another repository is refused and starts nothing', async () => {
      const at = '2026-01-05T00:00:00Z';
      const now = new Date();
      // As an edited store or an older, unchecked import would hold it: a stage that passed its bake, whose deployment names a backdoor.
      await ports.store.createDeployment(record('dep-backdoor-400', '4.0.0', { ...FOREIGN, tag: '4.0.0' }), [
        {
          deploymentId: 'dep-backdoor-400',
          service: 'api',
          environment: 'staging',
          order: 0,
          version: '4.0.0',
          state: 'PENDING',
          createdAt: at,
          updatedAt: at,
        },
      ]);
      await ports.store.updateStage('dep-backdoor-400', 'staging', { state: 'DEPLOYING' }, now);
      await ports.store.updateStage('dep-backdoor-400', 'staging', { state: 'SUCCEEDED' }, now);
      const res = await call('POST /api/rollbacks', { service: 'api', environment: 'staging', to: '4.0.0' });
      expect(res).toMatchObject({
        statusCode: 400,
        body: {
          error:
            "cannot roll api on staging back to 4.0.0: deployment dep-backdoor-400 recorded image someone-else/backdoor:4.0.0 on Docker Hub is not api's: api deploys only api on ECR with tags matching ^\\d+\\.\\d+\\.\\d+$",
        },
      });
      expect(started).toEqual([]);
      expect(
        (await ports.store.listDeployments({ service: 'api', limit: 50 })).filter(
          (d) => d.kind === 'rollback' && d.version === '4.0.0',
        ),
      ).toEqual([]);
    });
  });
});

describe('startManualDeployment and its checks, called directly', () => {
  const direct = parseConfig(`
services:
  - name: shop
    image: { registry: ghcr, repository: acme/shop }
    target: { kind: helm, chart: charts/shop }
    environments:
      - { name: dev }
      - { name: staging }
      - { name: prod, approval: { approvers: [U0BOSS] } }
  - name: cart
    image: { registry: ghcr, repository: acme/cart }
    target: { kind: helm, chart: charts/cart }
    environments: [{ name: prod }]
`);
  const NOW = new Date('2026-06-01T08:00:00.000Z');
  const DIGEST = `sha256:${'d'.repeat(64)}`;
  let dynamo: LocalDynamo;
  let deps: ManualDeployDeps;
  let started: Started[];
  let asked: unknown[];

  const deployment = (id: string, version: string, image: DeploymentRecord['image'], day: number): DeploymentRecord => ({
    deploymentId: id,
    service: 'shop',
    version,
    image,
    trigger: { kind: 'ghcr-push', id, at: `2026-01-0${day}T00:00:00Z` },
    environments: ['dev'],
    createdAt: `2026-01-0${day}T00:00:00Z`,
    kind: 'deploy',
  });

  beforeAll(async () => {
    const made = await dynaliteStore();
    dynamo = made.dynamo;
    deps = {
      config: direct,
      store: made.store,
      orchestrator: {
        startExecution: async (_machine, name, input) => {
          const again = started.some((s) => s.name === name);
          if (!again) started.push({ name, input: input as DeploymentPlan });
          return { executionArn: `arn:x:${name}`, started: !again };
        },
        sendTaskSuccess: async () => {},
        sendTaskFailure: async () => {},
      },
      clock: { now: () => NOW },
      log: quiet,
      registry: {
        resolveDigest: async (image) => {
          asked.push(image);
          return `sha256:${'9'.repeat(64)}`;
        },
      },
    };
  });
  beforeEach(() => {
    started = [];
    asked = [];
  });
  afterAll(() => dynamo?.stop());

  it("names the person as the trigger's actor, and their identity unless they are the local operator", () => {
    expect(triggerOf('manual', 'req-1', { id: 'U0ANN', name: 'Ann', source: 'slack' }, NOW)).toEqual({
      kind: 'manual',
      id: 'req-1',
      actor: 'Ann',
      actorId: 'U0ANN',
      at: NOW.toISOString(),
    });
    expect(triggerOf('rollback', 'req-2', { id: 'U0BOB', source: 'dashboard' }, NOW)).toEqual({
      kind: 'rollback',
      id: 'req-2',
      actor: 'U0BOB',
      actorId: 'U0BOB',
      at: NOW.toISOString(),
    });
    expect(triggerOf('manual', 'req-3', { id: 'dev', name: 'Dev', source: 'local' }, NOW)).toEqual({
      kind: 'manual',
      id: 'req-3',
      actor: 'Dev',
      at: NOW.toISOString(),
    });
    // A promotion names the environment its digest passed on; no other kind carries one.
    expect(triggerOf('promote', 'req-4', { id: 'dev', name: 'Dev', source: 'local' }, NOW, 'staging')).toEqual({
      kind: 'promote',
      id: 'req-4',
      actor: 'Dev',
      at: NOW.toISOString(),
      from: 'staging',
    });
    expect(triggerOf('manual', 'req-5', { id: 'dev', source: 'local' }, NOW, 'staging')).not.toHaveProperty('from');
  });

  it('finds services and environments by name, or names what exists', () => {
    expect(findService(deps, 'cart').name).toBe('cart');
    expect(() => findService(deps, 'shoe')).toThrow(
      new NotFoundError('no service named "shoe" in coconut.yaml (configured: shop, cart)'),
    );
    const shop = findService(deps, 'shop');
    expect(() => checkEnvironments(shop, ['prod', 'dev'])).not.toThrow();
    expect(() => checkEnvironments(shop, ['qa', 'prod', 'uat'])).toThrow(
      new InvalidInputError('shop has no environment qa, uat (environments: dev, staging, prod)'),
    );
  });

  it('takes a request id of 8 to 64 letters, digits or "-", and makes a UUID when there is none', () => {
    expect(checkRequestId('abcd-123')).toBe('abcd-123');
    expect(checkRequestId('A'.repeat(64))).toBe('A'.repeat(64));
    expect(checkRequestId(undefined)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(checkRequestId(undefined)).not.toBe(checkRequestId(undefined));
    for (const bad of ['abc-123', 'A'.repeat(65), 'abcd_1234', 'abcd 1234', `${'x'.repeat(8)}\n`, ''])
      expect(() => checkRequestId(bad), bad).toThrow(
        new InvalidInputError('requestId must be 8 to 64 letters, digits or "-" (a UUID)'),
      );
  });

  it('keeps the chosen environments in promotion order with their positions, or all of them', () => {
    const plan = buildPlan(findService(deps, 'shop'), {
      registry: 'ghcr',
      repository: 'acme/shop',
      tag: '1.0.0',
      digest: DIGEST,
    });
    expect(restrictPlan(plan, undefined)).toBe(plan);
    expect(restrictPlan(plan, [])).toBe(plan);
    expect(restrictPlan(plan, ['prod', 'dev']).environments.map((e) => [e.name, e.order])).toEqual([
      ['dev', 0],
      ['prod', 2],
    ]);
  });

  it('refuses a malformed tag or digest before anything is written', async () => {
    const actor = { id: 'dev', source: 'local' } as const;
    await expect(startManualDeployment(deps, { service: 'shop', version: '-1.0.0', actor })).rejects.toThrow(
      new InvalidInputError('"-1.0.0" is not a valid image tag (letters, digits, . _ -, at most 128, not starting with . or -)'),
    );
    await expect(startManualDeployment(deps, { service: 'shop', version: '1.0.0', digest: 'sha256:abc', actor })).rejects.toThrow(
      new InvalidInputError('digest must look like sha256:<64 hex>, got "sha256:abc"'),
    );
    await expect(startManualDeployment(deps, { service: 'shop', version: '1.0.0', environments: ['qa'], actor })).rejects.toThrow(
      'shop has no environment qa',
    );
    await expect(startManualDeployment(deps, { service: 'shop', version: '1.0.0', requestId: 'short', actor })).rejects.toThrow(
      'requestId must be 8 to 64',
    );
    expect(started).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('deploys the digest given, salted by the request, with the person as trigger', async () => {
    const actor = { id: 'U0ANN', name: 'Ann', source: 'slack' } as const;
    const outcome = await startManualDeployment(deps, {
      service: 'shop',
      version: '1.0.0',
      digest: DIGEST,
      environments: ['staging'],
      requestId: 'manual-0001',
      actor,
    });
    expect(outcome).toEqual({
      status: 'started',
      service: 'shop',
      deploymentId: started[0]?.name,
      executionArn: `arn:x:${started[0]?.name}`,
      plan: started[0]?.input,
    });
    expect(outcome.deploymentId).toBe(
      buildPlan(
        findService(deps, 'shop'),
        { registry: 'ghcr', repository: 'acme/shop', tag: '1.0.0', digest: DIGEST },
        'manual:manual-0001',
      ).deploymentId,
    );
    expect(outcome.plan.image).toEqual({ registry: 'ghcr', repository: 'acme/shop', tag: '1.0.0', digest: DIGEST });
    expect(outcome.plan.environments.map((e) => e.name)).toEqual(['staging']);
    expect(asked).toEqual([]);
    const record = await deps.store.getDeployment(outcome.deploymentId);
    expect(record).toMatchObject({
      kind: 'deploy',
      environments: ['staging'],
      createdAt: NOW.toISOString(),
      trigger: { kind: 'manual', id: 'manual-0001', actor: 'Ann', actorId: 'U0ANN', at: NOW.toISOString() },
    });
    const again = await startManualDeployment(deps, {
      service: 'shop',
      version: '1.0.0',
      digest: DIGEST,
      environments: ['staging'],
      requestId: 'manual-0001',
      actor,
    });
    expect(again).toMatchObject({ status: 'duplicate', deploymentId: outcome.deploymentId, plan: outcome.plan });
  });

  it("reuses the digest an earlier deployment of the same tag of the service's image recorded", async () => {
    const ghcr = { registry: 'ghcr' as const, repository: 'acme/shop' };
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    // The records that lend nothing are newer, so the store lists them first.
    const records = [
      deployment('dep-shop-2-ok', '2.0.0', { ...ghcr, tag: '2.0.0', digest: digest('3') }, 1),
      deployment('dep-shop-2-otherversion', '2.0.1', { ...ghcr, tag: '2.0.0', digest: digest('2') }, 2),
      deployment('dep-shop-2-othertag', '2.0.0', { ...ghcr, tag: '2.0.0-alt', digest: digest('1') }, 3),
      deployment('dep-shop-2-nodigest', '2.0.0', { ...ghcr, tag: '2.0.0' }, 4),
      deployment(
        'dep-shop-2-foreign',
        '2.0.0',
        { registry: 'ghcr', repository: 'acme/cart', tag: '2.0.0', digest: digest('4') },
        5,
      ),
    ];
    for (const record of records) await deps.store.createDeployment(record, []);
    const listed = await deps.store.listDeployments({ service: 'shop', limit: 10 });
    expect(listed.map((d) => d.deploymentId).filter((id) => id.startsWith('dep-shop-2-'))).toEqual(
      records.map((r) => r.deploymentId).reverse(),
    );
    const outcome = await startManualDeployment(deps, {
      service: 'shop',
      version: '2.0.0',
      actor: { id: 'dev', source: 'local' },
    });
    expect(outcome.plan.image.digest).toBe(digest('3'));
    expect(asked).toEqual([]);
  });

  it("finds the digest in the service's own history, however much other services deployed since", async () => {
    const old = deployment(
      'dep-shop-6',
      '6.0.0',
      { registry: 'ghcr', repository: 'acme/shop', tag: '6.0.0', digest: `sha256:${'6'.repeat(64)}` },
      1,
    );
    await deps.store.createDeployment(old, []);
    // More newer deployments of another service than a store lists by default (50).
    for (let i = 0; i < 60; i++) {
      await deps.store.createDeployment(
        {
          ...deployment(`dep-cart-${i}`, `0.${i}.0`, { registry: 'ghcr', repository: 'acme/cart', tag: `0.${i}.0` }, 2),
          service: 'cart',
        },
        [],
      );
    }
    const outcome = await startManualDeployment(deps, {
      service: 'shop',
      version: '6.0.0',
      actor: { id: 'dev', source: 'local' },
    });
    expect(outcome.plan.image.digest).toBe(`sha256:${'6'.repeat(64)}`);
    expect(asked).toEqual([]);
  });

  it('asks the registry when no earlier deployment recorded a digest for the tag', async () => {
    const outcome = await startManualDeployment(deps, {
      service: 'cart',
      version: '5.0.0',
      actor: { id: 'dev', source: 'local' },
    });
    expect(asked).toEqual([{ registry: 'ghcr', repository: 'acme/cart', tag: '5.0.0' }]);
    expect(outcome.plan.image.digest).toBe(`sha256:${'9'.repeat(64)}`);
    const failing: ManualDeployDeps = {
      ...deps,
      registry: {
        resolveDigest: async () => {
          throw new Error('no such tag');
        },
      },
    };
    await expect(
      startManualDeployment(failing, { service: 'cart', version: '5.0.1', actor: { id: 'dev', source: 'local' } }),
    ).rejects.toThrow(
      'could not resolve the digest of ghcr image acme/cart:5.0.1 (no --digest was given and no earlier deployment recorded one for this tag), so nothing was deployed: no such tag. Coconut deploys images by digest; once the registry answers, push the tag again or run `coconut deploy cart 5.0.1 --digest sha256:…`',
    );
  });
});
