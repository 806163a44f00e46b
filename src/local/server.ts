/**
 * The local HTTP server (127.0.0.1 only). It serves the HTTP routes of functions/ through the
 * same handlers as the AWS HTTP API, plus what only exists locally: POST /events (a
 * PutEvents-shaped entry point to the local bus), local alarms, executions, and the dashboard
 * (dashboard/, the same static files that any static host serves on AWS).
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

export const BODY_LIMIT_BYTES = 1024 * 1024;
const FORWARDED_REFUSAL = 'forwarded requests (a tunnel) reach only the public routes, such as POST /slack/interactions';

export interface ServerDeps {
  functions: Record<string, LocalFunction>;
  engine: LocalEngine;
  bus: LocalEventBus;
  alarms: LocalAlarms;
  log: Log;
}

type LocalRoute = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, body: Buffer) => Promise<void>;

export async function startServer(deps: ServerDeps, port: number): Promise<{ server: Server; url: string }> {
  const functionRoutes = HTTP_ROUTES.map((r) => ({ ...r, match: routeMatcher(r.route) }));
  const localRoutes: { match: ReturnType<typeof routeMatcher>; handle: LocalRoute }[] = Object.entries(localApi(deps)).map(
    ([key, handle]) => ({ match: routeMatcher(key), handle }),
  );

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Through a tunnel (ngrok, cloudflared: how Slack reaches a laptop) only the public routes
    // answer; they verify their own signatures. The rest trusts its caller as the local operator.
    const forwarded = Boolean(req.headers['x-forwarded-for'] || req.headers.forwarded);
    // Routes and the dashboard decode the path: one that cannot be decoded is refused here, 400.
    const malformed = malformedPath(url.pathname);
    if (malformed) return sendJson(res, 400, { error: malformed });
    try {
      const body = await readBody(req, BODY_LIMIT_BYTES);
      for (const route of functionRoutes) {
        const params = route.match.method === req.method ? route.match.test(url.pathname) : undefined;
        if (!params) continue;
        if (forwarded && !route.public) return sendJson(res, 403, { error: FORWARDED_REFUSAL });
        const fn = deps.functions[route.fn];
        if (!fn) return sendJson(res, 501, { error: `function ${route.fn} is not available locally` });
        const event: APIGatewayProxyEventV2 = toHttpEvent(req, url, body, route.route, params);
        return send(res, (await fn(event, lambdaContext(route.fn))) as APIGatewayProxyStructuredResultV2);
      }
      for (const route of localRoutes) {
        const params = route.match.method === req.method ? route.match.test(url.pathname) : undefined;
        if (params && forwarded) return sendJson(res, 403, { error: FORWARDED_REFUSAL });
        if (params) return await route.handle(req, res, params, body);
      }
      if (req.method === 'GET' && (await serveDashboard(url.pathname, res))) return;
      sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
      // The Docker Hub webhook's path carries its secret token: never log it.
      const where = url.pathname.replace(/^\/webhooks\/dockerhub\/.*/, '/webhooks/dockerhub/{token}');
      deps.log.error(`${req.method} ${where} failed: ${(error as Error).message}`);
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

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw Object.assign(new Error('body is not valid JSON'), { status: 400 });
  }
}

function localApi(deps: ServerDeps): Record<string, LocalRoute> {
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
      const { state, reason } = parseJson(body) as { state?: string; reason?: string };
      if (!['ALARM', 'OK', 'INSUFFICIENT_DATA', 'auto'].includes(String(state))) {
        return sendJson(res, 400, { error: `state must be ALARM, OK, INSUFFICIENT_DATA or auto, got ${JSON.stringify(state)}` });
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
