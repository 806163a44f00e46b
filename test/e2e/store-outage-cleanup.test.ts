/**
 * A store outage mid-deployment: the local runtime's real engine, state machine and store
 * (dynalite, stopped and started again on the same port and data), with builds from a fixture
 * source. When the execution ends while the store is down, its cleanup (stage terminal, lock
 * released) is written down and retried until the store answers, also across a restart, and
 * the environment is free long before its lock would have expired. Synchronised on the
 * runtime's own notifications (rt.cleanups: `deferred`, `repaired`), never on sleeps.
 */
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PENDING_CLEANUPS_FILE } from '../../src/local/pending-cleanups.ts';
import { faultySource } from '../support/fixture-source.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

/** Resolves on the first `deferred` notification for this deployment. */
async function deferredFor(rt: TestRuntime, id: string): Promise<string> {
  for (;;) {
    const [deploymentId, message] = (await once(rt.cleanups, 'deferred')) as [string, string];
    if (deploymentId === id) return message;
  }
}

/** Stops the store while staging bakes; resolves once the ended execution's cleanup failed. */
async function outageDuringBake(rt: TestRuntime, tag: string): Promise<string> {
  const id = startedId(await rt.push(tag));
  const baking = await rt.waitForStage(id, 'staging', ['BAKING']);
  expect(baking.state).toBe('BAKING');
  const lock = await rt.ports.store.getLock('demo-api#staging');
  expect(lock?.owner).toBe(id);
  const deferred = deferredFor(rt, id);
  await rt.storeServer.stop();
  const message = await deferred;
  expect(message).toMatch(/ECONNREFUSED|connect|socket/i);
  // The state machine gave up (its own bookkeeping could not reach the store either)...
  expect(rt.engine.get(id)?.status).toBe('FAILED');
  // ...and the cleanup is written down, for the owner only.
  const file = path.join(rt.dir, PENDING_CLEANUPS_FILE);
  expect(JSON.parse(readFileSync(file, 'utf8')).pending.map((p: { deploymentId: string }) => p.deploymentId)).toEqual([id]);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  return id;
}

async function expectCleanedUp(rt: TestRuntime, id: string) {
  const deployment = await rt.ports.store.getDeployment(id);
  expect(deployment?.stages.map((s) => `${s.environment}:${s.state}`)).toEqual(['staging:FAILED', 'prod:SKIPPED']);
  expect(deployment?.stages[0]?.reason).toMatch(/^execution failed .* during BAKING$/);
  const lock = await rt.ports.store.getLock('demo-api#staging');
  expect(lock?.owner, 'the lock of staging').toBeUndefined();
  expect(JSON.parse(readFileSync(path.join(rt.dir, PENDING_CLEANUPS_FILE), 'utf8')).pending).toEqual([]);
}

describe('Faults: the store goes down during a bake', () => {
  let rt: TestRuntime | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  it('retries the cleanup until the store is back: the stage ends FAILED and the lock is released at once', async () => {
    rt = await startTestRuntime({ prodApproval: false, stagingBake: '3s', sourceDir: faultySource(), probes: false });
    const id = await outageDuringBake(rt, '5.0.0');
    await rt.storeServer.start();
    await rt.cleanups.settled(id);
    await expectCleanedUp(rt, id);
    // The environment is free: the next push deploys staging now, not when the lock expires.
    const next = startedId(await rt.push('5.0.1'));
    await rt.waitForStage(next, 'staging', ['SUCCEEDED']);
  });

  it('a restart while the cleanup is pending completes it at start-up', async () => {
    const first = await startTestRuntime({ prodApproval: false, stagingBake: '3s', sourceDir: faultySource(), probes: false });
    const id = await outageDuringBake(first, '6.0.0');
    const { dir } = first;
    await first.stop();
    // Next start, same data dir: the store is up again, and what was written down is done.
    rt = await startTestRuntime({ dataDir: dir, prodApproval: false, sourceDir: faultySource(), probes: false });
    await rt.cleanups.settled(id);
    await expectCleanedUp(rt, id);
  });
});
