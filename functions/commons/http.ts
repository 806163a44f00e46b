/**
 * HTTP API (API Gateway v2) helpers shared by the HTTP handlers: JSON answers, and the mapping
 * of domain errors to status codes. Messages of 4xx errors are shown; 5xx say only
 * "internal error" (details go to the log, never to the caller) — except 502 for a registry
 * that could not resolve a digest: its message names the image and the registry's answer,
 * which is what the sender (Docker Hub's delivery history, GitHub's) must show.
 */
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  ConflictError,
  DigestUnresolvedError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  TooLargeError,
} from '../../src/core/model/errors.ts';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export class HttpError extends Error {
  override name = 'HttpError';
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** The one mapping of errors to HTTP status codes, for every HTTP route (jsonErrors, the webhooks). */
export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.statusCode;
  if (error instanceof InvalidInputError) return 400;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof TooLargeError) return 413;
  if (error instanceof DigestUnresolvedError) return 502;
  return 500;
}

/** Turns any error into a JSON answer; use it last in the chain (its onError runs first). */
export function jsonErrors(): middy.MiddlewareObj<HttpEvent, HttpResult> {
  return {
    name: 'jsonErrors',
    onError: (request) => {
      const error = request.error as Error;
      const status = statusOf(error);
      const shown = status < 500 || error instanceof DigestUnresolvedError;
      request.response = json(status, { error: shown ? error.message : 'internal error' });
    },
  };
}

/**
 * What a malformed percent-encoding in a path (`/api/deployments/%ZZ`, a lone `%`) answers:
 * the caller's mistake, a 400 naming the path. The Docker Hub webhook's path carries its
 * secret token, so that part is never repeated.
 */
export function malformedPathMessage(path: string): string {
  const shown = path.replace(/^\/webhooks\/dockerhub\/.*/, '/webhooks/dockerhub/{token}');
  const cut = shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
  return `path ${JSON.stringify(cut)} has a malformed percent-encoding: expected % followed by two hex digits of UTF-8 (like %2F), or no %`;
}

/** A path parameter decoded once; InvalidInputError (400) naming the path when it cannot be. */
export function decodePathParameter(value: string, path: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new InvalidInputError(malformedPathMessage(path));
  }
}

/** The body as the client sent it (API Gateway base64-encodes binary bodies). */
export function rawBody(event: HttpEvent): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}
