/**
 * The coconut.yaml that `sst deploy` deploys: read from COCONUT_CONFIG or ./coconut.yaml,
 * validated by the same schema as everywhere else, and bundled with every function.
 * Each function gets that one file: when it names other files (a cosign key, a Sigstore trusted root,
 * by a path relative to it), the deployed copy is .sst/coconut.bundled.yaml, the same text with those
 * files written inline, so that the functions see the key itself.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inlineReferencedFiles } from '../src/core/config/inline-files.ts';
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
  const bundled = await bundledFile(root, file);
  // `auth` belongs to the dashboard's part of the schema; read it when the schema has it.
  const auth = (config as { auth?: { issuer?: string; audience?: string | string[]; audiences?: string[] } }).auth;
  const audiences = auth ? [auth.audiences ?? auth.audience ?? []].flat() : [];
  return {
    file: bundled,
    config,
    ...(auth?.issuer && audiences.length > 0 ? { auth: { issuer: auth.issuer, audiences } } : {}),
  };
}

/** `file`, or .sst/coconut.bundled.yaml when `file` names other files (written here). */
async function bundledFile(root: string, file: string): Promise<string> {
  const { text, inlined } = await inlineReferencedFiles(path.resolve(root, file));
  if (inlined.length === 0) return file;
  const out = path.join('.sst', 'coconut.bundled.yaml');
  mkdirSync(path.resolve(root, '.sst'), { recursive: true });
  const header = `# Written by \`sst deploy\` from ${file}, with ${inlined.join(', ')} inline: the deployed functions get this file alone.\n`;
  writeFileSync(path.resolve(root, out), header + text);
  return out;
}
