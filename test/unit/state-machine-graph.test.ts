import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { layout, statesOf } from '../../dashboard/js/graph.js';
import { choiceLabel, stateGraph } from '../../src/core/read-models/state-machine-graph.ts';

const definition = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8'));

describe('State machine graph (core) and its layout (dashboard)', () => {
  const graph = stateGraph(definition);
  const inner = graph.states.find((s) => s.inner)?.inner;

  it('keeps every state and transition of deploy.asl.json, without parameters or ARNs', () => {
    expect(graph.startAt).toBe('Environments');
    expect(inner?.states.map((s) => s.name)).toEqual(Object.keys(definition.States.Environments.ItemProcessor.States));
    const names = new Set(inner?.states.map((s) => s.name));
    for (const s of inner?.states ?? []) for (const e of s.edges) expect(names.has(e.to), `${s.name} -> ${e.to}`).toBe(true);
    const deploy = inner?.states.find((s) => s.name === 'Deploy');
    expect(deploy).toMatchObject({ type: 'Task', integration: 'codebuild:startBuild.sync' });
    expect(deploy?.edges).toEqual([
      { to: 'RecordBaking', kind: 'next' },
      { to: 'PrepareRollback', kind: 'catch', label: 'States.ALL' },
    ]);
    expect(JSON.stringify(graph)).not.toMatch(/FunctionArn|Parameters|\$\{/);
  });

  it('labels choices in a few words', () => {
    expect(choiceLabel({ Variable: '$.lock.acquired', BooleanEquals: true, Next: 'x' })).toBe('lock.acquired == true');
    expect(choiceLabel({ Variable: '$.env.approval', IsPresent: true, Next: 'x' })).toBe('env.approval present');
  });

  it('lays the states out in rows without overlaps; only the rollout steps loop (waits are task tokens, not Wait-state rounds)', () => {
    const { positions, back, width, height } = layout(inner);
    expect(positions.size).toBe(inner?.states.length);
    // Two loops: a rollout's steps (issue 15: "the state machine graph shows the loop"), and a freeze
    // hold (a task token whose timeout is the window's opening) that asks the gate again when it times
    // out, once per window change. An ECS rollout follows ECS's own steps: after each PAUSE hook's
    // answer (CONTINUE, or ROLLBACK) it waits on a token again until the next ECS event — once per
    // ECS step, never per poll — except a bounded safety re-check when no ECS event came for
    // recheckSeconds (a lost or late EventBridge event; at most ~200 per rollout, ecs-rollout.ts), which
    // follows again on a fresh token. No Wait state is in the machine at all: nothing polls.
    expect([...back].sort()).toEqual([
      'ContinueEcsRollout->RecordEcsRolloutBaking',
      'EcsRecheckSaid?->FollowEcsRollout',
      'Frozen->FreezeGate',
      'NextStep->SelectStep',
      'RollBackEcsAtHook->FollowEcsRollout',
    ]);
    expect(inner?.states.filter((s) => s.type === 'Wait')).toEqual([]);
    // A loop is still drawn as a back edge.
    const looped = layout({
      startAt: 'A',
      states: [
        { name: 'A', type: 'Task', end: false, edges: [{ to: 'B', kind: 'next' }] },
        { name: 'B', type: 'Wait', end: false, edges: [{ to: 'A', kind: 'next' }] },
      ],
    });
    expect([...looped.back]).toEqual(['B->A']);
    const boxes = [...positions.values()];
    for (const a of boxes) for (const b of boxes) if (a !== b) expect(Math.abs(a.x - b.x) >= 176 || a.y !== b.y).toBe(true);
    expect(boxes.every((p) => p.x >= 0 && p.x + 176 <= width && p.y + 34 <= height)).toBe(true);
    // Forward transitions go down the page.
    expect(positions.get('Deploy')!.y).toBeGreaterThan(positions.get('AcquireLock')!.y);
    expect(positions.get('Rollback')!.y).toBeGreaterThan(positions.get('PrepareRollback')!.y);
  });

  it('colors one environment from the execution events: a full bake is done, an alarm is failed', () => {
    const ev = (type: string, state: string, iteration: number, error?: string) => ({ type, state, iteration, at: '', error });
    const events = [
      ev('StateEntered', 'Deploy', 0),
      ev('StateExited', 'Deploy', 0),
      ev('StateEntered', 'Bake', 0),
      ev('StateFailed', 'Bake', 0, 'States.Timeout'),
      ev('StateEntered', 'CheckAlarmsAfterBake', 0),
      ev('StateEntered', 'Deploy', 1),
      ev('StateExited', 'Deploy', 1),
      ev('StateEntered', 'Bake', 1),
      ev('StateFailed', 'Bake', 1, 'Coconut.AlarmFired'),
      ev('StateEntered', 'PrepareRollback', 1),
    ];
    const staging = statesOf(events, 0, true);
    expect(Object.fromEntries(staging.status)).toEqual({ Deploy: 'done', Bake: 'done', CheckAlarmsAfterBake: 'active' });
    expect([...staging.taken]).toEqual(['Deploy->Bake', 'Bake->CheckAlarmsAfterBake']);
    const prod = statesOf(events, 1, false);
    expect(prod.status.get('Bake')).toBe('failed');
    expect(prod.status.get('PrepareRollback')).toBe('stopped'); // the execution is no longer running
  });

  it('shows a lock wait whose safety-net timeout fired as still waiting, then done', () => {
    const ev = (type: string, state: string, error?: string) => ({ type, state, iteration: 0, at: '', error });
    const waiting = [ev('StateEntered', 'AcquireLock'), ev('StateFailed', 'AcquireLock', 'States.Timeout')];
    expect(statesOf(waiting, 0, true).status.get('AcquireLock')).toBe('active');
    const woken = [...waiting, ev('StateExited', 'AcquireLock'), ev('StateEntered', 'NeedsScan?')];
    expect(statesOf(woken, 0, true).status.get('AcquireLock')).toBe('done');
  });
});

describe('State machine graph: each part of a state it keeps', () => {
  it('labels every comparison the deploy machine may use, IsPresent false as absent, any other operator by name', () => {
    const label = (op: string, value: unknown) => choiceLabel({ Variable: '$.a.b', [op]: value, Next: 'x' });
    expect(label('StringEquals', 'ecs')).toBe('a.b == "ecs"');
    expect(label('NumericEquals', 0)).toBe('a.b == 0');
    expect(label('NumericGreaterThan', 1)).toBe('a.b > 1');
    expect(label('NumericLessThan', 1)).toBe('a.b < 1');
    expect(label('NumericGreaterThanEquals', 1)).toBe('a.b >= 1');
    expect(label('NumericLessThanEquals', 1)).toBe('a.b <= 1');
    expect(label('IsPresent', false)).toBe('a.b absent');
    expect(label('StringMatches', 'v*')).toBe('a.b StringMatches');
    // Only a leading "$." goes; a rule without a Variable (And/Or/Not) or an operator says what it can.
    expect(choiceLabel({ Variable: 'x.$.y', BooleanEquals: true })).toBe('x.$.y == true');
    expect(choiceLabel({ And: [], Next: 'x' })).toBe(' And');
    expect(choiceLabel({ Variable: '$.only', Next: 'x' })).toBe('only');
  });

  it('draws edges, ends, comments, integrations and inner machines as the definition has them', () => {
    const graph = stateGraph({
      StartAt: 'Choose',
      Comment: 'a small machine',
      States: {
        Choose: {
          Type: 'Choice',
          Comment: 'which way',
          Choices: [{ Variable: '$.go', BooleanEquals: true, Next: 'Work' }],
          Default: 'Done',
        },
        Work: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Next: 'Each',
          Catch: [{ ErrorEquals: ['States.Timeout', 'States.TaskFailed'], Next: 'Failed' }],
        },
        Each: {
          Type: 'Map',
          Iterator: { StartAt: 'One', States: { One: { Type: 'Pass', End: true } } },
          Next: 'Plain',
        },
        Plain: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:x', End: true },
        Done: { Type: 'Succeed' },
        Failed: { Type: 'Fail' },
      },
    } as never);
    expect(graph).toStrictEqual({
      startAt: 'Choose',
      comment: 'a small machine',
      states: [
        {
          name: 'Choose',
          type: 'Choice',
          comment: 'which way',
          end: false,
          edges: [
            { to: 'Work', kind: 'choice', label: 'go == true' },
            { to: 'Done', kind: 'default', label: 'otherwise' },
          ],
        },
        {
          name: 'Work',
          type: 'Task',
          integration: 'lambda:invoke',
          end: false,
          edges: [
            { to: 'Each', kind: 'next' },
            { to: 'Failed', kind: 'catch', label: 'States.Timeout, States.TaskFailed' },
          ],
        },
        {
          name: 'Each',
          type: 'Map',
          end: false,
          edges: [{ to: 'Plain', kind: 'next' }],
          inner: { startAt: 'One', states: [{ name: 'One', type: 'Pass', end: true, edges: [] }] },
        },
        // A plain Lambda ARN is not a service integration.
        { name: 'Plain', type: 'Task', end: true, edges: [] },
        { name: 'Done', type: 'Succeed', end: true, edges: [] },
        { name: 'Failed', type: 'Fail', end: true, edges: [] },
      ],
    });
  });
});
