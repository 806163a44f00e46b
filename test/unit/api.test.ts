/**
 * functions/api.ts: its routes are exactly the `api` routes of functions/http-routes.ts (the one
 * list infra/ and the local server read too), query and path values are checked by zod with an
 * answer that names the parameter and what was expected, and errors become status codes in one
 * place. Events are API Gateway v2 (payload format 2.0) as the HTTP API delivers them
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
 * `queryStringParameters` and `pathParameters` hold strings, repeated query values joined by commas.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { API_ROUTES, createApiHandler } from '../../functions/api.ts';
import { HTTP_ROUTES } from '../../functions/http-routes.ts';
import type { Ports } from '../../src/core/handler-ports.ts';
import { ExportTooLargeError } from '../../src/core/history/history-transfer.ts';
import { systemClock } from '../../src/core/ports.ts';
import { memoryLog } from '../support/runtime.ts';

type Routes = typeof API_ROUTES;
const status = API_ROUTES['GET /api/status'];

// The same rule for the compiler (npx tsc --noEmit runs over test/): each line below must not compile.
// @ts-expect-error a route of http-routes.ts without its handler
const missingOne: Routes = { 'GET /api/status': status };
const extraOne: Routes = {
  ...API_ROUTES,
  // @ts-expect-error a handler for a route http-routes.ts does not have
  'GET /api/nowhere': status,
};

function apiEvent(
  routeKey: string,
  opts: { query?: Record<string, string>; path?: Record<string, string>; rawPath?: string } = {},
): APIGatewayProxyEventV2 {
  const rawPath = opts.rawPath ?? routeKey.split(' ')[1] ?? '/';
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(opts.query ?? {}).toString(),
    headers: {},
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    ...(opts.path ? { pathParameters: opts.path } : {}),
    requestContext: {
      authorizer: { lambda: { coconutLocalOperator: true, user: 'dev' } },
      http: { method: routeKey.split(' ')[0], path: rawPath },
    },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

/** Ports whose store records what it was asked. */
function recordingPorts() {
  const asked: Record<string, unknown>[] = [];
  const record =
    <T>(name: string, answer: T) =>
    async (q: unknown) => {
      asked.push({ [name]: q });
      return answer;
    };
  const ports = {
    log: memoryLog(),
    clock: systemClock,
    config: { services: [{ name: 'web', environments: [{ name: 'prod' }] }] },
    store: {
      listDeployments: record('listDeployments', []),
      listStages: record('listStages', []),
      listApprovals: record('listApprovals', []),
      listPinEvents: record('listPinEvents', []),
      getDeployment: record('getDeployment', undefined),
      readHistory: async () => {
        throw new ExportTooLargeError('the history is over 5 MB: ask for pages');
      },
    },
  } as unknown as Ports;
  const api = createApiHandler(async () => ports);
  const call = async (event: APIGatewayProxyEventV2) => {
    const res = (await api(event, {} as never)) as { statusCode: number; body: string };
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
  };
  return { asked, call };
}

describe('functions/api.ts', () => {
  it('serves exactly the api routes of functions/http-routes.ts', () => {
    const listed = HTTP_ROUTES.filter((r) => r.fn === 'api').map((r) => r.route);
    expect(Object.keys(API_ROUTES).sort()).toEqual([...listed].sort());
    expect(new Set(listed).size).toBe(listed.length);
    expect([missingOne, extraOne]).toHaveLength(2);
  });

  it('answers 404 for a route key it does not serve, own keys only', async () => {
    const { call } = recordingPorts();
    for (const key of ['GET /api/nowhere', 'toString', '__proto__']) {
      expect(await call(apiEvent(key))).toEqual({ status: 404, body: { error: `no route ${key}` } });
    }
  });

  it('reads query values with their defaults', async () => {
    const { asked, call } = recordingPorts();
    expect((await call(apiEvent('GET /api/deployments'))).status).toBe(200);
    expect((await call(apiEvent('GET /api/deployments', { query: { service: 'web', limit: '5', other: 'x' } }))).status).toBe(
      200,
    );
    expect((await call(apiEvent('GET /api/approvals', { query: { status: 'EXPIRED' } }))).status).toBe(200);
    expect(
      (await call(apiEvent('GET /api/history/{service}', { path: { service: 'web' }, query: { environment: 'prod' } }))).status,
    ).toBe(200);
    expect(asked).toEqual([
      { listDeployments: { limit: 50 } },
      { listDeployments: { service: 'web', limit: 5 } },
      { listApprovals: { status: 'EXPIRED', limit: 50 } },
      { listStages: { service: 'web', environment: 'prod', limit: 50 } },
      { listPinEvents: { service: 'web', environment: 'prod', limit: 50 } },
    ]);
  });

  it('answers 400 naming the query parameter, what was expected and what came', async () => {
    const { asked, call } = recordingPorts();
    const cases: [string, Record<string, string>, string, Record<string, string>?][] = [
      ['GET /api/deployments', { limit: '0' }, 'query.limit: expected an integer from 1 to 500, got "0"'],
      ['GET /api/deployments', { limit: 'ten' }, 'query.limit: expected an integer from 1 to 500, got "ten"'],
      [
        'GET /api/approvals',
        { status: 'pending' },
        'query.status: expected one of PENDING, APPROVED, REJECTED, EXPIRED, got "pending"',
      ],
      [
        'GET /api/metrics/{service}',
        { days: '366' },
        'query.days: expected an integer from 1 to 365, got "366"',
        { service: 'web' },
      ],
      ['GET /api/export', { limit: '2.5' }, 'query.limit: expected an integer from 1 to 500, got "2.5"'],
      ['POST /api/import', { dryRun: 'maybe' }, 'query.dryRun: expected true or false, got "maybe"'],
      ['POST /api/import', { lineOffset: '-1' }, 'query.lineOffset: expected a whole number from 0, got "-1"'],
    ];
    for (const [key, query, error, path] of cases) {
      expect(await call(apiEvent(key, { query, ...(path ? { path } : {}) })), `${key} ${JSON.stringify(query)}`).toEqual({
        status: 400,
        body: { error },
      });
    }
    expect(asked.filter((a) => 'listDeployments' in a || 'listApprovals' in a)).toEqual([]);
  });

  it('answers 400 naming a path parameter that is missing, before anything is read', async () => {
    const { asked, call } = recordingPorts();
    expect(await call(apiEvent('GET /api/deployments/{id}'))).toEqual({
      status: 400,
      body: { error: 'path.id: expected a value in the path' },
    });
    expect(await call(apiEvent('GET /api/deployments/{id}', { path: { id: '' } }))).toEqual({
      status: 400,
      body: { error: 'path.id: expected a value in the path' },
    });
    expect(asked).toEqual([]);
  });

  it('gives routes their path values decoded once', async () => {
    const { asked, call } = recordingPorts();
    const res = await call(
      apiEvent('GET /api/deployments/{id}', { path: { id: 'dep%2Done' }, rawPath: '/api/deployments/dep%2Done' }),
    );
    expect(res).toEqual({ status: 404, body: { error: 'deployment dep-one does not exist' } });
    expect(asked).toEqual([{ getDeployment: 'dep-one' }]);
  });

  it('maps a domain error to its status in the one mapper: a history over the limit is 413', async () => {
    const { call } = recordingPorts();
    expect(await call(apiEvent('GET /api/export'))).toEqual({
      status: 413,
      body: { error: 'the history is over 5 MB: ask for pages' },
    });
  });
});
