/**
 * Waiting on what the local runtime itself reports, instead of sleeping or polling: engine
 * events (the same ones aws-local-stepfunctions emits and the dashboard shows), the return of a
 * function invocation, and what each event-bus delivery returned. Each wait has a deadline that
 * is a bound stated by the test, and its error says what never happened.
 */
import type { BusEvent, Delivery } from '../../src/local/bus.ts';
import type { ExecutionEvent } from '../../src/local/engine.ts';
import type { Runtime } from '../../src/local/runtime.ts';

type TestRuntimeLike = Pick<Runtime, 'engine' | 'functions' | 'bus'>;

/**
 * The first event of `execution` that matches: events already written are looked at first
 * (subscribed before looking, so that none falls between), then new ones as they come.
 */
export function engineEvent(
  rt: Pick<TestRuntimeLike, 'engine'>,
  execution: string,
  match: (event: ExecutionEvent) => boolean,
  what: string,
  timeoutMs: number,
): Promise<ExecutionEvent> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      settle();
    };
    const unsubscribe = rt.engine.onEvent((name, event) => {
      if (name === execution && match(event)) finish(() => resolve(event));
    });
    const timer = setTimeout(() => {
      const seen = rt.engine
        .events(execution)
        .slice(-8)
        .map((e) => `  ${e.type}${e.state ? ` ${e.state}` : ''}${e.error ? ` (${e.error})` : ''}`)
        .join('\n');
      finish(() => reject(new Error(`${what}: not within ${timeoutMs} ms; the last events of ${execution}:\n${seen}`)));
    }, timeoutMs);
    const past = rt.engine.events(execution).find(match);
    if (past) finish(() => resolve(past));
  });
}

/** StateEntered of a state (inner states of the Map too) of one execution. */
export function stateEntered(
  rt: Pick<TestRuntimeLike, 'engine'>,
  execution: string,
  state: string,
  timeoutMs: number,
): Promise<ExecutionEvent> {
  return engineEvent(
    rt,
    execution,
    (e) => e.type === 'StateEntered' && e.state === state,
    `${execution} entering ${state}`,
    timeoutMs,
  );
}

/**
 * Resolves once an invocation of `functionName` whose event matches has returned. The engine
 * looks its functions up by name at each Task, so the wrapper sees the state machine's calls;
 * it is removed again once the invocation is seen.
 */
export function invocationReturned(
  rt: Pick<TestRuntimeLike, 'functions'>,
  functionName: string,
  match: (event: Record<string, unknown>) => boolean,
  what: string,
  timeoutMs: number,
): Promise<{ event: Record<string, unknown>; result: unknown }> {
  const original = rt.functions[functionName];
  if (!original) throw new Error(`the runtime has no function named ${functionName}`);
  return new Promise((resolve, reject) => {
    const restore = () => {
      clearTimeout(timer);
      if (rt.functions[functionName] === wrapper) rt.functions[functionName] = original;
    };
    const wrapper: typeof original = async (event, context) => {
      const result = await original(event, context);
      const e = (event ?? {}) as Record<string, unknown>;
      if (match(e)) {
        restore();
        resolve({ event: e, result });
      }
      return result;
    };
    const timer = setTimeout(() => {
      restore();
      reject(new Error(`${what}: no such invocation of ${functionName} returned within ${timeoutMs} ms`));
    }, timeoutMs);
    rt.functions[functionName] = wrapper;
  });
}

/**
 * Records every event published on the runtime's bus and what each rule's target returned
 * (local alarms publish through `bus.publish` at each change). `stop()` puts the bus back.
 */
export function recordBus(rt: Pick<TestRuntimeLike, 'bus'>): {
  published: { event: BusEvent; deliveries: Delivery[] }[];
  stop(): void;
} {
  const published: { event: BusEvent; deliveries: Delivery[] }[] = [];
  const bus = rt.bus as { publish: (event: BusEvent) => Promise<Delivery[]> };
  const original = bus.publish;
  bus.publish = async (event) => {
    const deliveries = await original.call(rt.bus, event);
    published.push({ event, deliveries });
    return deliveries;
  };
  return {
    published,
    stop: () => {
      bus.publish = original;
    },
  };
}
