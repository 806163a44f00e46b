/**
 * The Orchestrator port on Step Functions. The execution name is the idempotency key:
 * ExecutionAlreadyExists means a duplicate, which is success with nothing started.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  type HistoryEvent as SfnHistoryEvent,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { TaskTokenExpiredError } from '../core/errors.ts';
import { summarizeCause } from '../core/execution-history.ts';
import type {
  ExecutionHistory,
  ExecutionStatus,
  HistoryEvent,
  Orchestrator,
  StartResult,
  StateMachineName,
} from '../core/ports.ts';

/** A lock wait of hours adds events every 5 s; past this many the oldest are what we keep. */
const MAX_HISTORY_EVENTS = 5000;

export class SfnOrchestrator implements Orchestrator {
  private readonly sfn: SFNClient;
  private readonly machines: Record<StateMachineName, string | undefined>;

  constructor(sfn: SFNClient, machines: Partial<Record<StateMachineName, string>>) {
    this.sfn = sfn;
    this.machines = { deploy: machines.deploy, release: machines.release };
  }

  private executionArn(machine: StateMachineName, name: string): string | undefined {
    const stateMachineArn = this.machines[machine];
    return stateMachineArn ? `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}` : undefined;
  }

  async startExecution(machine: StateMachineName, name: string, input: unknown): Promise<StartResult> {
    const stateMachineArn = this.machines[machine];
    if (!stateMachineArn) throw new Error(`no ARN configured for the ${machine} state machine`);
    const arn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    try {
      const res = await this.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      // Same name and same input while the first still runs: AWS answers success without a new run.
      return { executionArn: res.executionArn ?? arn, started: true };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
        return { executionArn: arn, started: false };
      }
      throw Object.assign(
        new Error(`starting execution ${name} of ${stateMachineArn}: ${(error as Error).message}`, { cause: error }),
        {
          name: (error as Error).name,
        },
      );
    }
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    await this.task(() => this.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output ?? {}) })));
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    // Step Functions limits: error 256 characters, cause 32,768.
    await this.task(() =>
      this.sfn.send(new SendTaskFailureCommand({ taskToken: token, error: error.slice(0, 256), cause: cause.slice(0, 32768) })),
    );
  }

  private async task(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (
        error instanceof TaskTimedOut ||
        error instanceof TaskDoesNotExist ||
        error instanceof InvalidToken ||
        ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes((error as Error).name)
      ) {
        throw new TaskTokenExpiredError(`the task no longer waits (${(error as Error).name})`);
      }
      throw error;
    }
  }

  /**
   * GetExecutionHistory without execution data (no inputs, outputs or task parameters: task
   * tokens and build variables never leave Step Functions), normalized to HistoryEvent.
   */
  async history(executionName: string): Promise<ExecutionHistory | undefined> {
    const executionArn = this.executionArn('deploy', executionName);
    if (!executionArn) throw new Error('no ARN configured for the deploy state machine');
    let described: DescribeExecutionCommandOutput;
    try {
      described = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist || (error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
    const raw: SfnHistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false, maxResults: 1000, nextToken }),
      );
      raw.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken && raw.length < MAX_HISTORY_EVENTS);
    const cause = summarizeCause(described.error, described.cause);
    return {
      name: executionName,
      status: (described.status === 'PENDING_REDRIVE' ? 'FAILED' : (described.status ?? 'RUNNING')) as ExecutionStatus,
      ...(described.startDate ? { startedAt: described.startDate.toISOString() } : {}),
      ...(described.stopDate ? { stoppedAt: described.stopDate.toISOString() } : {}),
      ...(described.error ? { error: described.error } : {}),
      ...(cause ? { cause } : {}),
      events: normalizeSfnHistory(raw),
    };
  }
}

/**
 * Step Functions history -> HistoryEvent. Map iterations are found through previousEventId
 * (each event links to the one before it in its own iteration), falling back to the
 * iteration that started last (the deploy Map runs one environment at a time).
 */
export function normalizeSfnHistory(raw: SfnHistoryEvent[]): HistoryEvent[] {
  const iterationOf = new Map<number, number | undefined>();
  const lastEntered = new Map<number | undefined, string>();
  let currentIteration: number | undefined;
  const out: HistoryEvent[] = [];
  for (const e of raw) {
    const type = e.type ?? '';
    let iteration = e.previousEventId !== undefined ? iterationOf.get(e.previousEventId) : undefined;
    if (type === 'MapIterationStarted') {
      iteration = e.mapIterationStartedEventDetails?.index;
      currentIteration = iteration;
    } else if (iteration === undefined) iteration = currentIteration;
    if (e.id !== undefined) iterationOf.set(e.id, iteration);
    const at = (e.timestamp ?? new Date(0)).toISOString();
    const where = iteration !== undefined ? { iteration } : {};
    const failed = (error?: string, cause?: string, state = lastEntered.get(iteration)) => {
      const summary = summarizeCause(error, cause);
      out.push({
        type: 'StateFailed',
        at,
        ...(state ? { state } : {}),
        ...where,
        ...(error ? { error } : {}),
        ...(summary ? { cause: summary } : {}),
      });
    };
    if (type.endsWith('StateEntered') && e.stateEnteredEventDetails?.name) {
      // The Map state itself runs outside any iteration.
      const inMap = type !== 'MapStateEntered';
      lastEntered.set(inMap ? iteration : undefined, e.stateEnteredEventDetails.name);
      out.push({ type: 'StateEntered', at, state: e.stateEnteredEventDetails.name, ...(inMap ? where : {}) });
    } else if (type.endsWith('StateExited') && e.stateExitedEventDetails?.name) {
      out.push({ type: 'StateExited', at, state: e.stateExitedEventDetails.name, ...(type !== 'MapStateExited' ? where : {}) });
    } else if (type === 'TaskFailed') failed(e.taskFailedEventDetails?.error, e.taskFailedEventDetails?.cause);
    else if (type === 'TaskTimedOut')
      failed(e.taskTimedOutEventDetails?.error ?? 'States.Timeout', e.taskTimedOutEventDetails?.cause);
    else if (type === 'LambdaFunctionFailed')
      failed(e.lambdaFunctionFailedEventDetails?.error, e.lambdaFunctionFailedEventDetails?.cause);
    else if (type === 'LambdaFunctionTimedOut')
      failed(e.lambdaFunctionTimedOutEventDetails?.error ?? 'States.Timeout', e.lambdaFunctionTimedOutEventDetails?.cause);
    else if (type === 'MapIterationStarted' || type === 'MapIterationSucceeded' || type === 'MapIterationFailed') {
      const index =
        e.mapIterationStartedEventDetails?.index ??
        e.mapIterationSucceededEventDetails?.index ??
        e.mapIterationFailedEventDetails?.index;
      const mapped = type.replace('MapIteration', 'Iteration') as HistoryEvent['type'];
      out.push({ type: mapped, at, ...(index !== undefined ? { iteration: index } : where) });
    } else if (
      type === 'ExecutionStarted' ||
      type === 'ExecutionSucceeded' ||
      type === 'ExecutionAborted' ||
      type === 'ExecutionTimedOut'
    ) {
      out.push({ type, at });
    } else if (type === 'ExecutionFailed') {
      const cause = summarizeCause(e.executionFailedEventDetails?.error, e.executionFailedEventDetails?.cause);
      out.push({
        type,
        at,
        ...(e.executionFailedEventDetails?.error ? { error: e.executionFailedEventDetails.error } : {}),
        ...(cause ? { cause } : {}),
      });
    }
  }
  return out;
}
