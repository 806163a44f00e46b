/**
 * The coconut.yaml that `sst deploy` deploys: read from COCONUT_CONFIG or ./coconut.yaml,
 * validated by the same schema as everywhere else, and bundled with every function.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfigFile } from '../src/core/config/load.ts';
import type { CoconutConfig } from '../src/core/config/schema.ts';

export interface DeployConfig {
  /** Path of the file, relative to the project root (copied into each function as coconut.yaml). */
  file: string;
  config: CoconutConfig;
  /** The JWT issuer for the dashboard/CLI API, when coconut.yaml has an `auth` section. */
  auth?: { issuer: string; audiences: string[] };
}

export async function deployConfig(root = process.cwd()): Promise<DeployConfig> {
  const file = process.env.COCONUT_CONFIG ?? 'coconut.yaml';
  if (!existsSync(path.resolve(root, file))) {
    throw new Error(
      `${file} not found: \`sst deploy\` deploys the coconut.yaml at the project root (or the file named by COCONUT_CONFIG, e.g. COCONUT_CONFIG=examples/demo/coconut.yaml)`,
    );
  }
  const config = await loadConfigFile(path.resolve(root, file));
  // `auth` belongs to the dashboard's part of the schema; read it when the schema has it.
  const auth = (config as { auth?: { issuer?: string; audience?: string | string[]; audiences?: string[] } }).auth;
  const audiences = auth ? [auth.audiences ?? auth.audience ?? []].flat() : [];
  return {
    file,
    config,
    ...(auth?.issuer && audiences.length > 0 ? { auth: { issuer: auth.issuer, audiences } } : {}),
  };
}
