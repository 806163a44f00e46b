/** Talks to a running Coconut (the local runtime, or the API on AWS) over HTTP. */
import { CommandFailed } from './errors.ts';

export function serverUrl(): string {
  return (process.env.COCONUT_URL ?? `http://127.0.0.1:${process.env.COCONUT_PORT ?? '4500'}`).replace(/\/$/, '');
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const url = `${serverUrl()}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new CommandFailed(
      `cannot reach Coconut at ${serverUrl()}: is it running? Start it with \`npm start\` (or set COCONUT_URL)`,
    );
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text };
  }
  if (!res.ok)
    throw new CommandFailed(
      `${(data as { error?: string }).error ?? `HTTP ${res.status}`} (HTTP ${res.status} from ${method} ${path})`,
    );
  return data as T;
}
