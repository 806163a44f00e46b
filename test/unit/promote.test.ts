/**
 * Promotion (src/core/triggers/promote.ts) through the API handler (POST /api/promotions), on
 * dynalite with a recording orchestrator: the digest the earlier environment's records proved is
 * deployed, never the tag's newest content; what cannot be promoted is refused, saying why.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../functions/api.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { Ports } from '../../src/core/handler-ports.ts';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import { silentNotifier, systemClock } from '../../src/core/ports.ts';
import type { DeploymentPlan } from '../../src/core/triggers/plan.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { dynaliteStore } from '../support/stores.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: dev }
      - { name: staging }
      - { name: prod, approval: { approvers: [U0BOSS] } }
`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;

function event(body: unknown): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /api/promotions',
    rawPath: '/api/promotions',
    rawQueryString: '',
    headers: {},
    requestContext: { authorizer: { lambda: { coconutLocalOperator: true, user: 'dev' } }, http: { method: 'POST' } },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

describe('Promotion (POST /api/promotions)', () => {
  let dynamo: LocalDynamo;
  let ports: Ports;
  let started: { name: string; input: DeploymentPlan }[];
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, checked by toMatchObject.
  let promote: (body: unknown) => Promise<{ statusCode: number; body: any }>;
  let at = Date.parse('2026-03-01T10:00:00Z');

  /** A deployment of api `version`@`digest` whose stages ended in the given states. */
  async function recorded(
    id: string,
    version: string,
    digest: string | undefined,
    states: Record<string, StageRecord['state']>,
    extra: Partial<StageRecord> = {},
  ) {
    at += 60_000;
    const when = new Date(at).toISOString();
    const environments = Object.keys(states);
    await ports.store.createDeployment(
      {
        deploymentId: id,
        service: 'api',
        version,
        image: { registry: 'ecr', repository: 'api', tag: version, ...(digest ? { digest } : {}) },
        trigger: { kind: 'ecr-push', id, at: when },
        environments,
        createdAt: when,
        kind: 'deploy',
      },
      environments.map((environment, order) => ({
        deploymentId: id,
        service: 'api',
        environment,
        order,
        version,
        state: states[environment] as StageRecord['state'],
        createdAt: when,
        updatedAt: when,
        ...extra,
      })),
    );
  }

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
    promote = async (body) => {
      const res = (await handler(event(body), {} as never)) as { statusCode: number; body: string };
      return { statusCode: res.statusCode, body: JSON.parse(res.body) };
    };
    // 1.0.0 passed dev and staging as D1; then the tag was pushed again (D2) and stopped on dev.
    await recorded('d1', '1.0.0', D1, { dev: 'SUCCEEDED', staging: 'SUCCEEDED', prod: 'SKIPPED' });
    await recorded('d2', '1.0.0', D2, { dev: 'FAILED', staging: 'SKIPPED', prod: 'SKIPPED' });
  }, 60_000);
  beforeEach(() => {
    started = [];
  });
  afterAll(() => dynamo?.stop());

  it('deploys to prod the digest proven on staging, not the tag re-pushed since', async () => {
    const res = await promote({ service: 'api', to: 'prod', requestId: 'promo-0000001' });
    expect(res.statusCode).toBe(201);
    expect(res.body.source).toEqual({ environment: 'staging', version: '1.0.0', digest: D1, deploymentId: 'd1' });
    expect(res.body.deployment).toMatchObject({
      version: '1.0.0',
      image: { registry: 'ecr', repository: 'api', tag: '1.0.0', digest: D1 },
      environments: ['prod'],
      kind: 'deploy',
      trigger: { kind: 'promote', from: 'staging', actor: 'dev', id: 'promo-0000001' },
    });
    // The stage says where its digest was proven, for history.
    expect(await ports.store.getStage(res.body.deployment.deploymentId, 'prod')).toMatchObject({ promotedFrom: 'staging' });
    expect(started).toHaveLength(1);
    const plan = started[0]?.input;
    // Only prod, with its approval: the same state machine and gates as any deployment.
    expect(plan?.environments.map((e) => [e.name, e.order, e.approval])).toEqual([['prod', 2, { timeoutSeconds: 3600 }]]);
    expect(plan?.environments[0]?.buildEnv).toContainEqual({ Name: 'COCONUT_IMAGE_DIGEST', Value: D1, Type: 'PLAINTEXT' });
    // The same request again starts nothing.
    expect((await promote({ service: 'api', to: 'prod', requestId: 'promo-0000001' })).body.status).toBe('duplicate');
  });

  it('takes --from and --version, newest proven first, and refuses a version that never passed there', async () => {
    await recorded('d3', '1.1.0', D3, { dev: 'SUCCEEDED', staging: 'FAILED', prod: 'SKIPPED' });
    const fromDev = await promote({ service: 'api', to: 'prod', from: 'dev' });
    expect(fromDev.body.source).toMatchObject({ environment: 'dev', version: '1.1.0', digest: D3 });
    const named = await promote({ service: 'api', to: 'staging', version: '1.0.0' });
    expect(named.body.source).toMatchObject({ environment: 'dev', version: '1.0.0', digest: D1 });
    const never = await promote({ service: 'api', to: 'prod', version: '1.1.0' });
    expect(never.statusCode).toBe(404);
    expect(never.body.error).toBe(
      'api 1.1.0 never passed its bake on staging, so it cannot be promoted from there (versions that did: 1.0.0)',
    );
    expect(started.map((s) => s.input.image.digest)).toEqual([D3, D1]);
  });

  it('refuses an environment with nothing before it, a --from that is not earlier, and unknown names', async () => {
    expect((await promote({ service: 'api', to: 'dev' })).body.error).toBe(
      "dev is api's first environment: there is nothing earlier to promote from (name one with --from)",
    );
    expect((await promote({ service: 'api', to: 'staging', from: 'prod' })).body.error).toBe(
      "--from prod must come before --to staging in api's promotion order (dev -> staging -> prod)",
    );
    expect((await promote({ service: 'api', to: 'qa' })).body.error).toBe(
      'api has no environment qa (environments: dev, staging, prod)',
    );
    expect((await promote({ service: 'web', to: 'prod' })).statusCode).toBe(404);
    expect((await promote({ service: 'api', to: 'prod', version: '-x' })).statusCode).toBe(400);
    expect(started).toEqual([]);
  });

  it("is held by the whole config's freeze windows, as any deployment is (only rollbacks never are)", async () => {
    const frozen = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: dev }
      - { name: staging }
      - { name: prod, approval: { approvers: [U0BOSS] } }
freeze:
  - { schedule: "0 18 * * 5", duration: 64h, timeZone: Europe/Berlin, mode: deny, reason: weekend }
`);
    const saved = ports.config;
    ports.config = frozen;
    try {
      expect((await promote({ service: 'api', to: 'prod', requestId: 'promo-frozen-1' })).statusCode).toBe(201);
    } finally {
      ports.config = saved;
    }
    expect(started[0]?.input.environments[0]?.freeze).toEqual([
      { schedule: '0 18 * * 5', durationSeconds: 64 * 3600, timeZone: 'Europe/Berlin', mode: 'deny', reason: 'weekend' },
    ]);
  });

  it('never promotes a rehearsal or a success without a recorded digest', async () => {
    await recorded(
      'r1',
      '2.0.0',
      `sha256:${'4'.repeat(64)}`,
      { dev: 'SUCCEEDED', staging: 'SUCCEEDED' },
      {
        rehearsal: { tools: ['helm'], steps: ['deploy'] },
      },
    );
    const rehearsed = await promote({ service: 'api', to: 'prod', version: '2.0.0' });
    expect(rehearsed.statusCode).toBe(404);
    expect(rehearsed.body.error).toContain('api 2.0.0 never passed its bake on staging');
    await recorded('n1', '3.0.0', undefined, { dev: 'SUCCEEDED', staging: 'SUCCEEDED' });
    const tagOnly = await promote({ service: 'api', to: 'prod' });
    expect(tagOnly.statusCode).toBe(400);
    expect(tagOnly.body.error).toBe(
      'api 3.0.0 passed on staging (deployment n1), but no image digest was recorded for it: promote deploys a digest, never a tag that may have moved; deploy it by digest instead (coconut deploy --digest)',
    );
    expect(started).toEqual([]);
  });
});
