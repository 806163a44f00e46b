// The deploy state machine drawn from its definition (GET /api/state-machines/deploy), one
// environment's Map iteration at a time, each state colored by the execution's events.
// Layout: states in rows by their longest distance from the start (loops, if a machine has
// any, are drawn as back edges), ordered in a row by their parents' positions.
import { s } from './dom.js';

export const NODE_W = 176;
export const NODE_H = 34;
const GAP_X = 22;
const GAP_Y = 40;
const PAD = 16;

/** { positions: Map<name, {x, y, rank}>, width, height, back: Set<"from->to"> } */
export function layout(graph) {
  const byName = new Map(graph.states.map((st) => [st.name, st]));
  // Back edges: edges into a state that is on the depth-first path (the loops).
  const back = new Set();
  const visiting = new Set();
  const done = new Set();
  const dfs = (name) => {
    visiting.add(name);
    for (const e of byName.get(name)?.edges ?? []) {
      if (!byName.has(e.to)) continue;
      if (visiting.has(e.to)) back.add(`${name}->${e.to}`);
      else if (!done.has(e.to)) dfs(e.to);
    }
    visiting.delete(name);
    done.add(name);
  };
  dfs(graph.startAt);
  for (const st of graph.states) if (!done.has(st.name)) dfs(st.name);

  // Longest-path ranks over the forward edges (Kahn's order).
  const indegree = new Map(graph.states.map((st) => [st.name, 0]));
  const forward = (st) => st.edges.filter((e) => byName.has(e.to) && !back.has(`${st.name}->${e.to}`));
  for (const st of graph.states) for (const e of forward(st)) indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
  const rank = new Map(graph.states.map((st) => [st.name, 0]));
  const queue = graph.states.filter((st) => indegree.get(st.name) === 0).map((st) => st.name);
  const order = [];
  while (queue.length) {
    const name = queue.shift();
    order.push(name);
    for (const e of forward(byName.get(name))) {
      rank.set(e.to, Math.max(rank.get(e.to), rank.get(name) + 1));
      indegree.set(e.to, indegree.get(e.to) - 1);
      if (indegree.get(e.to) === 0) queue.push(e.to);
    }
  }

  // Rows, each ordered by the mean column of its parents (definition order breaks ties).
  const rows = [];
  for (const name of order) {
    const r = rank.get(name);
    if (!rows[r]) rows[r] = [];
    rows[r].push(name);
  }
  const column = new Map();
  const parents = new Map(graph.states.map((st) => [st.name, []]));
  for (const st of graph.states) for (const e of forward(st)) parents.get(e.to).push(st.name);
  const defIndex = new Map(graph.states.map((st, i) => [st.name, i]));
  rows.forEach((row, r) => {
    if (r > 0) {
      const score = (n) => {
        const ps = parents.get(n).filter((p) => column.has(p));
        return ps.length ? ps.reduce((a, p) => a + column.get(p), 0) / ps.length : defIndex.get(n);
      };
      row.sort((a, b) => score(a) - score(b) || defIndex.get(a) - defIndex.get(b));
    }
    row.forEach((n, i) => {
      column.set(n, i - (row.length - 1) / 2);
    });
  });
  const widest = Math.max(...rows.map((r) => r.length));
  const width = widest * NODE_W + (widest - 1) * GAP_X + 2 * PAD + 60;
  const positions = new Map();
  for (const [name, col] of column) {
    const r = rank.get(name);
    positions.set(name, {
      x: width / 2 + col * (NODE_W + GAP_X) - NODE_W / 2,
      y: PAD + r * (NODE_H + GAP_Y),
      rank: r,
    });
  }
  const height = PAD * 2 + rows.length * NODE_H + (rows.length - 1) * GAP_Y;
  return { positions, width, height, back };
}

/**
 * How far one environment got: per state 'active' | 'done' | 'failed', and the transitions it
 * took ("from->to"), from the normalized execution events of that Map iteration.
 */
export function statesOf(events, iteration, running) {
  const status = new Map();
  const taken = new Set();
  let previous;
  for (const e of events ?? []) {
    if (e.iteration !== iteration || !e.state) continue;
    if (e.type === 'StateEntered') {
      if (previous && previous !== e.state) taken.add(`${previous}->${e.state}`);
      previous = e.state;
      status.set(e.state, 'active');
    } else if (e.type === 'StateExited') {
      if (status.get(e.state) !== 'failed') status.set(e.state, 'done');
    } else if (e.type === 'StateFailed') {
      // A bake that runs its whole time ends in States.Timeout: the good way out. A lock wait
      // that times out asks again (its Retry): it is still waiting.
      const timeout = e.error === 'States.Timeout';
      status.set(e.state, timeout && e.state === 'Bake' ? 'done' : timeout && e.state === 'AcquireLock' ? 'active' : 'failed');
    }
  }
  if (!running) for (const [name, st] of status) if (st === 'active') status.set(name, 'stopped');
  return { status, taken };
}

// Glyphs that common system fonts have (headless Chromium on Linux has no emoji font).
const TYPE_MARK = { Choice: '◇', Wait: '◷', Pass: '→', Fail: '✗', Succeed: '✓', Map: '▤' };

function mark(state) {
  if (state.type !== 'Task') return TYPE_MARK[state.type] ?? '';
  if (state.integration?.startsWith('codebuild')) return '⚙';
  if (state.integration?.endsWith('waitForTaskToken')) return '✉';
  return 'λ';
}

/** The SVG of a graph with the states' statuses. */
export function renderGraph(graph, { status = new Map(), taken = new Set() } = {}) {
  const { positions, width, height, back } = layout(graph);
  const edges = s('g', { class: 'edges' });
  const nodes = s('g', { class: 'nodes' });
  for (const st of graph.states) {
    const from = positions.get(st.name);
    for (const e of st.edges) {
      const to = positions.get(e.to);
      if (!from || !to) continue;
      const key = `${st.name}->${e.to}`;
      const isBack = back.has(key);
      const x1 = from.x + NODE_W / 2;
      const y1 = from.y + NODE_H;
      const x2 = to.x + NODE_W / 2;
      const y2 = to.y;
      const d = isBack
        ? `M${from.x + NODE_W},${from.y + NODE_H / 2} C${from.x + NODE_W + 50},${from.y} ${to.x + NODE_W + 50},${to.y + NODE_H} ${to.x + NODE_W},${to.y + NODE_H / 2}`
        : `M${x1},${y1} C${x1},${y1 + GAP_Y / 1.4} ${x2},${y2 - GAP_Y / 1.4} ${x2},${y2}`;
      edges.append(
        s(
          'path',
          { d, class: `edge ${e.kind}${taken.has(key) ? ' taken' : ''}`, 'marker-end': 'url(#arrow)' },
          s('title', {}, `${st.name} → ${e.to}${e.label ? ` (${e.label})` : ''}`),
        ),
      );
    }
  }
  for (const st of graph.states) {
    const p = positions.get(st.name);
    if (!p) continue;
    const state = status.get(st.name) ?? 'idle';
    nodes.append(
      s(
        'g',
        {
          class: `node ${state} type-${st.type.toLowerCase()}`,
          transform: `translate(${p.x},${p.y})`,
          'data-state-name': st.name,
          'data-status': state,
        },
        s(
          'title',
          {},
          `${st.name} (${st.type}${st.integration ? `: ${st.integration}` : ''})${st.comment ? `\n${st.comment}` : ''}`,
        ),
        s('rect', { width: NODE_W, height: NODE_H, rx: st.type === 'Choice' ? 17 : 6 }),
        s('text', { x: 12, y: NODE_H / 2 + 4, class: 'mark' }, mark(st)),
        s('text', { x: 30, y: NODE_H / 2 + 4 }, st.name.length > 22 ? `${st.name.slice(0, 21)}…` : st.name),
      ),
    );
  }
  return s(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      class: 'state-machine',
      role: 'img',
      'aria-label': 'deploy state machine',
    },
    s(
      'defs',
      {},
      s(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }),
      ),
    ),
    edges,
    nodes,
  );
}
