/**
 * The read API behind the CLI and dashboard, and approving from the page. On AWS the HTTP API
 * puts a JWT authorizer (with `auth:`) or IAM authorization (SigV4, without) in front of every
 * route; locally the server (127.0.0.1 only) marks its caller as the local operator. Task
 * tokens never leave this handler.
 */
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayEventRequestContextIAMAuthorizer, APIGatewayEventRequestContextJWTAuthorizer } from 'aws-lambda';
import { z } from 'zod';
import { awsPortsWith } from '../src/aws/ports.ts';
import { optionalSecret } from '../src/aws/secrets.ts';
import type { CoconutConfig } from '../src/core/config/schema.ts';
import type { Ports, PortsProvider } from '../src/core/handler-ports.ts';
import { computeDora } from '../src/core/history/dora.ts';
import {
  assertMayImport,
  checkHistoryImages,
  exportHistory,
  exportPage,
  importHistory,
  parseHistory,
} from '../src/core/history/history-transfer.ts';
import { InvalidInputError, NotFoundError } from '../src/core/model/errors.ts';
import { parseCallerArn, principalId } from '../src/core/model/iam-identity.ts';
import { describeZodIssues } from '../src/core/model/zod-issues.ts';
import { type Actor, decideApproval } from '../src/core/pipeline/approvals.ts';
import { mappedSlackId, oidcIdentity } from '../src/core/pipeline/four-eyes.ts';
import { pinEnvironment, unpinEnvironment } from '../src/core/pipeline/pins.ts';
import type { ApprovalStatus } from '../src/core/ports.ts';
import { type AslDefinition, stateGraph } from '../src/core/read-models/state-machine-graph.ts';
import { publicApproval, publicPin, serviceStatus } from '../src/core/read-models/status.ts';
import { startManualDeployment } from '../src/core/triggers/manual-deploy.ts';
import { startPromotion } from '../src/core/triggers/promote.ts';
import { startRollback } from '../src/core/triggers/rollback.ts';
import deployDefinition from '../stepfunctions/deploy.asl.json' with { type: 'json' };
import { decodePathParameter, HttpError, type HttpEvent, type HttpResult, json, jsonErrors, rawBody } from './commons/http.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { logErrors } from './commons/middleware.ts';
import type { RouteKeyOf } from './http-routes.ts';

/** The routes this function serves: the keys given to `api` in functions/http-routes.ts, and no others. */
export type ApiRouteKey = RouteKeyOf<'api'>;

/** The `{name}` parameters of a route key: 'GET /a/{id}/b/{x}' -> 'id' | 'x'. */
type PathNames<K extends string> = K extends `${string}{${infer Name}}${infer Rest}` ? Name | PathNames<Rest> : never;

/** What a route is given: the event, and its path parameters checked and decoded once. */
interface ApiRequest<K extends ApiRouteKey> {
  event: HttpEvent;
  path: Record<PathNames<K>, string>;
}

type Route<K extends ApiRouteKey> = (p: Ports, request: ApiRequest<K>) => Promise<HttpResult>;

const APPROVAL_STATUSES = ['PENDING', 'APPROVED', 'REJECTED', 'EXPIRED'] as const satisfies readonly ApprovalStatus[];

// Query and path values, each a zod schema whose message says what was expected and what came.
const got = (input: unknown) => JSON.stringify(input);

/** A whole number from min to max, written as Number() reads it (as before: "1e2" is 100). */
function integerIn(min: number, max?: number) {
  const expected = max === undefined ? `a whole number from ${min}` : `an integer from ${min} to ${max}`;
  return z
    .string()
    .refine(
      (raw) => {
        const n = Number(raw);
        return Number.isInteger(n) && n >= min && (max === undefined || n <= max);
      },
      { error: (issue) => `expected ${expected}, got ${got(issue.input)}` },
    )
    .transform(Number);
}

const limitParam = integerIn(1, 500).default(50);

/** true: "true", "1" or present without a value; false: "false", "0" or absent. */
const booleanParam = z
  .enum(['true', '1', '', 'false', '0'], { error: (issue) => `expected true or false, got ${got(issue.input)}` })
  .transform((raw) => raw === 'true' || raw === '1' || raw === '')
  .default(false);

const deploymentsQuery = z.object({ service: z.string().optional(), limit: limitParam });
const historyQuery = z.object({ environment: z.string().optional(), limit: limitParam });
const approvalsQuery = z.object({
  status: z
    .enum(APPROVAL_STATUSES, { error: (issue) => `expected one of ${APPROVAL_STATUSES.join(', ')}, got ${got(issue.input)}` })
    .optional(),
  limit: limitParam,
});
const metricsQuery = z.object({ days: integerIn(1, 365).default(30) });
const exportQuery = z.object({ cursor: z.string().optional(), limit: integerIn(1, 500).optional() });
const importQuery = z.object({ lineOffset: integerIn(0).default(0), dryRun: booleanParam });

/**
 * The query string parsed by its route's schema; unknown parameters are ignored. A bad value is
 * an InvalidInputError (400) naming it: "query.limit: expected an integer from 1 to 500, got "0"".
 */
function queryOf<S extends z.ZodType>(event: HttpEvent, schema: S): z.output<S> {
  const result = z.object({ query: schema }).safeParse({ query: event.queryStringParameters ?? {} });
  if (!result.success) throw new InvalidInputError(describeZodIssues(result.error, '(query)'));
  return (result.data as { query: z.output<S> }).query;
}

/** API Gateway gives every `{name}` of the route as a non-empty string; a local caller might not. */
const pathValue = z.string({ error: 'expected a value in the path' }).min(1, 'expected a value in the path');

/**
 * The route's `{name}` parameters, checked by zod and percent-decoded once. A malformed
 * percent-encoding is a 400 naming the whole path (commons/http.ts says why the path).
 */
function pathOf<K extends ApiRouteKey>(key: K, event: HttpEvent): Record<PathNames<K>, string> {
  const names = [...key.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
  const schema = z.object(Object.fromEntries(names.map((name) => [name, pathValue])));
  const result = z.object({ path: schema }).safeParse({ path: event.pathParameters ?? {} });
  if (!result.success) throw new InvalidInputError(describeZodIssues(result.error, '(path)'));
  const where = event.rawPath ?? event.requestContext?.http?.path ?? '';
  const values = result.data.path as Record<string, string>;
  return Object.fromEntries(names.map((name) => [name, decodePathParameter(values[name] as string, where)])) as Record<
    PathNames<K>,
    string
  >;
}

type Authorizer = Partial<
  APIGatewayEventRequestContextJWTAuthorizer & APIGatewayEventRequestContextIAMAuthorizer & { lambda: Record<string, unknown> }
>;

/**
 * Who is calling. On AWS: the JWT user (with an `auth:` section), or the IAM caller whose
 * SigV4 signature API Gateway verified (without one; APIGatewayProxyEventV2WithIAMAuthorizer:
 * requestContext.authorizer.iam.userArn). Locally: the operator of the 127.0.0.1 server.
 *
 * A JWT user is `ISSUER#SUB`: the two claims that identify them and that they cannot change
 * (OpenID Connect Core 1.0 §2: `sub` is "never reassigned" within its issuer; the authorizer
 * checked `iss`). Their Slack id comes only from coconut.yaml `slack.users`, never from a claim
 * such as `custom:slack_user_id` or `email`: a Cognito user's access token "authorizes them to
 * set or modify their own attribute value for any attribute in" the app client's
 * WriteAttributes, which by default hold the standard attributes (email included; Cognito API
 * reference, UserPoolClientType.WriteAttributes), so such a claim says what its user wants.
 */
export function actorOf(event: HttpEvent, config: CoconutConfig): Actor {
  const authorizer = (event.requestContext as { authorizer?: Authorizer }).authorizer;
  const claims = authorizer?.jwt?.claims;
  if (claims?.sub) {
    if (typeof claims.iss !== 'string' || !claims.iss) throw new HttpError(401, 'the token names no issuer (iss claim)');
    const id = oidcIdentity(claims.iss, String(claims.sub));
    const slackId = mappedSlackId(config, id);
    return {
      id,
      name: String(claims.email ?? claims.name ?? claims.sub),
      source: 'dashboard',
      ...(slackId ? { slackId } : {}),
    };
  }
  const iam = authorizer?.iam;
  if (iam?.userArn) {
    const principal = parseCallerArn(iam.userArn);
    // An ARN of another form (none is known today) is refused rather than half understood.
    if (!principal) throw new HttpError(403, `cannot tell who the caller ${iam.userArn} is: not an IAM user or role session`);
    // The identity is the principal id: for a role session both the role and the session name
    // (iam-identity.ts says why, and what that means for four eyes).
    const id = principalId(principal);
    return { id, name: id, source: 'iam', iam: principal };
  }
  if (authorizer?.lambda?.coconutLocalOperator === true) {
    return { id: String(authorizer.lambda.user ?? 'local'), name: String(authorizer.lambda.user ?? 'local'), source: 'local' };
  }
  throw new HttpError(401, 'not authenticated');
}

const decide =
  (decision: 'approve' | 'reject'): Route<'POST /api/approvals/{id}/approve' | 'POST /api/approvals/{id}/reject'> =>
  async (p, { event, path }) => {
    let comment: string | undefined;
    const body = rawBody(event);
    if (body) {
      try {
        const parsed = JSON.parse(body) as { comment?: unknown };
        if (parsed.comment !== undefined && typeof parsed.comment !== 'string') throw new Error();
        comment = parsed.comment?.slice(0, 500);
      } catch {
        throw new InvalidInputError('body must be JSON like {"comment": "..."} or empty');
      }
    }
    const approval = await decideApproval(p, {
      approvalId: path.id,
      decision,
      actor: actorOf(event, p.config),
      ...(comment ? { comment } : {}),
    });
    return json(200, { approval: publicApproval(approval) });
  };

/** A JSON body parsed by a zod schema; errors name the field and what was expected. */
function bodyOf<S extends z.ZodType>(event: HttpEvent, schema: S): z.output<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody(event) || '{}');
  } catch {
    throw new InvalidInputError('body must be a JSON object');
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw new InvalidInputError(describeZodIssues(result.error, '(body)'));
  }
  return result.data;
}

const deployBody = z.strictObject({
  service: z.string().min(1),
  version: z.string().min(1),
  environments: z.array(z.string().min(1)).min(1).optional(),
  digest: z.string().optional(),
  requestId: z.string().optional(),
});

const promoteBody = z.strictObject({
  service: z.string().min(1),
  to: z.string().min(1),
  from: z.string().min(1).optional(),
  version: z.string().min(1).optional(),
  requestId: z.string().optional(),
});

const pinBody = z.strictObject({
  service: z.string().min(1),
  environment: z.string().min(1),
  version: z.string().min(1).optional(),
  reason: z.string({ error: 'expected a reason saying why the environment is pinned' }),
});

const unpinBody = z.strictObject({
  service: z.string().min(1),
  environment: z.string().min(1),
  comment: z.string().optional(),
});

const rollbackBody = z.strictObject({
  service: z.string().min(1),
  environment: z.string().min(1),
  to: z.string().min(1).optional(),
  requestId: z.string().optional(),
});

/**
 * Most a history answer or request may be: a Lambda invocation carries at most 6 MB each way,
 * so bigger histories go in pages (export) and parts (import), as `coconut export|import` do.
 */
export const HISTORY_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
const NDJSON = { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' };

/**
 * GET /api/export: the whole history file (header and lines). With ?limit=N (and then
 * ?cursor=… from the x-coconut-next-cursor header) one page of lines, without the header.
 */
const exportRoute: Route<'GET /api/export'> = async (p, { event }) => {
  const q = queryOf(event, exportQuery);
  if (q.limit === undefined && q.cursor === undefined) {
    const exportedAt = p.clock.now().toISOString();
    // Over the limit: ExportTooLargeError, a 413 like every TooLargeError (commons/http.ts statusOf).
    const body = await exportHistory(p.store, { exportedAt, maxBytes: HISTORY_BODY_LIMIT_BYTES });
    const file = `coconut-history-${exportedAt.slice(0, 19).replace(/:/g, '')}Z.jsonl`;
    return { statusCode: 200, headers: { ...NDJSON, 'content-disposition': `attachment; filename="${file}"` }, body };
  }
  const page = await exportPage(p.store, { ...(q.cursor ? { cursor: q.cursor } : {}), limit: q.limit ?? 50 });
  return {
    statusCode: 200,
    headers: { ...NDJSON, ...(page.cursor ? { 'x-coconut-next-cursor': page.cursor } : {}) },
    body: page.lines.map((l) => `${l}\n`).join(''),
  };
};

/**
 * POST /api/import: a history file as the body. Every line is checked before anything is
 * written; ?dryRun=true writes nothing; ?lineOffset=N numbers the lines of a part as in
 * its whole file.
 */
const importRoute: Route<'POST /api/import'> = async (p, { event }) => {
  const actor = actorOf(event, p.config);
  await assertMayImport(p, actor);
  const body = rawBody(event);
  const size = Buffer.byteLength(body);
  if (size > HISTORY_BODY_LIMIT_BYTES) {
    throw new HttpError(
      413,
      `body of ${size} bytes is over ${HISTORY_BODY_LIMIT_BYTES}: send the file in parts, as \`coconut import\` does`,
    );
  }
  const { lineOffset, dryRun } = queryOf(event, importQuery);
  const parsed = parseHistory(body, { lineOffset });
  // Rollbacks deploy what the history names: only the configured services' own images get in.
  checkHistoryImages(p.config, parsed);
  const report = await importHistory(p.store, parsed, { dryRun });
  p.log.info(
    `history import${dryRun ? ' (dry run)' : ''} by ${actor.name ?? actor.id}: ${report.imported.count} imported, ${report.alreadyPresent.count} already present, ${report.conflicts.count} conflicts`,
    { exportedAt: report.exportedAt, converted: report.converted.length },
  );
  return json(200, { report });
};

/** State machines the dashboard can draw; the definitions are bundled with the function. */
const STATE_MACHINES: Record<string, AslDefinition> = { deploy: deployDefinition as AslDefinition };

/**
 * Every route of functions/http-routes.ts served by `api`, each once: the type has exactly those
 * keys, so a route left out, or one that is not in that list, does not compile
 * (test/unit/api.test.ts checks the same at run time).
 */
export const API_ROUTES: { readonly [K in ApiRouteKey]: Route<K> } = {
  'GET /api/status': async (p) => {
    const [status, approvals] = await Promise.all([
      serviceStatus(p.config, p.store, p.alarms, p.clock.now()),
      p.store.listApprovals({ status: 'PENDING' }),
    ]);
    return json(200, { services: status, approvals: approvals.map(publicApproval) });
  },
  'GET /api/deployments': async (p, { event }) => {
    const { service, limit } = queryOf(event, deploymentsQuery);
    const deployments = await p.store.listDeployments({ ...(service ? { service } : {}), limit });
    return json(200, { deployments });
  },
  'GET /api/deployments/{id}': async (p, { path }) => {
    const deployment = await p.store.getDeployment(path.id);
    if (!deployment) throw new NotFoundError(`deployment ${path.id} does not exist`);
    return json(200, { deployment });
  },
  'GET /api/history/{service}': async (p, { event, path }) => {
    const { service } = path;
    if (!p.config.services.some((s) => s.name === service))
      throw new NotFoundError(`no service named ${service} in coconut.yaml`);
    const { environment, limit } = queryOf(event, historyQuery);
    const [stages, pins] = await Promise.all([
      p.store.listStages({ service, ...(environment ? { environment } : {}), limit }),
      // Who pinned and unpinned, when and why (src/core/pipeline/pins.ts).
      p.store.listPinEvents({ service, ...(environment ? { environment } : {}), limit }),
    ]);
    return json(200, { service, stages, pins });
  },
  'GET /api/approvals': async (p, { event }) => {
    const { status, limit } = queryOf(event, approvalsQuery);
    const approvals = await p.store.listApprovals({ ...(status ? { status } : {}), limit });
    return json(200, { approvals: approvals.map(publicApproval) });
  },
  'GET /api/deployments/{id}/events': async (p, { path }) => {
    const deployment = await p.store.getDeployment(path.id);
    if (!deployment) throw new NotFoundError(`deployment ${path.id} does not exist`);
    if (!p.orchestrator.history) throw new HttpError(501, 'this orchestrator cannot show execution histories');
    // The deployment id is the execution name.
    const execution = (await p.orchestrator.history(path.id)) ?? null;
    return json(200, { deployment, execution });
  },
  'POST /api/deployments': async (p, { event }) => {
    const body = bodyOf(event, deployBody);
    const outcome = await startManualDeployment(p, {
      service: body.service,
      version: body.version,
      actor: actorOf(event, p.config),
      ...(body.environments ? { environments: body.environments } : {}),
      ...(body.digest ? { digest: body.digest } : {}),
      ...(body.requestId ? { requestId: body.requestId } : {}),
    });
    const deployment = await p.store.getDeployment(outcome.deploymentId);
    return json(outcome.status === 'started' ? 201 : 200, { status: outcome.status, deployment });
  },
  'POST /api/rollbacks': async (p, { event }) => {
    const body = bodyOf(event, rollbackBody);
    const outcome = await startRollback(p, {
      service: body.service,
      environment: body.environment,
      actor: actorOf(event, p.config),
      ...(body.to ? { to: body.to } : {}),
      ...(body.requestId ? { requestId: body.requestId } : {}),
    });
    const deployment = await p.store.getDeployment(outcome.deploymentId);
    return json(outcome.status === 'started' ? 201 : 200, {
      status: outcome.status,
      from: outcome.target.from ?? null,
      to: outcome.target.version,
      deployment,
    });
  },
  'POST /api/promotions': async (p, { event }) => {
    const body = bodyOf(event, promoteBody);
    const outcome = await startPromotion(p, {
      service: body.service,
      to: body.to,
      actor: actorOf(event, p.config),
      ...(body.from ? { from: body.from } : {}),
      ...(body.version ? { version: body.version } : {}),
      ...(body.requestId ? { requestId: body.requestId } : {}),
    });
    const deployment = await p.store.getDeployment(outcome.deploymentId);
    const { proof, ...source } = outcome.source;
    return json(outcome.status === 'started' ? 201 : 200, {
      status: outcome.status,
      source: { ...source, deploymentId: proof.deploymentId },
      deployment,
    });
  },
  'POST /api/pins': async (p, { event }) => {
    const body = bodyOf(event, pinBody);
    const pin = await pinEnvironment(p, {
      service: body.service,
      environment: body.environment,
      reason: body.reason,
      actor: actorOf(event, p.config),
      ...(body.version ? { version: body.version } : {}),
    });
    return json(201, { pin: publicPin(pin) });
  },
  'POST /api/unpins': async (p, { event }) => {
    const body = bodyOf(event, unpinBody);
    const { pin, released } = await unpinEnvironment(p, {
      service: body.service,
      environment: body.environment,
      actor: actorOf(event, p.config),
      ...(body.comment ? { comment: body.comment } : {}),
    });
    return json(200, { pin: publicPin(pin), released });
  },
  'GET /api/state-machines/{name}': async (_p, { path }) => {
    const { name } = path;
    // Own keys only: "valueOf" or "constructor" are no state machines (the HTTP fuzz test found it).
    const definition = Object.hasOwn(STATE_MACHINES, name) ? STATE_MACHINES[name] : undefined;
    if (!definition) throw new NotFoundError(`no state machine named ${name} (known: ${Object.keys(STATE_MACHINES).join(', ')})`);
    return json(200, { name, graph: stateGraph(definition) }, { 'cache-control': 'max-age=300' });
  },
  'GET /api/metrics/{service}': async (p, { event, path }) => {
    const name = path.service;
    const service = p.config.services.find((s) => s.name === name);
    if (!service) throw new NotFoundError(`no service named ${name} in coconut.yaml`);
    const { days } = queryOf(event, metricsQuery);
    const deployments = await p.store.listDeployments({ service: name, limit: 500 });
    const production = service.environments.at(-1)?.name as string;
    return json(200, { metrics: computeDora({ service: name, production, deployments, now: p.clock.now(), days }) });
  },
  'POST /api/approvals/{id}/approve': decide('approve'),
  'POST /api/approvals/{id}/reject': decide('reject'),
  'GET /api/export': exportRoute,
  'POST /api/import': importRoute,
};

function isApiRoute(key: string): key is ApiRouteKey {
  // Own keys only, as for state machines: "toString" is no route.
  return Object.hasOwn(API_ROUTES, key);
}

/**
 * Errors become answers in one place: jsonErrors (commons/http.ts), whose statusOf maps the
 * domain's errors to status codes for every route.
 */
export function createApiHandler(ports: PortsProvider) {
  return middy<HttpEvent, HttpResult>()
    .use(logErrors(ports, 'api'))
    .use(httpHeaderNormalizer())
    .use(httpErrorHandler({ logger: false }))
    .use(jsonErrors())
    .handler(async (event) => {
      const key = event.routeKey;
      if (!isApiRoute(key)) throw new HttpError(404, `no route ${key}`);
      // Path values are read before anything else: a malformed one needs no store to refuse.
      const path = pathOf(key, event);
      const route = API_ROUTES[key] as Route<typeof key>;
      return route(await ports(), { event, path });
    });
}

// Slack (optional) from the sst.Secrets linked to this function (infra/function-manifest.ts).
export const handler = onLambda(createApiHandler(awsPortsWith(() => ({ botToken: optionalSecret('SlackBotToken') }))));
