/**
 * Serves dashboard/ (plain static files, no build step) from the local server, with headers
 * that keep the page to itself: scripts, styles and API calls from this origin only, no
 * framing, no referrer. On AWS the static site serves the same folder (with its config.json)
 * and the same headers.
 */
import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
// The header values live in src/core/read-models/dashboard-headers.ts: the static site on AWS sends the same.
import { securityHeaders } from '../core/read-models/dashboard-headers.ts';

export const DASHBOARD_DIR = path.resolve(import.meta.dirname, '..', '..', 'dashboard');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Answers a GET for a dashboard file; false when there is no such file (the caller answers 404). */
export async function serveDashboard(
  pathname: string,
  res: ServerResponse,
  opts: { dir?: string; connectSrc?: string[] } = {},
): Promise<boolean> {
  const dir = opts.dir ?? DASHBOARD_DIR;
  let relative: string;
  try {
    relative = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  } catch {
    return false;
  }
  const file = path.resolve(dir, `.${relative}`);
  // Only files inside the folder, with a known type: no traversal, no dotfiles.
  if (!file.startsWith(`${dir}${path.sep}`) || relative.split('/').some((p) => p.startsWith('.'))) return false;
  const type = TYPES[path.extname(file)];
  if (!type) return false;
  try {
    if (!(await stat(file)).isFile()) return false;
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache', ...securityHeaders(opts.connectSrc) }).end(body);
    return true;
  } catch {
    return false;
  }
}
