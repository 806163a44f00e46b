/**
 * The local inbox: without Slack, approvals wait in the store and the console says how to
 * decide them (`coconut approve|reject`, or the page at the local server).
 */
import type { ApprovalRecord, Log, Notifier } from '../core/ports.ts';

export function inboxNotifier(log: Log, url: string): Notifier {
  return {
    approvalRequested: async (a: ApprovalRecord) => {
      log.warn(
        `APPROVAL NEEDED: ${a.service} ${a.fromVersion ?? '(nothing)'} -> ${a.version} on ${a.environment}. ` +
          `Approve: npx coconut approve ${a.approvalId}   Reject: npx coconut reject ${a.approvalId}   (or ${url}/) — expires ${a.expiresAt}`,
        { approvalId: a.approvalId },
      );
      return undefined;
    },
    approvalDecided: async (a: ApprovalRecord) => {
      log.info(`approval ${a.approvalId}: ${a.status}${a.decidedBy ? ` by ${a.decidedBy}` : ''}`);
    },
    stageChanged: async () => {},
  };
}
