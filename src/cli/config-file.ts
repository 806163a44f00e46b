/**
 * Which coconut.yaml a command reads, in the order users expect: `--config FILE`, then
 * COCONUT_CONFIG, then ./coconut.yaml, then the configuration of the local runtime running from
 * this folder (`npm start`: its data dir's runtime.json). Nothing found is an error that names
 * every place looked at.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readRuntimeFile } from '../local/runtime-file.ts';
import { UsageError } from './errors.ts';

export const CONFIG_FLAG_HELP = '--config FILE (else COCONUT_CONFIG, ./coconut.yaml, or the running `npm start`)';

export function dataDir(): string {
  return path.resolve(process.env.COCONUT_DATA_DIR ?? '.coconut');
}

export function configFile(flag: string | undefined, opts: { running?: boolean } = {}): string {
  if (flag) return flag;
  if (process.env.COCONUT_CONFIG) return process.env.COCONUT_CONFIG;
  if (existsSync('coconut.yaml')) return 'coconut.yaml';
  if (opts.running !== false) {
    const runtime = readRuntimeFile(dataDir());
    if (runtime) return path.relative(process.cwd(), runtime.configPath) || runtime.configPath;
  }
  throw new UsageError(
    `no configuration found: pass --config FILE, set COCONUT_CONFIG, run where coconut.yaml is${
      opts.running === false
        ? ''
        : `, or start the local runtime first (\`npm start\`; looked for ${path.join(dataDir(), 'runtime.json')})`
    }`,
  );
}
