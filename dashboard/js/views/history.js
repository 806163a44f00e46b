// #/history — every environment deployment of a service, filtered by environment, state, version.
import { get } from '../api.js';
import { ago, h, stateBadge, stepTag } from '../dom.js';
import { STAGE_STATES } from '../states.js';
import { live, params, replace, selectField } from './view.js';

export async function historyView() {
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
          selectField(
            'service',
            'service',
            services.map((x) => [x, x]),
            service,
            (e) => go({ service: e.target.value, env: '' }),
          ),
          selectField('env', 'environment', [['', 'all'], ...envs.map((x) => [x, x])], env, (e) => go({ env: e.target.value })),
          selectField('state', 'state', [['', 'all'], ...STAGE_STATES.map((x) => [x, x])], state, (e) =>
            go({ state: e.target.value }),
          ),
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
                      st.promotedFrom ? h('span.kind-tag.promoted', {}, `promoted from ${st.promotedFrom}`) : null,
                    ),
                    h('td', { 'data-label': 'environment' }, st.environment),
                    h('td', { 'data-label': 'state' }, stateBadge(st.state, st.rehearsal), stepTag(st)),
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
