/**
 * What runs where (src/core/read-models/status.ts), read from a DynamoDB store (dynalite) the
 * records were written to: the version per environment, the stage to show, whether someone must
 * look, the health from the alarms, and approvals without their task token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import type { AlarmStatus, Alarms, Store } from '../../src/core/ports.ts';
import { healthOf, publicApproval, serviceStatus } from '../../src/core/read-models/status.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { approvalRecord, deploymentRecord, environmentState, stageRecord } from '../support/history.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
beforeAll(async () => ({ store, dynamo } = await dynaliteStore()), 60_000);
afterAll(() => dynamo?.stop());

const config = parseConfig(`
services:
  - name: demo-api
    image: { registry: ecr, repository: demo-api }
    target: { kind: helm, chart: charts/api }
    environments:
      - { name: staging, bake: 1m, alarms: [api-5xx, api-latency] }
      - { name: prod, bake: 5m, alarms: [api-5xx] }
      - { name: qa, bake: 0s }
  - name: demo-web
    image: { registry: ecr, repository: demo-web }
    target: { kind: helm, chart: charts/web }
    environments:
      - { name: prod, bake: 1m }
`);

const at = (minute: number) => new Date(Date.UTC(2024, 4, 1, 10, minute)).toISOString();

/** Deployments of demo-api, newest last, each with its stages in the given states (staging, prod, qa). */
async function seed(target: Store) {
  const states: [StageRecord['state'], StageRecord['state'], StageRecord['state']][] = [
    ['SUCCEEDED', 'ROLLBACK_FAILED', 'PENDING'],
    ['SUCCEEDED', 'AWAITING_APPROVAL', 'PENDING'],
    // The newest: staging failed, so prod was skipped and qa never left PENDING.
    ['FAILED', 'SKIPPED', 'PENDING'],
  ];
  for (const [i, envStates] of states.entries()) {
    const dep = deploymentRecord(`demo-api-${i}-0123456789ab`, at(i * 10), {
      version: `1.${i}.0`,
      image: { registry: 'ecr', repository: 'demo-api', tag: `1.${i}.0` },
      environments: ['staging', 'prod', 'qa'],
    });
    await target.putHistoryItem({ kind: 'deployment', data: dep });
    for (const [j, env] of (['staging', 'prod', 'qa'] as const).entries()) {
      await target.putHistoryItem({ kind: 'stage', data: stageRecord(dep, env, envStates[j] as StageRecord['state']) });
    }
  }
  await target.putHistoryItem({ kind: 'environment', data: environmentState('staging', '1.1.0', 'demo-api-1-0123456789ab') });
  // prod runs something, but nothing is known good there.
  const prod = environmentState('prod', '1.0.0', 'demo-api-0-0123456789ab');
  const { lastKnownGood: _none, ...prodState } = prod;
  await target.putHistoryItem({ kind: 'environment', data: prodState });
}

/** The Alarms port as the caller passes it: answers the states of the names it is asked, records the calls. */
function alarmsPort(states: Record<string, AlarmStatus['state']>): Alarms & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    getStates: async (names) => {
      calls.push(names);
      return names.filter((n) => n in states).map((name) => ({ name, state: states[name] as AlarmStatus['state'] }));
    },
  };
}

describe('serviceStatus', () => {
  beforeAll(() => seed(store), 60_000);

  it('shows per environment what runs, what is known good and the latest stage that ran', async () => {
    const [api, web] = await serviceStatus(config, store);
    expect(api?.service).toBe('demo-api');
    expect(api?.targetKind).toBe('helm');
    expect(web).toEqual({ service: 'demo-web', targetKind: 'helm', environments: [{ name: 'prod', needsAttention: false }] });
    const [staging, prod, qa] = api?.environments ?? [];
    expect(staging).toMatchObject({
      name: 'staging',
      current: { version: '1.1.0', deploymentId: 'demo-api-1-0123456789ab' },
      lastKnownGood: { version: '1.1.0' },
      latest: { deploymentId: 'demo-api-2-0123456789ab', state: 'FAILED' },
      needsAttention: false,
    });
    // Without an Alarms port there is no health at all (not NONE: nobody asked).
    expect(staging).not.toHaveProperty('health');
    // A SKIPPED stage never ran: the approval waiting behind it is what prod shows.
    expect(prod).toMatchObject({ name: 'prod', current: { version: '1.0.0' }, latest: { state: 'AWAITING_APPROVAL' } });
    expect(prod).not.toHaveProperty('lastKnownGood');
    expect(prod?.needsAttention).toBe(false);
    // Nothing ever ran in qa: the newest queued stage.
    expect(qa).toEqual({
      name: 'qa',
      latest: expect.objectContaining({ deploymentId: 'demo-api-2-0123456789ab', state: 'PENDING' }),
      needsAttention: false,
    });
  });

  it('asks for the last ten stages of each environment', async () => {
    const queries: unknown[] = [];
    const spy = Object.assign(Object.create(store) as Store, {
      listStages: (q: Parameters<Store['listStages']>[0]) => {
        queries.push(q);
        return store.listStages(q);
      },
    });
    await serviceStatus(config, spy);
    expect(queries).toContainEqual({ service: 'demo-api', environment: 'prod', limit: 10 });
    expect(queries).toHaveLength(4);
  });

  it('needs attention where a rollback failed and nothing ran since; a skip alone shows the last that ran', async () => {
    const stages = (list: StageRecord[]) => Object.assign(Object.create(store) as Store, { listStages: async () => list });
    const dep = deploymentRecord('demo-api-9-0123456789ab', at(50));
    const failed = stageRecord(dep, 'prod', 'ROLLBACK_FAILED');
    const skipped = stageRecord(dep, 'prod', 'SKIPPED');
    const pending = stageRecord(dep, 'prod', 'PENDING');
    const prodOf = async (list: StageRecord[]) => (await serviceStatus(config, stages(list)))[1]?.environments[0];
    expect(await prodOf([pending, failed])).toMatchObject({ latest: { state: 'ROLLBACK_FAILED' }, needsAttention: true });
    expect(await prodOf([skipped, failed])).toMatchObject({ latest: { state: 'ROLLBACK_FAILED' }, needsAttention: true });
    // Only skips and queued stages: the skip (it says why nothing ran), not the queued one.
    expect(await prodOf([pending, skipped])).toMatchObject({ latest: { state: 'SKIPPED' }, needsAttention: false });
    expect(await prodOf([])).toEqual({ name: 'prod', needsAttention: false });
  });

  it('adds the health of each environment from its alarms, asking for every alarm once', async () => {
    const alarms = alarmsPort({ 'api-5xx': 'OK', 'api-latency': 'INSUFFICIENT_DATA' });
    const [api, web] = await serviceStatus(config, store, alarms);
    expect(alarms.calls).toEqual([['api-5xx', 'api-latency']]);
    const [staging, prod, qa] = api?.environments ?? [];
    expect(staging?.health).toEqual({
      state: 'INSUFFICIENT_DATA',
      alarms: [
        { name: 'api-5xx', state: 'OK' },
        { name: 'api-latency', state: 'INSUFFICIENT_DATA' },
      ],
    });
    expect(prod?.health).toEqual({ state: 'OK', alarms: [{ name: 'api-5xx', state: 'OK' }] });
    expect(qa?.health).toEqual({ state: 'NONE', alarms: [] });
    expect(web?.environments[0]?.health).toEqual({ state: 'NONE', alarms: [] });
  });

  it('shows an alarm CloudWatch does not know as UNKNOWN', async () => {
    const [api] = await serviceStatus(config, store, alarmsPort({ 'api-5xx': 'OK' }));
    expect(api?.environments[0]?.health).toEqual({
      state: 'UNKNOWN',
      alarms: [
        { name: 'api-5xx', state: 'OK' },
        { name: 'api-latency', state: 'UNKNOWN' },
      ],
    });
  });

  it('shows every alarm as UNKNOWN when the Alarms port fails, naming the error but not its message', async () => {
    const failing: Alarms = {
      getStates: async () => {
        const error = new Error('User arn:aws:iam::123456789012:role/x is not authorized');
        error.name = 'AccessDeniedException';
        throw error;
      },
    };
    const [api] = await serviceStatus(config, store, failing);
    const reason = 'alarm states unavailable (AccessDeniedException)';
    expect(api?.environments[1]?.health).toEqual({ state: 'UNKNOWN', alarms: [{ name: 'api-5xx', state: 'UNKNOWN', reason }] });
    expect(JSON.stringify(api)).not.toContain('123456789012');
  });

  it('does not call the Alarms port when no environment watches an alarm', async () => {
    const quiet = parseConfig(`
services:
  - name: demo-web
    image: { registry: ecr, repository: demo-web }
    target: { kind: helm, chart: charts/web }
    environments:
      - { name: prod, bake: 1m }
`);
    const alarms = alarmsPort({});
    const [web] = await serviceStatus(quiet, store, alarms);
    expect(alarms.calls).toEqual([]);
    expect(web?.environments[0]?.health).toEqual({ state: 'NONE', alarms: [] });
  });
});

describe('healthOf', () => {
  const alarm = (name: string, state: AlarmStatus['state']): AlarmStatus => ({ name, state });

  it('is the worst state of the alarms: ALARM, then UNKNOWN, then INSUFFICIENT_DATA, then OK; NONE without alarms', () => {
    const all = [alarm('a', 'OK'), alarm('b', 'INSUFFICIENT_DATA'), alarm('c', 'UNKNOWN'), alarm('d', 'ALARM')];
    expect(healthOf(all)).toEqual({ state: 'ALARM', alarms: all });
    expect(healthOf(all.slice(0, 3)).state).toBe('UNKNOWN');
    expect(healthOf(all.slice(0, 2)).state).toBe('INSUFFICIENT_DATA');
    expect(healthOf(all.slice(0, 1)).state).toBe('OK');
    expect(healthOf([alarm('d', 'ALARM'), alarm('a', 'OK')]).state).toBe('ALARM');
    expect(healthOf([])).toEqual({ state: 'NONE', alarms: [] });
  });
});

describe('publicApproval', () => {
  it('keeps everything of an approval but the task token that resumes its execution', () => {
    const approval = approvalRecord('apr-0123456789', 'demo-api-0-0123456789ab', 'PENDING');
    const shown = publicApproval(approval);
    expect(shown).not.toHaveProperty('taskToken');
    const { taskToken: _token, ...rest } = approval;
    expect(shown).toEqual(rest);
  });
});
