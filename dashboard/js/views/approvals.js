// The approvals waiting for a decision, with Approve / Reject (and a comment) from the page,
// each confirmed by a second click.
// On AWS the API checks that the signed-in user is one of the environment's approvers.
import { post } from '../api.js';
import { h } from '../dom.js';
import { toast } from './view.js';

// A decision takes two clicks. The first turns the button into "Confirm approve" (or reject);
// the second, no sooner than CONFIRM_DELAY_MS later (the button stays disabled until then) and
// within CONFIRM_WINDOW_MS, sends it. So one click decides nothing, nor does a double click a
// page tricked the user into (the page itself cannot be framed: frame-ancestors 'none').
export const CONFIRM_DELAY_MS = 600;
export const CONFIRM_WINDOW_MS = 10_000;

export function arm(button) {
  for (const other of button.parentElement?.querySelectorAll('button[data-armed-at]') ?? []) disarm(other);
  const armedAt = String(Date.now());
  button.dataset.armedAt = armedAt;
  button.textContent = `Confirm ${button.dataset.label.toLowerCase()}`;
  button.classList.add('armed');
  button.disabled = true;
  setTimeout(() => {
    if (button.dataset.armedAt === armedAt) button.disabled = false;
  }, CONFIRM_DELAY_MS);
  setTimeout(() => {
    if (button.dataset.armedAt === armedAt) disarm(button);
  }, CONFIRM_WINDOW_MS);
}

export function disarm(button) {
  delete button.dataset.armedAt;
  button.textContent = button.dataset.label;
  button.classList.remove('armed');
  button.disabled = false;
}

export function approvalsPanel(approvals, onDecided) {
  if (!approvals.length) return null;
  return h(
    'section.panel.approvals',
    { 'aria-labelledby': 'approvals-title', 'data-keep': `approvals:${approvals.map((a) => a.approvalId).join(',')}` },
    h('h2#approvals-title', {}, `Waiting for approval (${approvals.length})`),
    ...approvals.map((a) => {
      const commentId = `comment-${a.approvalId}`;
      const decide = (decision) => async (event) => {
        const button = event.currentTarget;
        // The first click only arms the button; the second one decides.
        if (!button.dataset.armedAt) return arm(button);
        disarm(button);
        button.disabled = true;
        try {
          const comment = document.getElementById(commentId)?.value.trim();
          const res = await post(`/api/approvals/${encodeURIComponent(a.approvalId)}/${decision}`, comment ? { comment } : {});
          toast(`${res.approval.status.toLowerCase()}: ${a.service} ${a.version} on ${a.environment}`);
          onDecided();
        } catch (error) {
          toast(error.message, 'bad');
          button.disabled = false;
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
          a.step ? h('span.step', {}, ` — next step: ${a.step}`) : null,
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
          h('button.approve', { type: 'button', 'data-label': 'Approve', onclick: decide('approve') }, 'Approve'),
          h('button.reject', { type: 'button', 'data-label': 'Reject', onclick: decide('reject') }, 'Reject'),
        ),
      );
    }),
  );
}
