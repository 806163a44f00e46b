/**
 * The steps of an environment's rollout as cumulative percentages of the environment, always
 * ending at 100. An environment without a rollout is one step of 100 (all at once).
 */
import type { RolloutConfig } from '../config/schema.ts';

export function rolloutSteps(rollout: Pick<RolloutConfig, 'strategy' | 'steps' | 'stepPercent'> | undefined): number[] {
  if (!rollout) return [100];
  if (rollout.strategy === 'canary') return [...(rollout.steps ?? []).filter((step) => step < 100), 100];
  const size = rollout.stepPercent ?? 100;
  const steps: number[] = [];
  for (let at = size; at < 100; at += size) steps.push(at);
  return [...steps, 100];
}

/** How a step is called to people: "canary 10%", "linear 50%", "100%". */
export function stepLabel(strategy: RolloutConfig['strategy'] | undefined, percent: number): string {
  return strategy ? `${strategy} ${percent}%` : `${percent}%`;
}
