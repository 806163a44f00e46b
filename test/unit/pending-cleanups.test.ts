/** src/local/pending-cleanups.ts: written down before the first try, retried with backoff, forgotten once done. */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeploymentRecord, StageRecord } from '../../src/core/model/deployment.ts';
import type { ExecutionEnd } from '../../src/core/pipeline/execution-ended.ts';
import type { LockRecord } from '../../src/core/ports.ts';
import type { ExecutionRecord } from '../../src/local/engine.ts';
import { findLooseEnds, PENDING_CLEANUPS_FILE, PendingCleanups } from '../../src/local/pending-cleanups.ts';
import { memoryLog } from '../support/runtime.ts';

const pendingIn = (dir: string) =>
  (JSON.parse(readFileSync(path.join(dir, PENDING_CLEANUPS_FILE), 'utf8')) as { pending: ExecutionEnd[] }).pending;

describe('PendingCleanups', () => {
  it('retries a failing cleanup with backoff until it succeeds, keeping it written down (0600) meanwhile', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-cleanups-'));
    let failures = 2;
    const seen: string[][] = [];
    const cleanups = new PendingCleanups({
      dataDir: dir,
      log: memoryLog(),
      firstDelayMs: 5,
      repair: async () => {
        seen.push(pendingIn(dir).map((e) => e.deploymentId));
        if (failures-- > 0) throw new Error('connect ECONNREFUSED');
      },
    });
    const repaired = once(cleanups, 'repaired');
    await cleanups.run({ deploymentId: 'dep-1', status: 'FAILED' });
    expect(cleanups.pending()).toEqual(['dep-1']);
    expect(statSync(path.join(dir, PENDING_CLEANUPS_FILE)).mode & 0o777).toBe(0o600);
    expect(await repaired).toEqual(['dep-1']);
    // Written down before every attempt, the first included; forgotten after the success.
    expect(seen).toEqual([['dep-1'], ['dep-1'], ['dep-1']]);
    expect(pendingIn(dir)).toEqual([]);
    await cleanups.stop();
  });

  it('resumes at start-up what an earlier run left; an unreadable file is reported, not fatal', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-cleanups-'));
    writeFileSync(
      path.join(dir, PENDING_CLEANUPS_FILE),
      JSON.stringify({ version: 1, pending: [{ deploymentId: 'dep-2', status: 'ABORTED' }] }),
    );
    const done: ExecutionEnd[] = [];
    const cleanups = new PendingCleanups({ dataDir: dir, log: memoryLog(), repair: async (end) => void done.push(end) });
    expect(cleanups.pending()).toEqual(['dep-2']);
    cleanups.resume();
    await cleanups.settled('dep-2');
    expect(done).toEqual([{ deploymentId: 'dep-2', status: 'ABORTED' }]);

    writeFileSync(path.join(dir, PENDING_CLEANUPS_FILE), '{not json');
    const log = memoryLog();
    expect(new PendingCleanups({ dataDir: dir, log, repair: async () => {} }).pending()).toEqual([]);
    expect(log.lines.find((l) => l.level === 'ERROR')?.message).toContain('pending cleanups in it are not retried');
  });

  it('finds recent ended executions whose stages are open or whose lock is still theirs, and nothing else', async () => {
    const at = '2026-12-02T06:00:00.000Z';
    const execution = (name: string, status: ExecutionRecord['status'], stoppedAt = at): ExecutionRecord => ({
      name,
      machine: 'deploy',
      executionArn: `arn:local:${name}`,
      status,
      input: {},
      startedAt: at,
      stoppedAt,
      ...(status === 'FAILED' ? { error: 'States.TaskFailed', cause: 'store down' } : {}),
    });
    const stage = (deploymentId: string, state: StageRecord['state']) =>
      ({ deploymentId, service: 'api', environment: 'staging', order: 0, version: '1.0.0', state }) as StageRecord;
    const deployments: Record<string, StageRecord[]> = {
      baking: [stage('baking', 'BAKING')],
      locked: [stage('locked', 'FAILED')],
      clean: [stage('clean', 'FAILED')],
      old: [stage('old', 'BAKING')],
      fine: [stage('fine', 'SUCCEEDED')],
    };
    const store = {
      getDeployment: async (id: string) =>
        deployments[id]
          ? ({ deploymentId: id, stages: deployments[id] } as unknown as DeploymentRecord & { stages: StageRecord[] })
          : undefined,
      getLock: async (key: string) =>
        key === 'api#staging' ? ({ key, owner: 'locked', waiters: {}, version: 1 } as LockRecord) : undefined,
    };
    const loose = await findLooseEnds(
      [
        execution('baking', 'FAILED'),
        execution('locked', 'ABORTED'),
        execution('clean', 'FAILED'),
        execution('old', 'FAILED', '2026-11-01T00:00:00.000Z'),
        execution('fine', 'SUCCEEDED'),
        execution('running', 'RUNNING'),
      ],
      store as never,
      new Date('2026-12-01T06:00:00.000Z'),
    );
    expect(loose).toEqual([
      { deploymentId: 'baking', status: 'FAILED', error: 'States.TaskFailed', cause: 'store down' },
      { deploymentId: 'locked', status: 'ABORTED' },
    ]);
  });
});
