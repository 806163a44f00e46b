/**
 * Every HTTP route and the function that serves it: the one list of route keys. infra/ creates
 * these routes on the HTTP API; the local server serves the same routes with the same handlers;
 * functions/api.ts types its handlers by the keys given to `api` here (RouteKeyOf), so a route
 * without a handler, or a handler without a route, does not compile.
 */
export interface HttpRoute {
  /** API Gateway v2 route key: "METHOD /path/{param}". */
  route: string;
  /** File name in functions/ (without .ts). */
  fn: string;
  /** Public routes verify their own signatures; all others sit behind the JWT authorizer on AWS. */
  public?: boolean;
}

const ROUTES = [
  { route: 'GET /api/status', fn: 'api' },
  { route: 'GET /api/deployments', fn: 'api' },
  { route: 'GET /api/deployments/{id}', fn: 'api' },
  { route: 'GET /api/history/{service}', fn: 'api' },
  { route: 'GET /api/approvals', fn: 'api' },
  { route: 'POST /api/approvals/{id}/approve', fn: 'api' },
  { route: 'POST /api/approvals/{id}/reject', fn: 'api' },
  { route: 'POST /webhooks/github', fn: 'github-webhook', public: true },
  { route: 'POST /webhooks/dockerhub/{token}', fn: 'registry-webhook', public: true },
  // Dashboard and CLI (issue 8): live execution steps, manual deploys and rollbacks, DORA metrics.
  { route: 'GET /api/deployments/{id}/events', fn: 'api' },
  { route: 'POST /api/deployments', fn: 'api' },
  { route: 'POST /api/rollbacks', fn: 'api' },
  { route: 'GET /api/state-machines/{name}', fn: 'api' },
  { route: 'GET /api/metrics/{service}', fn: 'api' },
  { route: 'POST /slack/interactions', fn: 'slack-interactions', public: true },
  // History as JSON lines (issue 6): `coconut export` / `coconut import`, admin operations.
  { route: 'GET /api/export', fn: 'api' },
  { route: 'POST /api/import', fn: 'api' },
  // Release governance (issue 16): promote the digest proven on an earlier environment.
  { route: 'POST /api/promotions', fn: 'api' },
  // ...and pin an environment at what runs there (automatic deployments wait), or unpin it.
  { route: 'POST /api/pins', fn: 'api' },
  { route: 'POST /api/unpins', fn: 'api' },
] as const satisfies readonly HttpRoute[];

export const HTTP_ROUTES: readonly HttpRoute[] = ROUTES;

/** The route keys the function in functions/<fn>.ts serves, e.g. RouteKeyOf<'api'>. */
export type RouteKeyOf<Fn extends string> = Extract<(typeof ROUTES)[number], { fn: Fn }>['route'];
