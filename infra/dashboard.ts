/**
 * The dashboard on AWS: a static site over the same API. Never anonymous: it is deployed only
 * when coconut.yaml has an `auth` section (the API then sits behind the JWT authorizer and the
 * page signs people in against the same issuer). Its build is `coconut dashboard-site`, which
 * copies dashboard/ and writes config.json with the API's URL.
 */
export interface DashboardArgs {
  apiUrl: Output<string>;
  configFile: string;
  auth?: { issuer: string; audiences: string[] };
}

export function dashboard(args: DashboardArgs): { url?: Output<string>; note: string } {
  if (!args.auth) {
    return { note: 'dashboard not deployed: add an `auth` section to coconut.yaml (the page and /api are never anonymous)' };
  }
  const site = new sst.aws.StaticSite('Dashboard', {
    path: '.',
    build: { command: 'node bin/coconut.mjs dashboard-site --out .sst/dashboard-site', output: '.sst/dashboard-site' },
    environment: { COCONUT_API_URL: args.apiUrl, COCONUT_CONFIG: args.configFile },
  });
  return { url: site.url, note: `signs in with ${args.auth.issuer}` };
}
