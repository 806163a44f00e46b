/**
 * The Orchestrator port on Step Functions. The execution name is the idempotency key: an
 * execution of that name that already exists (running or not) means a duplicate, which is
 * success with nothing started.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidToken,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  type ExecutionStatus as SfnExecutionStatus,
  type HistoryEvent as SfnHistoryEvent,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { summarizeCause } from '../core/history/execution-history.ts';
import { TaskTokenExpiredError } from '../core/model/errors.ts';
import type {
  ExecutionHistory,
  ExecutionStatus,
  HistoryEvent,
  Orchestrator,
  StartResult,
  StateMachineName,
} from '../core/ports.ts';
import { errorName, namedAwsError } from './errors.ts';

export interface ExecutionInfo {
  name: string;
  executionArn: string;
  status: SfnExecutionStatus | string;
  startDate?: string;
  stopDate?: string;
  /** Only from describeExecution: why it failed. */
  error?: string;
  cause?: string;
}

const EXPIRED = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** A bound on what one history read fetches (an execution may have up to 25,000 events); past it the oldest are kept. */
const MAX_HISTORY_EVENTS = 5000;

export class SfnOrchestrator implements Orchestrator {
  private readonly sfn: SFNClient;
  private readonly machines: Record<StateMachineName, string | undefined>;

  constructor(sfn: SFNClient, machines: Partial<Record<StateMachineName, string>>) {
    this.sfn = sfn;
    this.machines = { deploy: machines.deploy, release: machines.release };
  }

  async startExecution(machine: StateMachineName, name: string, input: unknown): Promise<StartResult> {
    const stateMachineArn = this.arnOf(machine);
    const executionArn = executionArnOf(stateMachineArn, name);
    // Step Functions answers a second start with the same name and input *successfully* while
    // the first runs (and with ExecutionAlreadyExists otherwise): look first, so that a
    // duplicate push is reported as one. Two starts racing within milliseconds may both say
    // "started"; Step Functions still runs only one.
    if (await this.describeExecution(machine, name)) return { executionArn, started: false };
    try {
      const res = await this.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return { executionArn: res.executionArn ?? executionArn, started: true };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || errorName(error) === 'ExecutionAlreadyExists') {
        return { executionArn, started: false };
      }
      throw namedAwsError(`starting execution ${name} of state machine ${stateMachineArn}`, error);
    }
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    await this.task('SendTaskSuccess', () =>
      this.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output ?? {}) })),
    );
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    // Step Functions limits: error 256 characters, cause 32,768.
    await this.task('SendTaskFailure', () =>
      this.sfn.send(new SendTaskFailureCommand({ taskToken: token, error: error.slice(0, 256), cause: cause.slice(0, 32768) })),
    );
  }

  /** One execution by name, or undefined when none of that name exists. */
  async describeExecution(machine: StateMachineName, name: string): Promise<ExecutionInfo | undefined> {
    const executionArn = executionArnOf(this.arnOf(machine), name);
    try {
      const res = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return {
        name: res.name ?? name,
        executionArn: res.executionArn ?? executionArn,
        status: res.status ?? 'UNKNOWN',
        ...(res.startDate ? { startDate: res.startDate.toISOString() } : {}),
        ...(res.stopDate ? { stopDate: res.stopDate.toISOString() } : {}),
        ...(res.error ? { error: res.error } : {}),
        ...(res.cause ? { cause: res.cause } : {}),
      };
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist || errorName(error) === 'ExecutionDoesNotExist') return undefined;
      throw namedAwsError(`describing execution ${executionArn}`, error);
    }
  }

  /** Executions of a machine, newest first (as Step Functions lists them), optionally by status. */
  async listExecutions(
    machine: StateMachineName,
    query: { status?: SfnExecutionStatus; limit?: number } = {},
  ): Promise<ExecutionInfo[]> {
    const stateMachineArn = this.arnOf(machine);
    const limit = Math.min(query.limit ?? 100, 1000);
    const found: ExecutionInfo[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const res = await this.sfn.send(
          new ListExecutionsCommand({
            stateMachineArn,
            ...(query.status ? { statusFilter: query.status } : {}),
            maxResults: Math.min(limit - found.length, 1000),
            nextToken,
          }),
        );
        for (const e of res.executions ?? []) {
          found.push({
            name: e.name ?? '',
            executionArn: e.executionArn ?? '',
            status: e.status ?? 'UNKNOWN',
            ...(e.startDate ? { startDate: e.startDate.toISOString() } : {}),
            ...(e.stopDate ? { stopDate: e.stopDate.toISOString() } : {}),
          });
        }
        nextToken = res.nextToken;
      } while (nextToken && found.length < limit);
    } catch (error) {
      throw namedAwsError(`listing executions of state machine ${stateMachineArn}`, error);
    }
    return found;
  }

  /**
   * GetExecutionHistory without execution data (no inputs, outputs or task parameters: task
   * tokens and build variables never leave Step Functions), normalized to HistoryEvent.
   */
  async history(executionName: string): Promise<ExecutionHistory | undefined> {
    const executionArn = executionArnOf(this.arnOf('deploy'), executionName);
    let described: DescribeExecutionCommandOutput;
    try {
      described = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist || errorName(error) === 'ExecutionDoesNotExist') return undefined;
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

  private arnOf(machine: StateMachineName): string {
    const arn = this.machines[machine];
    if (!arn) {
      throw new Error(
        `no ARN configured for the ${machine} state machine (COCONUT_${machine.toUpperCase()}_STATE_MACHINE, set by infra/)`,
      );
    }
    return arn;
  }

  private async task(action: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (error instanceof TaskTimedOut || error instanceof TaskDoesNotExist || error instanceof InvalidToken) {
        throw new TaskTokenExpiredError(`the task no longer waits (${errorName(error)})`);
      }
      if (EXPIRED.has(errorName(error))) throw new TaskTokenExpiredError(`the task no longer waits (${errorName(error)})`);
      // Never put the token into the message: it is a bearer credential for the execution.
      throw namedAwsError(`${action} to Step Functions`, error);
    }
  }
}

/** arn:aws:states:R:A:stateMachine:M -> arn:aws:states:R:A:execution:M:NAME */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
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
