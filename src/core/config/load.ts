/**
 * Reads coconut.yaml and validates it with the schema. Errors carry the file, the path
 * inside it, the line and column, and what was expected.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../model/errors.ts';
import { formatPath } from '../model/zod-issues.ts';
import { type CoconutConfig, configSchema, PEM_CERTIFICATES, PEM_PUBLIC_KEY, TRUSTED_ROOT_JSON } from './schema.ts';

export async function loadConfigFile(file: string): Promise<CoconutConfig> {
  return (await loadConfigWithPositions(file)).config;
}

/** A loaded configuration that can say where each of its values was written. */
export interface LocatedConfig {
  file: string;
  config: CoconutConfig;
  /**
   * Line and column (1-based) of the value at a path like ['services', 0, 'alarms', 2], or of its
   * nearest parent written in the file when the value came from a default.
   */
  positionOf(path: readonly PropertyKey[]): { line: number; column: number } | undefined;
}

/** Like loadConfigFile, keeping the positions: for checks that report problems by config line. */
export async function loadConfigWithPositions(file: string): Promise<LocatedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new ConfigError(file, [{ path: '', message: `cannot read the configuration: ${reason}` }]);
  }
  const located = parseConfigWithPositions(text, file);
  await readKeyFiles(located);
  return located;
}

/**
 * `verify.cosign.key` may name a file (cosign.pub) relative to coconut.yaml, and keyless
 * `verify.cosign.trustedRoot` a trusted_root.json: their text replaces the path here, so every later
 * reader (plans, the gate) sees the key or root itself.
 */
async function readKeyFiles(located: LocatedConfig): Promise<void> {
  const issues: ConfigIssue[] = [];
  for (const [i, service] of located.config.services.entries()) {
    const cosign = service.verify?.cosign;
    if (cosign && !('key' in cosign) && cosign.trustedRoot !== undefined && !TRUSTED_ROOT_JSON.test(cosign.trustedRoot)) {
      const rootPath = ['services', i, 'verify', 'cosign', 'trustedRoot'];
      const at = located.positionOf(rootPath);
      try {
        const text = await readFile(path.resolve(path.dirname(located.file), cosign.trustedRoot), 'utf8');
        const json: unknown = JSON.parse(text);
        if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('it holds no JSON object');
        // Compact: the root travels in every environment of a plan (Step Functions payloads are capped).
        cosign.trustedRoot = JSON.stringify(json);
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        const reason = e.code === 'ENOENT' ? 'file not found' : e instanceof SyntaxError ? `not JSON (${e.message})` : e.message;
        issues.push({
          path: formatPath(rootPath),
          message: `cannot read the Sigstore trusted root ${cosign.trustedRoot} (relative to ${located.file}): ${reason}`,
          line: at?.line,
          column: at?.column,
        });
      }
    }
    if (typeof cosign?.key !== 'string' || PEM_PUBLIC_KEY.test(cosign.key)) continue;
    const keyPath = ['services', i, 'verify', 'cosign', 'key'];
    const at = located.positionOf(keyPath);
    try {
      const pem = await readFile(path.resolve(path.dirname(located.file), cosign.key), 'utf8');
      if (!PEM_PUBLIC_KEY.test(pem)) throw new Error('it holds no PEM public key ("-----BEGIN PUBLIC KEY-----")');
      cosign.key = pem;
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
      issues.push({
        path: formatPath(keyPath),
        message: `cannot read the cosign public key ${cosign.key} (relative to ${located.file}): ${reason}`,
        line: at?.line,
        column: at?.column,
      });
    }
  }
  await readTrustedRootFiles(located, issues);
  if (issues.length > 0) throw new ConfigError(located.file, issues);
}

/** `verify.notation.trustedRoots` may name a PEM file relative to coconut.yaml, as the cosign key may. */
async function readTrustedRootFiles(located: LocatedConfig, issues: ConfigIssue[]): Promise<void> {
  for (const [i, service] of located.config.services.entries()) {
    const notation = service.verify?.notation;
    if (!notation || PEM_CERTIFICATES.test(notation.trustedRoots)) continue;
    const rootsPath = ['services', i, 'verify', 'notation', 'trustedRoots'];
    const at = located.positionOf(rootsPath);
    try {
      const pem = await readFile(path.resolve(path.dirname(located.file), notation.trustedRoots), 'utf8');
      if (!PEM_CERTIFICATES.test(pem))
        throw new Error('it holds something other than PEM certificates (expected "-----BEGIN CERTIFICATE-----")');
      notation.trustedRoots = pem;
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
      issues.push({
        path: formatPath(rootsPath),
        message: `cannot read the Notation trusted roots ${notation.trustedRoots} (relative to ${located.file}): ${reason}`,
        line: at?.line,
        column: at?.column,
      });
    }
  }
}

export function parseConfig(text: string, file = 'coconut.yaml'): CoconutConfig {
  return parseConfigWithPositions(text, file).config;
}

export function parseConfigWithPositions(text: string, file = 'coconut.yaml'): LocatedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { path: '', message: `invalid YAML: ${e.message.split('\n')[0]}`, line: pos?.line, column: pos?.col };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // Aliases are resolved here, not while parsing: an alias without its anchor, or too many of them.
    throw new ConfigError(file, [{ path: '', message: `invalid YAML: ${(error as Error).message}` }]);
  }
  // reportInput: zod leaves an issue's input out unless asked, and describeIssue tells a missing
  // value (no input) from one of the wrong type by it.
  const result = configSchema.safeParse(data ?? {}, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.map((issue) => toConfigIssue(issue, doc.contents, lineCounter)),
    );
  }
  return {
    file,
    config: result.data,
    positionOf: (path) => {
      const node = nodeAt(doc.contents, path);
      if (!node?.range) return undefined;
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    },
  };
}

function toConfigIssue(issue: z.core.$ZodIssue, root: unknown, lines: LineCounter): ConfigIssue {
  const path = formatPath(issue.path);
  const node = nodeAt(root, issue.path);
  const pos = node?.range ? lines.linePos(node.range[0]) : undefined;
  return { path, message: describeIssue(issue), line: pos?.line, column: pos?.col };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see \`coconut schema\`)`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return `required: expected ${issue.expected}`;
  }
  return issue.message;
}

/** The YAML node at a schema path, or the nearest existing parent, for line numbers. */
function nodeAt(root: unknown, path: readonly PropertyKey[]): Node | undefined {
  let node = root as Node | undefined;
  for (const part of path) {
    let next: unknown;
    if (isMap(node)) next = node.get(part as string, true);
    else if (isSeq(node)) next = node.get(part as number, true);
    if (!next || typeof next !== 'object') return node;
    node = next as Node;
  }
  return node;
}
