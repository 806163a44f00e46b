/**
 * The middy pieces every handler shares (functions/commons/middleware.ts), run by middy (@middy/core) as the
 * handlers run them: the event parsed by its zod schema or refused naming the field, and a failed
 * invocation logged with its request id (Lambda's context.awsRequestId) but never with the event body.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { logErrors, parsedAs, parseEvent } from '../../functions/commons/middleware.ts';
import type { Ports } from '../../src/core/handler-ports.ts';
import { InvalidInputError } from '../../src/core/model/errors.ts';
import { memoryLog } from '../support/runtime.ts';

afterEach(() => vi.restoreAllMocks());

const schema = z.object({ deploymentId: z.string().min(1), attempt: z.coerce.number().default(1) });
const context = { awsRequestId: 'req-7' } as Context;

describe('parseEvent', () => {
  it('hands the handler the parsed event (defaults and coercions applied)', async () => {
    const seen: unknown[] = [];
    const handler = middy()
      .use(parseEvent(schema, 'step event'))
      .handler(async (event: unknown) => {
        seen.push(parsedAs(schema, event));
        return 'ok';
      });
    expect(await handler({ deploymentId: 'd-1', attempt: '3' }, context)).toBe('ok');
    expect(await handler({ deploymentId: 'd-2' }, context)).toBe('ok');
    expect(seen).toEqual([
      { deploymentId: 'd-1', attempt: 3 },
      { deploymentId: 'd-2', attempt: 1 },
    ]);
  });

  it('refuses an event that does not fit, naming what it is and the field, before the handler runs', async () => {
    const ran = vi.fn();
    const handler = middy().use(parseEvent(schema, 'step event')).handler(ran);
    const refusal = handler({ deploymentId: '' }, context);
    await expect(refusal).rejects.toThrow(InvalidInputError);
    await expect(refusal).rejects.toThrow(/^not a valid step event: deploymentId: /);
    expect(ran).not.toHaveBeenCalled();
  });

  it('names the event as a whole when it is not an object at all', async () => {
    const handler = middy().use(parseEvent(schema, 'step event')).handler(vi.fn());
    await expect(handler('just text', context)).rejects.toThrow(/^not a valid step event: \(event\): /);
  });
});

describe('logErrors', () => {
  const failing = (ports: () => Promise<Ports>) =>
    middy()
      .use(logErrors(ports, 'ecr-push'))
      .handler(async () => {
        const error = new Error('registry unreachable');
        error.name = 'DigestUnresolvedError';
        throw error;
      });

  it('logs a failed invocation with the handler, request id, error name and message, and lets the error go on', async () => {
    const log = memoryLog();
    const errors: unknown[][] = [];
    log.error = (...args: unknown[]) => void errors.push(args);
    await expect(failing(async () => ({ log }) as unknown as Ports)({ body: 'secret-body' }, context)).rejects.toThrow(
      'registry unreachable',
    );
    expect(errors).toEqual([
      [
        'ecr-push failed: registry unreachable',
        { handler: 'ecr-push', requestId: 'req-7', error: 'DigestUnresolvedError', detail: 'registry unreachable' },
      ],
    ]);
    expect(JSON.stringify(errors)).not.toContain('secret-body');
  });

  it('writes one JSON line to the console when the ports themselves cannot be had', async () => {
    const console_ = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(failing(() => Promise.reject(new Error('no config')))({}, context)).rejects.toThrow('registry unreachable');
    expect(console_).toHaveBeenCalledTimes(1);
    expect(JSON.parse(console_.mock.calls[0]?.[0] as string)).toEqual({
      level: 'ERROR',
      message: 'ecr-push failed',
      handler: 'ecr-push',
      requestId: 'req-7',
      error: 'DigestUnresolvedError',
      detail: 'registry unreachable',
    });
  });

  it('logs nothing when nothing failed', async () => {
    const log = memoryLog();
    const ports = vi.fn(async () => ({ log }) as unknown as Ports);
    const handler = middy()
      .use(logErrors(ports, 'ecr-push'))
      .handler(async () => 'fine');
    expect(await handler({}, context)).toBe('fine');
    expect(log.lines).toEqual([]);
    // An onError call without an error (a middleware that already answered) logs nothing either.
    const { onError } = logErrors(ports, 'ecr-push');
    await onError?.({ event: {}, context, response: undefined, error: undefined, internal: {} } as never);
    expect(ports).not.toHaveBeenCalled();
  });
});
