/**
 * The local Step Functions: aws-local-stepfunctions runs the very ASL files that AWS runs.
 * Task states are overridden by name according to their Resource:
 *   lambda:invoke                    -> the same handler module, called in process
 *   lambda:invoke.waitForTaskToken   -> the handler gets a fresh token; the task waits until
 *                                       sendTaskSuccess/Failure (this class, the Orchestrator port)
 *   codebuild:startBuild.sync        -> the local build runner
 * Executions are kept under <dataDir>/executions so that names stay unique across restarts
 * (the idempotency key) and a run that was cut short by a crash is found and reported.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Context } from 'aws-lambda';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type AslDefinition, taskStates } from '../core/asl.ts';
import { summarizeCause } from '../core/history/execution-history.ts';
import { TaskTokenExpiredError } from '../core/model/errors.ts';
import type { ExecutionHistory, HistoryEvent, Log, Orchestrator, StartResult, StateMachineName } from '../core/ports.ts';
import { adaptTimeoutPaths, LOCAL_ACCOUNT, LOCAL_REGION } from './asl.ts';
import { appendPrivateFile, privateDir, writePrivateFile } from './private-files.ts';

export type LocalFunction = (event: unknown, context: Context) => Promise<unknown>;

export interface BuildRunnerPort {
  run(params: Record<string, unknown>, meta: { execution: string; state: string }): Promise<unknown>;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'INTERRUPTED';

export interface ExecutionRecord {
  name: string;
  machine: StateMachineName;
  executionArn: string;
  status: ExecutionStatus;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  startedAt: string;
  stoppedAt?: string;
}

export interface ExecutionEvent {
  type: string;
  timestamp: number;
  state?: string;
  index?: number;
  error?: string;
  cause?: string;
}

export interface EngineOptions {
  definitions: Partial<Record<StateMachineName, AslDefinition>>;
  functions: Record<string, LocalFunction>;
  builds: BuildRunnerPort;
  dataDir: string;
  log: Log;
  /** Milliseconds for Wait states by name (the lock poll waits 5 s on AWS; locally less). */
  waitOverrides?: Record<string, number>;
  /** Called once an execution has stopped and none of its tasks is still in flight. */
  onExecutionEnd?: (record: ExecutionRecord) => Promise<void>;
}

/** Stands in for $$.Task.Token in the context; each waiting task gets its own token instead. */
const TOKEN_PLACEHOLDER = 'coconut-local-task-token';
/** Stands in for $$.State.EnteredTime (the context is fixed per run); replaced when the task starts. */
const ENTERED_TIME_PLACEHOLDER = 'coconut-local-state-entered-time';
const NAME = /^[A-Za-z0-9_-]{1,80}$/;

interface PendingTask {
  execution: string;
  state: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Running {
  abort: () => void;
  done: Promise<void>;
}

export class LocalEngine implements Orchestrator {
  private readonly opts: EngineOptions;
  private readonly definitions: Partial<Record<StateMachineName, AslDefinition>>;
  private readonly dir: string;
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, Running>();
  /** Executions being stopped by stopExecution (not by a shutdown), with what the stop said. */
  private readonly stopping = new Map<string, { error?: string; cause?: string }>();
  private readonly tokens = new Map<string, PendingTask>();
  private readonly listeners = new Set<(name: string, event: ExecutionEvent) => void>();

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.definitions = Object.fromEntries(
      Object.entries(opts.definitions).map(([name, def]) => [name, adaptTimeoutPaths(def as AslDefinition)]),
    );
    this.dir = path.join(opts.dataDir, 'executions');
    privateDir(this.dir);
    for (const file of readdirSync(this.dir)) {
      if (!file.endsWith('.json')) continue;
      const record = JSON.parse(readFileSync(path.join(this.dir, file), 'utf8')) as ExecutionRecord;
      this.records.set(record.name, record);
    }
  }

  /**
   * Executions that were RUNNING when the previous process died: marked INTERRUPTED (never
   * silently lost, never stuck). The caller repairs their deployment records and locks.
   */
  recoverInterrupted(): ExecutionRecord[] {
    const interrupted: ExecutionRecord[] = [];
    for (const record of this.records.values()) {
      if (record.status !== 'RUNNING' || this.running.has(record.name)) continue;
      Object.assign(record, {
        status: 'INTERRUPTED',
        error: 'Coconut.Interrupted',
        cause: 'the local runtime stopped while this execution was running',
        stoppedAt: new Date().toISOString(),
      });
      this.persist(record);
      interrupted.push(record);
    }
    return interrupted;
  }

  async startExecution(machine: StateMachineName, name: string, input: unknown): Promise<StartResult> {
    if (!NAME.test(name)) throw new Error(`invalid execution name ${JSON.stringify(name)}: expected 1-80 of [A-Za-z0-9_-]`);
    const definition = this.definitions[machine];
    if (!definition) throw new Error(`the local runtime has no ${machine} state machine`);
    const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:coconut-${machine}:${name}`;
    const existing = this.records.get(name);
    if (existing) {
      // As on AWS: same name and input while running -> no new run; otherwise the name is taken.
      const same = existing.status === 'RUNNING' && isDeepStrictEqual(existing.input, input);
      this.opts.log.debug(`execution ${name} exists (${existing.status}${same ? ', same input' : ''}): not started again`);
      return { executionArn: existing.executionArn, started: false };
    }
    const record: ExecutionRecord = {
      name,
      machine,
      executionArn,
      status: 'RUNNING',
      input,
      startedAt: new Date().toISOString(),
    };
    this.records.set(name, record);
    this.persist(record);
    this.run(record, definition);
    return { executionArn, started: true };
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    this.take(token).resolve(output ?? {});
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    this.take(token).reject(Object.assign(new Error(cause), { name: error }));
  }

  private take(token: string): PendingTask {
    const pending = this.tokens.get(token);
    if (!pending) throw new TaskTokenExpiredError('the task no longer waits (TaskTimedOut or TaskDoesNotExist)');
    this.tokens.delete(token);
    return pending;
  }

  get(name: string): ExecutionRecord | undefined {
    return this.records.get(name);
  }

  list(): ExecutionRecord[] {
    return [...this.records.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  events(name: string): ExecutionEvent[] {
    try {
      return readFileSync(path.join(this.dir, `${name}.events.jsonl`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as ExecutionEvent);
    } catch {
      return [];
    }
  }

  /** The Orchestrator view of an execution: the same normalized events as on Step Functions. */
  async history(name: string): Promise<ExecutionHistory | undefined> {
    const record = this.records.get(name);
    if (!record) return undefined;
    const events: HistoryEvent[] = [];
    for (const e of this.events(name)) {
      const type = LOCAL_EVENT_TYPES[e.type];
      if (!type) continue;
      const cause = summarizeCause(e.error, e.cause);
      events.push({
        type,
        at: new Date(e.timestamp).toISOString(),
        ...(e.state && !type.startsWith('Iteration') && !type.startsWith('Execution') ? { state: e.state } : {}),
        ...(e.index !== undefined ? { iteration: e.index } : {}),
        ...(e.error ? { error: e.error } : {}),
        ...(cause ? { cause } : {}),
      });
    }
    const cause = summarizeCause(record.error, record.cause);
    return {
      name,
      status: record.status,
      startedAt: record.startedAt,
      ...(record.stoppedAt ? { stoppedAt: record.stoppedAt } : {}),
      ...(record.error ? { error: record.error } : {}),
      ...(cause ? { cause } : {}),
      events,
    };
  }

  onEvent(listener: (name: string, event: ExecutionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the execution has stopped (any status). */
  async waitFor(name: string): Promise<ExecutionRecord | undefined> {
    await this.running.get(name)?.done;
    return this.records.get(name);
  }

  /**
   * As Step Functions' StopExecution (the console's "Stop execution"): the execution ends ABORTED,
   * with the error and cause given if any; the tokens of its waiting tasks die (sending to them
   * answers TaskTokenExpiredError), and onExecutionEnd runs as for any end. Resolves once that ran.
   */
  async stopExecution(name: string, stop: { error?: string; cause?: string } = {}): Promise<void> {
    const record = this.records.get(name);
    if (!record) throw new Error(`no execution named ${name}`);
    const run = this.running.get(name);
    if (record.status !== 'RUNNING' || !run)
      throw new Error(`execution ${name} is not running (${record.status}): nothing to stop`);
    this.stopping.set(name, stop);
    run.abort();
    await run.done;
  }

  /** Resolves when no execution is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Stops every running execution (shutdown); they stay RUNNING on disk and are reported as INTERRUPTED next start. */
  async stop(): Promise<void> {
    const runs = [...this.running.values()];
    for (const run of runs) run.abort();
    await Promise.allSettled(runs.map((r) => r.done));
  }

  private persist(record: ExecutionRecord): void {
    writePrivateFile(path.join(this.dir, `${record.name}.json`), JSON.stringify(record));
  }

  private emit(name: string, event: ExecutionEvent): void {
    appendPrivateFile(path.join(this.dir, `${name}.events.jsonl`), `${JSON.stringify(event)}\n`);
    for (const listener of this.listeners) listener(name, event);
  }

  private run(record: ExecutionRecord, definition: AslDefinition): void {
    const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
    const life: Life = { ended: false, inFlight: new Set() };
    const overrides = this.overridesFor(record.name, definition, life);
    const execution = machine.run(record.input as never, {
      overrides: { taskResourceLocalHandlers: overrides as never, waitTimeOverrides: this.opts.waitOverrides ?? {} },
      context: {
        Execution: { Id: record.executionArn, Name: record.name, Input: record.input as never, StartTime: record.startedAt },
        StateMachine: {
          Id: record.executionArn.replace(/:execution:([^:]+):.*/, ':stateMachine:$1'),
          Name: `coconut-${record.machine}`,
        },
        Task: { Token: TOKEN_PLACEHOLDER },
        State: { EnteredTime: ENTERED_TIME_PLACEHOLDER },
      },
    });
    let stopped = false;
    const consumeEvents = (async () => {
      for await (const event of execution.eventLogs) {
        const e = event as unknown as {
          type: string;
          timestamp: number;
          state?: { name: string };
          index?: number;
          Error?: string;
          Cause?: unknown;
        };
        const view: ExecutionEvent = {
          type: e.type,
          timestamp: e.timestamp,
          ...(e.state ? { state: e.state.name } : {}),
          ...(e.index !== undefined ? { index: e.index } : {}),
          ...(e.Error ? { error: e.Error, cause: String(e.Cause ?? '') } : {}),
        };
        if (view.state && (view.type === 'StateFailed' || view.type === 'StateExited')) this.dropTokens(record.name, view.state);
        this.emit(record.name, view);
        if (stopped) break;
      }
    })().catch(() => {});
    const done = execution.result
      .then((output) => {
        Object.assign(record, { status: 'SUCCEEDED', output, stoppedAt: new Date().toISOString() });
      })
      .catch((error: Error & { cause?: Error }) => {
        const stop = this.stopping.get(record.name);
        if (error.name === 'ExecutionAbortedError' && stop) {
          this.stopping.delete(record.name);
          Object.assign(record, {
            status: 'ABORTED',
            ...(stop.error ? { error: stop.error } : {}),
            ...(stop.cause ? { cause: stop.cause } : {}),
            stoppedAt: new Date().toISOString(),
          });
          return;
        }
        if (error.name === 'ExecutionAbortedError') {
          // Shutdown: left RUNNING on disk; the next start reports it as INTERRUPTED.
          return;
        }
        const inner = error.cause instanceof Error ? error.cause : error;
        Object.assign(record, {
          status: 'FAILED',
          error: inner.name,
          cause: inner.message,
          stoppedAt: new Date().toISOString(),
        });
      })
      .finally(async () => {
        stopped = true;
        // aws-local-stepfunctions does not cancel Map iterations that were queued behind a
        // failed one: they start after the execution has failed. `life.ended` makes their tasks
        // fail at once; tasks already in flight are waited for, so that `onExecutionEnd` (which
        // releases whatever locks remain) runs after the last side effect.
        life.ended = true;
        this.dropTokens(record.name);
        while (life.inFlight.size > 0) await Promise.allSettled([...life.inFlight]);
        if (record.status !== 'RUNNING') {
          this.persist(record);
          await this.opts
            .onExecutionEnd?.(record)
            .catch((error) => this.opts.log.error(`cleanup after ${record.name} failed: ${(error as Error).message}`));
        }
        this.running.delete(record.name);
        const level = record.status === 'SUCCEEDED' ? 'info' : 'warn';
        if (record.status !== 'RUNNING') {
          this.opts.log[level](`execution ${record.name} ${record.status}${record.cause ? `: ${record.cause}` : ''}`, {
            execution: record.name,
            status: record.status,
          });
        }
        return consumeEvents;
      });
    this.running.set(record.name, { abort: execution.abort, done });
  }

  /**
   * The task stopped waiting (its timeout fired, or the execution ended): the token is dead,
   * as on AWS, and the promise behind it settles so that nothing waits on it forever.
   */
  private dropTokens(execution: string, state?: string): void {
    for (const [token, pending] of this.tokens) {
      if (pending.execution !== execution || (state !== undefined && pending.state !== state)) continue;
      this.tokens.delete(token);
      pending.reject(stoppedError());
    }
  }

  private overridesFor(execution: string, definition: AslDefinition, life: Life) {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of taskStates(definition)) {
      const resource = state.Resource ?? '';
      const task = async (input: unknown) => {
        const params = (input ?? {}) as Record<string, unknown>;
        if (resource === 'arn:aws:states:::lambda:invoke') {
          const entered = { [ENTERED_TIME_PLACEHOLDER]: new Date().toISOString() };
          const payload = await this.invoke({ ...params, Payload: replaceToken(params.Payload, entered) }, stateName);
          return { ExecutedVersion: '$LATEST', Payload: payload ?? null, StatusCode: 200 };
        }
        if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
          return this.invokeAndWait(execution, stateName, params);
        }
        if (resource === 'arn:aws:states:::codebuild:startBuild.sync') {
          return this.opts.builds.run(params, { execution, state: stateName });
        }
        throw Object.assign(new Error(`${stateName}: resource ${resource} is not supported by the local runtime`), {
          name: 'States.Runtime',
        });
      };
      handlers[stateName] = (input) => {
        if (life.ended) return Promise.reject(stoppedError());
        const running = task(input);
        life.inFlight.add(running);
        return running.finally(() => life.inFlight.delete(running));
      };
    }
    return handlers;
  }

  private async invoke(params: Record<string, unknown>, stateName: string): Promise<unknown> {
    const functionName =
      String(params.FunctionName ?? '')
        .split(':')
        .pop() ?? '';
    const fn = this.opts.functions[functionName];
    if (!fn) {
      throw Object.assign(new Error(`${stateName}: no local function named ${functionName}`), {
        name: 'Lambda.ResourceNotFoundException',
      });
    }
    return fn(params.Payload ?? {}, lambdaContext(functionName));
  }

  private invokeAndWait(execution: string, stateName: string, params: Record<string, unknown>): Promise<unknown> {
    const token = `local:${execution}:${stateName}:${randomUUID()}`;
    const waiting = new Promise<unknown>((resolve, reject) => {
      this.tokens.set(token, { execution, state: stateName, resolve, reject });
    });
    // The function itself may decide the task before it returns (a bake whose alarm already
    // fires fails its own token): the outcome is read below, so this early settle is no crash.
    waiting.catch(() => {});
    const payload = replaceToken(params.Payload, {
      [TOKEN_PLACEHOLDER]: token,
      [ENTERED_TIME_PLACEHOLDER]: new Date().toISOString(),
    });
    return this.invoke({ ...params, Payload: payload }, stateName).then(
      () => waiting,
      (error) => {
        this.tokens.delete(token);
        throw error;
      },
    );
  }
}

/** aws-local-stepfunctions event types -> the Orchestrator's (StateCaught adds nothing: the next state shows it). */
const LOCAL_EVENT_TYPES: Record<string, HistoryEvent['type'] | undefined> = {
  ExecutionStarted: 'ExecutionStarted',
  ExecutionSucceeded: 'ExecutionSucceeded',
  ExecutionFailed: 'ExecutionFailed',
  ExecutionAborted: 'ExecutionAborted',
  ExecutionTimeout: 'ExecutionTimedOut',
  MapIterationStarted: 'IterationStarted',
  MapIterationSucceeded: 'IterationSucceeded',
  MapIterationFailed: 'IterationFailed',
  StateEntered: 'StateEntered',
  StateExited: 'StateExited',
  StateFailed: 'StateFailed',
  StateRetried: 'StateRetried',
};

interface Life {
  ended: boolean;
  inFlight: Set<Promise<unknown>>;
}

function stoppedError(): Error {
  return Object.assign(new Error('the execution has stopped'), { name: 'Coconut.ExecutionStopped' });
}

function replaceToken(value: unknown, placeholders: Record<string, string>): unknown {
  if (typeof value === 'string' && Object.hasOwn(placeholders, value)) return placeholders[value];
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, placeholders));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, placeholders)]));
  }
  return value;
}

export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 15 * 60 * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
