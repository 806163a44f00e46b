/**
 * History export and import on the DynamoDB store (dynalite), and through the API handler:
 * history written through the store's ordinary paths, exported in pages, imported into a fresh
 * store and exported again gives the same bytes.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../../functions/api.ts';
import { documentClient } from '../../../src/aws/clients.ts';
import { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import { tableDefinition } from '../../../src/aws/table.ts';
import { parseConfig } from '../../../src/core/config/load.ts';
import type { Ports } from '../../../src/core/handler-ports.ts';
import { exportHistory, HistoryFormatError, importHistory, parseHistory } from '../../../src/core/history/history-transfer.ts';
import { lockKey } from '../../../src/core/pipeline/locks.ts';
import { type ApprovalRecord, silentNotifier } from '../../../src/core/ports.ts';
import type { LocalDynamo } from '../../../src/local/local-dynamodb.ts';
import { approvalRecord, DIGEST, deploymentRecord, stageRecord } from '../../support/history.ts';
import { startMoto } from '../../support/moto.ts';
import { dynaliteStore } from '../../support/stores.ts';

const EXPORTED_AT = '2024-06-01T00:00:00.000Z';
const stores: LocalDynamo[] = [];
async function freshStore(): Promise<DynamoStore> {
  const { store, dynamo } = await dynaliteStore();
  stores.push(dynamo);
  return store;
}
afterAll(async () => {
  await Promise.all(stores.map((d) => d.stop()));
});

const at = (minute: number) => new Date(Date.UTC(2024, 4, 1, 10, minute)).toISOString();
const SECRET = 'AQCEAAAAKgAAAAMAAAAA-secret-token';

/**
 * Seven settled deployments of two services (more than a page of 3), written the way the
 * running system writes them: createDeployment, stage moves along allowed transitions, what
 * runs where, approvals decided three ways, a chat thread; and runtime state beside them.
 */
async function buildHistory(store: DynamoStore): Promise<void> {
  for (let i = 0; i < 7; i++) {
    const service = i % 3 === 2 ? 'demo-web' : 'demo-api';
    const version = `1.${i}.0`;
    const created = at(i * 5);
    const record = deploymentRecord(`${service}-${i}-00000000000${i}`, created, {
      service,
      version,
      image: { registry: service === 'demo-web' ? 'ghcr' : 'ecr', repository: `team/${service}`, tag: version, digest: DIGEST },
      ...(i === 5
        ? { kind: 'rollback' as const, trigger: { kind: 'rollback' as const, id: 'req-1', actor: 'ada', at: created } }
        : {}),
    });
    const stages = record.environments.map((env) =>
      stageRecord(record, env, 'PENDING', i === 5 ? { kind: 'rollback' as const } : {}),
    );
    expect(await store.createDeployment(record, stages)).toBe(true);
    // Deployment 1 finishes after later ones started: history is ordered by start, not by last change.
    const now = new Date(Date.parse(created) + (i === 1 ? 3_600_000 : 60_000));
    const id = record.deploymentId;
    await store.updateStage(id, 'staging', { state: 'DEPLOYING', startedAt: now.toISOString(), previousVersion: '1.0.0' }, now);
    await store.updateStage(id, 'staging', { state: 'BAKING', deployedAt: now.toISOString(), buildId: `b:${i}` }, now);
    if (i === 3) {
      await store.updateStage(
        id,
        'staging',
        { state: 'ROLLING_BACK', alarm: 'demo-api-staging-health', rolledBackTo: '1.0.0' },
        now,
      );
      await store.updateStage(
        id,
        'staging',
        { state: 'ROLLED_BACK', reason: 'alarm fired during bake', finishedAt: now.toISOString() },
        now,
      );
      await store.updateStage(id, 'prod', { state: 'SKIPPED', reason: 'not reached' }, now);
      continue;
    }
    await store.updateStage(
      id,
      'staging',
      { state: 'SUCCEEDED', finishedAt: now.toISOString(), preexistingAlarms: ['a-1'] },
      now,
    );
    await store.setEnvironmentVersions(
      service,
      'staging',
      { current: { version, digest: DIGEST, deploymentId: id, revision: `${i}` }, lastKnownGood: { version, deploymentId: id } },
      now,
    );
    const approval = approvalRecord(`apr-00000000${i}${i}`, id, 'PENDING', {
      service,
      version,
      requestedAt: now.toISOString(),
      taskToken: `${SECRET}-${i}`,
    });
    await store.putApproval(approval);
    await store.updateStage(id, 'prod', { state: 'AWAITING_APPROVAL', approvalId: approval.approvalId }, now);
    await store.setApprovalMessage(approval.approvalId, { channel: 'C0DEPLOYS', ts: `17145576${i}0.000100` });
    if (i === 1) {
      await store.decideApproval(approval.approvalId, {
        status: 'REJECTED',
        decidedBy: 'Bob',
        decidedById: 'U0BOB',
        decidedAt: now.toISOString(),
        comment: 'not on a Friday',
      });
      await store.updateStage(
        id,
        'prod',
        { state: 'REJECTED', reason: 'rejected by Bob: not on a Friday', finishedAt: now.toISOString() },
        now,
      );
      continue;
    }
    if (i === 6) {
      await store.decideApproval(approval.approvalId, { status: 'EXPIRED', decidedBy: 'timeout', decidedAt: now.toISOString() });
      await store.updateStage(id, 'prod', { state: 'FAILED', reason: 'approval expired' }, now);
      continue;
    }
    await store.decideApproval(approval.approvalId, { status: 'APPROVED', decidedBy: 'Ada', decidedAt: now.toISOString() });
    await store.updateStage(id, 'prod', { state: 'DEPLOYING' }, now);
    await store.updateStage(id, 'prod', { state: 'SUCCEEDED', rehearsal: { tools: ['helm'], steps: ['Deploy'] } }, now);
    await store.setEnvironmentVersions(service, 'prod', { current: { version, deploymentId: id } }, now);
    await store.putChatThread(id, { channel: 'C0DEPLOYS', ts: `17145576${i}0.000001` });
  }
  // Pin history, as coconut pin / unpin write it (src/core/pipeline/pins.ts).
  await store.addPinEvent({
    service: 'demo-api',
    environment: 'prod',
    action: 'pin',
    version: '1.4.0',
    by: 'Ada',
    byId: 'U0ADA',
    at: at(40),
    reason: 'hold for the audit',
  });
  await store.addPinEvent({
    service: 'demo-api',
    environment: 'prod',
    action: 'unpin',
    version: '1.4.0',
    by: 'Bob',
    byId: 'U0BOB',
    at: at(45),
    reason: 'audit done',
    released: ['demo-api-4-000000000004'],
  });
  await store.addPinEvent({
    service: 'demo-web',
    environment: 'prod',
    action: 'pin',
    by: 'operator',
    at: at(50),
    reason: 'freeze',
  });
  // Runtime state: never history. The pin still on holds a waiting deployment's task token.
  expect(
    await store.putPin({
      service: 'demo-web',
      environment: 'prod',
      reason: 'freeze',
      pinnedBy: 'operator',
      pinnedAt: at(50),
      waiters: { 'demo-web-8-000000000008': { version: '1.8.0', token: `${SECRET}-pin`, since: at(51) } },
      revision: 1,
    }),
  ).toBe(true);
  await store.putLock({ key: lockKey('demo-api', 'prod'), owner: 'someone', waiters: {}, version: 1 });
  await store.putBakeWatch({
    alarm: 'demo-api-prod-health',
    deploymentId: 'x',
    environment: 'prod',
    taskToken: `${SECRET}-bake`,
    expiresAt: 4102444800,
  });
  await store.putDelivery({
    deliveryId: 'github:delivery-1',
    statusCode: 202,
    body: {},
    receivedAt: at(0),
    expiresAt: 4102444800,
  });
  await store.rememberOnce('slack:replay-1', 4102444800);
}

const withoutHeader = (file: string) => file.slice(file.indexOf('\n') + 1);

describe('History export/import (DynamoStore on dynalite)', () => {
  let source: DynamoStore;
  let exported: string;
  beforeAll(async () => {
    source = await freshStore();
    await buildHistory(source);
    exported = await exportHistory(source, { exportedAt: EXPORTED_AT, pageSize: 3 });
  });

  it('exports history only: every deployment with its stages and thread, what runs where, approvals without tokens', () => {
    const lines = exported.trimEnd().split('\n');
    expect(JSON.parse(lines[0] as string)).toEqual({
      kind: 'coconut-history',
      v: 1,
      exportedAt: EXPORTED_AT,
      counts: { deployment: 7, stage: 14, environment: 4, approval: 6, thread: 4, 'pin-event': 3 },
    });
    expect(
      lines
        .slice(1)
        .map((l) => JSON.parse(l).kind)
        .join(' '),
    ).toBe(
      [
        'deployment stage stage thread', // 0
        'deployment stage stage', // 1 rejected
        'deployment stage stage thread', // 2
        'deployment stage stage', // 3 rolled back
        'deployment stage stage thread',
        'deployment stage stage thread',
        'deployment stage stage', // 6 approval expired
        'environment environment environment environment',
        'approval approval approval approval approval approval',
        'pin-event pin-event pin-event', // oldest first
      ].join(' '),
    );
    expect(exported).not.toContain(SECRET);
    expect(exported).not.toContain('taskToken');
    expect(exported).not.toMatch(/LOCK|BAKE#|delivery-1|replay-1|"waiters"/);
  });

  it('round-trips: imported into an empty store and exported again, the lines are the same bytes', async () => {
    const target = await freshStore();
    const report = await importHistory(target, parseHistory(exported));
    expect(report).toEqual({
      dryRun: false,
      exportedAt: EXPORTED_AT,
      records: 38,
      imported: { count: 38, lines: '2-39' },
      alreadyPresent: { count: 0, lines: '' },
      conflicts: { count: 0, items: [] },
      converted: [],
    });
    // A different page size and export time: only the header's time differs.
    const again = await exportHistory(target, { exportedAt: '2030-01-01T00:00:00.000Z', pageSize: 2 });
    expect(withoutHeader(again)).toBe(withoutHeader(exported));
    expect(again.split('\n')[0]).toBe(exported.split('\n')[0]?.replace(EXPORTED_AT, '2030-01-01T00:00:00.000Z'));

    // The ordinary read paths see the same history, in the same order.
    const strip = (a: ApprovalRecord) => ({ ...a, taskToken: '', tokenRemoved: true });
    expect(await target.listDeployments({ limit: 500 })).toEqual(await source.listDeployments({ limit: 500 }));
    for (const service of ['demo-api', 'demo-web']) {
      for (const environment of ['staging', 'prod']) {
        expect(await target.listStages({ service, environment })).toEqual(await source.listStages({ service, environment }));
      }
    }
    expect(await target.listEnvironmentStates()).toEqual(await source.listEnvironmentStates());
    expect(await target.listApprovals({ limit: 500 })).toEqual((await source.listApprovals({ limit: 500 })).map(strip));
    expect(await target.getChatThread('demo-api-0-000000000000')).toEqual({ channel: 'C0DEPLOYS', ts: '1714557600.000001' });
    for (const service of ['demo-api', 'demo-web']) {
      expect(await target.listPinEvents({ service })).toEqual(await source.listPinEvents({ service }));
    }
    // The pin itself is runtime state (it held a waiting deployment's token): the history tells of it.
    expect(await target.listPins()).toEqual([]);
    expect(await source.listPins()).toHaveLength(1);
    // Runtime state stayed behind.
    expect(await target.getLock(lockKey('demo-api', 'prod'))).toBeUndefined();
    expect(await target.listBakeWatches('demo-api-prod-health')).toEqual([]);
  });

  it('imports idempotently: the same file twice changes nothing and reports "already present"', async () => {
    const target = await freshStore();
    await importHistory(target, parseHistory(exported));
    const second = await importHistory(target, parseHistory(exported));
    expect(second.imported.count).toBe(0);
    expect(second.alreadyPresent).toEqual({ count: 38, lines: '2-39' });
    expect(second.conflicts.count).toBe(0);
    expect(withoutHeader(await exportHistory(target, { exportedAt: EXPORTED_AT }))).toBe(withoutHeader(exported));
    // Into the store it came from (approvals there still hold their tokens): all present too.
    expect((await importHistory(source, parseHistory(exported))).alreadyPresent.count).toBe(38);
    expect((await source.getApproval('apr-0000000000'))?.taskToken).toBe(`${SECRET}-0`);
  });

  it('never overwrites: a different record under the same key is kept and reported as a conflict', async () => {
    const target = await freshStore();
    const first = parseHistory(exported).entries.find((e) => e.item.kind === 'deployment');
    const record = first?.item.data as ReturnType<typeof deploymentRecord>;
    // The target already has this deployment, newer: its staging stage went further.
    await target.createDeployment(record, [stageRecord(record, 'staging', 'PENDING'), stageRecord(record, 'prod', 'PENDING')]);
    await target.updateStage(record.deploymentId, 'staging', { state: 'FAILED', reason: 'newer' }, new Date());
    const report = await importHistory(target, parseHistory(exported));
    expect(report.imported.count).toBe(38 - 3);
    // The deployment record is the same as the file's: present; its stages differ: conflicts.
    expect(report.alreadyPresent).toEqual({ count: 1, lines: '2' });
    expect(report.conflicts.items).toEqual([
      {
        line: 3,
        kind: 'stage',
        key: `${record.deploymentId}/staging`,
        fields: expect.arrayContaining(['state', 'reason', 'updatedAt']),
      },
      { line: 4, kind: 'stage', key: `${record.deploymentId}/prod`, fields: expect.arrayContaining(['state', 'updatedAt']) },
    ]);
    expect((await target.getStage(record.deploymentId, 'staging'))?.reason).toBe('newer');
  });

  it('a dry run reports what would happen and writes nothing', async () => {
    const target = await freshStore();
    const report = await importHistory(target, parseHistory(exported), { dryRun: true });
    expect(report).toMatchObject({ dryRun: true, imported: { count: 38 }, alreadyPresent: { count: 0 } });
    expect((await target.readHistory({ limit: 10 })).items).toEqual([]);
    expect(await target.listEnvironmentStates()).toEqual([]);
    expect(await target.listApprovals({})).toEqual([]);
  });
});

describe('History export/import on moto_server (the AWS emulator) and across emulators', () => {
  it('exports the same lines from moto as from dynalite, and round-trips between them', async () => {
    const moto = await startMoto();
    try {
      const tables = ['coconut-a', 'coconut-b'];
      const db = new DynamoDBClient(moto.clientOptions);
      for (const table of tables) await db.send(new CreateTableCommand(tableDefinition(table)));
      db.destroy();
      const [onMoto, emptyMoto] = tables.map((t) => new DynamoStore(documentClient(moto.clientOptions), t)) as [
        DynamoStore,
        DynamoStore,
      ];
      await buildHistory(onMoto);
      const local = await freshStore();
      await buildHistory(local);
      const fromMoto = await exportHistory(onMoto, { exportedAt: EXPORTED_AT, pageSize: 3 });
      expect(fromMoto).toBe(await exportHistory(local, { exportedAt: EXPORTED_AT, pageSize: 4 }));
      // moto -> dynalite -> moto
      const target = await freshStore();
      expect((await importHistory(target, parseHistory(fromMoto))).imported.count).toBe(38);
      const viaDynalite = await exportHistory(target, { exportedAt: EXPORTED_AT });
      expect(viaDynalite).toBe(fromMoto);
      expect((await importHistory(emptyMoto, parseHistory(viaDynalite))).imported.count).toBe(38);
      expect(await exportHistory(emptyMoto, { exportedAt: EXPORTED_AT, pageSize: 2 })).toBe(fromMoto);
      expect((await importHistory(emptyMoto, parseHistory(fromMoto))).alreadyPresent.count).toBe(38);
    } finally {
      await moto.stop();
    }
  }, 120_000);
});

describe('History import of what was in flight (DynamoStore on dynalite)', () => {
  it('a PENDING approval loses its token and becomes EXPIRED, running stages INTERRUPTED, pending ones SKIPPED', async () => {
    const source = await freshStore();
    const record = deploymentRecord('demo-api-9-000000000009', at(0));
    await source.createDeployment(record, [stageRecord(record, 'staging', 'PENDING'), stageRecord(record, 'prod', 'PENDING')]);
    const now = new Date(Date.parse(at(1)));
    await source.updateStage(record.deploymentId, 'staging', { state: 'AWAITING_APPROVAL', approvalId: 'apr-0000000009' }, now);
    await source.putApproval(
      approvalRecord('apr-0000000009', record.deploymentId, 'PENDING', { environment: 'staging', taskToken: SECRET }),
    );
    const file = await exportHistory(source, { exportedAt: EXPORTED_AT });
    expect(file).not.toContain(SECRET);
    expect(file).toContain('"status":"PENDING"');

    const target = await freshStore();
    const report = await importHistory(target, parseHistory(file));
    expect(report.converted).toEqual([
      { line: 3, kind: 'stage', key: `${record.deploymentId}/staging`, change: 'AWAITING_APPROVAL -> INTERRUPTED' },
      { line: 4, kind: 'stage', key: `${record.deploymentId}/prod`, change: 'PENDING -> SKIPPED' },
      { line: 5, kind: 'approval', key: 'apr-0000000009', change: 'PENDING -> EXPIRED' },
    ]);
    const approval = await target.getApproval('apr-0000000009');
    expect(approval).toMatchObject({
      status: 'EXPIRED',
      taskToken: '',
      tokenRemoved: true,
      decidedBy: 'import',
      decidedAt: EXPORTED_AT,
      comment: expect.stringContaining('imported without its task token'),
    });
    expect(await target.listApprovals({ status: 'PENDING' })).toEqual([]);
    expect((await target.getDeployment(record.deploymentId))?.stages.map((s) => [s.state, s.reason])).toEqual([
      [
        'INTERRUPTED',
        `its deployment was in flight when exported at ${EXPORTED_AT}, and nothing runs it after an import during AWAITING_APPROVAL`,
      ],
      ['SKIPPED', expect.stringMatching(/^not reached/)],
    ]);

    // Importing the same file again, here or into the store it came from: nothing changes.
    expect((await importHistory(target, parseHistory(file))).alreadyPresent.count).toBe(4);
    expect((await importHistory(source, parseHistory(file))).alreadyPresent.count).toBe(4);
    expect((await source.getApproval('apr-0000000009'))?.status).toBe('PENDING');
    // Exported again, the lines say what the import made of them, and from then on round-trip exactly.
    const again = await exportHistory(target, { exportedAt: EXPORTED_AT });
    expect(again).toContain('"status":"EXPIRED"');
    const third = await freshStore();
    await importHistory(third, parseHistory(again));
    expect(await exportHistory(third, { exportedAt: EXPORTED_AT })).toBe(again);
  });
});

// ---------------------------------------------------------------------------------------------

// The services the history is of: an import takes only their own images (issue 12, item 3).
const config = parseConfig(`
services:
  - name: demo-api
    image: { registry: ecr, repository: team/demo-api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 1m }
      - { name: prod, approval: { approvers: [U0BOSS] }, bake: 5m }
  - name: demo-web
    image: { registry: ghcr, repository: team/demo-web, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/web }
    environments:
      - { name: staging, bake: 1m }
      - { name: prod, bake: 5m }
slack:
  users: { 'https://idp.example.com#u-1': U0OTHER, 'https://idp.example.com#u-2': U0BOSS }
`);

type Who = 'local' | { sub: string };

function httpEvent(routeKey: string, opts: { body?: string; query?: Record<string, string>; who?: Who } = {}) {
  const who = opts.who ?? 'local';
  const authorizer =
    who === 'local'
      ? { lambda: { coconutLocalOperator: true, user: 'dev' } }
      : { jwt: { claims: { iss: 'https://idp.example.com', sub: who.sub } } };
  return {
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1] ?? '/',
    rawQueryString: '',
    headers: {},
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    requestContext: { authorizer, http: { method: routeKey.split(' ')[0] } },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

describe('GET /api/export and POST /api/import (API handler, dynalite)', () => {
  let source: DynamoStore;
  let target: DynamoStore;
  let call: (
    store: DynamoStore,
    routeKey: string,
    opts?: Parameters<typeof httpEvent>[1],
  ) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;
  beforeAll(async () => {
    source = await freshStore();
    target = await freshStore();
    await buildHistory(source);
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    call = async (store, routeKey, opts) => {
      const ports: Ports = {
        config,
        store,
        orchestrator: {
          startExecution: async () => ({ executionArn: '', started: false }),
          sendTaskSuccess: async () => {},
          sendTaskFailure: async () => {},
        },
        alarms: { getStates: async () => [] },
        notifier: silentNotifier,
        clock: { now: () => new Date(EXPORTED_AT) },
        log: quiet,
      };
      const res = (await createApiHandler(async () => ports)(httpEvent(routeKey, opts), {} as never)) as {
        statusCode: number;
        headers: Record<string, string>;
        body: string;
      };
      return res;
    };
  });

  it('answers the whole file as application/x-ndjson, or pages of lines with a cursor', async () => {
    const whole = await call(source, 'GET /api/export');
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(whole.headers['content-disposition']).toBe('attachment; filename="coconut-history-2024-06-01T000000Z.jsonl"');
    expect(whole.body).toBe(await exportHistory(source, { exportedAt: EXPORTED_AT }));

    const lines: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await call(source, 'GET /api/export', { query: { limit: '2', ...(cursor ? { cursor } : {}) } });
      expect(page.statusCode).toBe(200);
      lines.push(...page.body.split('\n').filter(Boolean));
      cursor = page.headers['x-coconut-next-cursor'];
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(4);
    expect(`${lines.join('\n')}\n`).toBe(withoutHeader(whole.body));

    const bad = await call(source, 'GET /api/export', { query: { limit: '2', cursor: 'not-a-cursor' } });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/cursor is not one that the export gave out/);
  });

  it('refuses a file with a bad line, naming the line and the field, and writes nothing', async () => {
    const file = (await call(source, 'GET /api/export')).body;
    const lines = file.split('\n');
    lines[20] = (lines[20] as string).replace(/"version":"[^"]+"/, '"version":"not a tag"');
    const res = await call(target, 'POST /api/import', { body: lines.join('\n') });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(/^line 21: data\.version: expected an image tag .*\nnothing was imported$/);
    expect((await target.readHistory({ limit: 10 })).items).toEqual([]);
    expect(() => parseHistory(lines.join('\n'))).toThrow(HistoryFormatError);
  });

  it('imports (dry run first), reports counts with line numbers, and a second import finds everything present', async () => {
    const file = (await call(source, 'GET /api/export')).body;
    const dry = await call(target, 'POST /api/import', { body: file, query: { dryRun: 'true' } });
    expect(dry.statusCode).toBe(200);
    expect(JSON.parse(dry.body).report).toMatchObject({ dryRun: true, imported: { count: 38, lines: '2-39' } });
    expect((await target.readHistory({ limit: 10 })).items).toEqual([]);

    const res = await call(target, 'POST /api/import', { body: file });
    expect(JSON.parse(res.body).report).toMatchObject({
      dryRun: false,
      imported: { count: 38, lines: '2-39' },
      alreadyPresent: { count: 0 },
      conflicts: { count: 0 },
    });
    const again = await call(target, 'POST /api/import', { body: file, query: { lineOffset: '100' } });
    expect(JSON.parse(again.body).report).toMatchObject({
      imported: { count: 0 },
      alreadyPresent: { count: 38, lines: '102-139' },
    });
    expect((await call(target, 'GET /api/export')).body).toBe(file);
  });

  it('refuses a body over the limit, bad parameters, and a signed-in user who does not approve every gated environment', async () => {
    const big = await call(target, 'POST /api/import', { body: 'x'.repeat(5 * 1024 * 1024 + 1) });
    expect(big.statusCode).toBe(413);
    expect(JSON.parse(big.body).error).toMatch(/send the file in parts/);
    expect((await call(target, 'POST /api/import', { body: '', query: { dryRun: 'maybe' } })).statusCode).toBe(400);
    expect((await call(target, 'POST /api/import', { body: '', query: { lineOffset: '-1' } })).statusCode).toBe(400);
    const stranger = await call(target, 'POST /api/import', { body: '', who: { sub: 'u-1' } });
    expect(stranger.statusCode).toBe(403);
    expect(JSON.parse(stranger.body).error).toMatch(/does not approve demo-api\/prod$/);
    const approver = await call(target, 'POST /api/import', { body: '', who: { sub: 'u-2' } });
    expect(approver.statusCode).toBe(400); // allowed; the empty file is what is refused
    expect(JSON.parse(approver.body).error).toMatch(/^line 1: the file is empty/);
  });
});
