// #/metrics — the four DORA metrics of a service's production environment, with charts.
import { get } from '../api.js';
import { barChart } from '../charts.js';
import { duration, h } from '../dom.js';
import { live, params, replace, selectField } from './view.js';

function tile(label, value, hint) {
  return h('div.tile', {}, h('div.tile-label', {}, label), h('div.tile-value', {}, value), h('div.tile-hint', {}, hint));
}

export async function metricsView() {
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
            selectField(
              'service',
              'service',
              services.map((x) => [x, x]),
              service,
              (e) => (location.hash = `#/metrics?service=${encodeURIComponent(e.target.value)}&days=${days}`),
            ),
            selectField(
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
