// The Coconut dashboard: plain ES modules, no build step. Routes live in the hash so that any
// static host can serve the page: #/ overview, #/deployments/ID, #/history, #/metrics.
import { ApiError, get, post, setApiBase } from './api.js';
import { currentUser, initAuth } from './auth.js';
import { barChart } from './charts.js';
import { ago, clear, duration, h, healthPill, stateBadge } from './dom.js';
import { renderGraph, statesOf } from './graph.js';

const main = document.getElementById('main');
const POLL_MS = 1500;
let timer;
let route = '';
let graphCache;

function schedule(fn, ms = POLL_MS) {
  clearTimeout(timer);
  timer = setTimeout(fn, ms);
}

function setLive(ok, text) {
  const live = document.getElementById('live');
  live.className = `live ${ok ? 'ok' : 'down'}`;
  live.textContent = text;
}

function toast(text, tone = 'good') {
  const el = h(`div.toast.${tone}`, { role: 'status' }, text);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), 6000);
}

function errorBox(error) {
  return h('div.error', { role: 'alert' }, error instanceof ApiError ? error.message : `Cannot reach Coconut: ${error.message}`);
}

/** Re-renders a view every POLL_MS while its route is shown; keeps the old content on errors. */
let generation = 0;
async function live(name, render, intervalMs = POLL_MS) {
  const mine = ++generation; // a newer view (or the same one re-opened) stops this loop
  clearTimeout(timer);
  const tick = async () => {
    if (mine !== generation) return;
    try {
      const again = await render();
      setLive(true, `live · ${new Date().toLocaleTimeString()}`);
      if (again !== false) schedule(tick, intervalMs);
    } catch (error) {
      setLive(false, 'reconnecting…');
      if (!main.dataset.view || main.dataset.view !== name) clear(main).append(errorBox(error));
      schedule(tick, intervalMs);
    }
  };
  await tick();
}

/**
 * Swaps the view's content. Parts marked data-keep whose key is unchanged keep their old
 * elements: an approval card being typed into or clicked is never rebuilt under the user.
 */
function replace(name, ...children) {
  const kept = new Map([...main.querySelectorAll('[data-keep]')].map((el) => [el.dataset.keep, el]));
  const fresh = h('div', {}, ...children);
  for (const el of fresh.querySelectorAll('[data-keep]')) {
    const old = kept.get(el.dataset.keep);
    if (old) el.replaceWith(old);
  }
  main.dataset.view = name;
  clear(main).append(...fresh.childNodes);
}

// ---------------------------------------------------------------- overview

function approvalsPanel(approvals, onDecided) {
  if (!approvals.length) return null;
  return h(
    'section.panel.approvals',
    { 'aria-labelledby': 'approvals-title', 'data-keep': `approvals:${approvals.map((a) => a.approvalId).join(',')}` },
    h('h2#approvals-title', {}, `Waiting for approval (${approvals.length})`),
    ...approvals.map((a) => {
      const commentId = `comment-${a.approvalId}`;
      const decide = (decision) => async (event) => {
        event.target.disabled = true;
        try {
          const comment = document.getElementById(commentId)?.value.trim();
          const res = await post(`/api/approvals/${encodeURIComponent(a.approvalId)}/${decision}`, comment ? { comment } : {});
          toast(`${res.approval.status.toLowerCase()}: ${a.service} ${a.version} on ${a.environment}`);
          onDecided();
        } catch (error) {
          toast(error.message, 'bad');
          event.target.disabled = false;
        }
      };
      return h(
        'article.approval',
        { 'data-approval': a.approvalId },
        h(
          'div.approval-what',
          {},
          h('strong', {}, a.service),
          ' ',
          h('span.version', {}, a.fromVersion ?? '—'),
          ' → ',
          h('span.version.new', {}, a.version),
          ' on ',
          h('strong', {}, a.environment),
        ),
        h(
          'div.meta',
          {},
          `requested by ${a.requestedBy} at ${new Date(a.requestedAt).toLocaleTimeString()} · expires ${new Date(a.expiresAt).toLocaleString()} · `,
          h('a', { href: `#/deployments/${encodeURIComponent(a.deploymentId)}` }, 'details'),
        ),
        h(
          'div.actions',
          {},
          h('input', { id: commentId, type: 'text', placeholder: 'comment (optional)', maxlength: 500, 'aria-label': 'comment' }),
          h('button.approve', { type: 'button', onclick: decide('approve') }, 'Approve'),
          h('button.reject', { type: 'button', onclick: decide('reject') }, 'Reject'),
        ),
      );
    }),
  );
}

function envColumns(services) {
  const columns = [];
  for (const svc of services) for (const e of svc.environments) if (!columns.includes(e.name)) columns.push(e.name);
  return columns;
}

function cell(svc, env) {
  if (!env) return h('td.cell.none', {}, '');
  const latest = env.latest;
  const bad = latest && ['ROLLED_BACK', 'FAILED', 'ROLLBACK_FAILED', 'REJECTED', 'INTERRUPTED'].includes(latest.state);
  return h(
    'td.cell',
    { 'data-service': svc.service, 'data-environment': env.name },
    h('div.env-name', {}, env.name),
    h('div.running', { title: 'running now' }, env.current?.version ?? '—'),
    healthPill(env.health),
    latest
      ? h(
          'a.latest',
          { href: `#/deployments/${encodeURIComponent(latest.deploymentId)}` },
          h('span.version', {}, latest.version),
          ' ',
          stateBadge(latest.state, latest.rehearsal),
          h('span.when', {}, ` ${ago(latest.updatedAt)}`),
        )
      : h('div.latest.muted', {}, 'no deployment yet'),
    latest?.alarm ? h('div.alarm', {}, `alarm ${latest.alarm}`) : null,
    bad && latest.reason ? h('div.reason', {}, latest.reason) : null,
    env.needsAttention ? h('div.attention', {}, 'needs attention: the rollback failed') : null,
  );
}

function grid(services) {
  const columns = envColumns(services);
  return h(
    'section.panel',
    { 'aria-labelledby': 'grid-title' },
    h('h2#grid-title', {}, 'Services'),
    h(
      'table.grid',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, 'service'), ...columns.map((c) => h('th', {}, c)))),
      h(
        'tbody',
        {},
        ...services.map((svc) =>
          h(
            'tr',
            { 'data-service': svc.service },
            h('th.svc', { scope: 'row' }, h('div', {}, svc.service), h('div.kind', {}, svc.targetKind)),
            ...columns.map((c) =>
              cell(
                svc,
                svc.environments.find((e) => e.name === c),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function deploymentsList(deployments) {
  return h(
    'section.panel',
    { 'aria-labelledby': 'recent-title' },
    h('h2#recent-title', {}, 'Recent deployments'),
    deployments.length === 0
      ? h('p.muted', {}, 'None yet. Push an image (npx coconut push demo-api:1.0.0) or run npx coconut deploy.')
      : h(
          'ul.deployments',
          {},
          ...deployments.map((d) =>
            h(
              'li',
              { 'data-deployment': d.deploymentId },
              h(
                'a',
                { href: `#/deployments/${encodeURIComponent(d.deploymentId)}` },
                h('strong', {}, d.service),
                ' ',
                h('span.version', {}, d.version),
                d.kind === 'rollback' ? h('span.kind-tag', {}, 'rollback') : null,
                ' ',
                stateBadge(d.state),
              ),
              h(
                'span.stages',
                {},
                ...d.stages.map((st) =>
                  h(`span.stage-dot.${st.state}`, { title: `${st.environment}: ${st.state}` }, st.environment),
                ),
              ),
              h(
                'span.meta',
                {},
                `${d.trigger?.kind ?? ''}${d.trigger?.actor ? ` by ${d.trigger.actor}` : ''} · ${ago(d.createdAt)}`,
              ),
            ),
          ),
        ),
  );
}

async function overview() {
  await live('overview', async () => {
    const [status, deps] = await Promise.all([get('/api/status'), get('/api/deployments?limit=15')]);
    replace(
      'overview',
      approvalsPanel(status.approvals, () => overview()),
      grid(status.services),
      deploymentsList(deps.deployments),
    );
  });
}

// ---------------------------------------------------------------- deployment detail

let selectedIteration = 0;

function stageCard(stage, index, approvals) {
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
    ),
    stage.reason ? h('div.reason', {}, stage.reason) : null,
    stage.alarm ? h('div.alarm', {}, `alarm ${stage.alarm}`) : null,
    stage.rolledBackTo ? h('div.meta', {}, `rolled back to ${stage.rolledBackTo}`) : null,
    h(
      'div.meta',
      {},
      `from ${stage.previousVersion ?? '—'}${stage.finishedAt ? ` · ended ${ago(stage.finishedAt)}` : stage.startedAt ? ` · started ${ago(stage.startedAt)}` : ''}`,
    ),
    approval ? approvalsPanel([approval], () => deployment(currentId)) : null,
  );
}

let currentId;
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

async function deployment(id) {
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
          `${d.deploymentId} · ${d.trigger?.kind ?? ''}${d.trigger?.actor ? ` by ${d.trigger.actor}` : ''} · ${new Date(d.createdAt).toLocaleString()}`,
          d.image?.digest ? ` · ${d.image.digest.slice(0, 19)}…` : '',
          execution ? ` · execution ${execution.status.toLowerCase()}` : ' · no execution found',
        ),
        execution?.cause && execution.status !== 'RUNNING' && execution.status !== 'SUCCEEDED'
          ? h('div.reason', {}, execution.cause)
          : null,
        h('div.stages', {}, ...d.stages.map((st, i) => stageCard(st, i, status.approvals))),
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
    const stillGoing =
      running ||
      d.stages.some(
        (st) =>
          !['SUCCEEDED', 'REJECTED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'FAILED', 'INTERRUPTED', 'SKIPPED'].includes(st.state),
      );
    return stillGoing ? undefined : false;
  });
}

// ---------------------------------------------------------------- history

function params() {
  const q = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(q);
}

const STATES = [
  'SUCCEEDED',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
  'FAILED',
  'REJECTED',
  'AWAITING_APPROVAL',
  'DEPLOYING',
  'BAKING',
  'ROLLING_BACK',
  'PENDING',
  'SKIPPED',
  'INTERRUPTED',
];

function select_(name, label, options, value, onchange) {
  return h(
    'label',
    {},
    label,
    h('select', { name, onchange }, ...options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))),
  );
}

async function historyView() {
  const status = await get('/api/status');
  const services = status.services.map((s) => s.service);
  const p = params();
  const service = p.get('service') ?? services[0];
  const env = p.get('env') ?? '';
  const state = p.get('state') ?? '';
  const text = p.get('q') ?? '';
  const go = (changes) => {
    const next = new URLSearchParams({ service, env, state, q: text, ...changes });
    for (const [k, v] of [...next]) if (!v) next.delete(k);
    location.hash = `#/history?${next}`;
  };
  const envs = status.services.find((s) => s.service === service)?.environments.map((e) => e.name) ?? [];
  await live('history', async () => {
    const query = new URLSearchParams({ limit: '200', ...(env ? { environment: env } : {}) });
    const data = await get(`/api/history/${encodeURIComponent(service)}?${query}`);
    const rows = data.stages.filter(
      (st) => (!state || st.state === state) && (!text || st.version.includes(text) || st.deploymentId.includes(text)),
    );
    replace(
      'history',
      h(
        'section.panel',
        {},
        h('h2', {}, 'History'),
        h(
          'form.filters',
          { onsubmit: (e) => e.preventDefault(), 'data-keep': `history-filters:${service}|${env}|${state}|${text}` },
          select_(
            'service',
            'service',
            services.map((x) => [x, x]),
            service,
            (e) => go({ service: e.target.value, env: '' }),
          ),
          select_('env', 'environment', [['', 'all'], ...envs.map((x) => [x, x])], env, (e) => go({ env: e.target.value })),
          select_('state', 'state', [['', 'all'], ...STATES.map((x) => [x, x])], state, (e) => go({ state: e.target.value })),
          h(
            'label',
            {},
            'version',
            h('input#history-q', { type: 'search', value: text, placeholder: '1.2', onchange: (e) => go({ q: e.target.value }) }),
          ),
        ),
        rows.length === 0
          ? h('p.muted', {}, 'No deployments match.')
          : h(
              'table.history',
              {},
              h(
                'thead',
                {},
                h('tr', {}, ...['version', 'environment', 'state', 'from', 'why', 'when'].map((c) => h('th', {}, c))),
              ),
              h(
                'tbody',
                {},
                ...rows.map((st) =>
                  h(
                    'tr',
                    { 'data-deployment': st.deploymentId },
                    h(
                      'td',
                      { 'data-label': 'version' },
                      h('a', { href: `#/deployments/${encodeURIComponent(st.deploymentId)}` }, st.version),
                      st.kind === 'rollback' ? h('span.kind-tag', {}, 'rollback') : null,
                    ),
                    h('td', { 'data-label': 'environment' }, st.environment),
                    h('td', { 'data-label': 'state' }, stateBadge(st.state, st.rehearsal)),
                    h('td', { 'data-label': 'from' }, st.previousVersion ?? '—'),
                    h('td.reason-cell', { 'data-label': 'why' }, st.reason ?? ''),
                    h('td', { 'data-label': 'when', title: st.updatedAt }, ago(st.updatedAt)),
                  ),
                ),
              ),
            ),
      ),
    );
  });
}

// ---------------------------------------------------------------- metrics

function tile(label, value, hint) {
  return h('div.tile', {}, h('div.tile-label', {}, label), h('div.tile-value', {}, value), h('div.tile-hint', {}, hint));
}

async function metricsView() {
  const status = await get('/api/status');
  const services = status.services.map((s) => s.service);
  const p = params();
  const service = p.get('service') ?? services[0];
  const days = p.get('days') ?? '30';
  await live(
    'metrics',
    async () => {
      const { metrics: m } = await get(`/api/metrics/${encodeURIComponent(service)}?days=${encodeURIComponent(days)}`);
      const short = (d) => d.slice(5);
      replace(
        'metrics',
        h(
          'section.panel',
          {},
          h('h2', {}, `DORA metrics — ${service} in ${m.environment}`),
          h(
            'form.filters',
            { onsubmit: (e) => e.preventDefault(), 'data-keep': `metrics-filters:${service}|${days}` },
            select_(
              'service',
              'service',
              services.map((x) => [x, x]),
              service,
              (e) => (location.hash = `#/metrics?service=${encodeURIComponent(e.target.value)}&days=${days}`),
            ),
            select_(
              'days',
              'period',
              [
                ['7', '7 days'],
                ['30', '30 days'],
                ['90', '90 days'],
              ],
              days,
              (e) => (location.hash = `#/metrics?service=${encodeURIComponent(service)}&days=${e.target.value}`),
            ),
          ),
          h(
            'div.tiles',
            {},
            tile(
              'Deployment frequency',
              `${m.deploymentFrequency.perDay.toFixed(2)}/day`,
              `${m.deploymentFrequency.total} to ${m.environment} in ${m.window.days} days`,
            ),
            tile('Lead time for changes', duration(m.leadTime.medianSeconds), 'median, push to production'),
            tile(
              'Change failure rate',
              m.changeFailureRate.rate === undefined ? '—' : `${Math.round(m.changeFailureRate.rate * 100)}%`,
              `${m.changeFailureRate.failures} of ${m.changeFailureRate.changes} changes`,
            ),
            tile(
              'Time to restore',
              duration(m.timeToRestore.medianSeconds),
              `median of ${m.timeToRestore.incidents.length} incident(s)`,
            ),
          ),
          h(
            'div.charts',
            {},
            h(
              'figure',
              {},
              h('figcaption', {}, 'Deployments per day'),
              barChart({
                title: 'deployments per day',
                bars: m.deploymentFrequency.daily.map((d) => ({ label: short(d.date), value: d.count })),
              }),
            ),
            h(
              'figure',
              {},
              h('figcaption', {}, 'Lead time per change'),
              barChart({
                title: 'lead time per change',
                format: duration,
                bars: m.leadTime.samples
                  .slice(-30)
                  .map((x) => ({ label: x.version, value: x.seconds, title: `${x.version}: ${duration(x.seconds)}` })),
              }),
            ),
            h(
              'figure',
              {},
              h('figcaption', {}, 'Changes per week (red: failed)'),
              barChart({
                title: 'changes and failures per week',
                bars: m.changeFailureRate.weekly.map((w) => ({
                  label: short(w.week),
                  value: w.changes,
                  title: `week of ${w.week}: ${w.failures} of ${w.changes} failed`,
                  parts: [
                    { value: w.changes - w.failures, tone: 'bar' },
                    { value: w.failures, tone: 'bar-bad' },
                  ],
                })),
              }),
            ),
            h(
              'figure',
              {},
              h('figcaption', {}, 'Time to restore per incident'),
              barChart({
                title: 'time to restore per incident',
                format: duration,
                bars: m.timeToRestore.incidents.map((i) => ({
                  label: i.version,
                  value: i.seconds ?? 0,
                  tone: 'bar-bad',
                  title: `${i.version} ${i.state}${i.alarm ? ` (${i.alarm})` : ''}: ${i.seconds === undefined ? 'not restored yet' : duration(i.seconds)}`,
                })),
              }),
            ),
          ),
          h(
            'p.muted',
            {},
            'Production is the last environment in promotion order. Rollback executions count as restorations, not changes; rehearsals count nowhere.',
          ),
        ),
      );
    },
    15_000,
  );
}

// ---------------------------------------------------------------- router

async function router() {
  clearTimeout(timer);
  generation++;
  const hash = location.hash || '#/';
  route = hash.split('?')[0];
  for (const a of document.querySelectorAll('nav a')) a.setAttribute('aria-current', String(route === a.getAttribute('href')));
  try {
    if (route.startsWith('#/deployments/')) {
      const id = decodeURIComponent(route.slice('#/deployments/'.length));
      if (id !== currentId) selectedIteration = 0;
      await deployment(id);
    } else if (route === '#/history') await historyView();
    else if (route === '#/metrics') await metricsView();
    else await overview();
  } catch (error) {
    clear(main).append(errorBox(error));
  }
}

async function start() {
  let config = { apiBase: '', auth: null };
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) config = await res.json();
  } catch {
    // no config.json: the API is on this origin, without sign-in (the local runtime)
  }
  setApiBase(config.apiBase);
  try {
    const auth = await initAuth(config.auth);
    document.getElementById('who').textContent = auth.local ? 'local runtime' : `signed in as ${currentUser() ?? 'you'}`;
  } catch (error) {
    clear(main).append(h('div.error', { role: 'alert' }, error.message));
    return;
  }
  window.addEventListener('hashchange', router);
  await router();
}

start();
