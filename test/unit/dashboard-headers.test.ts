/**
 * The dashboard's response headers (src/core/read-models/dashboard-headers.ts). The policy grammar is
 * CSP Level 3's (https://www.w3.org/TR/CSP3/#framework-directives: directives separated by ";", sources of
 * a directive by spaces, 'self' quoted). The Cognito origins are the forms AWS documents: a user pool's
 * issuer is https://cognito-idp.<region>.amazonaws.com/<pool id>
 * (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html),
 * its prefix domain https://<prefix>.auth.<region>.amazoncognito.com
 * (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html).
 */
import { describe, expect, it } from 'vitest';
import { dashboardConnectSrc, dashboardCsp, securityHeaders } from '../../src/core/read-models/dashboard-headers.ts';

const directives = (csp: string) => Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));

describe('dashboardCsp and securityHeaders', () => {
  it('keeps scripts, styles and calls to the page itself, and the page out of any frame', () => {
    expect(dashboardCsp()).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    expect(securityHeaders()).toEqual({
      'content-security-policy': dashboardCsp(),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
  });

  it('adds the origins the page may call to connect-src, one source each', () => {
    const csp = securityHeaders(['https://api.example.com', 'https://idp.example.com'])['content-security-policy'] ?? '';
    expect(directives(csp)['connect-src']).toEqual(["'self'", 'https://api.example.com', 'https://idp.example.com']);
    expect(directives(csp)['script-src']).toEqual(["'self'"]);
  });
});

describe('dashboardConnectSrc', () => {
  it('is the API origin alone without a sign-in provider', () => {
    expect(dashboardConnectSrc('https://abc.execute-api.eu-west-1.amazonaws.com/prod/api')).toEqual([
      'https://abc.execute-api.eu-west-1.amazonaws.com',
    ]);
  });

  it("adds the issuer's origin, once", () => {
    expect(dashboardConnectSrc('https://coconut.example.com/api', 'https://login.example.com/realms/x')).toEqual([
      'https://coconut.example.com',
      'https://login.example.com',
    ]);
    expect(dashboardConnectSrc('https://coconut.example.com/api', 'https://coconut.example.com/auth')).toEqual([
      'https://coconut.example.com',
    ]);
  });

  it("adds a Cognito user pool's token endpoint domain of the same region, and no such domain for anything else", () => {
    expect(
      dashboardConnectSrc('https://api.example.com', 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf'),
    ).toEqual([
      'https://api.example.com',
      'https://cognito-idp.eu-west-1.amazonaws.com',
      'https://*.auth.eu-west-1.amazoncognito.com',
    ]);
    // Look-alike hosts are not Cognito.
    expect(dashboardConnectSrc('https://api.example.com', 'https://evil-cognito-idp.eu-west-1.amazonaws.com/x')).toHaveLength(2);
    expect(
      dashboardConnectSrc('https://api.example.com', 'https://cognito-idp.eu-west-1.amazonaws.com.evil.example/x'),
    ).toHaveLength(2);
  });
});
