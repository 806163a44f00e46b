/**
 * What AWS invokes: a function's handler (its own middy stack, the same one the local runtime
 * runs) inside one more middy stack, outermost, whose middleware is Powertools'
 * `injectLambdaContext`. It gives the Logger behind the Log port (src/aws/json-log.ts) each
 * invocation's context before anything else runs, so every line printed during the invocation
 * (by the first middlewares, building the ports, checking a signature, the handler, the error
 * log) carries function_request_id, the id of Lambda's own START/END/REPORT lines and of the
 * caller's answer, and function_name, cold_start.
 *
 * As Powertools documents it for Middy.js (Logger, "Capturing Lambda context info",
 * https://docs.aws.amazon.com/powertools/typescript/latest/features/logger/#capturing-lambda-context-info:
 * `middy(lambdaHandler).use(injectLambdaContext(logger))`, imported from
 * '@aws-lambda-powertools/logger/middleware'); the installed package declares
 * `@middy/core` 4.x to 7.x as its peer (node_modules/@aws-lambda-powertools/logger/package.json).
 *
 * Only here, not in the handlers' own stacks: locally, and in tests that invoke a handler
 * without a Lambda context, there is no Powertools Logger to enrich (the Log port is another
 * one) and no context to give it.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { lambdaLogger } from '../../src/aws/json-log.ts';

/**
 * `logEvent: false` even when POWERTOOLS_LOGGER_LOG_EVENT=true is set on the function: events
 * carry webhook bodies, signatures, task tokens and the Docker Hub token in their path, and an
 * explicit option wins over the variable (Logger.shouldLogEvent).
 */
const OPTIONS = { logEvent: false } as const;

/** injectLambdaContext on the shared Logger, made on the first invocation: importing a handler has no side effects. */
function lambdaContext(): middy.MiddlewareObj {
  let inner: middy.MiddlewareObj | undefined;
  const made = () => {
    inner ??= injectLambdaContext(lambdaLogger(), OPTIONS) as middy.MiddlewareObj;
    return inner;
  };
  return {
    name: 'injectLambdaContext',
    before: (request) => made().before?.(request),
    after: (request) => made().after?.(request),
    onError: (request) => made().onError?.(request),
  };
}

/** The handler as AWS invokes it (functions/*.ts `handler`). */
export function onLambda<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  // The handler's own stack keeps its early-timeout answer; this one sets no second timer.
  return middy<E, R>(handler, { timeoutEarlyInMillis: 0 }).use(lambdaContext());
}
