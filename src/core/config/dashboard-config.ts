/**
 * The config.json that sits beside dashboard/index.html: where the API is and how to sign in.
 * infra/ writes it for the static site on AWS (the API's URL and coconut.yaml's `auth`); the
 * local server serves dashboard/config.json as it is (same origin, no sign-in). It holds no
 * secret: a public OAuth client needs none.
 */
import type { CoconutConfig } from './schema.ts';

export interface DashboardConfig {
  apiBase: string;
  auth: { issuer: string; clientId: string; scopes: string[]; token: 'id' | 'access' } | null;
}

export function dashboardConfig(config: Pick<CoconutConfig, 'auth'>, apiBase: string): DashboardConfig {
  const auth = config.auth;
  return {
    apiBase: apiBase.replace(/\/$/, ''),
    auth: auth
      ? { issuer: auth.issuer, clientId: auth.clientId ?? (auth.audience[0] as string), scopes: auth.scopes, token: auth.token }
      : null,
  };
}
