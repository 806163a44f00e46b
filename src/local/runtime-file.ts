/**
 * What a running local runtime tells the CLI about itself: <dataDir>/runtime.json (mode 0600)
 * with its configuration file, URL and process id, written when `coconut dev` starts and removed
 * when it stops. Commands that read coconut.yaml use it as their last resort, so that
 * `npx coconut cost` beside `npm start` reads the demo's configuration, as a user expects.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writePrivateFile } from './private-files.ts';

export const RUNTIME_FILE = 'runtime.json';

export interface RuntimeInfo {
  /** Absolute path of the configuration the runtime loaded. */
  configPath: string;
  url: string;
  pid: number;
}

export function writeRuntimeFile(dataDir: string, info: RuntimeInfo): string {
  const file = path.join(dataDir, RUNTIME_FILE);
  writePrivateFile(file, `${JSON.stringify(info, null, 2)}\n`);
  return file;
}

export function removeRuntimeFile(dataDir: string): void {
  rmSync(path.join(dataDir, RUNTIME_FILE), { force: true });
}

/** The running runtime of this data dir, if one is running (its process is alive). */
export function readRuntimeFile(dataDir: string): RuntimeInfo | undefined {
  const file = path.join(dataDir, RUNTIME_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as Partial<RuntimeInfo>;
    if (typeof info.configPath !== 'string' || typeof info.pid !== 'number' || typeof info.url !== 'string') return undefined;
    process.kill(info.pid, 0); // throws when no such process: a runtime that died left the file behind
    return info as RuntimeInfo;
  } catch {
    return undefined;
  }
}
