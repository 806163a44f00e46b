/**
 * The HTTP helpers every handler shares (functions/commons/http.ts): JSON answers, domain errors as status
 * codes with only 4xx messages (and the registry's 502) shown, path parameters and bodies as the client sent them.
 * The answers are API Gateway v2 (HTTP API) structured results, typed by aws-lambda's
 * APIGatewayProxyStructuredResultV2; middy (@middy/core) runs jsonErrors as it runs it in the handlers.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  decodePathParameter,
  HttpError,
  type HttpEvent,
  type HttpResult,
  json,
  jsonErrors,
  malformedPathMessage,
  rawBody,
  statusOf,
} from '../../functions/commons/http.ts';
import {
  CoconutError,
  ConflictError,
  DigestUnresolvedError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from '../../src/core/model/errors.ts';

describe('json', () => {
  it('answers JSON that no cache keeps, with any extra headers', () => {
    expect(json(201, { id: 'd-1' })).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: '{"id":"d-1"}',
    });
    expect(json(200, [], { 'x-coconut-next-cursor': 'abc', 'cache-control': 'max-age=5' }).headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'max-age=5',
      'x-coconut-next-cursor': 'abc',
    });
  });
});

describe('statusOf and jsonErrors', () => {
  it('maps each domain error to its status code, anything else to 500', () => {
    expect(statusOf(new HttpError(429, 'slow down'))).toBe(429);
    expect(statusOf(new InvalidInputError('bad'))).toBe(400);
    expect(statusOf(new ForbiddenError('no'))).toBe(403);
    expect(statusOf(new NotFoundError('gone'))).toBe(404);
    expect(statusOf(new ConflictError('taken'))).toBe(409);
    expect(statusOf(new DigestUnresolvedError('registry said 401'))).toBe(502);
    expect(statusOf(new CoconutError('other'))).toBe(500);
    expect(statusOf(new Error('plain'))).toBe(500);
    expect(statusOf('not even an error')).toBe(500);
    const e = new HttpError(418, 'teapot');
    expect([e.name, e.message, e.statusCode, e instanceof Error]).toEqual(['HttpError', 'teapot', 418, true]);
  });

  const answer = async (error: unknown) => {
    const handler = middy<HttpEvent, HttpResult>()
      .use(jsonErrors())
      .handler(async () => {
        throw error;
      });
    return handler({} as HttpEvent, {} as Context);
  };

  it('shows the message of a 4xx and of an unresolved digest, and only "internal error" for any other 5xx', async () => {
    expect(await answer(new InvalidInputError('limit must be a number'))).toEqual(json(400, { error: 'limit must be a number' }));
    expect(await answer(new DigestUnresolvedError('docker.io said 404 for team/api:1.0.0'))).toEqual(
      json(502, { error: 'docker.io said 404 for team/api:1.0.0' }),
    );
    expect(await answer(new Error('connect ECONNREFUSED 10.0.0.7:443'))).toEqual(json(500, { error: 'internal error' }));
    expect(await answer(new HttpError(503, 'table coconut-prod is throttled'))).toEqual(json(503, { error: 'internal error' }));
    expect(await answer(new HttpError(499, 'client closed'))).toEqual(json(499, { error: 'client closed' }));
  });
});

describe('path parameters and bodies', () => {
  const EXPECTED = 'has a malformed percent-encoding: expected % followed by two hex digits of UTF-8 (like %2F), or no %';

  it('decodes a path parameter once, and names the path when it cannot', () => {
    expect(decodePathParameter('demo%2Fapi%20x', '/api/x')).toBe('demo/api x');
    expect(() => decodePathParameter('%ZZ', '/api/deployments/%ZZ')).toThrow(
      new InvalidInputError(`path "/api/deployments/%ZZ" ${EXPECTED}`),
    );
  });

  it('never repeats the Docker Hub token of a path, and cuts a long path at 200 characters', () => {
    expect(malformedPathMessage('/webhooks/dockerhub/s3cret%')).toBe(`path "/webhooks/dockerhub/{token}" ${EXPECTED}`);
    expect(malformedPathMessage('/api/webhooks/dockerhub/x')).toBe(`path "/api/webhooks/dockerhub/x" ${EXPECTED}`);
    const exact = `/${'a'.repeat(199)}`;
    expect(malformedPathMessage(exact)).toBe(`path "${exact}" ${EXPECTED}`);
    const long = `/${'b'.repeat(250)}`;
    expect(malformedPathMessage(long)).toBe(`path "${long.slice(0, 200)}…" ${EXPECTED}`);
  });

  it('gives the body as sent: empty without one, decoded when API Gateway base64-encoded it', () => {
    const event = (body: string | undefined, isBase64Encoded: boolean) => ({ body, isBase64Encoded }) as HttpEvent;
    expect(rawBody(event(undefined, false))).toBe('');
    expect(rawBody(event('', true))).toBe('');
    expect(rawBody(event('{"a":"é"}', false))).toBe('{"a":"é"}');
    expect(rawBody(event(Buffer.from('payload=%7B%7D é', 'utf8').toString('base64'), true))).toBe('payload=%7B%7D é');
  });
});
