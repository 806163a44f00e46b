// The approvals waiting for a decision, with Approve / Reject (and a comment) from the page.
// On AWS the API checks that the signed-in user is one of the environment's approvers.
import { post } from '../api.js';
import { h } from '../dom.js';
import { toast } from './view.js';

export function approvalsPanel(approvals, onDecided) {
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
