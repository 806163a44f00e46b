/** A new image version that may be deployed, whatever registry or webhook announced it. */
export type Registry = 'ecr' | 'ghcr' | 'dockerhub';

export interface ReleaseEvent {
  registry: Registry;
  repository: string;
  tag: string;
  /** Content digest when the source tells it (ECR does, Docker Hub does not). */
  digest?: string;
  trigger: Trigger;
}

/** Who or what asked for a deployment; shown in history and approval messages. */
export interface Trigger {
  kind: 'ecr-push' | 'ghcr-push' | 'dockerhub-push' | 'git-tag' | 'manual' | 'promote' | 'rollback';
  /** Id of the event or delivery that carried it (for tracing, not identity). */
  id: string;
  /** Who, for people to read (a login, an e-mail, an ARN). */
  actor?: string;
  /**
   * Who, as a stable identity (Slack id, JWT subject, IAM principal id), when a person started
   * it through the API: what four eyes compares. Absent for events and the local operator.
   */
  actorId?: string;
  at: string;
  /** kind promote: the environment the promoted digest passed its bake on (`coconut promote --from`). */
  from?: string;
}

/** What started a deployment, in the words every view uses: "ecr-push", "promote from staging". */
export function triggerLabel(trigger: Pick<Trigger, 'kind' | 'from'>): string {
  return trigger.kind === 'promote' && trigger.from ? `promote from ${trigger.from}` : trigger.kind;
}

/** Deployments nobody chose by hand: events from registries and git. Only these wait at pins. */
const AUTOMATIC: ReadonlySet<Trigger['kind']> = new Set(['ecr-push', 'ghcr-push', 'dockerhub-push', 'git-tag']);

export function isAutomatic(trigger: Pick<Trigger, 'kind'>): boolean {
  return AUTOMATIC.has(trigger.kind);
}
