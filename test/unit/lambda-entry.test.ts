/**
 * functions/commons/lambda-entry.ts: the handlers as AWS invokes them, with Powertools'
 * injectLambdaContext outermost. The Lambda context is shaped as aws-lambda's `Context` type
 * (what the Node.js runtime passes: awsRequestId, functionName, invokedFunctionArn...); the lines
 * are read where the Logger prints them on Lambda, stdout and stderr (a Console on them unless
 * POWERTOOLS_DEV is set: node_modules/@aws-lambda-powertools/logger/lib/esm/Logger.js).
 * test/integration/deployed-handlers.test.ts checks the same on the bundled functions.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { onLambda } from '../../functions/commons/lambda-entry.ts';
import { logErrors } from '../../functions/commons/middleware.ts';
import { jsonLog, LOG_SERVICE } from '../../src/aws/json-log.ts';
import type { Ports } from '../../src/core/handler-ports.ts';

function lambdaContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'coconut-prod-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:coconut-prod-api',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/coconut-prod-api',
    logStreamName: '2026/01/01/[$LATEST]abc',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

let printed: string[] = [];
const saved = {
  dev: process.env.POWERTOOLS_DEV,
  logEvent: process.env.POWERTOOLS_LOGGER_LOG_EVENT,
  level: process.env.COCONUT_LOG_LEVEL,
};

beforeAll(() => {
  delete process.env.POWERTOOLS_DEV;
  // vitest.config.ts quiets the Logger to ERROR; these lines are INFO. Read when it is made.
  process.env.COCONUT_LOG_LEVEL = 'INFO';
  // Set on a function, this would make Powertools print every event it is given: not these.
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
});
afterAll(() => {
  for (const [name, value] of [
    ['POWERTOOLS_DEV', saved.dev],
    ['POWERTOOLS_LOGGER_LOG_EVENT', saved.logEvent],
    ['COCONUT_LOG_LEVEL', saved.level],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});
beforeEach(() => {
  printed = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
  }
});
afterEach(() => vi.restoreAllMocks());

const lines = () => printed.map((l) => JSON.parse(l) as Record<string, unknown>);

/** A handler with its own stack, as functions/*.ts build theirs: a first middleware that logs, then the handler. */
function handlerThatLogs(fail = false) {
  const log = jsonLog();
  const ports = async () => ({ log }) as unknown as Ports;
  return middy<{ secret: string }, string>()
    .use(logErrors(ports, 'test'))
    .use({ before: () => log.info('first middleware') })
    .handler(async () => {
      log.info('handler');
      if (fail) throw new Error('boom');
      return 'done';
    });
}

describe('onLambda', () => {
  it("puts each invocation's request id on every line, from the first middleware on", async () => {
    const handler = onLambda(handlerThatLogs());
    expect(await handler({ secret: 's3cret-event-value' }, lambdaContext('req-1'))).toBe('done');
    expect(await handler({ secret: 's3cret-event-value' }, lambdaContext('req-2'))).toBe('done');
    expect(lines().map((l) => [l.message, l.function_request_id])).toEqual([
      ['first middleware', 'req-1'],
      ['handler', 'req-1'],
      ['first middleware', 'req-2'],
      ['handler', 'req-2'],
    ]);
    for (const line of lines()) {
      expect(line).toMatchObject({
        level: 'INFO',
        service: LOG_SERVICE,
        function_name: 'coconut-prod-api',
        cold_start: expect.any(Boolean),
      });
    }
  });

  it('never prints the event, even with POWERTOOLS_LOGGER_LOG_EVENT=true', async () => {
    const handler = onLambda(handlerThatLogs());
    await handler({ secret: 's3cret-event-value' }, lambdaContext('req-3'));
    expect(printed.length).toBeGreaterThan(0);
    expect(printed.join('\n')).not.toContain('s3cret-event-value');
  });

  it('logs a failure with the request id and lets the error reach Lambda', async () => {
    const handler = onLambda(handlerThatLogs(true));
    await expect(handler({ secret: 's3cret-event-value' }, lambdaContext('req-4'))).rejects.toThrow('boom');
    const failed = lines().find((l) => l.level === 'ERROR');
    expect(failed).toMatchObject({ message: 'test failed: boom', function_request_id: 'req-4', requestId: 'req-4' });
    expect(printed.join('\n')).not.toContain('s3cret-event-value');
  });
});
