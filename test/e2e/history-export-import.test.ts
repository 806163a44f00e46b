/**
 * `coconut export` / `coconut import` as a user runs them: bin/coconut.mjs spawned against a
 * local runtime, history made by real deployments (fixture builds that succeed or fail on cue,
 * so no Ansible is needed), then a restart with a NEW data dir: empty until the import, and
 * after it `coconut history` shows everything and a new export gives the same lines.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyCounts, headerLine, historyLine } from '../../src/core/history/history-transfer.ts';
import type { HistoryItem } from '../../src/core/ports.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { faultySource } from '../support/fixture-source.ts';
import { deploymentRecord, stageRecord } from '../support/history.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

function coconut(
  rt: TestRuntime | undefined,
  args: string[],
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/coconut.mjs'), ...args], {
      env: { ...process.env, ...(rt ? rt.cliEnv : {}), NO_COLOR: '1' },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const body = (file: string) => file.slice(file.indexOf('\n') + 1);

describe('coconut export / import (spawned CLI, local runtime, fixture builds: no Ansible)', () => {
  const runtimes: TestRuntime[] = [];
  afterAll(async () => {
    for (const rt of runtimes) await rt.stop();
  });
  const work = mkdtempSync(path.join(tmpdir(), 'coconut-history-'));

  it('history survives a restart with a new data dir: export, import (dry run first), history shows it, export again is the same', async () => {
    const first = await startTestRuntime({ stagingBake: '0s', prodBake: '0s', sourceDir: faultySource(), probes: false });
    runtimes.push(first);
    // 1.0.0 through staging and, approved, prod; then a release whose deploy fails and is rolled back.
    const good = startedId(await first.push('1.0.0'));
    await first.waitForStage(good, 'staging', ['SUCCEEDED']);
    const approvalId = await first.waitForApproval(good);
    const approved = await first.fetch(`/api/approvals/${approvalId}/approve`, {
      method: 'POST',
      body: '{"comment":"ok"}',
    });
    expect(approved.status).toBe(200);
    await first.waitForStage(good, 'prod', ['SUCCEEDED']);
    const bad = startedId(await first.push('1.1.0-doomed'));
    expect((await first.waitForStage(bad, 'staging', ['ROLLED_BACK', 'ROLLBACK_FAILED', 'FAILED'])).state).toBe('ROLLED_BACK');
    await first.waitForStage(bad, 'prod', ['SKIPPED']);
    await first.engine.waitFor(bad);
    // Pin history: prod pinned and unpinned, staging pinned when the file is written.
    for (const args of [
      ['pin', 'demo-api', '--env', 'prod', '--reason', 'hold for the audit'],
      ['unpin', 'demo-api', '--env', 'prod', '--comment', 'audit done'],
      ['pin', 'demo-api', '--env', 'staging', '--reason', 'freeze'],
    ]) {
      expect((await coconut(first, args)).code).toBe(0);
    }

    const file = path.join(work, 'history.jsonl');
    const exported = await coconut(first, ['export', '--out', file]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(
      `exported 2 deployments, 4 stages, 2 environment states, 1 approval, 0 chat threads, 3 pin events (approvals without their task tokens) to ${file}\n`,
    );
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toMatch(
      /^\{"kind":"coconut-history","v":1,"exportedAt":"[^"]+","counts":\{"deployment":2,"stage":4,/,
    );
    expect(text).toContain('"tokenRemoved":true');
    expect(text).not.toContain('taskToken');
    // To stdout, page by page (2 deployments per page here): the same lines.
    const piped = await coconut(first, ['export', '--page-size', '1']);
    expect(piped.code).toBe(0);
    expect(body(piped.stdout)).toBe(body(text));
    expect(piped.stderr).toMatch(/^exported 2 deployments/);
    await first.stop();
    runtimes.splice(runtimes.indexOf(first), 1);

    // A new local runtime on a new, empty data dir.
    const second = await startTestRuntime({ stagingBake: '0s', prodBake: '0s', sourceDir: faultySource(), probes: false });
    runtimes.push(second);
    expect(second.dir).not.toBe(first.dir);
    expect((await coconut(second, ['history', 'demo-api'])).stdout).toBe('no deployments of demo-api yet\n');

    // A bad line: refused with its line number and field, and nothing is written.
    const lines = text.split('\n');
    const stageLine = lines.findIndex((l) => l.includes('"state":"ROLLED_BACK"'));
    lines[stageLine] = (lines[stageLine] as string).replace('"state":"ROLLED_BACK"', '"state":"DONE"');
    writeFileSync(path.join(work, 'bad.jsonl'), lines.join('\n'));
    const refused = await coconut(second, ['import', path.join(work, 'bad.jsonl')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`bad.jsonl: line ${stageLine + 1}: data.state: Invalid option: expected one of "PENDING"`);
    expect(refused.stderr).toContain('nothing was imported');
    expect((await coconut(second, ['history', 'demo-api'])).stdout).toBe('no deployments of demo-api yet\n');

    const dry = await coconut(second, ['import', file, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`DRY RUN, nothing written: would import 12 of 12 records from ${file} (lines 2-13)`);
    expect((await coconut(second, ['history', 'demo-api'])).stdout).toBe('no deployments of demo-api yet\n');

    const imported = await coconut(second, ['import', file]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    const stillPinned =
      'pinned when exported (an import brings the pin history, not the pin: pin again with coconut pin SERVICE --env ENV --reason "..." to hold it here):\n' +
      '  line 13: demo-api on staging at 1.0.0\n';
    expect(imported.stdout).toBe(
      `imported 12 of 12 records from ${file} (lines 2-13)\nalready present: 0\nconflicts: 0\n${stillPinned}`,
    );

    const history = await coconut(second, ['history', 'demo-api']);
    expect(history.code).toBe(0);
    const [deployments, pins] = history.stdout.trim().split('\n\nPins:\n') as [string, string];
    const rows = deployments.split('\n').slice(1);
    expect(rows.map((r) => r.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['1.1.0-doomed', 'prod', 'SKIPPED'],
      ['1.1.0-doomed', 'staging', 'ROLLED_BACK'],
      ['1.0.0', 'prod', 'SUCCEEDED'],
      ['1.0.0', 'staging', 'SUCCEEDED'],
    ]);
    // Who pinned and unpinned (the local operator), newest first: the pin history came over.
    expect(
      pins
        .split('\n')
        .slice(1)
        .map((r) => r.split(/\s{2,}/).slice(0, 4)),
    ).toEqual([
      ['staging', 'PIN at 1.0.0', 'local', 'freeze'],
      ['prod', 'UNPIN', 'local', 'audit done'],
      ['prod', 'PIN at 1.0.0', 'local', 'hold for the audit'],
    ]);
    expect(history.stdout).toContain(bad);
    expect(history.stdout).toContain('rolled back to 1.0.0');
    const status = await coconut(second, ['status', '--json']);
    const services = JSON.parse(status.stdout).services as {
      environments: { name: string; current?: { version: string }; pin?: unknown }[];
    }[];
    // What runs where came over; the staging pin did not (nothing waits on it here).
    expect(services[0]?.environments.map((e) => [e.name, e.current?.version, e.pin])).toEqual([
      ['staging', '1.0.0', undefined],
      ['prod', '1.0.0', undefined],
    ]);
    const approvals = (await (await second.fetch('/api/approvals')).json()) as { approvals: unknown[] };
    expect(approvals.approvals).toEqual([
      expect.objectContaining({ approvalId, status: 'APPROVED', comment: 'ok', tokenRemoved: true }),
    ]);

    // Exported again from the new runtime: the same lines; imported again: all already present.
    const again = await coconut(second, ['export']);
    expect(again.code).toBe(0);
    expect(body(again.stdout)).toBe(body(text));
    const twice = await coconut(second, ['import', file]);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toBe(
      `imported 0 of 12 records from ${file}\nalready present: 12 (lines 2-13)\nconflicts: 0\n${stillPinned}`,
    );
  }, 240_000);

  it('a file bigger than one request goes in parts, numbered as in the file; a conflict is reported and exits 1', async () => {
    // 700 deployments with two stages each: 2,100 records, more than one part of 1,000 lines.
    const items: HistoryItem[] = [];
    for (let i = 0; i < 700; i++) {
      const record = deploymentRecord(
        `demo-api-${i}-${String(i).padStart(12, '0')}`,
        new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString(),
      );
      items.push(
        { kind: 'deployment', data: record },
        { kind: 'stage', data: stageRecord(record, 'staging', 'SUCCEEDED') },
        { kind: 'stage', data: stageRecord(record, 'prod', 'SUCCEEDED') },
      );
    }
    const text = `${headerLine('2024-02-01T00:00:00.000Z', { ...emptyCounts(), deployment: 700, stage: 1400 })}\n${items.map(historyLine).join('\n')}\n`;
    const rt = await startTestRuntime({ sourceDir: faultySource(), probes: false });
    runtimes.push(rt);
    // The part that holds it is not the first: its line number must still be the file's.
    const late = items[1501] as Extract<HistoryItem, { kind: 'stage' }>;
    await rt.ports.store.createDeployment({ ...(items[1500]?.data as ReturnType<typeof deploymentRecord>) }, [
      { ...late.data, state: 'FAILED', reason: 'the newer truth' },
    ]);
    const res = await coconut(rt, ['import', '-'], text);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    expect(res.stdout).toBe(
      [
        'imported 2098 of 2100 records from - (lines 2-1501, 1504-2101)',
        'already present: 1 (lines 1502)',
        'conflicts: 1 (a different record is stored under the same key; the stored one is kept)',
        `  line 1503: stage ${late.data.deploymentId}/staging differs in reason, state`,
        '',
      ].join('\n'),
    );
    expect((await rt.ports.store.getStage(late.data.deploymentId, 'staging'))?.reason).toBe('the newer truth');
    const whole = await (await rt.fetch('/api/export')).text();
    expect(JSON.parse(whole.split('\n')[0] as string).counts).toEqual({ ...emptyCounts(), deployment: 700, stage: 1400 });
  }, 240_000);

  it('exits 2 with the usage on bad arguments', async () => {
    const noFile = await coconut(undefined, ['import']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('usage: coconut import FILE|- [--dry-run]');
    const stray = await coconut(undefined, ['export', 'history.jsonl']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('the file goes after --out');
    expect((await coconut(undefined, ['export', '--page-size', '0'])).code).toBe(2);
  });
});
