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
  const api = new sst.aws.ApiGatewayV2('Api', { accessLog: { retention: '1 month' }, cors });
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
