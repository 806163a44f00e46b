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

  it('lays the states out in rows without overlaps; nothing loops (waits are task tokens, not Wait-state rounds)', () => {
    const { positions, back, width, height } = layout(inner);
    expect(positions.size).toBe(inner?.states.length);
    // The one loop: a freeze hold (a task token whose timeout is the window's opening) asks the
    // gate again when it times out, once per window change, never on a polling interval.
    expect([...back]).toEqual(['Frozen->FreezeGate']);
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
