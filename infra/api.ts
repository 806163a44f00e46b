/**
 * The HTTP API: every route of functions/http-routes.ts, served by the function it names.
 * Public routes (webhooks, Slack) verify their own signatures; all others need a JWT from the
 * issuer in coconut.yaml's `auth` section, or — without one — AWS IAM (SigV4) credentials.
 */
import { HTTP_ROUTES } from '../functions/http-routes.ts';

export interface ApiArgs {
  functions: Record<string, Resource>;
  auth?: { issuer: string; audiences: string[] };
}

/**
 * The access-log format of SST's ApiGatewayV2 stage, minus the request path. SST's default
 * (platform/src/components/aws/apigatewayv2.ts, createStage) logs `$context.path`, and the Docker
 * Hub webhook carries its token in the path (`POST /webhooks/dockerhub/{token}`): that would put
 * the secret in CloudWatch Logs. `$context.routeKey` names the route template instead ("POST
 * /webhooks/dockerhub/{token}", with no value). Variables: AWS, "Customize HTTP API access logs",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html.
 * SST's `accessLog` option has only `retention`, so the stage's own args are transformed.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestTime: '"$context.requestTime"',
  requestId: '"$context.requestId"',
  httpMethod: '"$context.httpMethod"',
  routeKey: '"$context.routeKey"',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationRequestId: '"$context.integration.requestId"',
  integrationStatus: '"$context.integration.status"',
  integrationLatency: '"$context.integration.latency"',
  integrationServiceStatus: '"$context.integration.integrationStatus"',
  ip: '"$context.identity.sourceIp"',
  userAgent: '"$context.identity.userAgent"',
});

function withoutPathInAccessLog(stage: { accessLogSettings?: Record<string, unknown> }): void {
  stage.accessLogSettings = { ...stage.accessLogSettings, format: ACCESS_LOG_FORMAT };
}

export function api(args: ApiArgs) {
  // With sign-in, the dashboard (its own origin) calls the API with a bearer token, never a
  // cookie: any origin may ask, only a valid token gets an answer. Without sign-in, no CORS.
  const cors = args.auth
    ? {
        allowOrigins: ['*'],
        allowHeaders: ['authorization', 'content-type'],
        allowMethods: ['GET', 'POST'],
        exposeHeaders: ['x-coconut-next-cursor'],
        maxAge: '1 hour',
      }
    : false;
  // "HttpApi", not "Api": the `api` handler is already the Function "Api" (infra/functions.ts), and SST
  // refuses two top-level components whose names are equal ignoring case (platform/src/components/link.ts).
  const api = new sst.aws.ApiGatewayV2('HttpApi', {
    accessLog: { retention: '1 month' },
    cors,
    transform: { stage: withoutPathInAccessLog },
  });
  const authorizer = args.auth
    ? api.addAuthorizer({ name: 'CoconutJwt', jwt: { issuer: args.auth.issuer, audiences: args.auth.audiences } })
    : undefined;
  for (const route of HTTP_ROUTES) {
    const fn = args.functions[route.fn];
    if (!fn) throw new Error(`route ${route.route} is served by functions/${route.fn}.ts, which is not deployed`);
    const auth = route.public ? false : authorizer ? { jwt: { authorizer: authorizer.id } } : { iam: true as const };
    api.route(route.route, fn.arn, { auth });
  }
  const url = (route: string) => $interpolate`${api.url}${route.split(' ')[1] ?? ''}`;
  const publicRoutes = Object.fromEntries(HTTP_ROUTES.filter((r) => r.public).map((r) => [r.route, url(r.route)]));
  return { api, url, publicRoutes };
}
