/**
 * Waiting for the environment lock is event-driven: no Wait-state loop, no state transition and
 * no history event while a deployment waits. Step Functions fails an execution at 25,000 history
 * events (AWS Step Functions developer guide, "Step Functions service quotas": "Maximum execution
 * history size: 25,000 events"), and bills each state transition ("AWS Step Functions pricing"),
 * so a poll every few seconds behind a lock held through a 7-day approval cannot work.
 *
 * The dynamic check runs the real deploy.asl.json in aws-local-stepfunctions (the local engine)
 * with the real pipeline-step handler over dynalite, and counts the execution's events while
 * another deployment holds the lock. Any Wait state is shortened to 50 ms, so a polling loop
 * would show up at once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineStepHandler } from '../../functions/pipeline-step.ts';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import type { AslDefinition, AslState } from '../../src/core/asl.ts';
import { lockKey, releaseLock } from '../../src/core/pipeline/locks.ts';
import { loadStateMachine } from '../../src/local/asl.ts';
import { LocalEngine } from '../../src/local/engine.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

type Inner = Record<
  string,
  AslState & { Next?: string; Default?: string; Choices?: { Next: string }[]; Catch?: { Next: string }[] }
>;

function innerStates(def: AslDefinition): Inner {
  const map = Object.values(def.States).find((s) => s.Type === 'Map');
  if (!map?.ItemProcessor) throw new Error('deploy.asl.json has no Map over environments');
  return map.ItemProcessor.States as Inner;
}

function successors(state: Inner[string]): string[] {
  return [
    state.Next,
    state.Default,
    ...(state.Choices ?? []).map((c) => c.Next),
    ...(state.Catch ?? []).map((c) => c.Next),
  ].filter((n): n is string => typeof n === 'string');
}

describe('deploy.asl.json: waiting for the environment lock', () => {
  let definition: AslDefinition;
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    definition = await loadStateMachine(PROJECT_ROOT, 'deploy');
    ({ store, dynamo } = await dynaliteStore());
  });
  afterAll(() => dynamo?.stop());

  it('has no loop through a Wait state, and waits on a task token with a timeout', () => {
    const states = innerStates(definition);
    const reaches = (from: string, target: string, seen = new Set<string>()): boolean =>
      successors(states[from] as Inner[string]).some(
        (n) => n === target || (!seen.has(n) && seen.add(n) && reaches(n, target, seen)),
      );
    const waits = Object.entries(states).filter(([, s]) => s.Type === 'Wait');
    for (const [name] of waits) expect(reaches(name, name), `${name} is in a loop`).toBe(false);
    const acquire = states.AcquireLock as Inner[string];
    expect(acquire.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(JSON.stringify(acquire.Parameters)).toContain('"taskToken.$":"$$.Task.Token"');
    expect(acquire.TimeoutSecondsPath).toBe('$.env.lockSeconds');
  });

  function start(name: string, lockSeconds: number, log = memoryLog()) {
    const states = innerStates(definition);
    const waitOverrides = Object.fromEntries(
      Object.entries(states)
        .filter(([, s]) => s.Type === 'Wait')
        .map(([n]) => [n, 50]),
    );
    let engine: LocalEngine;
    const ports = async () =>
      ({ store, orchestrator: engine, clock: { now: () => new Date() }, log, notifier: {}, alarms: {} }) as never;
    const handler = createPipelineStepHandler(ports);
    engine = new LocalEngine({
      definitions: { deploy: definition },
      functions: { 'pipeline-step': (event, context) => handler(event as never, context) },
      builds: { run: async () => ({}) },
      dataDir: mkdtempSync(path.join(tmpdir(), 'coconut-lock-wait-')),
      log,
      waitOverrides,
    });
    const started = engine.startExecution('deploy', name, {
      deploymentId: name,
      service: 'api',
      version: '1.0.0',
      image: { registry: 'ecr', repository: 'api', tag: '1.0.0' },
      targetKind: 'ansible',
      environments: [{ name: 'prod', order: 0, bakeSeconds: 0, alarms: [], lockSeconds, buildEnv: [], buildAction: 'deploy' }],
    });
    return { engine, log, started };
  }

  async function until(what: string, check: () => Promise<boolean>, ms = 10_000, context = () => ''): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${context()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('adds no history event while another deployment holds the lock, and moves on once it is released', async () => {
    const key = lockKey('api', 'prod');
    expect(
      await store.putLock({ key, owner: 'holder', expiresAt: Math.floor(Date.now() / 1000) + 3600, waiters: {}, version: 1 }),
    ).toBe(true);
    const { engine, log, started } = start('waiter', 3600);
    await started;
    await until('the execution queued for the lock', async () => Boolean((await store.getLock(key))?.waiters.waiter));
    await new Promise((r) => setTimeout(r, 200));
    const queued = engine.events('waiter').length;
    await new Promise((r) => setTimeout(r, 2_000));
    const events = engine.events('waiter');
    expect(events.length, JSON.stringify(events.slice(queued, queued + 6))).toBe(queued);
    expect(events.filter((e) => e.type === 'StateEntered').map((e) => e.state)).toEqual([
      'Environments',
      'FreezeWindows?',
      'AcquireLock',
    ]);
    expect(engine.get('waiter')?.status).toBe('RUNNING');

    // The holder releases: the waiter is woken through its token and goes on.
    expect(await releaseLock({ store, orchestrator: engine, clock: { now: () => new Date() }, log }, key, 'holder')).toBe(true);
    await engine.waitFor('waiter');
    const after = engine.events('waiter');
    expect(after.find((e) => e.type === 'StateExited' && e.state === 'AcquireLock')).toBeDefined();
    expect(after.find((e) => e.type === 'StateEntered' && e.state === 'NeedsScan?')).toBeDefined();
    // (No deployment record exists here, so the steps after it fail and release the lock again.)
    expect((await store.getLock(key))?.owner).toBeUndefined();
  }, 30_000);

  it('asks again when its wait times out (once per lock term): a holder whose term ran out is passed over', async () => {
    const key = lockKey('api', 'prod');
    // Nobody will release this lock; its term ends in 5 s. The waiter's term (and so its wait) is 3 s:
    // short, but longer than one call of the step function on a busy machine (the task's timeout
    // covers that call too; on AWS the term is hours and the function's limit 15 minutes).
    const version = ((await store.getLock(key))?.version ?? 0) + 1;
    expect(await store.putLock({ key, owner: 'gone', expiresAt: Math.floor(Date.now() / 1000) + 5, waiters: {}, version })).toBe(
      true,
    );
    const { engine, started } = start('patient', 3);
    await started;
    // Taken means AcquireLock exited: the rest of the run (no deployment record here) ends at once
    // and releases the lock again, too fast for a poll of the lock record to be sure to see it.
    await until(
      'the waiter took the lock',
      async () => engine.events('patient').some((e) => e.type === 'StateExited' && e.state === 'AcquireLock'),
      30_000,
      () => JSON.stringify(engine.events('patient').map((e) => [e.type, e.state, e.error])),
    );
    await engine.waitFor('patient');
    const events = engine.events('patient');
    const retried = events.filter((e) => e.type === 'StateRetried' && e.state === 'AcquireLock').length;
    // Each round is one timeout and one retry of the same state (no Wait state, no other state).
    expect(retried).toBeGreaterThanOrEqual(1);
    expect(retried).toBeLessThanOrEqual(3);
    expect(events.filter((e) => e.type === 'StateEntered' && e.state === 'AcquireLock')).toHaveLength(1);
  }, 45_000);
});
