/**
 * `coconut dashboard-site --out DIR`: the dashboard as a static site (its files plus a
 * config.json naming the API and the sign-in issuer). `sst deploy` runs it as the build of the
 * Dashboard StaticSite (infra/dashboard.ts); any static host can serve the folder it writes.
 */
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dashboardConfig } from '../../core/config/dashboard-config.ts';
import { loadConfigFile } from '../../core/config/load.ts';
import { PROJECT_ROOT } from '../../local/runtime.ts';
import { configFile } from '../config-file.ts';
import { UsageError } from '../errors.ts';

export const usage = 'coconut dashboard-site --out DIR [--api URL] [--config FILE]';

export async function dashboardSite(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      api: { type: 'string', default: process.env.COCONUT_API_URL ?? '' },
      config: { type: 'string' },
    },
    strict: true,
  });
  if (!values.out) throw new UsageError('--out DIR is required');
  if (values.api && !/^https?:\/\/[^\s]+$/.test(values.api))
    throw new UsageError(`--api must be an http(s) URL, got "${values.api}"`);
  values.config = configFile(values.config, { running: false });
  const config = await loadConfigFile(values.config);
  const out = path.resolve(values.out);
  if (existsSync(out)) rmSync(out, { recursive: true });
  mkdirSync(out, { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'dashboard'), out, { recursive: true });
  writeFileSync(path.join(out, 'config.json'), `${JSON.stringify(dashboardConfig(config, values.api), null, 2)}\n`);
  process.stdout.write(
    `wrote the dashboard to ${out} (API ${values.api || 'same origin'}, sign-in ${config.auth ? config.auth.issuer : 'none'})\n`,
  );
  return 0;
}
