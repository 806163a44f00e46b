/**
 * Talks to a running Coconut (the local runtime, or the API on AWS) over HTTP. The target is
 * COCONUT_URL (default the local runtime), or with `--stage S` the API URL that `sst deploy`
 * wrote to .sst/outputs.json. On AWS every route needs a JWT: COCONUT_TOKEN is sent as a bearer
 * token and never printed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CommandFailed } from './errors.ts';

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

function authHeaders(): Record<string, string> {
  const token = process.env.COCONUT_TOKEN;
  return token ? { authorization: `Bearer ${token}` } : {};
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
  try {
    return await fetch(`${serverUrl()}${path}`, {
      method,
      headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': body.type }) },
      ...(body === undefined ? {} : { body: body.text }),
    });
  } catch {
    throw new CommandFailed(
      `cannot reach Coconut at ${serverUrl()}: is it running? Start it with \`npm start\` (or set COCONUT_URL)`,
    );
  }
}

function refusal(res: Response, data: unknown, method: string, path: string): CommandFailed {
  if (res.status === 401) {
    return new CommandFailed(
      `${serverUrl()} wants a login: set COCONUT_TOKEN to a JWT from your identity provider (HTTP 401 from ${method} ${path})`,
    );
  }
  return new CommandFailed(
    `${(data as { error?: string }).error ?? (data as { message?: string }).message ?? `HTTP ${res.status}`} (HTTP ${res.status} from ${method} ${path})`,
    res.status,
  );
}
