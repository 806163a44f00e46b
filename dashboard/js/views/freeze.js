// Freeze windows on the page (issue 16): per environment, open or closed and the next change with
// its time zone; and the deployments a freeze window holds, each with its "FROZEN until … (tz):
// reason" and a break-glass action that, like `coconut unfreeze`, needs a comment and a
// confirming click (the API refuses a break-glass approval without a comment).
import { post } from '../api.js';
import { h } from '../dom.js';
import { freezeSummary, frozenMessage } from '../release-words.js';
import { arm, disarm } from './approvals.js';
import { toast } from './view.js';

/** One line in a service x environment cell; nothing for an environment without freeze windows. */
export function freezeLine(freeze) {
  if (!freeze) return null;
  return h(
    `div.freeze.${freeze.open ? 'open' : 'closed'}`,
    { 'data-freeze': freeze.open ? 'open' : 'closed', title: freeze.reason },
    freezeSummary(freeze),
  );
}

/** The freeze holds among the status's approvals (purpose "freeze"), and the other approvals. */
export function splitHolds(approvals) {
  return {
    holds: approvals.filter((a) => a.purpose === 'freeze'),
    decisions: approvals.filter((a) => a.purpose !== 'freeze'),
  };
}

function freezeOf(services, hold) {
  return services.find((s) => s.service === hold.service)?.environments.find((e) => e.name === hold.environment)?.freeze;
}

/** "Held by a freeze window": what waits, until when (in the window's time zone) and why. */
export function frozenPanel(holds, services, onDecided) {
  if (!holds.length) return null;
  return h(
    'section.panel.frozen',
    { 'aria-labelledby': 'frozen-title', 'data-keep': `frozen:${holds.map((a) => a.approvalId).join(',')}` },
    h('h2#frozen-title', {}, `Held by a freeze window (${holds.length})`),
    ...holds.map((a) => {
      const freeze = freezeOf(services, a);
      const commentId = `why-${a.approvalId}`;
      const letThrough = async (event) => {
        const button = event.currentTarget;
        const input = document.getElementById(commentId);
        const comment = input?.value.trim();
        if (!comment) {
          toast('say why before letting a frozen deployment through (the comment is recorded in history)', 'bad');
          input?.focus();
          return;
        }
        if (!button.dataset.armedAt) return arm(button);
        disarm(button);
        button.disabled = true;
        try {
          await post(`/api/approvals/${encodeURIComponent(a.approvalId)}/approve`, { comment });
          toast(`unfrozen: ${a.service} ${a.version} on ${a.environment}: ${comment}`);
          onDecided();
        } catch (error) {
          toast(error.message, 'bad');
          button.disabled = false;
        }
      };
      return h(
        'article.hold',
        { 'data-hold': a.approvalId, 'data-deployment': a.deploymentId },
        h(
          'div.approval-what',
          {},
          h('strong', {}, a.service),
          ' ',
          h('span.version.new', {}, a.version),
          ' on ',
          h('strong', {}, a.environment),
        ),
        // The environment's freeze status now: the same words the stage's reason got when it was held.
        h('div.frozen-until', {}, freeze && !freeze.open ? frozenMessage(freeze) : 'the window is opening: it goes on shortly'),
        h(
          'div.meta',
          {},
          `held since ${new Date(a.requestedAt).toLocaleString()} · `,
          h('a', { href: `#/deployments/${encodeURIComponent(a.deploymentId)}` }, 'details'),
        ),
        h(
          'div.actions',
          {},
          h('input', {
            id: commentId,
            type: 'text',
            placeholder: 'why it cannot wait (required)',
            maxlength: 500,
            'aria-label': 'why',
          }),
          h('button.reject', { type: 'button', 'data-label': 'Break glass', onclick: letThrough }, 'Break glass'),
        ),
      );
    }),
  );
}
