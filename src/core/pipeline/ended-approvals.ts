/**
 * Loose end of an execution that ended from outside (stopped, timed out, failed unhandled): the
 * approval or freeze hold its stages waited on. Its task token died with the execution, so the
 * record must not stay PENDING: `coconut approvals`, the dashboard's inbox and "Frozen
 * deployments" panel, and the Slack buttons would offer a decision nothing waits for. It becomes
 * EXPIRED, the state history-transfer.ts also gives a PENDING approval nothing waits on, with
 * why, and its Slack message loses its buttons (expireApproval, as on an approval timeout).
 *
 * A stage links the approval it waits on (approvals.ts, freeze-gate.ts set `approvalId`); earlier
 * approvals of the stage (rollout steps) were decided before the next was asked. An approval
 * decided or gone meanwhile (a race with a normal end, or with an approver) is left alone.
 */
import type { DeploymentView } from '../model/deployment.ts';
import type { ApprovalRecords, Clock, Notifier } from '../ports.ts';
import { expireApproval } from './approvals.ts';

/** `decidedBy` of an approval expired this way (the Slack message tells it from a timeout). */
export const EXECUTION_ENDED = 'execution ended';

export async function expireApprovalsOf(
  deps: { store: ApprovalRecords; clock: Clock; notifier: Notifier },
  deployment: Pick<DeploymentView, 'stages'>,
  why: string,
): Promise<string[]> {
  const repaired: string[] = [];
  for (const stage of deployment.stages) {
    if (!stage.approvalId) continue;
    // Read first: a normal end (nearly every call) has decided it, and then nothing is written.
    const approval = await deps.store.getApproval(stage.approvalId);
    if (approval?.status !== 'PENDING') continue;
    const expired = await expireApproval(deps, stage.approvalId, {
      decidedBy: EXECUTION_ENDED,
      comment: `${why}: nothing waits on this ${approval.purpose === 'freeze' ? 'freeze hold' : 'approval'} any more`,
    });
    if (expired) {
      repaired.push(
        `${stage.environment}: ${expired.purpose === 'freeze' ? 'freeze hold' : 'approval'} ${expired.approvalId} expired`,
      );
    }
  }
  return repaired;
}
