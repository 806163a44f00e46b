/**
 * Structured logs on Lambda through Powertools Logger (JSON lines with level, timestamp,
 * service, and the extra keys), behind the domain's small Log port.
 *
 * One Logger per service name and process, so that the Lambda entry points can give it each
 * invocation's context (`withRequestIds()`): every line then carries function_request_id, the
 * id Lambda's own START/END/REPORT lines and the caller see. Without it the lines of concurrent
 * or successive invocations cannot be told apart.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { Log } from '../core/ports.ts';

/** The service name on every line Coconut's Lambdas log. */
export const LOG_SERVICE = 'coconut';

const loggers = new Map<string, Logger>();

function loggerFor(serviceName: string): Logger {
  let logger = loggers.get(serviceName);
  if (!logger) {
    logger = new Logger({ serviceName, logLevel: (process.env.COCONUT_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
    loggers.set(serviceName, logger);
  }
  return logger;
}

export function jsonLog(serviceName: string = LOG_SERVICE): Log {
  const logger = loggerFor(serviceName);
  return {
    debug: (message, extra) => logger.debug(message, extra ?? {}),
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
}

/**
 * The Lambda entry point (functions/*.ts `handler`) with each invocation's context (request id,
 * function name, cold start) on every line jsonLog prints during it. It wraps the whole handler,
 * so that lines logged by its first middlewares (building the ports, checking a signature)
 * carry the id too.
 */
export function withRequestIds<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  // The logger is made on first use, as the ports are: importing a handler has no side effects.
  return (event, context) => {
    loggerFor(LOG_SERVICE).addContext(context);
    return handler(event, context);
  };
}
