// #/deployments/ID — one deployment: its stages, and the state machine drawn from the ASL with
// each state colored by the execution's events, one environment (Map iteration) at a time.
import { get } from '../api.js';
import { ago, h, stateBadge, stepTag } from '../dom.js';
import { renderGraph, statesOf } from '../graph.js';
import { triggerText } from '../release-words.js';
import { hasEnded } from '../states.js';
import { approvalsPanel } from './approvals.js';
import { frozenPanel } from './freeze.js';
import { live, replace } from './view.js';

let graphCache;

let selectedIteration = 0;

function stageCard(stage, index, approvals, services) {
  const approval = approvals.find((a) => a.approvalId === stage.approvalId);
  return h(
    'article.stage',
    { 'data-environment': stage.environment, 'data-state': stage.state },
    h(
      'header',
      {},
      h(
        'button.tab',
        { type: 'button', 'aria-pressed': String(index === selectedIteration), onclick: () => select(index) },
        stage.environment,
      ),
      stateBadge(stage.state, stage.rehearsal),
      stepTag(stage),
    ),
    stage.reason ? h('div.reason', {}, stage.reason) : null,
    stage.alarm ? h('div.alarm', {}, `alarm ${stage.alarm}`) : null,
    stage.rolledBackTo ? h('div.meta', {}, `rolled back to ${stage.rolledBackTo}`) : null,
    h(
      'div.meta',
      {},
      `from ${stage.previousVersion ?? '—'}${stage.finishedAt ? ` · ended ${ago(stage.finishedAt)}` : stage.startedAt ? ` · started ${ago(stage.startedAt)}` : ''}`,
    ),
    approval?.purpose === 'freeze'
      ? frozenPanel([approval], services, () => deployment(currentId))
      : approval
        ? approvalsPanel([approval], () => deployment(currentId))
        : null,
  );
}

let currentId;

/** A different deployment starts on its first environment. */
export function openDeployment(id) {
  if (id !== currentId) selectedIteration = 0;
  return deployment(id);
}

function select(index) {
  selectedIteration = index;
  deployment(currentId);
}

/** The states one environment went through, in order, each once. */
function pathList(events, iteration, states) {
  const seen = [];
  for (const e of events ?? [])
    if (e.iteration === iteration && e.type === 'StateEntered' && seen.at(-1) !== e.state) seen.push(e.state);
  return h('ol.path', { 'aria-label': 'steps taken' }, ...seen.map((name) => h(`li.${states.get(name) ?? 'idle'}`, {}, name)));
}

function stepList(events, iteration) {
  const rows = (events ?? []).filter((e) => e.iteration === iteration && e.state && e.type !== 'StateExited');
  return h(
    'ol.steps',
    {},
    ...rows.map((e) =>
      h(
        `li.${e.type === 'StateFailed' ? 'failed' : 'entered'}`,
        {},
        h('span.when', {}, new Date(e.at).toLocaleTimeString()),
        ' ',
        e.state,
        e.type === 'StateFailed' ? ` — ${e.error ?? 'failed'}${e.cause ? `: ${e.cause}` : ''}` : '',
      ),
    ),
  );
}

export async function deployment(id) {
  currentId = id;
  graphCache ??= (await get('/api/state-machines/deploy')).graph;
  const inner = graphCache.states.find((st) => st.inner)?.inner ?? graphCache;
  await live('deployment', async () => {
    const [{ deployment: d, execution }, status] = await Promise.all([
      get(`/api/deployments/${encodeURIComponent(id)}/events`),
      get('/api/status'),
    ]);
    if (selectedIteration >= d.environments.length) selectedIteration = 0;
    const running = execution?.status === 'RUNNING';
    const { status: states, taken } = statesOf(execution?.events, selectedIteration, running);
    replace(
      'deployment',
      h(
        'section.panel',
        {},
        h('p', {}, h('a', { href: '#/' }, '← overview')),
        h(
          'h2',
          {},
          `${d.service} ${d.version}`,
          d.kind === 'rollback' ? h('span.kind-tag', {}, 'rollback') : null,
          ' ',
          stateBadge(d.state),
        ),
        h(
          'div.meta',
          {},
          `${d.deploymentId} · ${triggerText(d.trigger)} · ${new Date(d.createdAt).toLocaleString()}`,
          d.image?.digest ? ` · ${d.image.digest.slice(0, 19)}…` : '',
          execution ? ` · execution ${execution.status.toLowerCase()}` : ' · no execution found',
        ),
        execution?.cause && execution.status !== 'RUNNING' && execution.status !== 'SUCCEEDED'
          ? h('div.reason', {}, execution.cause)
          : null,
        h('div.stages', {}, ...d.stages.map((st, i) => stageCard(st, i, status.approvals, status.services))),
      ),
      h(
        'section.panel',
        {},
        h('h2', {}, `State machine — ${d.environments[selectedIteration] ?? ''}`),
        h(
          'div.legend',
          {},
          ...['done', 'active', 'failed', 'idle'].map((k) =>
            h(`span.key.${k}`, {}, { done: 'done', active: 'running', failed: 'failed', idle: 'not reached' }[k]),
          ),
        ),
        pathList(execution?.events, selectedIteration, states),
        h('div.graph-scroll', {}, renderGraph(inner, { status: states, taken })),
        h('details', {}, h('summary', {}, 'Steps'), stepList(execution?.events, selectedIteration)),
      ),
    );
    const stillGoing = running || d.stages.some((st) => !hasEnded(st.state));
    return stillGoing ? undefined : false;
  });
}
