/**
 * Structured logs on Lambda through Powertools Logger (JSON lines with level, timestamp,
 * service, and the extra keys), behind the domain's small Log port.
 *
 * One Logger per process, so that the Lambda entry points can give it each
 * invocation's context (functions/commons/lambda-entry.ts, Powertools' injectLambdaContext):
 * every line then carries function_request_id, the id Lambda's own START/END/REPORT lines and
 * the caller see. Without it the lines of concurrent or successive invocations cannot be told apart.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../core/ports.ts';

/** The service name on every line Coconut's Lambdas log. */
export const LOG_SERVICE = 'coconut';

let logger: Logger | undefined;

/**
 * The one Logger every line of Coconut's Lambdas goes through, the one the entry point gives each
 * invocation's context to. Made on first use, as the ports are: importing a handler has no side effects.
 */
export function lambdaLogger(): Logger {
  logger ??= new Logger({
    serviceName: LOG_SERVICE,
    logLevel: (process.env.COCONUT_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
  });
  return logger;
}

/** The Log port on that Logger. */
export function jsonLog(): Log {
  const shared = lambdaLogger();
  return {
    debug: (message, extra) => shared.debug(message, extra ?? {}),
    info: (message, extra) => shared.info(message, extra ?? {}),
    warn: (message, extra) => shared.warn(message, extra ?? {}),
    error: (message, extra) => shared.error(message, extra ?? {}),
  };
}
