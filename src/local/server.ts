/**
 * The local HTTP server (127.0.0.1 only). It serves the HTTP routes of functions/ through the
 * same handlers as the AWS HTTP API, plus what only exists locally: POST /events (a
 * PutEvents-shaped entry point to the local bus), local alarms, executions, and the dashboard
 * (dashboard/, the same static files that any static host serves on AWS).
 * Every route but the public ones (webhooks, Slack) is the operator's: request-guard.ts checks
 * Host, Origin, the operator token and the content type first (docs/security.md).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HTTP_ROUTES } from '../../functions/http-routes.ts';
import type { Log } from '../core/ports.ts';
import type { LocalAlarms } from './alarms.ts';
import { LocalEventBus as Bus, type BusEvent, type LocalEventBus, type PutEventsEntry } from './bus.ts';
import { serveDashboard } from './dashboard-assets.ts';
import { type LocalEngine, type LocalFunction, lambdaContext } from './engine.ts';
import { BodyTooLargeError, malformedPath, readBody, routeMatcher, send, sendJson, toHttpEvent } from './http-event.ts';
import { checkOperator, checkSite, type GuardOptions, type RouteGuard } from './request-guard.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface ServerDeps {
  functions: Record<string, LocalFunction>;
  engine: LocalEngine;
  bus: LocalEventBus;
  alarms: LocalAlarms;
  log: Log;
  /** The operator token: every operator route wants it (X-Coconut-Token). */
  operatorToken: string;
}

type LocalRoute = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, body: Buffer) => Promise<void>;

/** The routes only the local server has, and how each is guarded. */
export const LOCAL_ROUTES: Record<string, RouteGuard> = {
  // A liveness probe says nothing an attacker could use: no token, so scripts can wait for start-up.
  'GET /healthz': { operator: false },
  'POST /events': { operator: true, contentType: 'json' },
  'GET /api/alarms': { operator: true },
  'POST /api/alarms/{name}': { operator: true, contentType: 'json' },
  'GET /api/executions': { operator: true },
  'GET /api/executions/{name}': { operator: true },
};

/** How a route of functions/http-routes.ts is guarded locally: public ones check their own signatures. */
export function functionRouteGuard(route: { route: string; public?: boolean }): RouteGuard | undefined {
  if (route.public) return undefined;
  if (!route.route.startsWith('POST ')) return { operator: true };
  return { operator: true, contentType: route.route === 'POST /api/import' ? 'ndjson' : 'json' };
}

/**
 * The request target as a URL on this server. Only origin-form (a path) is served: an absolute
 * target (proxy style) or `//host/...` names another server, and must not become our URL's host.
 */
function requestUrl(target = '/'): URL {
  if (!target.startsWith('/')) throw new BadRequestError(`request target ${shown(target)} is not a path: expected /…`);
  try {
    return new URL(`http://127.0.0.1${target}`);
  } catch {
    throw new BadRequestError(`request target ${shown(target)} is not a valid path`);
  }
}

/** Whether every path parameter decodes: a malformed percent-encoding is the caller's error (400), not ours. */
function wellEncoded(params: Record<string, string>): boolean {
  try {
    for (const value of Object.values(params)) decodeURIComponent(value);
    return true;
  } catch {
    return false;
  }
}

export async function startServer(deps: ServerDeps, port: number): Promise<{ server: Server; url: string }> {
  const functionRoutes = HTTP_ROUTES.map((r) => ({ ...r, match: routeMatcher(r.route), guard: functionRouteGuard(r) }));
  const handlers = localApi(deps);
  const localRoutes = Object.entries(LOCAL_ROUTES).map(([key, guard]) => ({
    match: routeMatcher(key),
    guard,
    handle: handlers[key] as LocalRoute,
  }));
  // The port is known once the server listens (port 0 in tests).
  const guardOptions = (): GuardOptions => ({ port: (server.address() as AddressInfo).port, token: deps.operatorToken });

  const server = createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    let where = '(unparsed path)';
    try {
      const url = requestUrl(req.url);
      // The Docker Hub webhook's path carries its secret token: never log it.
      where = url.pathname.replace(/^\/webhooks\/dockerhub\/.*/, '/webhooks/dockerhub/{token}');
      // Routes and the dashboard decode the path: one that cannot be decoded is refused here, 400
      // (before any other check: the answer reveals nothing).
      const malformed = malformedPath(url.pathname);
      if (malformed) return sendJson(res, 400, { error: malformed });
      // The body first (bounded), even for a refusal: answering over an unread upload can reset the connection.
      const body = await readBody(req, BODY_LIMIT_BYTES);
      const fnRoute = functionRoutes.find((r) => r.match.method === method && r.match.test(url.pathname));
      const localRoute = fnRoute ? undefined : localRoutes.find((r) => r.match.method === method && r.match.test(url.pathname));
      // Public routes (webhooks, Slack, reached through a tunnel that rewrites Host) verify their own
      // signatures. Everything else, static files and 404s included, is checked before any handler runs.
      const guard = fnRoute ? fnRoute.guard : (localRoute?.guard ?? { operator: false });
      if (guard) {
        const refusal =
          checkSite(method, req.headers, guardOptions()) ?? checkOperator(method, req.headers, guard, guardOptions());
        if (refusal) return sendJson(res, refusal.status, { error: refusal.error });
      }
      const route = fnRoute ?? localRoute;
      const params = route?.match.test(url.pathname);
      if (route && params) {
        if (!wellEncoded(params)) {
          return sendJson(res, 400, {
            error: `path ${JSON.stringify(url.pathname)} has a malformed percent-encoding: expected %XX escapes of UTF-8 bytes`,
          });
        }
        if (fnRoute) {
          const fn = deps.functions[fnRoute.fn];
          if (!fn) return sendJson(res, 501, { error: `function ${fnRoute.fn} is not available locally` });
          const event: APIGatewayProxyEventV2 = toHttpEvent(req, url, body, fnRoute.route, params);
          return send(res, (await fn(event, lambdaContext(fnRoute.fn))) as APIGatewayProxyStructuredResultV2);
        }
        return await (route as (typeof localRoutes)[number]).handle(req, res, params, body);
      }
      if (method === 'GET' && (await serveDashboard(url.pathname, res))) return;
      sendJson(res, 404, { error: `no route ${method} ${url.pathname}` });
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
      if (error instanceof BadRequestError) return sendJson(res, 400, { error: error.message });
      deps.log.error(`${method} ${where} failed: ${(error as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${address.port}` };
}

/** A value the caller sent, quoted and cut short for an error message. */
const shown = (value: unknown) => String(JSON.stringify(value)).slice(0, 100);

/** The caller's mistake: answered 400 with its message, never 500. */
class BadRequestError extends Error {
  override name = 'BadRequestError';
}

/** The body as a JSON object (an empty body is {}); anything else is the caller's error. */
function parseJson(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new BadRequestError('body is not valid JSON: expected a JSON object');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new BadRequestError(`body must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : shown(parsed)}`);
  return parsed as Record<string, unknown>;
}

function localApi(deps: ServerDeps): Record<keyof typeof LOCAL_ROUTES, LocalRoute> {
  return {
    'GET /healthz': async (_req, res) => sendJson(res, 200, { ok: true }),
    'POST /events': async (_req, res, _params, body) => {
      let entries: PutEventsEntry[];
      try {
        const parsed = parseJson(body) as { Entries?: PutEventsEntry[] };
        if (!Array.isArray(parsed.Entries) || parsed.Entries.length === 0 || parsed.Entries.length > 10) {
          throw new Error('expected {"Entries": [...]} with 1 to 10 entries, as in EventBridge PutEvents');
        }
        entries = parsed.Entries;
      } catch (error) {
        return sendJson(res, 400, { error: (error as Error).message });
      }
      const results = await Promise.all(
        entries.map(async (entry) => {
          let event: BusEvent;
          try {
            event = Bus.toEvent(entry);
          } catch (error) {
            return { ErrorCode: 'MalformedDetail', ErrorMessage: (error as Error).message };
          }
          const deliveries = await deps.bus.publish(event);
          return { EventId: event.id, Deliveries: deliveries };
        }),
      );
      sendJson(res, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
    },
    'GET /api/alarms': async (_req, res) => sendJson(res, 200, { alarms: deps.alarms.list() }),
    'POST /api/alarms/{name}': async (_req, res, params, body) => {
      const { state, reason } = parseJson(body);
      if (typeof state !== 'string' || !['ALARM', 'OK', 'INSUFFICIENT_DATA', 'auto'].includes(state)) {
        return sendJson(res, 400, { error: `state must be ALARM, OK, INSUFFICIENT_DATA or auto, got ${shown(state)}` });
      }
      if (reason !== undefined && typeof reason !== 'string') {
        return sendJson(res, 400, { error: `reason must be a string, got ${shown(reason)}` });
      }
      try {
        const alarm = await deps.alarms.set(decodeURIComponent(params.name ?? ''), state as 'ALARM', reason);
        sendJson(res, 200, { alarm });
      } catch (error) {
        sendJson(res, (error as Error).name === 'NotFoundError' ? 404 : 500, { error: (error as Error).message });
      }
    },
    'GET /api/executions': async (_req, res) =>
      sendJson(res, 200, { executions: deps.engine.list().map(({ input: _input, output: _output, ...rest }) => rest) }),
    'GET /api/executions/{name}': async (_req, res, params) => {
      const name = decodeURIComponent(params.name ?? '');
      const execution = deps.engine.get(name);
      if (!execution) return sendJson(res, 404, { error: `execution ${name} does not exist` });
      sendJson(res, 200, { execution, events: deps.engine.events(name) });
    },
  };
}
