/**
 * The middy pieces every handler shares: zod parsing of the input (a bad event is an error that
 * names what was wrong), and an error log that never includes the event body (it may carry
 * secrets or tokens).
 */
import type middy from '@middy/core';
import type { z } from 'zod';
import { InvalidInputError } from '../../src/core/model/errors.ts';
import { describeZodIssues } from '../../src/core/model/zod-issues.ts';
import type { PortsProvider } from './ports.ts';

/** Replaces `event` with its parsed form; a mismatch throws InvalidInputError naming the field. */
export function parseEvent<S extends z.ZodType>(schema: S, what: string): middy.MiddlewareObj {
  return {
    name: 'parseEvent',
    before: (request) => {
      const result = schema.safeParse(request.event);
      if (!result.success) {
        throw new InvalidInputError(`not a valid ${what}: ${describeZodIssues(result.error, '(event)')}`);
      }
      request.event = result.data;
    },
  };
}

/** Logs a failed invocation with its request id and error, then lets the error propagate. */
export function logErrors(ports: PortsProvider, handlerName: string): middy.MiddlewareObj {
  return {
    name: 'logErrors',
    onError: async (request) => {
      const error = request.error as Error | undefined;
      if (!error) return;
      const log = (await ports().catch(() => undefined))?.log;
      const extra = { handler: handlerName, requestId: request.context?.awsRequestId, error: error.name, detail: error.message };
      if (log) log.error(`${handlerName} failed: ${error.message}`, extra);
      else console.error(JSON.stringify({ level: 'ERROR', message: `${handlerName} failed`, ...extra }));
    },
  };
}

/** The event after parseEvent(schema) replaced it: typed as the schema's output, parsed once. */
export function parsedAs<S extends z.ZodType>(_schema: S, event: unknown): z.output<S> {
  return event as z.output<S>;
}
