/**
 * The local stand-ins for deployed services: the demo target runs as processes whose pid files
 * the Ansible role writes under <dataDir>/targets/<env>/app.pid. The local runtime stops them
 * when it stops, so no stray process keeps a port after `coconut dev` ends.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export function stopLocalTargets(dataDir: string): number[] {
  const root = path.join(dataDir, 'targets');
  if (!existsSync(root)) return [];
  const stopped: number[] = [];
  for (const env of readdirSync(root)) {
    const pidFile = path.join(root, env, 'app.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      process.kill(pid, 'SIGTERM');
      stopped.push(pid);
    } catch {
      // already gone
    }
  }
  return stopped;
}
