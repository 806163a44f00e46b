/**
 * Structured logs on Lambda through Powertools Logger (JSON lines with level, timestamp,
 * service, and the extra keys), behind the domain's small Log port.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../core/ports.ts';

export function jsonLog(serviceName: string): Log {
  const logger = new Logger({ serviceName, logLevel: (process.env.COCONUT_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
  return {
    debug: (message, extra) => logger.debug(message, extra ?? {}),
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
}
