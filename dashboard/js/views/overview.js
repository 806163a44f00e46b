// #/ — services x environments (version, health, last deployment), approvals, recent deployments.
import { get } from '../api.js';
import { ago, h, healthPill, stateBadge, stepTag } from '../dom.js';
import { triggerText } from '../release-words.js';
import { endedBadly } from '../states.js';
import { approvalsPanel } from './approvals.js';
import { freezeLine, frozenPanel, splitHolds } from './freeze.js';
import { pinNote } from './pin.js';
import { promoteAction } from './promote.js';
import { live, replace } from './view.js';

function envColumns(services) {
  const columns = [];
  for (const svc of services) for (const e of svc.environments) if (!columns.includes(e.name)) columns.push(e.name);
  return columns;
}

function cell(svc, env) {
  if (!env) return h('td.cell.none', {}, '');
  const latest = env.latest;
  const bad = latest && endedBadly(latest.state);
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
          stepTag(latest),
          h('span.when', {}, ` ${ago(latest.updatedAt)}`),
        )
      : h('div.latest.muted', {}, 'no deployment yet'),
    latest?.alarm ? h('div.alarm', {}, `alarm ${latest.alarm}`) : null,
    bad && latest.reason ? h('div.reason', {}, latest.reason) : null,
    env.needsAttention ? h('div.attention', {}, 'needs attention: the rollback failed') : null,
    freezeLine(env.freeze),
    promoteAction(svc.service, svc.environments, env, (d) => {
      if (d?.deploymentId) location.hash = `#/deployments/${encodeURIComponent(d.deploymentId)}`;
    }),
    pinNote(env),
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
              h('span.meta', {}, `${triggerText(d.trigger)} · ${ago(d.createdAt)}`),
            ),
          ),
        ),
  );
}

export async function overview() {
  await live('overview', async () => {
    const [status, deps] = await Promise.all([get('/api/status'), get('/api/deployments?limit=15')]);
    const { holds, decisions } = splitHolds(status.approvals);
    replace(
      'overview',
      frozenPanel(holds, status.services, () => overview()),
      approvalsPanel(decisions, () => overview()),
      grid(status.services),
      deploymentsList(deps.deployments),
    );
  });
}
