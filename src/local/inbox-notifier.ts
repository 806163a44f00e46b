/**
 * The local inbox: without Slack, approvals wait in the store and the console says how to
 * decide them (`coconut approve|reject`, or the page at the local server).
 */
import type { ApprovalRecord, Log, Notifier } from '../core/ports.ts';

export function inboxNotifier(log: Log, url: string): Notifier {
  return {
    approvalRequested: async (a: ApprovalRecord) => {
      if (a.status !== 'PENDING') {
        log.warn(
          `approval ${a.approvalId} (${a.service} ${a.version} on ${a.environment}) arrived after its deadline ${a.expiresAt}: ${a.status}`,
        );
        return undefined;
      }
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

/**
 * Slack first (its message is where the request was posted), and the inbox's console hints
 * too. One failing never keeps the other from running; a Slack failure still reaches the core.
 */
export function alongsideInbox(primary: Notifier, inbox: Notifier): Notifier {
  const both = async <T>(first: Promise<T>, second: Promise<unknown>): Promise<T> => {
    const [a] = await Promise.allSettled([first, second]);
    if (a.status === 'rejected') throw a.reason;
    return a.value;
  };
  return {
    approvalRequested: (a) => both(primary.approvalRequested(a), inbox.approvalRequested(a)),
    approvalDecided: (a) => both(primary.approvalDecided(a), inbox.approvalDecided(a)),
    stageChanged: (s, d) => both(primary.stageChanged(s, d), inbox.stageChanged(s, d)),
  };
}
