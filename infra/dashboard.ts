/**
 * The dashboard on AWS: a static site over the same API. Never anonymous: it is deployed only
 * when coconut.yaml has an `auth` section (the API then sits behind the JWT authorizer and the
 * page signs people in against the same issuer). Its build is `coconut dashboard-site`, which
 * copies dashboard/ and writes config.json with the API's URL.
 *
 * It sends the local server's security headers (src/core/read-models/dashboard-headers.ts) through a
 * CloudFront response headers policy on the site's default cache behavior, so no other page can
 * frame it (clickjacking the Approve button) and it runs only its own scripts.
 */
import {
  DASHBOARD_FRAME_OPTIONS,
  DASHBOARD_REFERRER_POLICY,
  dashboardConnectSrc,
  dashboardCsp,
} from '../src/core/read-models/dashboard-headers.ts';
import { prefix } from './naming.ts';

export interface DashboardArgs {
  apiUrl: Output<string>;
  configFile: string;
  auth?: { issuer: string; audiences: string[] };
}

/** A year: the site is only ever served over HTTPS (SST redirects http to https). */
const HSTS_SECONDS = 31_536_000;

export function dashboard(args: DashboardArgs): { url?: Output<string>; note: string } {
  const auth = args.auth;
  if (!auth) {
    return { note: 'dashboard not deployed: add an `auth` section to coconut.yaml (the page and /api are never anonymous)' };
  }
  // Pulumi's aws.cloudfront.ResponseHeadersPolicy (CloudFront's ResponseHeadersPolicySecurityHeadersConfig).
  const headers = new aws.cloudfront.ResponseHeadersPolicy('DashboardHeaders', {
    name: `${prefix()}-dashboard-headers`,
    comment: 'Coconut dashboard: the same security headers as the local server',
    securityHeadersConfig: {
      contentSecurityPolicy: {
        contentSecurityPolicy: args.apiUrl.apply((url) => dashboardCsp(dashboardConnectSrc(url, auth.issuer))),
        override: true,
      },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: DASHBOARD_FRAME_OPTIONS, override: true },
      referrerPolicy: { referrerPolicy: DASHBOARD_REFERRER_POLICY, override: true },
      strictTransportSecurity: { accessControlMaxAgeSec: HSTS_SECONDS, includeSubdomains: false, override: true },
    },
  });
  const site = new sst.aws.StaticSite('Dashboard', {
    path: '.',
    build: { command: 'node bin/coconut.mjs dashboard-site --out .sst/dashboard-site', output: '.sst/dashboard-site' },
    environment: { COCONUT_API_URL: args.apiUrl, COCONUT_CONFIG: args.configFile },
    transform: {
      // StaticSite builds its Cdn's defaultCacheBehavior as a plain object
      // (sst platform/src/components/aws/static-site.ts, createDistribution): add the policy to it.
      cdn: (cdn: { defaultCacheBehavior?: Record<string, unknown> }) => {
        cdn.defaultCacheBehavior = { ...cdn.defaultCacheBehavior, responseHeadersPolicyId: headers.id };
      },
    },
  });
  return { url: site.url, note: `signs in with ${auth.issuer}` };
}
