/**
 * The local runtime's data dir (.coconut/) holds task tokens (in the store and the execution
 * records), webhook secrets, logs and build output: only its owner may read it. Directories
 * are created 0700 and files 0600 whatever the process umask (a mode only loses bits to the
 * umask, and 022 takes none from these). The data dir itself is chmod-ed at every start, so
 * one created by an older Coconut, or by hand, is closed too; what an older Coconut wrote
 * inside stays readable only through it.
 */
import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates the directory (and missing parents) 0700; `lock` also chmods an existing one. */
export function privateDir(dir: string, opts: { lock?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (opts.lock) chmodSync(dir, PRIVATE_DIR_MODE);
  return dir;
}

export function writePrivateFile(file: string, data: string): void {
  writeFileSync(file, data, { mode: PRIVATE_FILE_MODE });
}

export function appendPrivateFile(file: string, data: string): void {
  appendFileSync(file, data, { mode: PRIVATE_FILE_MODE });
}
