/**
 * Talks to a running Coconut (the local runtime, or the API on AWS) over HTTP. The target is
 * COCONUT_URL (default the local runtime), or with `--stage S` the API URL that `sst deploy`
 * wrote to .sst/outputs.json. How requests prove who sends them (authMode):
 * - a stage with an `auth:` section wants a JWT: COCONUT_TOKEN is sent as a bearer token;
 * - a stage without one uses IAM authorization: requests to it are SigV4-signed with the
 *   standard AWS credential chain (sigv4.ts);
 * - the local runtime (127.0.0.1) needs neither, but wants its operator token (X-Coconut-Token):
 *   COCONUT_OPERATOR_TOKEN, else the one in <data dir>/secrets.json (COCONUT_DATA_DIR, default
 *   .coconut: where `npm start` runs). It is sent to a loopback address only.
 * Secrets (the token, AWS keys, signatures) are never printed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TOKEN_HEADER } from '../local/request-guard.ts';
import { OPERATOR_TOKEN_ENV, readOperatorToken, SECRETS_FILE } from '../local/secrets.ts';
import { CommandFailed } from './errors.ts';
import { isAwsApiUrl, signRequest } from './sigv4.ts';

let stageUrl: string | undefined;

/** Output names under which infra/ may publish the HTTP API's URL. */
export const API_URL_OUTPUTS = ['apiUrl', 'api', 'ApiUrl', 'url'];

/** Points the commands at a deployed stage, from the outputs SST wrote after `sst deploy --stage S`. */
export function useStage(stage: string | undefined, cwd = process.cwd()): void {
  if (stage === undefined) return;
  const file = path.join(cwd, '.sst', 'outputs.json');
  let outputs: Record<string, unknown>;
  try {
    outputs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new CommandFailed(
      `--stage ${stage}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); run \`npx sst deploy --stage ${stage}\` here first, or set COCONUT_URL`,
    );
  }
  // SST writes the outputs of the last deploy; a file keyed by stage is accepted too.
  const scoped = outputs[stage];
  const values = scoped && typeof scoped === 'object' ? (scoped as Record<string, unknown>) : outputs;
  if (typeof values.stage === 'string' && values.stage !== stage) {
    throw new CommandFailed(
      `--stage ${stage}: ${file} holds the outputs of stage ${values.stage}; deploy ${stage} or set COCONUT_URL`,
    );
  }
  const key = API_URL_OUTPUTS.find((k) => typeof values[k] === 'string' && /^https?:\/\//.test(values[k] as string));
  if (!key) {
    throw new CommandFailed(
      `--stage ${stage}: ${file} has no API URL output (looked for ${API_URL_OUTPUTS.join(', ')}; found ${Object.keys(values).join(', ') || 'nothing'})`,
    );
  }
  stageUrl = String(values[key]).replace(/\/$/, '');
}

export function serverUrl(): string {
  return (stageUrl ?? process.env.COCONUT_URL ?? `http://127.0.0.1:${process.env.COCONUT_PORT ?? '4500'}`).replace(/\/$/, '');
}

export type AuthMode = 'jwt' | 'iam' | 'none';
const AUTH_MODES: AuthMode[] = ['jwt', 'iam', 'none'];

/**
 * COCONUT_AUTH (jwt | iam | none) when set; else a JWT when COCONUT_TOKEN is set; else SigV4
 * for an AWS target (a --stage, or an execute-api URL); else nothing (the local runtime). Set
 * COCONUT_AUTH=iam for an API behind a custom domain.
 */
export function authMode(url = new URL(serverUrl())): AuthMode {
  const forced = process.env.COCONUT_AUTH;
  if (forced !== undefined && forced !== '') {
    if (!AUTH_MODES.includes(forced as AuthMode))
      throw new CommandFailed(`COCONUT_AUTH must be one of ${AUTH_MODES.join(', ')}, got "${forced}"`);
    if (forced === 'jwt' && !process.env.COCONUT_TOKEN)
      throw new CommandFailed('COCONUT_AUTH=jwt needs COCONUT_TOKEN: a JWT from your identity provider');
    return forced as AuthMode;
  }
  if (process.env.COCONUT_TOKEN) return 'jwt';
  if (stageUrl !== undefined || isAwsApiUrl(url)) return 'iam';
  return 'none';
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body === undefined ? undefined : { text: JSON.stringify(body), type: 'application/json' });
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text.slice(0, 300) };
  }
  if (!res.ok) throw refusal(res, data, method, path);
  return data as T;
}

/** A request whose answer is text (history lines), not JSON; refusals are reported as request() does. */
export async function requestText(
  method: string,
  path: string,
  body?: { text: string; type: string },
): Promise<{ text: string; headers: Headers }> {
  const res = await send(method, path, body);
  const text = await res.text();
  if (!res.ok) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: text.slice(0, 300) };
    }
    throw refusal(res, data, method, path);
  }
  return { text, headers: res.headers };
}

async function send(method: string, path: string, body: { text: string; type: string } | undefined): Promise<Response> {
  const url = new URL(`${serverUrl()}${path}`);
  const mode = authMode(url);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': body.type };
  let target = url.href;
  if (mode === 'jwt') headers.authorization = `Bearer ${process.env.COCONUT_TOKEN}`;
  if (mode === 'none' && isLoopback(url)) {
    const token = readOperatorToken(localDataDir());
    if (token) headers[TOKEN_HEADER] = token;
  }
  if (mode === 'iam') {
    const signed = await signRequest(method, url, headers, body?.text);
    target = signed.url;
    Object.assign(headers, signed.headers);
  }
  try {
    return await fetch(target, { method, headers, ...(body === undefined ? {} : { body: body.text }) });
  } catch {
    throw new CommandFailed(
      `cannot reach Coconut at ${serverUrl()}: is it running? Start it with \`npm start\` (or set COCONUT_URL)`,
    );
  }
}

/** Where the local runtime keeps its secrets, as `coconut dev` chooses it. */
function localDataDir(): string {
  return path.resolve(process.env.COCONUT_DATA_DIR ?? '.coconut');
}

function localSecretsFile(): string {
  return path.join(localDataDir(), SECRETS_FILE);
}

/** Only a loopback address gets the local operator token: never a remote host named by COCONUT_URL. */
export function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

function refusal(res: Response, data: unknown, method: string, path: string): CommandFailed {
  const mode = authMode();
  if (res.status === 401 && mode === 'none' && isLoopback(new URL(serverUrl()))) {
    return new CommandFailed(
      `the local runtime at ${serverUrl()} wants its operator token (HTTP 401 from ${method} ${path}): run this command where \`npm start\` runs (it reads ${localSecretsFile()}), or set COCONUT_DATA_DIR to the runtime's data dir or ${OPERATOR_TOKEN_ENV} to its token`,
    );
  }
  // API Gateway's own refusals carry {"message": …}; Coconut's carry {"error": …}.
  const gateway = data && typeof data === 'object' ? (data as { message?: unknown }).message : undefined;
  if (mode === 'iam' && res.status === 403 && typeof gateway === 'string') {
    return new CommandFailed(
      `AWS refused the signed request (HTTP 403 from ${method} ${path}: ${gateway.slice(0, 200)}): the AWS identity of your credentials needs execute-api:Invoke on this API, and its clock must be right; check which identity that is with \`aws sts get-caller-identity\``,
    );
  }
  if (res.status === 401 && mode === 'iam') {
    return new CommandFailed(`${serverUrl()} did not accept the signed request as a login (HTTP 401 from ${method} ${path})`);
  }
  if (res.status === 401 || (mode === 'none' && res.status === 403 && typeof gateway === 'string')) {
    return new CommandFailed(
      `${serverUrl()} wants a login (HTTP ${res.status} from ${method} ${path}): set COCONUT_TOKEN to a JWT from your identity provider (a stage with auth:), or COCONUT_AUTH=iam to sign with your AWS credentials (a stage without auth: behind a custom domain)`,
    );
  }
  return new CommandFailed(
    `${(data as { error?: string }).error ?? (data as { message?: string }).message ?? `HTTP ${res.status}`} (HTTP ${res.status} from ${method} ${path})`,
    res.status,
  );
}
