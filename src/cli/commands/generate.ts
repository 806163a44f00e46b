/**
 * `coconut generate KIND --service NAME`: writes scaffolds for one service of coconut.yaml
 * (rendering lives in src/generate/), refusing to overwrite anything without --force.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../../core/config/load.ts';
import {
  findService,
  GENERATE_KINDS,
  GenerateError,
  type GenerateKind,
  generate,
  type TemplateSource,
} from '../../generate/generate.ts';
import { configFile } from '../config-file.ts';
import { CommandFailed, UsageError } from '../errors.ts';

export const usage = `coconut generate ${GENERATE_KINDS.join('|')} --service NAME [--out DIR] [--force] [--config FILE]`;

/** Where Coconut's own templates/ live: the checkout or package this command runs from. */
const COCONUT_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

export function fileSource(root = COCONUT_ROOT): TemplateSource {
  const list = (dir: string, prefix = ''): string[] =>
    readdirSync(path.join(root, dir, prefix), { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .flatMap((entry) =>
        entry.isDirectory() ? list(dir, path.posix.join(prefix, entry.name)) : [path.posix.join(prefix, entry.name)],
      );
  return { read: (file) => readFileSync(path.join(root, file), 'utf8'), list: (dir) => list(dir) };
}

export async function generateCommand(
  args: string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      service: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    strict: true,
  });
  const kind = positionals[0];
  if (!kind || positionals.length > 1 || !(GENERATE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(
      `expected one kind of scaffold: ${GENERATE_KINDS.join(', ')}${kind ? ` (got "${positionals.join(' ')}")` : ''}`,
    );
  }
  if (!values.service) throw new UsageError('--service NAME is required: which service of coconut.yaml');
  values.config = configFile(values.config);
  const config = await loadConfigFile(values.config);
  const service = (() => {
    try {
      return findService(config, values.service);
    } catch (error) {
      if (error instanceof GenerateError) throw new CommandFailed(error.message);
      throw error;
    }
  })();
  // Copilot manifests belong in the workspace the copilot buildspec deploys from.
  const outDir = values.out ?? (kind === 'copilot' && service.target.kind === 'copilot' ? service.target.workspace : '.');
  const generation = generate(kind as GenerateKind, service, fileSource(), outDir);

  const targets = generation.files.map((f) => ({ ...f, full: path.join(outDir, f.path) }));
  const existing = targets.filter((t) => existsSync(t.full)).map((t) => t.full);
  if (existing.length > 0 && !values.force) {
    throw new CommandFailed(
      `refusing to overwrite ${existing.length} existing file${existing.length === 1 ? '' : 's'} (${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ', …' : ''}); nothing was written. Pass --force to replace them.`,
    );
  }
  for (const t of targets) {
    mkdirSync(path.dirname(t.full), { recursive: true });
    writeFileSync(t.full, t.content);
    out(`wrote ${t.full}${existing.includes(t.full) ? ' (replaced)' : ''}\n`);
  }
  for (const note of generation.notes) out(`note: ${note}\n`);
  out('next:\n');
  for (const [i, step] of generation.next.entries()) out(`  ${i + 1}. ${step}\n`);
  return 0;
}
