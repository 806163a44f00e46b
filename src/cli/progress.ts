/**
 * Follows a deployment until it ends, printing its steps as they happen: from the execution's
 * history (the state machine's steps) and from the store (each environment's state). On a
 * terminal, the running step is one line that updates in place with a spinner; piped, every
 * line is plain and printed once. The answer is the exit code: 0 when every environment
 * succeeded, 1 otherwise, with the reason.
 */

import { styleText } from 'node:util';
import type { DeploymentView, StageRecord } from '../core/model/deployment.ts';
import { rehearsalLabel, rehearsedTarget, TERMINAL_STATES } from '../core/model/deployment.ts';
import type { ExecutionHistory } from '../core/ports.ts';
import type { StateGraph } from '../core/read-models/state-machine-graph.ts';
import { stepStatus } from '../core/read-models/step-status.ts';
import { request } from './client.ts';
import { CommandFailed } from './errors.ts';
import { colorState } from './format.ts';

export interface FollowOptions {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Milliseconds between polls. */
  intervalMs?: number;
  /** Give up (exit 1, the deployment goes on) after this many milliseconds. */
  timeoutMs?: number;
  /** Print nothing but the final JSON. */
  json?: boolean;
}

interface EventsAnswer {
  deployment: DeploymentView;
  execution: ExecutionHistory | null;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Steps that only route (Choice, Pass) say nothing worth a line. */
const QUIET_TYPES = new Set(['Choice', 'Pass', 'Succeed', 'Map']);

export function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** The reason a deployment did not succeed, in one sentence per environment that ended badly. */
export function whyNot(deployment: DeploymentView): string[] {
  return deployment.stages
    .filter((s) => s.state !== 'SUCCEEDED' && s.state !== 'SKIPPED')
    .map(
      (s) =>
        `${s.environment} ${s.state}${s.rollout ? ` ${stepStatus(s)}` : ''}${s.reason ? `: ${s.reason}` : ''}${s.rolledBackTo && s.state === 'ROLLED_BACK' ? ` — rolled back to ${s.rolledBackTo}` : ''}`,
    );
}

export function succeeded(deployment: DeploymentView): boolean {
  return deployment.stages.length > 0 && deployment.stages.every((s) => s.state === 'SUCCEEDED');
}

interface StepKind {
  type: string;
  integration?: string;
}

async function stateTypes(): Promise<Map<string, StepKind>> {
  try {
    const { graph } = await request<{ graph: StateGraph }>('GET', '/api/state-machines/deploy');
    const types = new Map<string, StepKind>();
    const walk = (g: StateGraph) => {
      for (const s of g.states) {
        types.set(s.name, { type: s.type, ...(s.integration ? { integration: s.integration } : {}) });
        if (s.inner) walk(s.inner);
      }
    };
    walk(graph);
    return types;
  } catch {
    return new Map(); // without the graph every step is printed
  }
}

export async function follow(deploymentId: string, opts: FollowOptions): Promise<number> {
  const out = opts.out;
  const tty = Boolean(out.isTTY) && !opts.json;
  const interval = opts.intervalMs ?? 1000;
  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : undefined;
  const types = await stateTypes();
  const path = `/api/deployments/${encodeURIComponent(deploymentId)}/events`;

  let seen = 0;
  const stageStates = new Map<string, string>();
  const announcedApprovals = new Set<string>();
  const entered = new Map<string, number>(); // "iteration/state" -> when entered
  const printedSteps = new Set<string>();
  let active: { label: string; since: number } | undefined;
  let frame = 0;
  let spinnerLine = false;
  let endedAt: number | undefined;
  let failures = 0;

  const clearSpinner = () => {
    if (spinnerLine) out.write('\r\x1b[2K');
    spinnerLine = false;
  };
  const line = (text: string) => {
    if (opts.json) return;
    clearSpinner();
    out.write(`${text}\n`);
  };
  const drawSpinner = () => {
    if (!tty || !active) return;
    clearSpinner();
    frame = (frame + 1) % SPINNER.length;
    // Shortened as plain text, then colored: cutting a colored string could cut an escape code.
    const room = Math.max(20, (out.columns || 100) - 16);
    const label = active.label.length > room ? `${active.label.slice(0, room - 1)}…` : active.label;
    const stream = out as NodeJS.WriteStream;
    out.write(
      `  ${styleText('cyan', SPINNER[frame] as string, { stream })} ${label} ${styleText('gray', seconds(Date.now() - active.since), { stream })}`,
    );
    spinnerLine = true;
  };
  const ticker = tty ? setInterval(drawSpinner, 100) : undefined;

  let answer: EventsAnswer | undefined;
  try {
    for (;;) {
      try {
        answer = await request<EventsAnswer>('GET', path);
        failures = 0;
      } catch (error) {
        // A blip (a restart, a network hiccup) is not the deployment's failure: retry a few times.
        // A refusal (no such deployment, not signed in) will not change: stop at once.
        const status = (error as { status?: number }).status;
        if ((status !== undefined && status < 500) || ++failures >= 5) throw error;
        await sleep(interval);
        continue;
      }
      const { deployment, execution } = answer;
      const envName = (i: number | undefined) => (i === undefined ? '' : (deployment.environments[i] ?? `#${i}`));
      const events = execution?.events ?? [];
      // Lines of this poll, printed in the order things happened (steps and stage changes interleave).
      const batch: { at: number; text: string }[] = [];
      const at = (iso: string) => (text: string) => batch.push({ at: Date.parse(iso), text });
      for (const e of events.slice(seen)) {
        const emit = at(e.at);
        const kind = e.state ? types.get(e.state) : undefined;
        const key = `${e.iteration ?? ''}/${e.state ?? ''}`;
        const label = `${envName(e.iteration).padEnd(10)} ${e.state ?? ''}`;
        if (!e.state || (kind && QUIET_TYPES.has(kind.type))) continue;
        if (e.type === 'StateEntered') {
          entered.set(key, Date.parse(e.at));
          active = { label, since: Date.parse(e.at) };
          if (!tty && !printedSteps.has(`enter:${key}`) && isWaitingStep(kind)) {
            printedSteps.add(`enter:${key}`);
            emit(`  … ${label}`);
          }
        } else if (e.type === 'StateExited' || e.type === 'StateFailed') {
          const took = Date.parse(e.at) - (entered.get(key) ?? Date.parse(e.at));
          // A bake that runs its full time ends with States.Timeout: that is the good outcome.
          const bakeDone = e.type === 'StateFailed' && e.error === 'States.Timeout' && e.state === 'Bake';
          if (e.type === 'StateFailed' && !bakeDone) {
            emit(
              `  ${styleText('red', '✗', { stream: out as NodeJS.WriteStream })} ${label}  ${e.error ?? 'failed'}${e.cause ? `: ${e.cause}` : ''}`,
            );
            printedSteps.add(`done:${key}`);
          } else if (!printedSteps.has(`done:${key}`)) {
            printedSteps.add(`done:${key}`);
            emit(`  ${styleText('green', '✓', { stream: out as NodeJS.WriteStream })} ${label.padEnd(36)} ${seconds(took)}`);
          }
          if (active?.label === label) active = undefined;
        }
      }
      seen = events.length;
      for (const stage of deployment.stages) reportStage(stage, stageStates, announcedApprovals, at(stage.updatedAt));
      for (const item of batch.sort((a, b) => a.at - b.at)) line(item.text);

      const stagesDone = deployment.stages.every((s) => TERMINAL_STATES.has(s.state));
      const executionDone = execution !== null && execution.status !== 'RUNNING';
      if (executionDone) endedAt ??= Date.now();
      // The execution's last bookkeeping lands a moment after it ends; wait for it a little.
      if (stagesDone && (executionDone || execution === null)) break;
      if (endedAt !== undefined && Date.now() - endedAt > 10_000) break;
      if (deadline !== undefined && Date.now() > deadline) {
        clearSpinner();
        throw new CommandFailed(
          `still running after ${seconds(opts.timeoutMs as number)}; it goes on — follow it with: coconut watch ${deploymentId}`,
        );
      }
      await sleep(interval);
    }
  } finally {
    if (ticker) clearInterval(ticker);
    clearSpinner();
  }
  return finish(answer as EventsAnswer, opts, line);
}

/** Steps that take a while (a build, a bake, an approval, a lock wait): announced when they start. */
function isWaitingStep(kind: StepKind | undefined): boolean {
  if (!kind) return true;
  return kind.type === 'Wait' || /\.(sync|waitForTaskToken)$/.test(kind.integration ?? '');
}

function reportStage(stage: StageRecord, known: Map<string, string>, approvals: Set<string>, line: (text: string) => void): void {
  const before = known.get(stage.environment);
  // A rollout moves through the same states once per step: the step is part of what changed. So is
  // the end of its bake, noted just after BAKING is: a poll between the two writes would otherwise
  // leave the step's line without its "7s left".
  const now = `${stage.state}#${stage.rollout?.step ?? ''}#${stage.rollout ? (stage.bakeEndsAt ?? '') : ''}`;
  if (before !== now) {
    known.set(stage.environment, now);
    if (before !== undefined || stage.state !== 'PENDING') {
      const detail =
        stage.state === 'BAKING' && stage.rehearsal
          ? ` (${rehearsalLabel(stage.rehearsal)})`
          : stage.state === 'ROLLING_BACK'
            ? ` to ${stage.rolledBackTo ?? 'the last known-good version'}: ${stage.reason ?? ''}`
            : TERMINAL_STATES.has(stage.state) && stage.reason
              ? ` — ${stage.reason}`
              : '';
      const step = stepStatus(stage);
      line(`● ${stage.environment.padEnd(10)} ${colorState(stage.state)}${step ? ` ${step}` : ''}${detail}`);
    }
  }
  if (stage.state === 'AWAITING_APPROVAL' && stage.approvalId && !approvals.has(stage.approvalId)) {
    approvals.add(stage.approvalId);
    line(`  waiting for approval ${stage.approvalId}: coconut approve ${stage.approvalId}   (or reject it)`);
  }
}

function finish(answer: EventsAnswer, opts: FollowOptions, line: (text: string) => void): number {
  const { deployment, execution } = answer;
  const ok = succeeded(deployment);
  if (opts.json) {
    opts.out.write(
      `${JSON.stringify({ ok, deployment, execution: execution && { ...execution, events: undefined } }, null, 2)}\n`,
    );
    return ok ? 0 : 1;
  }
  const what = `${deployment.service} ${deployment.version}${deployment.kind === 'rollback' ? ' (rollback)' : ''}`;
  const took =
    execution?.startedAt && execution.stoppedAt
      ? ` in ${seconds(Date.parse(execution.stoppedAt) - Date.parse(execution.startedAt))}`
      : '';
  if (ok) {
    const rehearsed = deployment.stages.filter((s) => rehearsedTarget(s.rehearsal)).map((s) => s.environment);
    line(
      `${styleText('green', '✓', { stream: opts.out as NodeJS.WriteStream })} ${what} succeeded on ${deployment.environments.join(', ')}${took}${
        rehearsed.length ? ` — REHEARSAL on ${rehearsed.join(', ')}: PLANNED, nothing ran` : ''
      }`,
    );
    return 0;
  }
  const reasons = whyNot(deployment);
  line(
    `${styleText('red', '✗', { stream: opts.out as NodeJS.WriteStream })} ${what} did not deploy${took}: ${reasons.join('; ') || execution?.cause || execution?.error || deployment.state}`,
  );
  return 1;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
