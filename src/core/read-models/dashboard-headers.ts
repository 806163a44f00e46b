/**
 * The dashboard's response headers, one source for both places it is served: the local server
 * (src/local/dashboard-assets.ts) and the static site on AWS (infra/dashboard.ts, as a
 * CloudFront response headers policy). They keep the page to itself: scripts, styles and API
 * calls from its own origin (plus, on AWS, the API and the sign-in provider), no framing by
 * any other page (clickjacking: Approve is a button), no MIME sniffing, no referrer.
 */

export const DASHBOARD_FRAME_OPTIONS = 'DENY';
export const DASHBOARD_REFERRER_POLICY = 'no-referrer';

/** The Content-Security-Policy; `connectSrc` adds origins the page may call besides its own. */
export function dashboardCsp(connectSrc: string[] = []): string {
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${["'self'", ...connectSrc].join(' ')}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;
}

export function securityHeaders(connectSrc: string[] = []): Record<string, string> {
  return {
    'content-security-policy': dashboardCsp(connectSrc),
    'x-content-type-options': 'nosniff',
    'referrer-policy': DASHBOARD_REFERRER_POLICY,
    'x-frame-options': DASHBOARD_FRAME_OPTIONS,
  };
}

/**
 * What the page on AWS calls besides its own origin: the API, the issuer (its OpenID discovery
 * document) and, for a Cognito user pool, the token endpoint on the pool's Cognito domain
 * (https://<prefix>.auth.<region>.amazoncognito.com; a custom Cognito domain is not covered).
 */
export function dashboardConnectSrc(apiUrl: string, issuer?: string): string[] {
  const origins = [new URL(apiUrl).origin];
  if (issuer) {
    const url = new URL(issuer);
    origins.push(url.origin);
    const cognito = /^cognito-idp\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname);
    if (cognito) origins.push(`https://*.auth.${cognito[1]}.amazoncognito.com`);
  }
  return [...new Set(origins)];
}
