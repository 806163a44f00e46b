/**
 * Where a stage stands in its rollout, in the words every view uses (status, history, `coconut
 * watch`, the dashboard, Slack): "canary 10% — baking, 1m12s left", "failed at 50%".
 */
import type { StageRecord } from '../model/deployment.ts';
import { formatDuration } from '../model/duration.ts';
import { stepLabel } from '../pipeline/rollout.ts';

export function stepStatus(
  stage: Pick<StageRecord, 'state' | 'rollout' | 'bakeEndsAt' | 'updatedAt'>,
  now: Date = new Date(),
): string | undefined {
  const r = stage.rollout;
  if (!r) return undefined;
  const label = stepLabel(r.strategy, r.percent);
  switch (stage.state) {
    case 'AWAITING_APPROVAL':
      return `${label} — waiting for approval`;
    case 'DEPLOYING':
      return `${label} — deploying`;
    case 'BAKING': {
      // A bake end older than the stage's last write belongs to an earlier step: say nothing of time.
      const ends = stage.bakeEndsAt ? Date.parse(stage.bakeEndsAt) : Number.NaN;
      const current = ends > Date.parse(stage.updatedAt) - 1000;
      const left = current ? Math.max(0, Math.ceil((ends - now.getTime()) / 1000)) : undefined;
      return `${label} — baking${left === undefined ? '' : `, ${formatDuration(left)} left`}`;
    }
    case 'SUCCEEDED':
      return `${label} — all ${r.of} steps done`;
    case 'ROLLING_BACK':
      return `failed at ${r.percent}% — rolling back`;
    case 'ROLLED_BACK':
    case 'ROLLBACK_FAILED':
    case 'FAILED':
    case 'REJECTED':
    case 'INTERRUPTED':
      return `failed at ${r.percent}%`;
    default:
      return undefined;
  }
}
