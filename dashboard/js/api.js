// The API client: the same /api routes locally and on AWS. On AWS the base URL comes from
// config.json and every request carries the signed-in user's token (never shown on the page).
// Locally every request carries the operator token (docs/security.md, "The local server"):
// `coconut dev` prints the dashboard's URL with ?token=… once; the page keeps the token in
// localStorage (this origin only, so new tabs and restarts work), drops it from the address bar
// and sends it as a header — never a cookie, which another site's page could make the browser send.
import { currentToken, signIn } from './auth.js';

let base = '';
const OPERATOR_KEY = 'coconut.operatorToken';
const OPERATOR_HEADER = 'x-coconut-token';

function operatorToken() {
  const params = new URLSearchParams(location.search);
  const given = params.get('token');
  if (given) {
    localStorage.setItem(OPERATOR_KEY, given);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
  }
  return localStorage.getItem(OPERATOR_KEY) ?? undefined;
}
const operator = operatorToken();

export function setApiBase(url) {
  base = (url ?? '').replace(/\/$/, '');
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
  const token = currentToken();
  const headers = {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    // Only to this page's own server (the local runtime), never to an API on another origin.
    ...(operator && !base ? { [OPERATOR_HEADER]: operator } : {}),
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    cache: 'no-store',
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = {};
  }
  if (res.status === 401 && token !== undefined) {
    await signIn(true); // the token expired: sign in again, then come back here
  }
  if (res.status === 401 && token === undefined && !base) {
    throw new ApiError(
      401,
      'this page has no valid operator token: open the dashboard through the URL that `npm start` (coconut dev) printed, ending in ?token=…',
    );
  }
  if (!res.ok) throw new ApiError(res.status, data.error ?? data.message ?? `HTTP ${res.status}`);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
