// The API client: the same /api routes locally and on AWS. On AWS the base URL comes from
// config.json and every request carries the signed-in user's token (never shown on the page).
import { currentToken, signIn } from './auth.js';

let base = '';

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
  const headers = { ...(token ? { authorization: `Bearer ${token}` } : {}) };
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
  if (!res.ok) throw new ApiError(res.status, data.error ?? data.message ?? `HTTP ${res.status}`);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
