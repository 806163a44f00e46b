/**
 * The dependency rule of the codebase: which folder may import which. Every import runs
 * downhill, from the entry points at the top to the domain at the bottom:
 *
 *   top       sst.config.ts, infra/, functions/, src/cli/, src/local/, dashboard/   (entry points)
 *   adapters  src/aws/ (AWS SDK v3, Slack Web API); src/registry/, src/generate/ (AWS-free)
 *   bottom    src/core/   (the domain: imports no other folder and no AWS or platform package)
 *
 * Among the entry points, only the edges listed below: the local runtime runs the same handlers
 * (src/local -> functions), infra deploys them (infra -> functions: their routes), the CLI starts
 * the local runtime (`coconut dev`) and checks what infra would deploy (`coconut preflight`).
 * Nothing imports the CLI, the local runtime or infra from below.
 *
 * TypeScript 7 has no JS API to parse with, so imports are found with regular expressions over
 * the statements that can name a module (test/unit/import-direction.test.ts proves each form
 * is found): `import ... from`, `export ... from` (with or without `type`, over several lines),
 * `import 'x'` and `import('x')`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const LAYERS: Record<string, readonly string[]> = {
  'src/core': [],
  'src/registry': ['src/core'],
  'src/generate': ['src/core'],
  'src/aws': ['src/core', 'src/registry'],
  functions: ['src/core', 'src/registry', 'src/aws', 'stepfunctions'],
  infra: ['src/core', 'src/aws', 'functions', 'stepfunctions'],
  'src/local': ['src/core', 'src/registry', 'src/aws', 'functions', 'stepfunctions'],
  'src/cli': ['src/core', 'src/registry', 'src/generate', 'src/aws', 'src/local', 'infra', 'stepfunctions'],
  dashboard: ['src/core'],
  'sst.config.ts': ['infra'],
};

/** Folders whose code must run without AWS: no AWS SDK, Lambda, middy, Slack, SST or Pulumi package. */
export const AWS_FREE = ['src/core', 'src/registry', 'src/generate'];
const PLATFORM_PACKAGE = /^(@aws-sdk|@smithy|@aws-crypto|@aws-lambda-powertools|@middy|@slack|@pulumi)\/|^(aws-lambda|sst)(\/|$)/;

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** Every module name a source text imports or re-exports. */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    // import x from 'm'; import type { A,\n B } from 'm'; export * from 'm'; export { a } from 'm'
    /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1/gm,
    // import 'm' (side effects only)
    /^[ \t]*import\s*(['"])([^'"]+)\1/gm,
    // await import('m')
    /\bimport\s*\(\s*(['"])([^'"]+)\1\s*[,)]/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[2] as string);
  return found;
}

/** The layer a repository path belongs to (the longest LAYERS key it is in), or undefined. */
export function layerOf(file: string): string | undefined {
  const names = Object.keys(LAYERS).sort((a, b) => b.length - a.length);
  for (const name of names) if (file === name || file.startsWith(`${name}/`)) return name;
  if (file.startsWith('stepfunctions/')) return 'stepfunctions';
  return undefined;
}

export interface Violation {
  file: string;
  specifier: string;
  problem: string;
}

/** What breaks the rule in these files (paths relative to the repository root). */
export function checkImports(files: { file: string; text: string }[]): Violation[] {
  const violations: Violation[] = [];
  for (const { file, text } of files) {
    const from = layerOf(file);
    if (!from || from === 'stepfunctions') continue;
    for (const specifier of importsOf(text)) {
      if (!specifier.startsWith('.')) {
        if (AWS_FREE.includes(from) && PLATFORM_PACKAGE.test(specifier)) {
          violations.push({ file, specifier, problem: `${from} must run without AWS: it may not import ${specifier}` });
        }
        continue;
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const to = layerOf(target);
      if (to === from) continue;
      if (!to) {
        violations.push({ file, specifier, problem: `imports ${target}, which is in no layer of test/support/import-rules.ts` });
      } else if (!LAYERS[from]?.includes(to)) {
        violations.push({
          file,
          specifier,
          problem: `${from} may not import ${to} (allowed: ${LAYERS[from]?.join(', ') || 'nothing'})`,
        });
      }
    }
  }
  return violations;
}

/** The source files of every layer, read from the repository at root. */
export function repositorySources(root: string): { file: string; text: string }[] {
  const files: { file: string; text: string }[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (SOURCE.test(entry.name)) files.push({ file: child, text: readFileSync(path.join(root, child), 'utf8') });
    }
  };
  for (const layer of Object.keys(LAYERS)) {
    if (SOURCE.test(layer)) files.push({ file: layer, text: readFileSync(path.join(root, layer), 'utf8') });
    else walk(layer);
  }
  return files;
}
