/**
 * The local runtime announces every store write (runtime.changes), and the test waits look at the
 * store again only then: no timer polls that cost CPU beside the deploys of other test files, and a
 * wait wakes as soon as the record changes. Real engine, state machine and store; fixture builds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { noopSource } from '../support/fixture-source.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

describe('runtime.changes and the waits built on it', () => {
  let rt: TestRuntime | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  it('announces writes (a push creates the deployment, each step updates its stage), never reads', async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '0s',
      prodBake: '0s',
      sourceDir: noopSource(),
      probes: false,
    });
    const written: string[] = [];
    rt.changes.on('stored', (method) => written.push(method));
    const id = startedId(await rt.push('1.0.0'));
    await rt.engine.waitFor(id);
    expect(written).toContain('createDeployment');
    expect(written).toContain('updateStage');
    expect(written).toContain('putLock');
    const count = written.length;
    await rt.ports.store.getStage(id, 'staging');
    await rt.ports.store.listStages({ service: 'demo-api' });
    await rt.ports.store.getDeployment(id);
    expect(written).toHaveLength(count);
  });

  it('a wait reads the store once, then only after writes: none while a bake runs with nothing to write', async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '1h',
      prodBake: '0s',
      sourceDir: noopSource(),
      probes: false,
    });
    const id = startedId(await rt.push('1.0.0'));
    await rt.waitForStage(id, 'staging', ['BAKING']);
    // The bake is set up once its alarm watch is stored; from then on nothing writes until it ends.
    await rt.until('the bake watch', async () =>
      (await rt?.ports.store.listBakeWatches('demo-api-staging-health'))?.find((w) => w.deploymentId === id),
    );
    const written: string[] = [];
    rt.changes.on('stored', (method) => written.push(method));
    const reads = vi.spyOn(rt.ports.store, 'getStage');
    // The wait looks once, then gives up at its limit: a 100 ms poll would have read about 20 times.
    await expect(rt.waitForStage(id, 'staging', ['SUCCEEDED'], 2000)).rejects.toThrow(
      `no ${id} on staging to be SUCCEEDED within 2000 ms`,
    );
    expect(written).toEqual([]);
    expect(reads).toHaveBeenCalledTimes(1);
    // A write wakes it at once: the alarm fires, the stage rolls back and the waiter sees it.
    const ended = rt.waitForStage(id, 'staging', ['ROLLED_BACK', 'FAILED', 'SUCCEEDED']);
    await rt.alarms.set('demo-api-staging-health', 'ALARM');
    expect((await ended).state).toBe('FAILED'); // nothing earlier to go back to
  });
});
