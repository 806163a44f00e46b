import { describe, expect, it } from 'vitest';
import { dashboardConfig } from '../../src/core/config/dashboard-config.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { ConfigError } from '../../src/core/model/errors.ts';

const base = `
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: copilot, app: shop }
    environments: [{ name: prod }]
`;

describe('Config: auth (dashboard and API sign-in on AWS)', () => {
  it('reads an OIDC issuer and audience, with defaults for the dashboard', () => {
    const config = parseConfig(
      `${base}auth:\n  issuer: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC\n  audience: [3n4b5urk1ft4fl3mg5e62d9ado]\n`,
    );
    expect(config.auth).toEqual({
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC',
      audience: ['3n4b5urk1ft4fl3mg5e62d9ado'],
      scopes: ['openid', 'email', 'profile'],
      token: 'id',
    });
    expect(dashboardConfig(config, 'https://api.example.com/')).toEqual({
      apiBase: 'https://api.example.com',
      auth: {
        issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC',
        clientId: '3n4b5urk1ft4fl3mg5e62d9ado',
        scopes: ['openid', 'email', 'profile'],
        token: 'id',
      },
    });
    expect(dashboardConfig(parseConfig(base), '')).toEqual({ apiBase: '', auth: null });
  });

  it('names what is wrong: an http issuer, a missing audience, an unknown key', () => {
    const bad = (auth: string) => {
      try {
        parseConfig(`${base}auth: ${auth}\n`);
        return '';
      } catch (error) {
        return (error as ConfigError).message;
      }
    };
    expect(bad('{ issuer: "http://login.example.com", audience: [x] }')).toContain(
      'auth.issuer: expected the https URL of an OpenID Connect issuer',
    );
    expect(bad('{ issuer: "https://login.example.com", audience: [] }')).toContain(
      'auth.audience: expected at least one audience',
    );
    expect(bad('{ issuer: "https://login.example.com", audience: [x], secret: y }')).toContain('secret');
  });
});
