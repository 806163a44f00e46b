/**
 * The read API behind the CLI and dashboard, and approving from the page. On AWS the HTTP API
 * puts a JWT authorizer in front of every route; locally the server (127.0.0.1 only) marks
 * its caller as the local operator. Task tokens never leave this handler.
 */
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { awsPorts } from '../src/aws/ports.ts';
import { type Actor, decideApproval } from '../src/core/approvals.ts';
import { InvalidInputError, NotFoundError } from '../src/core/errors.ts';
import type { ApprovalRecord, ApprovalStatus } from '../src/core/ports.ts';
import { serviceStatus } from '../src/core/status.ts';
import { HttpError, type HttpEvent, type HttpResult, json, jsonErrors, rawBody } from './commons/http.ts';
import { logErrors } from './commons/middleware.ts';
import type { Ports, PortsProvider } from './commons/ports.ts';

export type PublicApproval = Omit<ApprovalRecord, 'taskToken'>;

export function publicApproval(approval: ApprovalRecord): PublicApproval {
  const { taskToken: _secret, ...rest } = approval;
  return rest;
}

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
  return decodeURIComponent(value);
}

/** Who is calling: the JWT's subject on AWS, the local operator on the local server. */
export function actorOf(event: HttpEvent): Actor {
  const authorizer = (
    event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> }; lambda?: Record<string, unknown> } }
  ).authorizer;
  const claims = authorizer?.jwt?.claims;
  if (claims?.sub) {
    const slackId = claims['custom:slack_user_id'] ?? claims.slack_user_id;
    return {
      id: String(slackId ?? claims.sub),
      name: String(claims.email ?? claims.name ?? claims.sub),
      source: 'dashboard',
    };
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
      actor: actorOf(event),
      ...(comment ? { comment } : {}),
    });
    return json(200, { approval: publicApproval(approval) });
  };

export const API_ROUTES: Record<string, Route> = {
  'GET /api/status': async (p) => {
    const [status, approvals] = await Promise.all([
      serviceStatus(p.config, p.store),
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
  'POST /api/approvals/{id}/approve': decide('approve'),
  'POST /api/approvals/{id}/reject': decide('reject'),
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

export const handler = createApiHandler(awsPorts);
