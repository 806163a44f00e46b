/**
 * The dashboard on AWS (infra/dashboard.ts, infra/api.ts) under the recording SST stand-in, and
 * the `coconut dashboard-site` build it runs: deployed only with sign-in, pointed at the API.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '../../functions/http-routes.ts';
import { api } from '../../infra/api.ts';
import { dashboard } from '../../infra/dashboard.ts';
import { dashboardSite } from '../../src/cli/commands/dashboard-site.ts';
import { securityHeaders } from '../../src/core/read-models/dashboard-headers.ts';
import { installSstGlobals, type Out, resolveDeep } from '../support/sst-recorder.ts';

const auth = { issuer: 'https://login.example.com', audiences: ['dash-client'] };
const functions = Object.fromEntries(HTTP_ROUTES.map((r) => [r.fn, { arn: `arn:fn:${r.fn}` }])) as never;

describe('Infra: the dashboard site', () => {
  let restore: (() => void) | undefined;
  afterEach(() => restore?.());

  it('is deployed only with sign-in, built by coconut dashboard-site with the API URL', () => {
    const stand = installSstGlobals('prod');
    restore = stand.restore;
    const http = api({ functions, auth });
    const site = dashboard({ apiUrl: http.api.url, configFile: 'coconut.yaml', auth });
    const [recorded] = stand.recording.of('sst.aws.StaticSite');
    expect(recorded?.args).toMatchObject({
      build: { command: 'node bin/coconut.mjs dashboard-site --out .sst/dashboard-site', output: '.sst/dashboard-site' },
    });
    const environment = recorded?.args.environment as Record<string, Out>;
    // The build gets the API's URL, and the site's URL is the StaticSite's own (each compared
    // with the component's output, not with a value the stand-in makes up).
    expect(environment.COCONUT_API_URL?.value()).toBe((http.api.url as unknown as Out<string>).value());
    const siteUrl = (site.url as unknown as Out<string> | undefined)?.value();
    expect(siteUrl).toBe((recorded?.proxy as { url: Out<string> } | undefined)?.url.value());
    expect(siteUrl).not.toBe(environment.COCONUT_API_URL?.value());
    // Bearer tokens, not cookies: the API answers the site's origin.
    expect(stand.recording.of('sst.aws.ApiGatewayV2')[0]?.args.cors).toMatchObject({
      allowHeaders: ['authorization', 'content-type'],
    });
  });

  it("sends the local server's security headers through a CloudFront response headers policy on the site", () => {
    const stand = installSstGlobals('prod');
    restore = stand.restore;
    const cognito = { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf', audiences: ['dash-client'] };
    const http = api({ functions, auth: cognito });
    dashboard({ apiUrl: http.api.url, configFile: 'coconut.yaml', auth: cognito });
    const policies = stand.recording.of('aws.cloudfront.ResponseHeadersPolicy');
    expect(policies).toHaveLength(1);
    const [policy] = policies;
    // The argument names are Pulumi's aws.cloudfront.ResponseHeadersPolicy
    // (https://www.pulumi.com/registry/packages/aws/api-docs/cloudfront/responseheaderspolicy/), the fields
    // of CloudFront's SecurityHeadersConfig (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cloudfront-responseheaderspolicy-securityheadersconfig.html):
    // FrameOption is DENY or SAMEORIGIN; ContentTypeOptions has no value (always nosniff).
    const config = resolveDeep(policy?.args.securityHeadersConfig) as Record<string, Record<string, unknown>>;
    const local = securityHeaders([
      'https://api.coconut.test',
      'https://cognito-idp.eu-west-1.amazonaws.com',
      'https://*.auth.eu-west-1.amazoncognito.com',
    ]);
    expect(config.contentSecurityPolicy).toEqual({ contentSecurityPolicy: local['content-security-policy'], override: true });
    expect(config.contentSecurityPolicy?.contentSecurityPolicy).toContain("frame-ancestors 'none'");
    expect(config.contentTypeOptions).toEqual({ override: true });
    expect(local['x-content-type-options']).toBe('nosniff');
    expect(config.frameOptions).toEqual({ frameOption: local['x-frame-options'], override: true });
    expect(config.referrerPolicy).toEqual({ referrerPolicy: local['referrer-policy'], override: true });
    expect(config.strictTransportSecurity).toMatchObject({ override: true });

    // SST's StaticSite passes its Cdn args through transform.cdn; the Cdn's defaultCacheBehavior is
    // the plain object StaticSite builds (sst platform/src/components/aws/static-site.ts, createDistribution).
    const [site] = stand.recording.of('sst.aws.StaticSite');
    const cdn = {
      defaultCacheBehavior: { targetOriginId: 's3', viewerProtocolPolicy: 'redirect-to-https' } as Record<string, unknown>,
    };
    const transform = site?.args.transform as { cdn: (args: typeof cdn, opts: object, name: string) => void } | undefined;
    expect(transform?.cdn).toBeTypeOf('function');
    transform?.cdn(cdn, {}, 'DashboardCdn');
    expect(resolveDeep(cdn.defaultCacheBehavior)).toEqual({
      targetOriginId: 's3',
      viewerProtocolPolicy: 'redirect-to-https',
      responseHeadersPolicyId: 'aws.cloudfront.ResponseHeadersPolicy:DashboardHeaders:id',
    });
  });

  it('is not deployed without sign-in, and the API then has no CORS', () => {
    const stand = installSstGlobals('prod');
    restore = stand.restore;
    const http = api({ functions });
    const site = dashboard({ apiUrl: http.api.url, configFile: 'coconut.yaml' });
    expect(stand.recording.of('sst.aws.StaticSite')).toEqual([]);
    expect(stand.recording.of('aws.cloudfront.ResponseHeadersPolicy')).toEqual([]);
    expect(site.note).toMatch(/never anonymous/);
    expect(stand.recording.of('sst.aws.ApiGatewayV2')[0]?.args.cors).toBe(false);
  });
});

describe('CLI: coconut dashboard-site', () => {
  it('writes the page and a config.json with the API and the issuer, and no secret', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-site-'));
    const config = path.join(dir, 'coconut.yaml');
    writeFileSync(
      config,
      `${readFileSync('examples/demo/coconut.yaml', 'utf8')}\nauth:\n  issuer: https://login.example.com\n  audience: [dash-client]\n`,
    );
    const out = path.join(dir, 'site');
    const write = process.stdout.write;
    process.stdout.write = (() => true) as never;
    try {
      expect(await dashboardSite(['--out', out, '--api', 'https://api.example.com/', '--config', config])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(existsSync(path.join(out, 'index.html'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toEqual({
      apiBase: 'https://api.example.com',
      auth: { issuer: 'https://login.example.com', clientId: 'dash-client', scopes: ['openid', 'email', 'profile'], token: 'id' },
    });
  });
});
