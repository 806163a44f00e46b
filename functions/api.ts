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
import { withRequestIds } from '../src/aws/json-log.ts';
import { awsPortsWith } from '../src/aws/ports.ts';
import { optionalSecret } from '../src/aws/secrets.ts';
import type { CoconutConfig } from '../src/core/config/schema.ts';
import type { Ports, PortsProvider } from '../src/core/handler-ports.ts';
import { computeDora } from '../src/core/history/dora.ts';
import {
  assertMayImport,
  checkHistoryImages,
  ExportTooLargeError,
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
import type { ApprovalStatus } from '../src/core/ports.ts';
import { type AslDefinition, stateGraph } from '../src/core/read-models/state-machine-graph.ts';
import { publicApproval, serviceStatus } from '../src/core/read-models/status.ts';
import { startManualDeployment } from '../src/core/triggers/manual-deploy.ts';
import { startRollback } from '../src/core/triggers/rollback.ts';
import deployDefinition from '../stepfunctions/deploy.asl.json' with { type: 'json' };
import { decodePathParameter, HttpError, type HttpEvent, type HttpResult, json, jsonErrors, rawBody } from './commons/http.ts';
import { logErrors } from './commons/middleware.ts';

type Route = (p: Ports, event: HttpEvent) => Promise<HttpResult>;

const APPROVAL_STATUSES = new Set<ApprovalStatus>(['PENDING', 'APPROVED', 'REJECTED', 'EXPIRED']);

function limitOf(event: HttpEvent): number {
  const raw = event.queryStringParameters?.limit;
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 500)
    throw new InvalidInputError(`limit must be an integer from 1 to 500, got "${raw}"`);
  return n;
}

function param(event: HttpEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (!value) throw new InvalidInputError(`missing path parameter ${name}`);
  return decodePathParameter(value, event.rawPath ?? event.requestContext?.http?.path ?? '');
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
  (decision: 'approve' | 'reject'): Route =>
  async (p, event) => {
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
      approvalId: param(event, 'id'),
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

function booleanParam(event: HttpEvent, name: string): boolean {
  const raw = event.queryStringParameters?.[name];
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1' || raw === '') return true;
  throw new InvalidInputError(`${name} must be true or false, got "${raw}"`);
}

/**
 * GET /api/export: the whole history file (header and lines). With ?limit=N (and then
 * ?cursor=… from the x-coconut-next-cursor header) one page of lines, without the header.
 */
const exportRoute: Route = async (p, event) => {
  const q = event.queryStringParameters ?? {};
  if (q.limit === undefined && q.cursor === undefined) {
    const exportedAt = p.clock.now().toISOString();
    let body: string;
    try {
      body = await exportHistory(p.store, { exportedAt, maxBytes: HISTORY_BODY_LIMIT_BYTES });
    } catch (error) {
      if (error instanceof ExportTooLargeError) throw new HttpError(413, error.message);
      throw error;
    }
    const file = `coconut-history-${exportedAt.slice(0, 19).replace(/:/g, '')}Z.jsonl`;
    return { statusCode: 200, headers: { ...NDJSON, 'content-disposition': `attachment; filename="${file}"` }, body };
  }
  const page = await exportPage(p.store, { ...(q.cursor ? { cursor: q.cursor } : {}), limit: limitOf(event) });
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
const importRoute: Route = async (p, event) => {
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
  const rawOffset = event.queryStringParameters?.lineOffset ?? '0';
  const lineOffset = Number(rawOffset);
  if (!Number.isInteger(lineOffset) || lineOffset < 0)
    throw new InvalidInputError(`lineOffset must be a whole number, got "${rawOffset}"`);
  const dryRun = booleanParam(event, 'dryRun');
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

export const API_ROUTES: Record<string, Route> = {
  'GET /api/status': async (p) => {
    const [status, approvals] = await Promise.all([
      serviceStatus(p.config, p.store, p.alarms, p.clock.now()),
      p.store.listApprovals({ status: 'PENDING' }),
    ]);
    return json(200, { services: status, approvals: approvals.map(publicApproval) });
  },
  'GET /api/deployments': async (p, event) => {
    const service = event.queryStringParameters?.service;
    const deployments = await p.store.listDeployments({ ...(service ? { service } : {}), limit: limitOf(event) });
    return json(200, { deployments });
  },
  'GET /api/deployments/{id}': async (p, event) => {
    const id = param(event, 'id');
    const deployment = await p.store.getDeployment(id);
    if (!deployment) throw new NotFoundError(`deployment ${id} does not exist`);
    return json(200, { deployment });
  },
  'GET /api/history/{service}': async (p, event) => {
    const service = param(event, 'service');
    if (!p.config.services.some((s) => s.name === service))
      throw new NotFoundError(`no service named ${service} in coconut.yaml`);
    const environment = event.queryStringParameters?.environment;
    const stages = await p.store.listStages({ service, ...(environment ? { environment } : {}), limit: limitOf(event) });
    return json(200, { service, stages });
  },
  'GET /api/approvals': async (p, event) => {
    const status = event.queryStringParameters?.status;
    if (status !== undefined && !APPROVAL_STATUSES.has(status as ApprovalStatus)) {
      throw new InvalidInputError(`status must be one of ${[...APPROVAL_STATUSES].join(', ')}, got "${status}"`);
    }
    const approvals = await p.store.listApprovals({
      ...(status ? { status: status as ApprovalStatus } : {}),
      limit: limitOf(event),
    });
    return json(200, { approvals: approvals.map(publicApproval) });
  },
  'GET /api/deployments/{id}/events': async (p, event) => {
    const id = param(event, 'id');
    const deployment = await p.store.getDeployment(id);
    if (!deployment) throw new NotFoundError(`deployment ${id} does not exist`);
    if (!p.orchestrator.history) throw new HttpError(501, 'this orchestrator cannot show execution histories');
    // The deployment id is the execution name.
    const execution = (await p.orchestrator.history(id)) ?? null;
    return json(200, { deployment, execution });
  },
  'POST /api/deployments': async (p, event) => {
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
  'POST /api/rollbacks': async (p, event) => {
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
  'GET /api/state-machines/{name}': async (_p, event) => {
    const name = param(event, 'name');
    // Own keys only: "valueOf" or "constructor" are no state machines (the HTTP fuzz test found it).
    const definition = Object.hasOwn(STATE_MACHINES, name) ? STATE_MACHINES[name] : undefined;
    if (!definition) throw new NotFoundError(`no state machine named ${name} (known: ${Object.keys(STATE_MACHINES).join(', ')})`);
    return json(200, { name, graph: stateGraph(definition) }, { 'cache-control': 'max-age=300' });
  },
  'GET /api/metrics/{service}': async (p, event) => {
    const name = param(event, 'service');
    const service = p.config.services.find((s) => s.name === name);
    if (!service) throw new NotFoundError(`no service named ${name} in coconut.yaml`);
    const raw = event.queryStringParameters?.days ?? '30';
    const days = Number(raw);
    if (!Number.isInteger(days) || days < 1 || days > 365)
      throw new InvalidInputError(`days must be an integer from 1 to 365, got "${raw}"`);
    const deployments = await p.store.listDeployments({ service: name, limit: 500 });
    const production = service.environments.at(-1)?.name as string;
    return json(200, { metrics: computeDora({ service: name, production, deployments, now: p.clock.now(), days }) });
  },
  'POST /api/approvals/{id}/approve': decide('approve'),
  'POST /api/approvals/{id}/reject': decide('reject'),
  'GET /api/export': exportRoute,
  'POST /api/import': importRoute,
};

export function createApiHandler(ports: PortsProvider) {
  return middy<HttpEvent, HttpResult>()
    .use(logErrors(ports, 'api'))
    .use(httpHeaderNormalizer())
    .use(httpErrorHandler({ logger: false }))
    .use(jsonErrors())
    .handler(async (event) => {
      const route = API_ROUTES[event.routeKey];
      if (!route) throw new HttpError(404, `no route ${event.routeKey}`);
      return route(await ports(), event);
    });
}

// Slack (optional) from the sst.Secrets linked to this function (infra/function-manifest.ts).
export const handler = withRequestIds(createApiHandler(awsPortsWith(() => ({ botToken: optionalSecret('SlackBotToken') }))));
