// The promote action (issue 16), as `coconut promote SERVICE --to ENV`: deploys to ENV exactly the
// image digest that passed its bake on the environment before it (POST /api/promotions), through
// the same approvals and bake. Like every action of the page it takes a confirming second click.
import { post } from '../api.js';
import { h } from '../dom.js';
import { arm, disarm } from './approvals.js';
import { toast } from './view.js';

/**
 * A request id the API accepts (8-64 of A-Z a-z 0-9 -). getRandomValues, not randomUUID: the latter
 * exists only in secure contexts, and a local runtime may be opened over plain http on a LAN address.
 */
function requestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `dash-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** A Promote button for an environment that has one before it; nothing for the first one. */
export function promoteAction(service, environments, env, onStarted) {
  const index = environments.findIndex((e) => e.name === env.name);
  const from = environments[index - 1]?.name;
  if (!from) return null;
  const click = async (event) => {
    const button = event.currentTarget;
    if (!button.dataset.armedAt) return arm(button);
    disarm(button);
    button.disabled = true;
    try {
      // A fresh request id per confirmed click: a retry of the same request starts nothing new.
      const res = await post('/api/promotions', { service, to: env.name, requestId: requestId() });
      const s = res.source;
      toast(
        `${res.status === 'duplicate' ? 'already promoting' : 'promoting'} ${service} ${s.version} (${s.digest}, passed on ${s.environment}) to ${env.name}`,
      );
      onStarted(res.deployment);
    } catch (error) {
      toast(error.message, 'bad');
    } finally {
      button.disabled = false;
    }
  };
  return h(
    'div.promote',
    // Kept across refreshes (view.js replace): an armed button is not rebuilt under the user.
    { 'data-keep': `promote:${service}:${env.name}` },
    h(
      'button.promote',
      {
        type: 'button',
        'data-label': `Promote from ${from}`,
        title: `deploy to ${env.name} the digest that last passed its bake on ${from}`,
        onclick: click,
      },
      `Promote from ${from}`,
    ),
  );
}
