// Sign-in on AWS: OpenID Connect authorization code flow with PKCE against the issuer named in
// coconut.yaml (`auth`), as a public client (no secret in the page). The token lives in
// sessionStorage for this tab only and is sent to the API; it is never written into the page.
// Locally (no `auth` in config.json) there is nothing to do: the local server trusts 127.0.0.1.

const KEY = 'coconut.auth';
let settings = null;
let session = null; // { token, expiresAt, user }

const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

export function randomString(bytes = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export async function codeChallenge(verifier) {
  return b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
}

/** The claims of a JWT, for the user's name and the expiry only (the API verifies the signature). */
export function claimsOf(jwt) {
  const part = String(jwt).split('.')[1] ?? '';
  const json = atob(
    part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '='),
  );
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

async function discover(issuer) {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`cannot read the identity provider's configuration (HTTP ${res.status})`);
  return res.json();
}

export function currentToken() {
  if (!settings) return undefined;
  if (!session || session.expiresAt * 1000 < Date.now() + 30_000) return undefined;
  return session.token;
}

export function currentUser() {
  return session?.user;
}

/** Called once at start: finishes a sign-in redirect, or starts one when there is no valid token. */
export async function initAuth(auth) {
  settings = auth ?? null;
  if (!settings) return { signedIn: false, local: true };
  const stored = sessionStorage.getItem(KEY);
  session = stored ? JSON.parse(stored) : null;
  const params = new URLSearchParams(location.search);
  if (params.has('code') || params.has('error')) return finishSignIn(params);
  if (!currentToken()) await signIn(false);
  return { signedIn: true, local: false };
}

export async function signIn(force) {
  if (!settings) return;
  if (force) {
    session = null;
    sessionStorage.removeItem(KEY);
  }
  const meta = await discover(settings.issuer);
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(`${KEY}.pending`, JSON.stringify({ verifier, state, hash: location.hash }));
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: redirectUri(),
    scope: settings.scopes.join(' '),
    state,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
  // The page is leaving; nothing after this should run.
  await new Promise(() => {});
}

function redirectUri() {
  return `${location.origin}${location.pathname}`;
}

async function finishSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem(`${KEY}.pending`) ?? 'null');
  sessionStorage.removeItem(`${KEY}.pending`);
  if (params.has('error')) throw new Error(`sign-in failed: ${params.get('error_description') ?? params.get('error')}`);
  if (!pending || pending.state !== params.get('state')) throw new Error('sign-in failed: the answer does not match the request');
  const meta = await discover(settings.issuer);
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: redirectUri(),
      client_id: settings.clientId,
      code_verifier: pending.verifier,
    }),
  });
  if (!res.ok) throw new Error(`sign-in failed: the identity provider answered HTTP ${res.status}`);
  const tokens = await res.json();
  const token = settings.token === 'access' ? tokens.access_token : tokens.id_token;
  if (!token) throw new Error(`sign-in failed: no ${settings.token === 'access' ? 'access' : 'ID'} token in the answer`);
  const claims = claimsOf(token);
  const idClaims = tokens.id_token ? claimsOf(tokens.id_token) : claims;
  session = {
    token,
    expiresAt: claims.exp ?? Math.floor(Date.now() / 1000) + 300,
    user: idClaims.email ?? idClaims.name ?? idClaims.sub,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  // Drop ?code=… from the address bar (and history) and go back where the user was.
  history.replaceState(null, '', `${redirectUri()}${pending.hash ?? ''}`);
  return { signedIn: true, local: false };
}

export function signOut() {
  session = null;
  sessionStorage.removeItem(KEY);
}
