/** The history file format: lines, validation with line numbers, the import rules for what was in flight, who may import. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../src/aws/clients.ts';
import { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import {
  asImported,
  assertMayImport,
  canonicalJson,
  checkHistoryImages,
  ExportTooLargeError,
  emptyCounts,
  expandRanges,
  exportHistory,
  exportPage,
  type HistoryCounts,
  HistoryFormatError,
  headerLine,
  historyLine,
  importHistory,
  keyOf,
  lineRanges,
  type ParsedHistory,
  parseHistory,
  pinnedWhenExported,
  UnexportableRecordError,
} from '../../src/core/history/history-transfer.ts';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import { ForbiddenError } from '../../src/core/model/errors.ts';
import type { HistoryItem, Store } from '../../src/core/ports.ts';
import { ensureTable } from '../../src/local/local-dynamodb.ts';
import { approvalRecord, deploymentRecord, environmentState, pinEvent, stageRecord, threadRecord } from '../support/history.ts';
import { dynaliteStore } from '../support/stores.ts';

const EXPORTED_AT = '2024-05-02T08:00:00.000Z';
const dep = deploymentRecord('demo-api-1_0_0-0123456789ab', '2024-05-01T10:00:00.000Z');
const items: HistoryItem[] = [
  { kind: 'deployment', data: dep },
  {
    kind: 'stage',
    data: stageRecord(dep, 'staging', 'SUCCEEDED', {
      previousVersion: '0.9.0',
      preexistingAlarms: ['demo-api-staging-health'],
      rehearsal: { tools: ['ansible-playbook'], steps: ['Deploy'] },
      buildId: 'coconut-ansible-deploy:1',
      startedAt: '2024-05-01T10:00:01.000Z',
      deployedAt: '2024-05-01T10:00:20.000Z',
      finishedAt: '2024-05-01T10:00:30.000Z',
    }),
  },
  { kind: 'stage', data: stageRecord(dep, 'prod', 'ROLLED_BACK', { rolledBackTo: '0.9.0', alarm: 'demo-api-prod-health' }) },
  { kind: 'thread', data: threadRecord(dep.deploymentId) },
  { kind: 'environment', data: environmentState('staging', '1.0.0', dep.deploymentId) },
  {
    kind: 'approval',
    data: approvalRecord('apr-0123456789', dep.deploymentId, 'APPROVED', {
      comment: 'ship it',
      message: { channel: 'C0DEPLOYS', ts: '1714557660.000200' },
    }),
  },
];

function file(lines: string[], counts?: Partial<HistoryCounts>): string {
  const found = emptyCounts();
  for (const l of lines) {
    const kind = (JSON.parse(l) as { kind: keyof HistoryCounts }).kind;
    if (kind in found) found[kind]++;
  }
  return `${[headerLine(EXPORTED_AT, { ...found, ...counts }), ...lines].join('\n')}\n`;
}

function problemsOf(text: string) {
  try {
    parseHistory(text);
  } catch (error) {
    expect(error).toBeInstanceOf(HistoryFormatError);
    return { message: (error as Error).message, problems: (error as HistoryFormatError).problems };
  }
  throw new Error('expected the file to be refused');
}

describe('history lines', () => {
  it('are {"kind","v":1,"data"} with sorted keys, so the same record is always the same bytes', () => {
    const line = historyLine(items[0] as HistoryItem);
    expect(line.startsWith('{"data":{"createdAt":"2024-05-01T10:00:00.000Z","deploymentId":')).toBe(true);
    expect(JSON.parse(line)).toEqual({ kind: 'deployment', v: 1, data: dep });
    const shuffled = Object.fromEntries(Object.entries(dep).reverse()) as typeof dep;
    expect(historyLine({ kind: 'deployment', data: shuffled })).toBe(line);
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 1 } })).toBe('{"a":{"c":1,"d":[{"y":2,"z":1}]},"b":1}');
  });

  it('never carry a task token: approvals are marked tokenRemoved instead', () => {
    const line = historyLine(items[5] as HistoryItem);
    expect(line).not.toContain('secret-token');
    expect(line).not.toContain('taskToken');
    expect(JSON.parse(line).data).toMatchObject({ approvalId: 'apr-0123456789', status: 'APPROVED', tokenRemoved: true });
  });

  it('carry a promotion: the trigger promote with its source environment, and the stage promotedFrom', () => {
    const promoted = {
      ...dep,
      trigger: { kind: 'promote' as const, id: 'promo-0001', actor: 'ana', at: dep.createdAt, from: 'staging' },
    };
    const stage = stageRecord(promoted, 'prod', 'SUCCEEDED', { promotedFrom: 'staging' });
    const text = file([historyLine({ kind: 'deployment', data: promoted }), historyLine({ kind: 'stage', data: stage })]);
    expect(parseHistory(text).entries.map((e) => e.item)).toEqual([
      { kind: 'deployment', data: promoted },
      { kind: 'stage', data: stage },
    ]);
  });

  it('refuse a stored record with a field the format does not know (refused, not trimmed), naming it', () => {
    const odd = { kind: 'stage', data: { ...(items[1]?.data as StageRecord), surprise: 1 } } as HistoryItem;
    expect(() => historyLine(odd)).toThrow(UnexportableRecordError);
    expect(() => historyLine(odd)).toThrow(/stored stage demo-api-1_0_0-0123456789ab\/staging .*Unrecognized key: "surprise"/);
  });
});

describe('parseHistory', () => {
  const good = file(items.map(historyLine));

  it('reads back every record of an exported file, with line numbers, approvals with an empty token', () => {
    const parsed = parseHistory(good);
    expect(parsed.header).toEqual({
      kind: 'coconut-history',
      v: 1,
      exportedAt: EXPORTED_AT,
      counts: { deployment: 1, stage: 2, environment: 1, approval: 1, thread: 1, 'pin-event': 0 },
    });
    expect(parsed.entries.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7]);
    const approval = items[5] as Extract<HistoryItem, { kind: 'approval' }>;
    const { taskToken: _t, ...rest } = approval.data;
    expect(parsed.entries.map((e) => e.item)).toEqual([
      ...items.slice(0, 5),
      { kind: 'approval', data: { ...rest, taskToken: '', tokenRemoved: true } },
    ]);
  });

  it('accepts CRLF line ends, a byte order mark and blank lines, keeping the physical line numbers', () => {
    expect(parseHistory(`\uFEFF${good}`).entries).toHaveLength(6);
    const parsed = parseHistory(good.replace(/\n/g, '\r\n').replace(/\r\n(?=\{"data":\{"channel")/, '\r\n\r\n'));
    expect(parsed.entries.map((e) => e.line)).toEqual([2, 3, 4, 6, 7, 8]);
  });

  it('names the line and the field of a bad value', () => {
    const lines = items.map(historyLine);
    lines[2] = (lines[2] as string).replace('"state":"ROLLED_BACK"', '"state":"DONE"');
    const { message, problems } = problemsOf(file(lines));
    expect(problems).toEqual([{ line: 4, field: 'data.state', message: expect.stringContaining('expected one of') }]);
    expect(message).toMatch(/^line 4: data\.state: Invalid option: expected one of "PENDING"\|/);
    expect(message).toMatch(/nothing was imported$/);
  });

  it('names nested fields, unknown fields, missing fields and wrong kinds, each with its line', () => {
    const lines = items.map(historyLine);
    lines[0] = (lines[0] as string).replace(`"digest":"sha256:${'ab'.repeat(32)}"`, '"digest":"sha256:nope"');
    lines[1] = (lines[1] as string).replace('"buildId"', '"bildId"');
    lines[3] = (lines[3] as string).replace(',"ts":"1714557660.000100"', '');
    lines[4] = (lines[4] as string).replace('"kind":"environment"', '"kind":"environments"');
    const { problems } = problemsOf(file(lines));
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [2, 'data.image.digest'],
      [3, 'data'], // unrecognized key bildId
      [5, 'data.ts'],
      [6, 'kind'],
    ]);
    expect(problems[1]?.message).toContain('bildId');
    expect(problems[3]?.message).toContain('expected one of deployment, stage, environment, approval, thread');
  });

  it('refuses an approval that carries a task token', () => {
    const line = (items.map(historyLine)[5] as string).replace('"tokenRemoved":true', '"taskToken":"AQC-secret"');
    const { problems, message } = problemsOf(file([line]));
    expect(problems.map((p) => p.field).sort()).toEqual(['data', 'data.tokenRemoved']);
    expect(message).not.toContain('AQC-secret');
  });

  it('refuses a file that does not start with the header, a future version, text that is not JSON', () => {
    expect(problemsOf(items.map(historyLine).join('\n')).message).toMatch(
      /^line 1: expected the header \{"kind":"coconut-history","v":1,.*is this a file from `coconut export`\?/,
    );
    expect(problemsOf(good.replace('"v":1', '"v":2')).problems).toEqual([
      { line: 1, field: 'v', message: 'expected 1: this Coconut reads history format version 1' },
    ]);
    expect(problemsOf(good.replace('"kind":"stage","v":1', '"kind":"stage","v":2')).problems[0]).toMatchObject({
      line: 3,
      field: 'v',
    });
    expect(problemsOf(`${good}{"kind":"stage",\n`).problems[0]).toMatchObject({
      line: 8,
      message: expect.stringMatching(/^not a JSON object/),
    });
    expect(problemsOf('').message).toMatch(/^line 1: the file is empty/);
  });

  it('refuses a cut-off file: the counts in the header must match the lines', () => {
    const lines = items.map(historyLine);
    const { problems } = problemsOf(file(lines, { stage: 3 }));
    expect(problems).toEqual([
      { line: 1, field: 'counts', message: 'the header counts 3 stage but the file holds 2: is it cut off or edited?' },
    ]);
  });

  it('refuses the same record twice, naming both lines', () => {
    const lines = items.map(historyLine);
    const { problems } = problemsOf(file([...lines, lines[1] as string]));
    expect(problems).toEqual([{ line: 8, message: 'the same stage demo-api-1_0_0-0123456789ab/staging as line 3' }]);
  });

  it('adds the line offset of a part to every line number', () => {
    const lines = items.map(historyLine);
    lines[1] = (lines[1] as string).replace('"order":0', '"order":-1');
    expect(() => parseHistory(file(lines), { lineOffset: 100 })).toThrow(/^line 103: data\.order: /);
    expect(parseHistory(good, { lineOffset: 10 }).entries[0]?.line).toBe(12);
  });
});

describe('asImported: what was in flight cannot go on after an import', () => {
  it('a PENDING approval becomes EXPIRED with the reason', () => {
    const pending: HistoryItem = { kind: 'approval', data: approvalRecord('apr-00000000aa', dep.deploymentId, 'PENDING') };
    const { item, change } = asImported(pending, EXPORTED_AT);
    expect(change).toBe('PENDING -> EXPIRED');
    expect(item.data).toMatchObject({
      status: 'EXPIRED',
      decidedBy: 'import',
      decidedAt: EXPORTED_AT,
      comment: `pending when exported at ${EXPORTED_AT}; imported without its task token, so no deployment waits on it`,
    });
  });

  it('a running stage becomes INTERRUPTED, a PENDING one SKIPPED; ended ones and decided approvals stay as they are', () => {
    const deploying = asImported({ kind: 'stage', data: stageRecord(dep, 'staging', 'DEPLOYING') }, EXPORTED_AT);
    expect(deploying.change).toBe('DEPLOYING -> INTERRUPTED');
    expect(deploying.item.data).toMatchObject({
      state: 'INTERRUPTED',
      reason: `its deployment was in flight when exported at ${EXPORTED_AT}, and nothing runs it after an import during DEPLOYING`,
      finishedAt: EXPORTED_AT,
      updatedAt: EXPORTED_AT,
    });
    const pending = asImported({ kind: 'stage', data: stageRecord(dep, 'prod', 'PENDING') }, EXPORTED_AT);
    expect(pending.change).toBe('PENDING -> SKIPPED');
    expect(pending.item.data).toMatchObject({ state: 'SKIPPED', reason: expect.stringMatching(/^not reached/) });
    for (const item of items) expect(asImported(item, EXPORTED_AT)).toEqual({ item });
  });

  it('a rollback in flight becomes ROLLBACK_FAILED, as after an execution that ended (unfinished-stage.ts)', () => {
    const rolling = asImported({ kind: 'stage', data: stageRecord(dep, 'staging', 'ROLLING_BACK') }, EXPORTED_AT);
    expect(rolling.change).toBe('ROLLING_BACK -> ROLLBACK_FAILED');
    expect(rolling.item.data).toMatchObject({ state: 'ROLLBACK_FAILED', finishedAt: EXPORTED_AT, updatedAt: EXPORTED_AT });
  });
});

describe('helpers', () => {
  it('lineRanges folds runs of line numbers', () => {
    expect(lineRanges([9, 2, 3, 4, 5, 11, 12])).toBe('2-5, 9, 11-12');
    expect(lineRanges([])).toBe('');
  });
});

describe('assertMayImport', () => {
  const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 1m }
      - { name: prod, approval: { approvers: [U0BOSS, S0LEADS] }, bake: 5m }
  - name: web
    image: { registry: ecr, repository: web, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/web }
    environments:
      - { name: prod, approval: { approvers: [U0BOSS] }, bake: 5m }
`);
  const userGroups = { members: async (g: string) => (g === 'S0LEADS' ? ['U0LEAD'] : []) };

  it('lets the local operator and an approver of every gated environment import', async () => {
    await assertMayImport({ config }, { id: 'dev', source: 'local' });
    await assertMayImport({ config, userGroups }, { id: 'https://idp.example.com#boss', slackId: 'U0BOSS', source: 'dashboard' });
    await assertMayImport({ config, userGroups }, { id: 'U0BOSS', source: 'slack' });
  });

  it('refuses anyone else on AWS, naming the environments they do not approve', async () => {
    await expect(
      assertMayImport(
        { config, userGroups },
        { id: 'https://idp.example.com#lead', slackId: 'U0LEAD', name: 'lead@example.com', source: 'dashboard' },
      ),
    ).rejects.toThrow(
      new ForbiddenError(
        'importing history writes approval and pin records, so it needs an approver of every gated environment; lead@example.com does not approve web/prod',
      ),
    );
    // Without a chat workspace the group S0LEADS cannot be checked either (as when approving).
    await expect(assertMayImport({ config }, { id: 'U0NOBODY', source: 'slack' })).rejects.toThrow(
      /does not approve api\/prod, web\/prod; the members of S0LEADS could not be checked right now, try again$/,
    );
    // The same approver check as approving (approvals.ts checkApprover): a group that cannot be
    // resolved grants nothing, and the refusal says so once, so the user knows to try again.
    const down = { members: async () => Promise.reject(new Error('slack is down')) };
    const warnings: string[] = [];
    const ignore = () => undefined;
    const extras: unknown[] = [];
    const log = {
      debug: ignore,
      info: ignore,
      error: ignore,
      warn: (message: string, extra?: unknown) => {
        warnings.push(message);
        extras.push(extra);
      },
    };
    await expect(assertMayImport({ config, userGroups: down, log }, { id: 'U0LEAD', source: 'slack' })).rejects.toThrow(
      new ForbiddenError(
        'importing history writes approval and pin records, so it needs an approver of every gated environment; U0LEAD does not approve api/prod, web/prod; the members of S0LEADS could not be checked right now, try again',
      ),
    );
    expect(warnings).toEqual(['could not resolve the members of user group S0LEADS']);
    expect(extras).toEqual([{ error: 'Error: slack is down' }]);
    // A JWT user is a Slack approver only through slack.users (actorOf sets slackId), never by its id.
    await expect(assertMayImport({ config, userGroups }, { id: 'U0BOSS', source: 'dashboard' })).rejects.toThrow(
      /does not approve api\/prod, web\/prod$/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Export, import and the image check on a DynamoDB store (dynalite, in process), each test on a fresh table.

let dynalite: Awaited<ReturnType<typeof dynaliteStore>> | undefined;
beforeAll(async () => {
  dynalite = await dynaliteStore();
}, 60_000);
afterAll(() => dynalite?.dynamo.stop());
let tables = 0;
async function freshStore(): Promise<DynamoStore> {
  const { dynamo, table, options } = dynalite as NonNullable<typeof dynalite>;
  const name = `${table}-${++tables}`;
  await ensureTable(dynamo.endpoint, name);
  return new DynamoStore(documentClient(options), name);
}
async function storeWith(list: HistoryItem[]): Promise<DynamoStore> {
  const store = await freshStore();
  for (const item of list) expect(await store.putHistoryItem(item)).toEqual({ written: true });
  return store;
}
/** The store with some of its methods replaced (the rest are the store's own). */
const over = (store: Store, methods: Partial<Store>): Store => Object.assign(Object.create(store) as Store, methods);

/** The items as the file holds them, in the store's export order (deployment, its stages and thread; then the rest). */
const exportOrder = [items[0], items[1], items[2], items[3], items[4], items[5]] as HistoryItem[];

describe('exportPage and exportHistory', () => {
  it('a page holds the lines of the store page, counted per kind, and where the next one starts', async () => {
    const store = await storeWith(items);
    const page = await exportPage(store, { limit: 50 });
    expect(page.lines).toEqual(exportOrder.slice(0, 4).map(historyLine));
    expect(page.counts).toEqual({ ...emptyCounts(), deployment: 1, stage: 2, thread: 1 });
    expect(page.cursor).toEqual(expect.any(String));
    // The last page has no cursor at all (not an undefined one: the API sends it as a header).
    const last = await exportPage(over(store, { readHistory: async () => ({ items: [items[4] as HistoryItem] }) }), { limit: 5 });
    expect(last).toStrictEqual({ lines: [historyLine(items[4] as HistoryItem)], counts: { ...emptyCounts(), environment: 1 } });
  });

  it('the file is the header with the counts, then every line of every page, each ending in a newline', async () => {
    const store = await storeWith(items);
    const whole = await exportHistory(store, { exportedAt: EXPORTED_AT });
    expect(whole).toBe(
      `${[headerLine(EXPORTED_AT, { ...emptyCounts(), deployment: 1, stage: 2, environment: 1, approval: 1, thread: 1 }), ...exportOrder.map(historyLine)].join('\n')}\n`,
    );
    expect(await exportHistory(store, { exportedAt: EXPORTED_AT, pageSize: 1 })).toBe(whole);
  });

  it('asks the store for pages of 200 unless told, passing each cursor on (and none for the first page)', async () => {
    const store = await storeWith(items);
    const asked: { cursor?: string; limit: number }[] = [];
    const spy = over(store, {
      readHistory: (page) => {
        asked.push(page);
        return store.readHistory(page);
      },
    });
    await exportHistory(spy, { exportedAt: EXPORTED_AT });
    expect(asked[0]).toStrictEqual({ limit: 200 });
    expect(asked.length).toBeGreaterThan(1);
    for (const page of asked.slice(1)) expect(page).toStrictEqual({ cursor: expect.any(String), limit: 200 });
    asked.length = 0;
    await exportHistory(spy, { exportedAt: EXPORTED_AT, pageSize: 7 });
    expect(asked.map((p) => p.limit)).toEqual(asked.map(() => 7));
  });

  it('stops with ExportTooLargeError past maxBytes (every line and its newline counted), naming the size and the way out', async () => {
    const store = await storeWith(items);
    const bytes = exportOrder.map(historyLine).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    await expect(exportHistory(store, { exportedAt: EXPORTED_AT, maxBytes: bytes })).resolves.toMatch(
      /^\{"kind":"coconut-history"/,
    );
    await expect(exportHistory(store, { exportedAt: EXPORTED_AT, maxBytes: bytes - 1 })).rejects.toThrow(ExportTooLargeError);
    // Multi-byte characters count as the bytes they take, not as characters.
    const wide = { kind: 'stage', data: stageRecord(dep, 'qa', 'FAILED', { order: 2, reason: 'é'.repeat(100) }) } as HistoryItem;
    const wideStore = over(store, { readHistory: async () => ({ items: [wide] }) });
    const wideBytes = Buffer.byteLength(historyLine(wide)) + 1;
    await expect(exportHistory(wideStore, { exportedAt: EXPORTED_AT, maxBytes: wideBytes - 1 })).rejects.toThrow(
      ExportTooLargeError,
    );
    // The limit in whole MB, as the Lambda answer limit is spoken of.
    const big = Array.from({ length: 120 }, (_, i) => ({
      kind: 'stage' as const,
      data: stageRecord(dep, `env-${i}`, 'FAILED', { order: 2, reason: 'x'.repeat(20_000) }),
    }));
    const bigStore = over(store, { readHistory: async () => ({ items: big }) });
    await expect(exportHistory(bigStore, { exportedAt: EXPORTED_AT, maxBytes: 1.5 * 1024 * 1024 })).rejects.toThrow(
      new ExportTooLargeError(
        'the history is over 1 MB, more than one answer holds: ask for pages (?limit=N, then ?cursor=… from the x-coconut-next-cursor header), as `coconut export` does',
      ),
    );
  });
});

describe('importHistory', () => {
  const pendingApproval: HistoryItem = { kind: 'approval', data: approvalRecord('apr-00000000aa', dep.deploymentId, 'PENDING') };
  const deploying: HistoryItem = { kind: 'stage', data: stageRecord(dep, 'qa', 'DEPLOYING', { order: 2 }) };
  const parsedOf = (list: HistoryItem[]) => parseHistory(file(list.map(historyLine)));

  it('writes every record into an empty store and reports the lines, and what was in flight as converted', async () => {
    const store = await freshStore();
    const report = await importHistory(store, parsedOf([...items, deploying, pendingApproval]));
    expect(report).toStrictEqual({
      dryRun: false,
      exportedAt: EXPORTED_AT,
      records: 8,
      imported: { count: 8, lines: '2-9' },
      alreadyPresent: { count: 0, lines: '' },
      conflicts: { count: 0, items: [] },
      converted: [
        { line: 8, kind: 'stage', key: `${dep.deploymentId}/qa`, change: 'DEPLOYING -> INTERRUPTED' },
        { line: 9, kind: 'approval', key: 'apr-00000000aa', change: 'PENDING -> EXPIRED' },
      ],
    });
    expect((await store.getApproval('apr-00000000aa'))?.status).toBe('EXPIRED');
    expect((await store.getStage(dep.deploymentId, 'qa'))?.state).toBe('INTERRUPTED');
  });

  it('a second import finds everything present, what it converted too, and converts nothing', async () => {
    const store = await freshStore();
    const parsed = parsedOf([...items, deploying, pendingApproval]);
    await importHistory(store, parsed);
    const again = await importHistory(store, parsed);
    expect(again).toMatchObject({ imported: { count: 0, lines: '' }, alreadyPresent: { count: 8, lines: '2-9' }, converted: [] });
    expect(again.conflicts).toEqual({ count: 0, items: [] });
  });

  it('into the store the file came from (approvals there hold their tokens): present, nothing changed', async () => {
    const store = await storeWith(items);
    const report = await importHistory(store, parsedOf(items));
    expect(report.alreadyPresent).toEqual({ count: 6, lines: '2-7' });
    expect((await store.getApproval('apr-0123456789'))?.taskToken).toMatch(/secret-token/);
  });

  it('into the store a file with a PENDING approval came from: the approval as stored there is present too', async () => {
    const store = await storeWith([items[0] as HistoryItem, pendingApproval]);
    const report = await importHistory(store, parsedOf([items[0] as HistoryItem, pendingApproval]));
    expect(report).toMatchObject({ alreadyPresent: { count: 2, lines: '2-3' }, conflicts: { count: 0 }, converted: [] });
    expect((await store.getApproval('apr-00000000aa'))?.status).toBe('PENDING');
  });

  it('reports what it converted in line order, whichever write answered first', async () => {
    const store = await freshStore();
    let delay = 80;
    const slow = over(store, {
      putHistoryItem: async (item) => {
        delay = Math.max(0, delay - 30);
        await new Promise((r) => setTimeout(r, delay));
        return store.putHistoryItem(item);
      },
    });
    const report = await importHistory(slow, parsedOf([items[0] as HistoryItem, deploying, pendingApproval]));
    expect(report.converted.map((c) => c.line)).toEqual([3, 4]);
  });

  it('keeps a different stored record, reporting the line, key and the differing fields in line order', async () => {
    const stored = [
      { kind: 'stage', data: { ...(items[1]?.data as StageRecord), state: 'FAILED', reason: 'newer' } },
      { kind: 'environment', data: { ...environmentState('staging', '0.9.0', dep.deploymentId), lastDeploymentId: 'other' } },
    ] as HistoryItem[];
    const store = await storeWith(stored);
    // The earlier lines answer last: the report is still in line order.
    let delay = 60;
    const slow = over(store, {
      putHistoryItem: async (item) => {
        delay = Math.max(0, delay - 20);
        await new Promise((r) => setTimeout(r, delay));
        return store.putHistoryItem(item);
      },
    });
    const report = await importHistory(slow, parsedOf(items));
    expect(report.conflicts).toEqual({
      count: 2,
      items: [
        { line: 3, kind: 'stage', key: `${dep.deploymentId}/staging`, fields: ['reason', 'state'] },
        { line: 6, kind: 'environment', key: 'demo-api/staging', fields: ['current', 'lastDeploymentId', 'lastKnownGood'] },
      ],
    });
    expect(report.imported).toEqual({ count: 4, lines: '2, 4-5, 7' });
    expect((await store.getStage(dep.deploymentId, 'staging'))?.reason).toBe('newer');
  });

  it('writes deployments before anything else (stages sort by their deployment), whatever the file order', async () => {
    const store = await freshStore();
    const kinds: string[] = [];
    const spy = over(store, {
      putHistoryItem: (item) => {
        kinds.push(item.kind);
        return store.putHistoryItem(item);
      },
    });
    const parsed = parsedOf(items);
    const reordered: ParsedHistory = {
      ...parsed,
      entries: [...parsed.entries.slice(1), parsed.entries[0] as (typeof parsed.entries)[0]],
    };
    await importHistory(spy, reordered);
    expect(kinds).toEqual(['deployment', 'stage', 'stage', 'thread', 'environment', 'approval']);
  });

  it('a dry run reads instead of writing and reports what would happen', async () => {
    const store = await storeWith([items[0] as HistoryItem]);
    const writes: HistoryItem[] = [];
    const spy = over(store, {
      putHistoryItem: async (item) => {
        writes.push(item);
        throw new Error('a dry run must not write');
      },
    });
    const report = await importHistory(spy, parsedOf([...items, pendingApproval]), { dryRun: true });
    expect(writes).toEqual([]);
    expect(report).toMatchObject({
      dryRun: true,
      records: 7,
      imported: { count: 6, lines: '3-8' },
      alreadyPresent: { count: 1, lines: '2' },
      converted: [{ line: 8, kind: 'approval', key: 'apr-00000000aa', change: 'PENDING -> EXPIRED' }],
    });
    expect(await store.getStage(dep.deploymentId, 'staging')).toBeUndefined();
  });
});

describe('checkHistoryImages', () => {
  const config = parseConfig(`
services:
  - name: demo-api
    image: { registry: ecr, repository: demo-api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 1m }
      - { name: prod, bake: 5m }
  - name: demo-web
    image: { registry: ghcr, repository: team/demo-web }
    target: { kind: helm, chart: charts/web }
    environments:
      - { name: prod, bake: 5m }
`);
  const parsedOf = (list: HistoryItem[]): ParsedHistory => ({
    header: { kind: 'coconut-history', v: 1, exportedAt: EXPORTED_AT, counts: emptyCounts() },
    entries: list.map((item, i) => ({ line: i + 2, item })),
  });
  const problemsOf = (list: HistoryItem[]) => {
    try {
      checkHistoryImages(config, parsedOf(list));
    } catch (error) {
      expect(error).toBeInstanceOf(HistoryFormatError);
      return (error as HistoryFormatError).problems;
    }
    return [];
  };

  it('accepts the records of configured services with their own images', () => {
    expect(() => checkHistoryImages(config, parsedOf(items))).not.toThrow();
  });

  it('refuses a record of a service coconut.yaml does not have, naming the configured ones; a thread has no service', () => {
    const other = deploymentRecord('demo-db-1', '2024-05-01T10:00:00.000Z', { service: 'demo-db' });
    expect(
      problemsOf([
        { kind: 'thread', data: threadRecord('demo-db-1') },
        { kind: 'stage', data: stageRecord(other, 'prod', 'SUCCEEDED') },
      ]),
    ).toEqual([
      {
        line: 3,
        field: 'data.service',
        message:
          'no service named "demo-db" in coconut.yaml (configured: demo-api, demo-web): its history cannot be checked against its image; add the service or leave its lines out',
      },
    ]);
  });

  it('refuses a pin event of a service coconut.yaml does not have; its version is only shown, so not checked as an image', () => {
    expect(
      problemsOf([
        { kind: 'pin-event', data: pinEvent('pin', '2024-05-01T12:00:00.000Z', { service: 'demo-db' }) },
        { kind: 'pin-event', data: pinEvent('pin', '2024-05-01T12:00:00.000Z', { version: 'nightly' }) },
      ]),
    ).toEqual([
      { line: 2, field: 'data.service', message: expect.stringMatching(/^no service named "demo-db" in coconut.yaml/) },
    ]);
  });

  it('refuses a deployment of another image, or whose version is not its tag', () => {
    const foreign = deploymentRecord('d-1', '2024-05-01T10:00:00.000Z', {
      image: { registry: 'ecr', repository: 'evil/api', tag: '1.0.0' },
    });
    const badTag = deploymentRecord('d-2', '2024-05-01T10:00:00.000Z', {
      version: 'latest',
      image: { registry: 'ecr', repository: 'demo-api', tag: 'latest' },
    });
    const mismatch = deploymentRecord('d-3', '2024-05-01T10:00:00.000Z', { version: '2.0.0' });
    expect(problemsOf([foreign, badTag, mismatch].map((data) => ({ kind: 'deployment', data }) as HistoryItem))).toEqual([
      {
        line: 2,
        field: 'data.image',
        message: expect.stringMatching(/^image .*evil\/api.* is not demo-api's: demo-api deploys only demo-api/),
      },
      { line: 3, field: 'data.image', message: expect.stringContaining('tag "latest" does not match demo-api\'s tagPattern') },
      { line: 4, field: 'data.version', message: 'version "2.0.0" is not the image\'s tag "1.0.0"' },
    ]);
  });

  it('refuses an environment that records a version the service could not have deployed, naming which field', () => {
    const state = environmentState('prod', '1.0.0', 'd-1');
    const current = { ...state, current: { ...state.current, version: 'evil' } } as typeof state;
    const good = { ...state, lastKnownGood: { version: 'nightly', deploymentId: 'd-1' } };
    const { lastKnownGood: _none, ...onlyCurrent } = state;
    expect(
      problemsOf([
        { kind: 'environment', data: current },
        { kind: 'environment', data: good },
        { kind: 'environment', data: onlyCurrent },
      ]),
    ).toEqual([
      { line: 2, field: 'data.current.version', message: expect.stringContaining('tag "evil" does not match') },
      { line: 3, field: 'data.lastKnownGood.version', message: expect.stringContaining('tag "nightly" does not match') },
    ]);
  });

  it('lists at most 20 problems', () => {
    const other = deploymentRecord('demo-db-1', '2024-05-01T10:00:00.000Z', { service: 'demo-db' });
    const problems = problemsOf(Array.from({ length: 25 }, () => ({ kind: 'deployment', data: other }) as HistoryItem));
    expect(problems).toHaveLength(20);
    expect(() =>
      checkHistoryImages(
        config,
        parsedOf(Array.from({ length: 25 }, () => ({ kind: 'deployment', data: other }) as HistoryItem)),
      ),
    ).toThrow(/^20\+ problems:\n {2}line 2: data\.service: no service named "demo-db"/);
  });
});

describe('the file problems as one message', () => {
  it('one problem is one line; several are counted and indented; "nothing was imported" ends it', () => {
    expect(new HistoryFormatError([{ line: 4, field: 'data.state', message: 'bad' }]).message).toBe(
      'line 4: data.state: bad\nnothing was imported',
    );
    expect(
      new HistoryFormatError([
        { line: 1, message: 'no header' },
        { line: 2, field: 'kind', message: 'odd' },
      ]).message,
    ).toBe('2 problems:\n  line 1: no header\n  line 2: kind: odd\nnothing was imported');
  });

  it('parseHistory stops at 20 problems', () => {
    const lines = Array.from({ length: 30 }, () => '{"kind":"nope"}');
    const { problems, message } = problemsOf(file(lines));
    expect(problems).toHaveLength(20);
    expect(problems.at(-1)?.line).toBe(21);
    expect(message).toMatch(
      /^20\+ problems:\n {2}line 2: kind: expected one of deployment, stage, environment, approval, thread, pin-event, got "nope"\n/,
    );
  });

  it('names the fields of a bad header, up to three; anything else first is "not a history file" once', () => {
    const header = JSON.stringify({ kind: 'coconut-history', v: 1, exportedAt: 'yesterday', counts: { deployment: -1 } });
    const { problems } = problemsOf(`${header}\n`);
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [1, 'exportedAt'],
      [1, 'counts.deployment'],
      [1, 'counts.stage'],
    ]);
    expect(problems[0]?.message).toBe('expected an ISO 8601 time like 2024-05-01T12:00:00.000Z');
    const notOurs = problemsOf('{"hello":"world","v":7}\n{"kind":"deployment"}\n').problems;
    expect(notOurs).toEqual([
      {
        line: 1,
        message: expect.stringMatching(
          /^expected the header \{"kind":"coconut-history","v":1,"exportedAt":…,"counts":\{…\}\} first/,
        ),
      },
    ]);
    expect(problemsOf('\n\n[1]\n').problems).toEqual([{ line: 3, message: expect.stringMatching(/^expected the header/) }]);
    expect(problemsOf('null\n').problems).toEqual([{ line: 1, message: expect.stringMatching(/^expected the header/) }]);
  });

  it('names every kind whose header count is off, with both numbers', () => {
    const { problems } = problemsOf(file(items.map(historyLine), { stage: 3, thread: 0 }));
    expect(problems).toEqual([
      {
        line: 1,
        field: 'counts',
        message: 'the header counts 3 stage, 0 thread but the file holds 2, 1: is it cut off or edited?',
      },
    ]);
    // The header need not be the first line: blank lines before it move it.
    expect(problemsOf(`\n${file(items.map(historyLine), { stage: 3 })}`).problems[0]).toMatchObject({ line: 2, field: 'counts' });
  });

  it('a line of JSON that is not an object is refused as not one of the kinds', () => {
    const { problems } = problemsOf(`${file([])}null\n"text"\n`);
    expect(problems.map((p) => [p.line, p.field, p.message])).toEqual([
      [2, 'kind', 'expected one of deployment, stage, environment, approval, thread, pin-event, got undefined'],
      [3, 'kind', 'expected one of deployment, stage, environment, approval, thread, pin-event, got undefined'],
    ]);
  });
});

describe('keys and line ranges', () => {
  it('each kind has its key: deployment id, deployment/environment, service/environment, approval id', () => {
    expect(exportOrder.map(keyOf)).toEqual([
      dep.deploymentId,
      `${dep.deploymentId}/staging`,
      `${dep.deploymentId}/prod`,
      dep.deploymentId,
      'demo-api/staging',
      'apr-0123456789',
    ]);
  });

  it('expandRanges reads what lineRanges writes', () => {
    expect(expandRanges('2-5, 9, 11-12')).toEqual([2, 3, 4, 5, 9, 11, 12]);
    expect(expandRanges(' 7 ,')).toEqual([7]);
    expect(expandRanges('')).toEqual([]);
    expect(expandRanges('2, ,3')).toEqual([2, 3]);
    expect(lineRanges(expandRanges('1-3, 5'))).toBe('1-3, 5');
  });

  it('canonicalJson sorts keys at every depth and leaves arrays in order', () => {
    expect(canonicalJson({ b: [3, 1, { d: 1, c: 2 }], a: null, Z: 1 })).toBe('{"Z":1,"a":null,"b":[3,1,{"c":2,"d":1}]}');
  });
});

describe('parseHistory: the edges of a line', () => {
  it('takes a byte order mark only at the very start: one inside a record is data', () => {
    const marked = {
      kind: 'stage',
      data: stageRecord(dep, 'qa', 'FAILED', { order: 2, reason: 'odd \uFEFF mark' }),
    } as HistoryItem;
    const parsed = parseHistory(file([historyLine(marked)]));
    expect(parsed.entries[0]?.item.data).toMatchObject({ reason: 'odd \uFEFF mark' });
  });

  it('skips lines of white space only', () => {
    const parsed = parseHistory(file(items.map(historyLine)).replace('\n', '\n   \t\n'));
    expect(parsed.entries.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('refuses a raw carriage return inside a value (JSON allows it only escaped), CRLF line end or not', () => {
    const line = historyLine(items[3] as HistoryItem).replace('"C0DEPLOYS"', '"C0DE\rPLOYS"');
    expect(problemsOf(`${file([], { thread: 1 })}${line}\n`).problems[0]).toMatchObject({
      line: 2,
      message: expect.stringMatching(/^not a JSON object/),
    });
    expect(problemsOf(`${file([], { thread: 1 })}${line}\r\n`).problems[0]).toMatchObject({
      line: 2,
      message: expect.stringMatching(/^not a JSON object/),
    });
  });

  it('names a field beside kind, v and data as a problem of the whole line', () => {
    const line = historyLine(items[3] as HistoryItem).replace('{"data"', '{"note":"x","data"');
    expect(problemsOf(file([line])).problems).toEqual([{ line: 2, field: '(line)', message: expect.stringContaining('note') }]);
  });

  it('names at most three problems of one line', () => {
    const bad = JSON.stringify({ kind: 'thread', v: 1, data: { deploymentId: '', channel: '', ts: '', extra: 1 } });
    const { problems } = problemsOf(file([bad]));
    expect(problems).toHaveLength(3);
    expect(problems.every((p) => p.line === 2)).toBe(true);
  });

  it('names the first line of a repeated record with the line offset of its part', () => {
    const lines = items.map(historyLine);
    expect(() => parseHistory(file([...lines, lines[1] as string]), { lineOffset: 100 })).toThrow(
      /^line 108: the same stage demo-api-1_0_0-0123456789ab\/staging as line 103\n/,
    );
  });

  it('each refusal is its own error class, named so in logs', () => {
    expect(new HistoryFormatError([{ line: 1, message: 'x' }]).name).toBe('HistoryFormatError');
    expect(new ExportTooLargeError('x').name).toBe('ExportTooLargeError');
    expect(new UnexportableRecordError('x').name).toBe('UnexportableRecordError');
  });
});

describe('pin events: who pinned or unpinned an environment, when and why', () => {
  const pinned = pinEvent('pin', '2024-05-01T12:00:00.000Z');
  const unpinned = pinEvent('unpin', '2024-05-01T13:00:00.000Z');
  const stagingPin = pinEvent('pin', '2024-05-01T14:00:00.000Z', { environment: 'staging', byId: undefined, reason: 'freeze' });
  const { byId: _local, ...localPin } = stagingPin;
  const pins: HistoryItem[] = [
    { kind: 'pin-event', data: pinned },
    { kind: 'pin-event', data: unpinned },
    { kind: 'pin-event', data: localPin },
  ];

  it('are lines {"kind":"pin-event","v":1,"data"} with sorted keys, keyed by service/environment/time/action', () => {
    const line = historyLine(pins[1] as HistoryItem);
    expect(line.startsWith('{"data":{"action":"unpin","at":"2024-05-01T13:00:00.000Z","by":"Ada",')).toBe(true);
    expect(JSON.parse(line)).toEqual({ kind: 'pin-event', v: 1, data: unpinned });
    expect(pins.map(keyOf)).toEqual([
      'demo-api/prod/2024-05-01T12:00:00.000Z/pin',
      'demo-api/prod/2024-05-01T13:00:00.000Z/unpin',
      'demo-api/staging/2024-05-01T14:00:00.000Z/pin',
    ]);
    expect(parseHistory(file(pins.map(historyLine))).entries.map((e) => e.item)).toEqual(pins);
  });

  it('the store exports them after the approvals, oldest first, in pages; imported into an empty store and exported again, the same bytes', async () => {
    const source = await storeWith(items);
    // Written as coconut pin / unpin write them, newest first: the export orders them itself.
    for (const event of [localPin, unpinned, pinned]) await source.addPinEvent(event);
    // The live pin holds a waiting deployment's task token: runtime state, never exported.
    expect(
      await source.putPin({
        service: 'demo-api',
        environment: 'staging',
        reason: 'freeze',
        pinnedBy: 'Ada',
        pinnedAt: localPin.at,
        waiters: { 'demo-api-2-0123456789ab': { version: '1.1.0', token: 'AQC-pin-waiter-secret', since: localPin.at } },
        revision: 1,
      }),
    ).toBe(true);
    const whole = await exportHistory(source, { exportedAt: EXPORTED_AT, pageSize: 1 });
    expect(whole).toBe(
      `${[headerLine(EXPORTED_AT, { deployment: 1, stage: 2, environment: 1, approval: 1, thread: 1, 'pin-event': 3 }), ...[...exportOrder, ...pins].map(historyLine)].join('\n')}\n`,
    );
    expect(whole).not.toMatch(/pin-waiter-secret|waiters|pinnedBy/);

    const target = await freshStore();
    const report = await importHistory(target, parseHistory(whole));
    expect(report).toMatchObject({ records: 9, imported: { count: 9, lines: '2-10' }, conflicts: { count: 0 } });
    expect(await exportHistory(target, { exportedAt: EXPORTED_AT, pageSize: 2 })).toBe(whole);
    // `coconut history` reads them as it reads the source's; the pin itself stayed behind.
    expect(await target.listPinEvents({ service: 'demo-api' })).toEqual(await source.listPinEvents({ service: 'demo-api' }));
    expect(await target.listPins()).toEqual([]);
    expect(pinnedWhenExported(parseHistory(whole))).toEqual([
      { line: 10, service: 'demo-api', environment: 'staging', version: '1.0.0' },
    ]);
  });

  it('never overwrites: the same event is already present, a different one under its key is a conflict, kept', async () => {
    const target = await freshStore();
    await target.addPinEvent(pinned);
    await target.addPinEvent({ ...unpinned, reason: 'the stored comment' });
    const report = await importHistory(target, parseHistory(file(pins.map(historyLine))));
    expect(report).toMatchObject({
      imported: { count: 1, lines: '4' },
      alreadyPresent: { count: 1, lines: '2' },
      conflicts: {
        count: 1,
        items: [{ line: 3, kind: 'pin-event', key: 'demo-api/prod/2024-05-01T13:00:00.000Z/unpin', fields: ['reason'] }],
      },
    });
    expect((await target.listPinEvents({ service: 'demo-api', environment: 'prod' }))[0]?.reason).toBe('the stored comment');
    // A dry run reads: the same answer, nothing written.
    const dry = await freshStore();
    expect(await importHistory(dry, parseHistory(file(pins.map(historyLine))), { dryRun: true })).toMatchObject({
      imported: { count: 3 },
    });
    expect(await dry.listPinEvents({ service: 'demo-api' })).toEqual([]);
  });

  it('a bad pin event is refused naming its line and field, before anything is written', () => {
    const lines = pins.map(historyLine);
    lines[0] = (lines[0] as string).replace('"action":"pin"', '"action":"hold"');
    lines[1] = (lines[1] as string).replace('"by":"Ada",', '');
    lines[2] = (lines[2] as string).replace('"at":"2024-05-01T14:00:00.000Z"', '"at":"yesterday"');
    const { problems, message } = problemsOf(file(lines));
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [2, 'data.action'],
      [3, 'data.by'],
      [4, 'data.at'],
    ]);
    expect(message).toMatch(/^3 problems:\n {2}line 2: data\.action: Invalid option: expected one of "pin"\|"unpin"/);
    expect(message).toContain('line 4: data.at: expected an ISO 8601 time');
    // A waiter's token or any other field the format does not know is refused, not dropped.
    const withToken = (historyLine(pins[0] as HistoryItem) as string).replace('"action":"pin"', '"action":"pin","waiters":{}');
    expect(problemsOf(file([withToken])).problems).toEqual([
      { line: 2, field: 'data', message: expect.stringContaining('waiters') },
    ]);
    expect(problemsOf(file([...lines.slice(0, 1), lines[0] as string])).problems[0]?.field).toBe('data.action');
  });

  it('the same event twice is refused naming both lines; the header must count them', () => {
    const line = historyLine(pins[0] as HistoryItem);
    expect(problemsOf(file([line, line])).problems).toEqual([
      { line: 3, message: 'the same pin-event demo-api/prod/2024-05-01T12:00:00.000Z/pin as line 2' },
    ]);
    expect(problemsOf(file([line], { 'pin-event': 2 })).problems).toEqual([
      { line: 1, field: 'counts', message: 'the header counts 2 pin-event but the file holds 1: is it cut off or edited?' },
    ]);
  });

  it('a file written before pin events were exported (no pin-event count) still reads, as holding none', () => {
    const old = file(items.map(historyLine)).replace(',"pin-event":0', '');
    expect(old.split('\n')[0]).toBe(
      `{"kind":"coconut-history","v":1,"exportedAt":"${EXPORTED_AT}","counts":{"deployment":1,"stage":2,"environment":1,"approval":1,"thread":1}}`,
    );
    const parsed = parseHistory(old);
    expect(parsed.header.counts['pin-event']).toBe(0);
    expect(parsed.entries).toHaveLength(6);
    // Without the count, a pin event line is more than the header announces: refused.
    expect(problemsOf(`${old}${historyLine(pins[0] as HistoryItem)}\n`).problems).toEqual([
      { line: 1, field: 'counts', message: 'the header counts 0 pin-event but the file holds 1: is it cut off or edited?' },
    ]);
  });

  it('pinnedWhenExported names the environments whose last event in the file is a pin, whatever the line order', () => {
    const parsedOf = (list: HistoryItem[]): ParsedHistory => ({
      header: { kind: 'coconut-history', v: 1, exportedAt: EXPORTED_AT, counts: emptyCounts() },
      entries: list.map((item, i) => ({ line: i + 2, item })),
    });
    expect(pinnedWhenExported(parsedOf(pins))).toEqual([
      { line: 4, service: 'demo-api', environment: 'staging', version: '1.0.0' },
    ]);
    const { version: _v, ...noVersion } = pinEvent('pin', '2024-05-01T15:00:00.000Z');
    expect(pinnedWhenExported(parsedOf([{ kind: 'pin-event', data: noVersion }, ...pins.slice(0, 2)]))).toEqual([
      { line: 2, service: 'demo-api', environment: 'prod' },
    ]);
    expect(pinnedWhenExported(parsedOf(pins.slice(0, 2)))).toEqual([]);
  });
});
