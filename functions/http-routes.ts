/**
 * Every HTTP route and the function that serves it. infra/ creates these routes on the HTTP
 * API; the local server serves the same routes with the same handlers.
 */
export interface HttpRoute {
  /** API Gateway v2 route key: "METHOD /path/{param}". */
  route: string;
  /** File name in functions/ (without .ts). */
  fn: string;
  /** Public routes verify their own signatures; all others sit behind the JWT authorizer on AWS. */
  public?: boolean;
}

export const HTTP_ROUTES: HttpRoute[] = [
  { route: 'GET /api/status', fn: 'api' },
  { route: 'GET /api/deployments', fn: 'api' },
  { route: 'GET /api/deployments/{id}', fn: 'api' },
  { route: 'GET /api/history/{service}', fn: 'api' },
  { route: 'GET /api/approvals', fn: 'api' },
  { route: 'POST /api/approvals/{id}/approve', fn: 'api' },
  { route: 'POST /api/approvals/{id}/reject', fn: 'api' },
  { route: 'POST /slack/interactions', fn: 'slack-interactions', public: true },
];
