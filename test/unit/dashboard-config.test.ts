/** The dashboard's config.json (src/core/config/dashboard-config.ts); the defaults are in auth-config.test.ts. */
import { describe, expect, it } from 'vitest';
import { dashboardConfig } from '../../src/core/config/dashboard-config.ts';
import { parseConfig } from '../../src/core/config/load.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: copilot, app: shop }
    environments: [{ name: prod }]
auth:
  issuer: https://login.example.com
  audience: [first-audience, second-audience]
  clientId: dashboard-client
  scopes: [openid]
  token: access
`);

describe('Function: dashboardConfig', () => {
  it('passes an explicit client id, the scopes and the token kind as written', () => {
    expect(dashboardConfig(config, 'https://api.example.com/v1')).toEqual({
      apiBase: 'https://api.example.com/v1',
      auth: { issuer: 'https://login.example.com', clientId: 'dashboard-client', scopes: ['openid'], token: 'access' },
    });
  });

  it('drops one trailing slash of the API base, and only at the end', () => {
    expect(dashboardConfig(config, 'https://api.example.com/v1/').apiBase).toBe('https://api.example.com/v1');
    expect(dashboardConfig(config, '/api/').apiBase).toBe('/api');
  });
});
