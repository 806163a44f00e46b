/**
 * Things a valid coconut.yaml should still tell its owner, once: at `coconut validate` and when
 * `coconut dev` starts — never on every deployment.
 */
import type { CoconutConfig } from './schema.ts';

export const COPILOT_END_OF_SUPPORT = '2026-06-12';

export function copilotNotice(services: string[]): string {
  return (
    `AWS ended support for the Copilot CLI on ${COPILOT_END_OF_SUPPORT} (${services.join(', ')} deploy${services.length === 1 ? 's' : ''} with it). ` +
    'Its services keep running and Coconut keeps deploying them, but the CLI gets no more fixes: ' +
    'move to `target.kind: ecs`, which deploys the same ECS service through the ECS API (`coconut generate ecs --service NAME`).'
  );
}

export function configWarnings(config: CoconutConfig): string[] {
  const copilot = config.services.filter((s) => s.target.kind === 'copilot').map((s) => s.name);
  return copilot.length > 0 ? [copilotNotice(copilot)] : [];
}
