/**
 * A malformed percent-encoding in a path (`/api/deployments/%ZZ`, a lone `%`) is the caller's
 * mistake: 400 naming the path, never a 500 (issue 12, item 7). Both where AWS invokes the API
 * handler with the path parameter as API Gateway delivers it, and through the local server.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../functions/api.ts';
import type { Ports } from '../../src/core/handler-ports.ts';
import type { LocalEngine } from '../../src/local/engine.ts';
import { startServer } from '../../src/local/server.ts';
import { memoryLog } from '../support/runtime.ts';

const EXPECTED = 'has a malformed percent-encoding: expected % followed by two hex digits of UTF-8 (like %2F), or no %';

// Nothing behind the handler is reached: the path parameter is read first.
const ports = { log: memoryLog() } as unknown as Ports;
const api = createApiHandler(async () => ports);

function apiEvent(routeKey: string, rawPath: string, pathParameters: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: {},
    pathParameters,
    requestContext: {
      authorizer: { lambda: { coconutLocalOperator: true } },
      http: { method: routeKey.split(' ')[0], path: rawPath },
    },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

describe('a malformed percent-encoding in a path', () => {
  it('the API handler answers 400 naming the path (as on AWS)', async () => {
    for (const [routeKey, rawPath, params] of [
      ['GET /api/deployments/{id}', '/api/deployments/%ZZ', { id: '%ZZ' }],
      ['POST /api/approvals/{id}/approve', '/api/approvals/apr-%E0%A4%A/approve', { id: 'apr-%E0%A4%A' }],
      ['GET /api/history/{service}', '/api/history/100%', { service: '100%' }],
    ] as const) {
      const res = (await api(apiEvent(routeKey, rawPath, params), {} as never)) as { statusCode: number; body: string };
      expect(res.statusCode, rawPath).toBe(400);
      expect(JSON.parse(res.body)).toEqual({ error: `path "${rawPath}" ${EXPECTED}` });
    }
  });

  describe('the local server', () => {
    let server: Awaited<ReturnType<typeof startServer>>;
    beforeAll(async () => {
      server = await startServer(
        {
          functions: { api: (event, context) => api(event as APIGatewayProxyEventV2, context) },
          engine: { get: () => undefined, events: () => [], list: () => [] } as unknown as LocalEngine,
          bus: {} as never,
          alarms: { list: () => [] } as never,
          log: memoryLog(),
          operatorToken: 'test-operator-token',
        },
        0,
      );
    });
    afterAll(() => new Promise<void>((resolve) => server.server.close(() => resolve())));

    it('answers 400 naming the path, on API, local and dashboard routes alike', async () => {
      for (const [method, path] of [
        ['GET', '/api/deployments/%ZZ'],
        ['GET', '/api/executions/%ZZ'],
        ['POST', '/api/alarms/%'],
        ['GET', '/%ZZ'],
      ] as const) {
        const res = await fetch(`${server.url}${path}`, { method, ...(method === 'POST' ? { body: '{"state":"OK"}' } : {}) });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(await res.json()).toEqual({ error: `path "${path}" ${EXPECTED}` });
      }
    });

    it("never repeats the Docker Hub webhook's token", async () => {
      const res = await fetch(`${server.url}/webhooks/dockerhub/s3cret%ZZ`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain('s3cret');
    });
  });
});
