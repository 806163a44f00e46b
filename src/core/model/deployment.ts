/**
 * The deployment model: one deployment is one version of one service going through its
 * environments in order. Each environment has its own stage with a state; the allowed moves
 * between states are listed here and nowhere else.
 */
import { InvalidTransitionError } from './errors.ts';
import type { Trigger } from './release.ts';

export const STAGE_STATES = [
  'PENDING',
  'AWAITING_APPROVAL',
  'DEPLOYING',
  'BAKING',
  'SUCCEEDED',
  'REJECTED',
  'ROLLING_BACK',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
  'FAILED',
  'INTERRUPTED',
  'SKIPPED',
] as const;
export type StageState = (typeof STAGE_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<StageState> = new Set([
  'SUCCEEDED',
  'REJECTED',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
  'FAILED',
  'INTERRUPTED',
  'SKIPPED',
]);

const TRANSITIONS: Record<StageState, readonly StageState[]> = {
  // SKIPPED: an earlier environment ended badly, so this one never ran.
  PENDING: ['AWAITING_APPROVAL', 'DEPLOYING', 'FAILED', 'REJECTED', 'SKIPPED'],
  // A rollout's step may wait for approval (AWAITING_APPROVAL -> ROLLING_BACK when it is refused:
  // earlier steps already run the new version), and a baked step goes on to the next (BAKING -> ...).
  AWAITING_APPROVAL: ['DEPLOYING', 'REJECTED', 'FAILED', 'ROLLING_BACK'],
  DEPLOYING: ['BAKING', 'SUCCEEDED', 'ROLLING_BACK', 'FAILED'],
  BAKING: ['SUCCEEDED', 'ROLLING_BACK', 'FAILED', 'DEPLOYING', 'AWAITING_APPROVAL'],
  ROLLING_BACK: ['ROLLED_BACK', 'ROLLBACK_FAILED'],
  SUCCEEDED: [],
  REJECTED: [],
  ROLLED_BACK: [],
  ROLLBACK_FAILED: [],
  FAILED: [],
  INTERRUPTED: [],
  SKIPPED: [],
};

/** States from which `to` may be entered; used as the condition of the store write. */
export function allowedPredecessors(to: StageState): StageState[] {
  const from = STAGE_STATES.filter((s) => TRANSITIONS[s].includes(to));
  // A non-terminal stage can always be marked INTERRUPTED when its runtime died.
  if (to === 'INTERRUPTED') return STAGE_STATES.filter((s) => !TERMINAL_STATES.has(s));
  return from;
}

export function assertTransition(from: StageState, to: StageState, where: string): void {
  if (from === to) return; // retried step: idempotent
  if (!allowedPredecessors(to).includes(from)) {
    throw new InvalidTransitionError(`${where}: cannot move from ${from} to ${to}`);
  }
}

export interface ImageRef {
  registry: 'ecr' | 'ghcr' | 'dockerhub';
  repository: string;
  tag: string;
  digest?: string;
}

export interface DeploymentRecord {
  deploymentId: string;
  service: string;
  version: string;
  image: ImageRef;
  trigger: Trigger;
  environments: string[];
  createdAt: string;
  /** Which state machine runs it. */
  kind: 'deploy' | 'rollback';
}

export interface StageRecord {
  deploymentId: string;
  service: string;
  environment: string;
  /** Position in the promotion order. */
  order: number;
  version: string;
  state: StageState;
  reason?: string;
  /** The version running before this deployment started; the rollback goes back to the last known-good. */
  previousVersion?: string;
  rolledBackTo?: string;
  /** Alarm that caused a rollback. */
  alarm?: string;
  /**
   * Alarms already in ALARM when the deploy started. They do not roll the new version back the
   * moment the bake starts (it may be the fix); they must recover by the end of the bake.
   */
  preexistingAlarms?: string[];
  approvalId?: string;
  /** Set when a step could not really run (a tool was missing) and was only rehearsed. */
  rehearsal?: { tools: string[]; steps: string[] };
  buildId?: string;
  /** The step of a rollout (canary, linear) the stage is in or ended at; absent when all at once. */
  rollout?: RolloutProgress;
  /** When the current bake ends (ISO): what "baking, 1m12s left" counts down to. */
  bakeEndsAt?: string;
  /** Set on the stages of a rollback execution (`coconut rollback`); absent for deployments. */
  kind?: 'rollback';
  /** Set on the stages of a promotion: the environment the digest passed on (history says "promoted from staging"). */
  promotedFrom?: string;
  createdAt: string;
  startedAt?: string;
  /** When the new version went live (the deploy build succeeded): where time to restore starts. */
  deployedAt?: string;
  finishedAt?: string;
  updatedAt: string;
}

export type StageUpdate = Partial<
  Pick<
    StageRecord,
    | 'reason'
    | 'previousVersion'
    | 'rolledBackTo'
    | 'alarm'
    | 'preexistingAlarms'
    | 'approvalId'
    | 'rehearsal'
    | 'buildId'
    | 'startedAt'
    | 'finishedAt'
    | 'deployedAt'
    | 'rollout'
    | 'bakeEndsAt'
  >
> & { state: StageState };

/** Where a rollout's step stands, as the stage records it and every view shows it. */
export interface RolloutProgress {
  strategy: 'canary' | 'linear';
  /** 1-based position of the step. */
  step: number;
  /** How many steps there are (the last one is 100%). */
  of: number;
  /** Cumulative share of the environment running the new version once this step is deployed. */
  percent: number;
  /** The share before this step (0 for the first): the step deploys the part in between. */
  previousPercent: number;
}

/** What runs where: the current version and the last version that passed its bake. */
export interface EnvironmentState {
  service: string;
  environment: string;
  current?: VersionRef;
  lastKnownGood?: VersionRef;
  lastDeploymentId?: string;
  updatedAt: string;
}

export interface VersionRef {
  version: string;
  digest?: string;
  deploymentId: string;
  /**
   * What the target recorded for this version, so a rollback returns to exactly it: a Helm
   * release revision, an ECS task definition ARN. Absent for targets that redeploy by digest.
   */
  revision?: string;
}

export interface DeploymentView extends DeploymentRecord {
  stages: StageRecord[];
  state: StageState;
}

/**
 * The state of a whole deployment: the stage in progress if any; else the first environment
 * that ended badly (later ones never ran); else SUCCEEDED when every environment succeeded;
 * else PENDING (between environments, or not started yet).
 */
export function summarize(deployment: DeploymentRecord, stages: StageRecord[]): DeploymentView {
  const ordered = [...stages].sort((a, b) => a.order - b.order);
  const active = ordered.find((s) => !TERMINAL_STATES.has(s.state) && s.state !== 'PENDING');
  const ended = ordered.find((s) => TERMINAL_STATES.has(s.state) && s.state !== 'SUCCEEDED' && s.state !== 'SKIPPED');
  const allSucceeded = ordered.length > 0 && ordered.every((s) => s.state === 'SUCCEEDED');
  const state: StageState = active?.state ?? ended?.state ?? (allSucceeded ? 'SUCCEEDED' : 'PENDING');
  return { ...deployment, stages: ordered, state };
}

/**
 * A stage whose deploy (or rollback) was only rehearsed changed nothing on the target; one whose
 * only rehearsed step was the image scan deployed for real (the scan was not performed).
 */
export function rehearsedTarget(rehearsal: StageRecord['rehearsal']): boolean {
  return Boolean(rehearsal?.steps.some((step) => step !== 'scan'));
}

/** The label every view puts after a stage's state when something was only rehearsed. */
export function rehearsalLabel(rehearsal: StageRecord['rehearsal']): string {
  if (!rehearsal) return '';
  // rehearsedTarget is true only when some step is listed, so the steps are never empty here.
  if (!rehearsedTarget(rehearsal)) return 'rehearsal: scan PLANNED, not performed';
  return `rehearsal: ${rehearsal.steps.join(', ')} PLANNED, nothing ran`;
}
