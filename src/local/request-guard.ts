/**
 * What makes a request to the local server the operator's (docs/security.md, "The local server").
 * The server listens on 127.0.0.1, but any web page its user opens can send it requests, and a
 * tunnel (ngrok, cloudflared) can carry anyone's. So every route but the public ones (webhooks,
 * Slack: they verify their own signatures) checks, in this order:
 * - Host is this server's loopback address and port: a DNS-rebinding page sends its own name;
 * - Origin, when sent, is this server's own, and Sec-Fetch-Site is not cross-site: another site's page;
 * - no X-Forwarded-For / Forwarded on operator routes: a tunnel that says so;
 * - the operator token (X-Coconut-Token) on operator routes: a tunnel that forges Host and hides itself;
 * - JSON routes get `application/json`: a form or a text/plain "simple" request needs no CORS preflight.
 * Each refusal is JSON naming what was wrong and what was expected.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const TOKEN_HEADER = 'x-coconut-token';

export interface Refusal {
  status: number;
  error: string;
}

export interface GuardOptions {
  /** The port the server listens on. */
  port: number;
  /** The operator token; requests to operator routes must carry it. */
  token: string;
}

/** How much a route is guarded. */
export interface RouteGuard {
  /** Needs the operator token (everything but the dashboard's static files and /healthz). */
  operator: boolean;
  /** The content type its body must have (POST routes). */
  contentType?: 'json' | 'ndjson';
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

export function loopbackHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

function sameToken(given: string, expected: string): boolean {
  // Hashes first: equal lengths for timingSafeEqual, and no timing hint about the token's length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The media type of a Content-Type header, lower-cased, without parameters (RFC 9110 §8.3.1). */
export function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type || undefined;
}

const ACCEPTED: Record<NonNullable<RouteGuard['contentType']>, string[]> = {
  json: ['application/json'],
  // `coconut import` sends history lines as NDJSON; a JSON array-free file of lines is accepted as JSON too.
  ndjson: ['application/x-ndjson', 'application/json'],
};

/**
 * Host and Origin: the checks every non-public route passes, the dashboard's files included
 * (a rebinding page must not read anything through this server).
 */
export function checkSite(method: string, headers: IncomingHttpHeaders, opts: GuardOptions): Refusal | undefined {
  const hosts = loopbackHosts(opts.port);
  const host = header(headers, 'host')?.toLowerCase();
  if (!host || !hosts.includes(host)) {
    return {
      status: 403,
      error: `Host ${host === undefined ? '(none)' : JSON.stringify(host)} is not this server: expected ${hosts.join(', ')} (a page reaching this server under another name is refused: DNS rebinding)`,
    };
  }
  const origin = header(headers, 'origin');
  if (origin !== undefined && !hosts.map((h) => `http://${h}`).includes(origin.toLowerCase())) {
    return {
      status: 403,
      error: `Origin ${JSON.stringify(origin)} is not this server: expected no Origin (CLI, curl) or http://${host} (the dashboard); another site's page may not call Coconut`,
    };
  }
  const site = header(headers, 'sec-fetch-site')?.toLowerCase();
  if (site === 'cross-site') {
    return {
      status: 403,
      error: `${method} from another site (Sec-Fetch-Site: cross-site) is refused: expected a request from the dashboard (same-origin) or a tool (none)`,
    };
  }
  return undefined;
}

/** Token, forwarding and content type: the checks of operator routes, after checkSite. */
export function checkOperator(
  method: string,
  headers: IncomingHttpHeaders,
  guard: RouteGuard,
  opts: GuardOptions,
): Refusal | undefined {
  if (!guard.operator) return undefined;
  if (header(headers, 'x-forwarded-for') || header(headers, 'forwarded')) {
    return {
      status: 403,
      error: 'forwarded requests (a tunnel) reach only the public routes, such as POST /slack/interactions',
    };
  }
  const token = header(headers, TOKEN_HEADER);
  if (!token || !sameToken(token, opts.token)) {
    return {
      status: 401,
      error: `${token ? 'this operator token is not' : 'no operator token: expected'} the ${TOKEN_HEADER} header with the token in <data dir>/secrets.json (or COCONUT_OPERATOR_TOKEN). The CLI sends it when run where \`npm start\` runs; open the dashboard through the URL \`coconut dev\` printed (…/?token=…)`,
    };
  }
  if (guard.contentType) {
    const accepted = ACCEPTED[guard.contentType];
    const given = mediaType(header(headers, 'content-type'));
    if (!given || !accepted.includes(given)) {
      return {
        status: 415,
        error: `${method} needs Content-Type ${accepted.join(' or ')}, got ${given ?? 'none'}`,
      };
    }
  }
  return undefined;
}
