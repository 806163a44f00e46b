/**
 * Ports for processes that must be told their port before they start: the demo app, which
 * ansible-playbook starts on the inventory's `app_deploy_port`, and which the config's alarm probe
 * URL names before the runtime starts. (A server the test starts itself listens on port 0 and
 * reports its port; moto_server and `coconut dev` do so too.)
 *
 * Why not bind(0) then close and hand out the number: from that close until the app binds, the
 * kernel may give the same port to any process on the machine — the next bind(0), or the local
 * end of an outgoing connection — since both draw from the ephemeral range. On a machine where
 * several suites run at once, that happens. These ports come from BELOW the kernel's ephemeral
 * range (/proc/sys/net/ipv4/ip_local_port_range; Linux ip(7)), which the kernel never picks by
 * itself, and each is claimed with an exclusive lock file (O_EXCL, holding this process's pid)
 * so that two test processes never hand out the same one; the claim lasts until the process
 * exits (a claim whose process is gone is taken over). Each is checked bindable before it is
 * handed out.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

/** How many ports below the ephemeral range are used (the demo's 4601/4602 are far below). */
const SPAN = 8000;

const claimed = new Set<string>();
let cleanupInstalled = false;

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo > SPAN + 1024) return [lo, hi];
  } catch {
    // not Linux: IANA's dynamic range (RFC 6335), which macOS and Windows use
  }
  return [49152, 65535];
}

/** Where the claims are: one file per port, holding the claiming process's pid. */
export function lockDir(): string {
  const dir = path.join(tmpdir(), `coconut-test-ports-${userInfo().uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the claim file; false if it exists. */
function create(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  claimed.add(file);
  return true;
}

/** The pid in a claim file; 0 while it is being written, undefined once it is gone. */
function holderOf(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8')) || 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Claims `port` for this process (exported for its test); false when another live process holds it. */
export function claimPort(port: number, dir = lockDir()): boolean {
  const file = path.join(dir, String(port));
  if (create(file)) return true;
  const holder = holderOf(file);
  if (holder === undefined) return create(file);
  // 0: another process is writing its claim right now.
  if (holder === 0 || holder === process.pid || alive(holder)) return false;
  // Its process is gone (a killed test worker): take the claim over, one process at a time (mkdir is atomic),
  // and only if it still names that process.
  const guard = `${file}.takeover`;
  try {
    mkdirSync(guard);
  } catch {
    return false;
  }
  try {
    if (holderOf(file) !== holder) return false;
    rmSync(file, { force: true });
    return create(file);
  } finally {
    rmSync(guard, { recursive: true, force: true });
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A loopback port no other test process holds and the kernel will not hand out by itself. */
export async function reservePort(): Promise<number> {
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.once('exit', () => {
      for (const file of claimed) rmSync(file, { force: true });
    });
  }
  const [lo] = ephemeralRange();
  const first = lo - SPAN;
  const dir = lockDir();
  const start = Math.floor(Math.random() * SPAN);
  for (let i = 0; i < SPAN; i++) {
    const port = first + ((start + i) % SPAN);
    if (!claimPort(port, dir)) continue;
    if (await bindable(port)) return port;
    // Bound by something outside this scheme: keep the claim (no other test process tries it), move on.
  }
  throw new Error(`no free port in ${first}-${lo - 1} (all claimed or bound; claims are in ${dir})`);
}
