/** The history file format: lines, validation with line numbers, the import rules for what was in flight, who may import. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import {
  asImported,
  assertMayImport,
  canonicalJson,
  emptyCounts,
  type HistoryCounts,
  HistoryFormatError,
  headerLine,
  historyLine,
  lineRanges,
  parseHistory,
  UnexportableRecordError,
} from '../../src/core/history/history-transfer.ts';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import { ForbiddenError } from '../../src/core/model/errors.ts';
import type { HistoryItem } from '../../src/core/ports.ts';
import { approvalRecord, deploymentRecord, environmentState, stageRecord, threadRecord } from '../support/history.ts';

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
      counts: { deployment: 1, stage: 2, environment: 1, approval: 1, thread: 1 },
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
        'importing history writes approval records, so it needs an approver of every gated environment; lead@example.com does not approve web/prod',
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
    const log = { debug: ignore, info: ignore, error: ignore, warn: (message: string) => void warnings.push(message) };
    await expect(assertMayImport({ config, userGroups: down, log }, { id: 'U0LEAD', source: 'slack' })).rejects.toThrow(
      new ForbiddenError(
        'importing history writes approval records, so it needs an approver of every gated environment; U0LEAD does not approve api/prod, web/prod; the members of S0LEADS could not be checked right now, try again',
      ),
    );
    expect(warnings).toEqual(['could not resolve the members of user group S0LEADS']);
    // A JWT user is a Slack approver only through slack.users (actorOf sets slackId), never by its id.
    await expect(assertMayImport({ config, userGroups }, { id: 'U0BOSS', source: 'dashboard' })).rejects.toThrow(
      /does not approve api\/prod, web\/prod$/,
    );
  });
});
