/**
 * What the code really calls, read from the source: a handler's import graph (value imports
 * only), the port methods it reaches, the secrets it reads, and for each src/aws adapter the
 * SDK Command classes each method sends. The infra contract test compares these with what
 * infra/ grants.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/**
 * Value imports of a file (type-only imports are erased and do not count), as repo paths. For a
 * package, `names` are the names the file uses (the alias of `A as B`), `original` maps them back.
 */
export function valueImports(file: string): {
  local: string[];
  packages: { from: string; names: string[]; original: Record<string, string> }[];
} {
  const text = read(file);
  const local: string[] = [];
  const packages: { from: string; names: string[]; original: Record<string, string> }[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?([\s\S]*?)\s+from\s+'([^']+)';/gm)) {
    if (m[1]) continue;
    const spec = m[3] as string;
    const original: Record<string, string> = {};
    // `A as B`: the file uses B; keep A to know what B is.
    const clause = (m[2] ?? '').replace(/\b(\w+)\s+as\s+(\w+)\b/g, (_all, a: string, b: string) => {
      original[b] = a;
      return b;
    });
    const names = [...clause.matchAll(/(?:^|[{,\s])(?!type\s)(\w+)(?=\s*(?:,|}|$))/g)].map((n) => n[1] as string);
    if (spec.startsWith('.')) {
      const resolved = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), spec));
      if (resolved.endsWith('.ts') && existsSync(path.join(ROOT, resolved))) local.push(resolved);
    } else packages.push({ from: spec, names: names.filter((n) => !/^type$/.test(n)), original });
  }
  return { local, packages };
}

/**
 * Files a handler reaches. src/aws/ports.ts is the bag that *builds* every adapter without
 * calling any; what a handler calls is found through the port methods its code reaches.
 */
export function reachable(entry: string, stopAt = new Set(['src/aws/ports.ts'])): string[] {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file) || stopAt.has(file)) return;
    seen.add(file);
    for (const next of valueImports(file).local) walk(next);
  };
  walk(entry);
  return [...seen].sort();
}

/**
 * Method names of the port interfaces in src/core/ports.ts, by interface, with those of the
 * interfaces it extends there (Store is the sum of its roles: DeploymentReader, LockTable...).
 */
export function portMethods(): Record<string, string[]> {
  const text = read('src/core/ports.ts');
  const own: Record<string, { methods: string[]; bases: string[] }> = {};
  for (const m of text.matchAll(/export interface (\w+)(?:\s+extends\s+([\w\s,]+?))?\s*\{(\}|[\s\S]*?\n\})/g)) {
    own[m[1] as string] = {
      methods: [...(m[3] ?? '').matchAll(/^ {2}(\w+)\(/gm)].map((x) => x[1] as string),
      bases: (m[2] ?? '').split(',').map((b) => b.trim()),
    };
  }
  const methodsOf = (name: string): string[] =>
    own[name] ? [...own[name].methods, ...own[name].bases.flatMap((b) => (b === name ? [] : methodsOf(b)))] : [];
  const result: Record<string, string[]> = {};
  for (const name of Object.keys(own)) {
    const methods = methodsOf(name);
    if (methods.length) result[name] = methods;
  }
  return result;
}

/** Port methods called (`.method(`) anywhere in the given files. */
export function calledMethods(files: string[], candidates: Set<string>): Set<string> {
  const found = new Set<string>();
  for (const file of files) {
    for (const m of read(file).matchAll(/\.(\w+)\(/g)) if (candidates.has(m[1] as string)) found.add(m[1] as string);
  }
  return found;
}

/** Secrets read in the given files: secret('Name') or Resource.Name. */
export function secretsRead(files: string[], known: readonly string[]): Set<string> {
  const found = new Set<string>();
  for (const file of files) {
    const text = read(file);
    for (const m of text.matchAll(/\b(?:optionalS|s)ecret\(\s*'(\w+)'\s*\)|\bResource\.(\w+)/g)) {
      const name = (m[1] ?? m[2]) as string;
      if (known.includes(name)) found.add(name);
    }
  }
  return found;
}

const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-ecr': 'ecr',
  '@aws-sdk/client-ecs': 'ecs',
  '@aws-sdk/client-codebuild': 'codebuild',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-lambda': 'lambda',
  '@aws-sdk/client-ssm': 'ssm',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-eks': 'eks',
};

/** lib-dynamodb's document commands send these DynamoDB actions. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};

/** Command class name -> IAM action, per package. Throws for a package it does not know. */
export function commandActions(file: string): Map<string, string> {
  const actions = new Map<string, string>();
  for (const { from, names, original } of valueImports(file).packages) {
    if (!from.startsWith('@aws-sdk/')) continue;
    for (const name of names.filter((n) => (original[n] ?? n).endsWith('Command'))) {
      const prefix = SERVICE_PREFIX[from];
      if (!prefix) throw new Error(`${file}: ${from} has no IAM service prefix in test/support/code-graph.ts`);
      const op = (original[name] ?? name).slice(0, -'Command'.length);
      actions.set(name, `${prefix}:${from === '@aws-sdk/lib-dynamodb' ? (DOCUMENT_COMMANDS[op] ?? op) : op}`);
    }
  }
  return actions;
}

/** For each method of the adapter's class: the Command classes it sends, helpers included. */
export function commandsByMethod(file: string): Map<string, Set<string>> {
  const text = read(file);
  const lines = text.split('\n');
  const chunks = new Map<string, string>();
  let current: string | undefined;
  let body: string[] = [];
  const flush = () => {
    if (current) chunks.set(current, `${chunks.get(current) ?? ''}${body.join('\n')}`);
  };
  for (const line of lines) {
    const m = /^ {2}(?:(?:async|private|public|static|override|readonly)\s+)*(\w+)\s*[(<]/.exec(line);
    if (m && m[1] !== 'constructor' && !line.trimEnd().endsWith(';')) {
      flush();
      current = m[1];
      body = [line];
    } else if (/^(export )?(function|class|const) /.test(line)) {
      flush();
      current = undefined;
      body = [];
    } else body.push(line);
  }
  flush();
  const direct = new Map<string, { commands: Set<string>; calls: Set<string> }>();
  for (const [method, chunk] of chunks) {
    direct.set(method, {
      commands: new Set([...chunk.matchAll(/new (\w+Command)\(/g)].map((m) => m[1] as string)),
      calls: new Set([...chunk.matchAll(/this\.(\w+)\(/g)].map((m) => m[1] as string)),
    });
  }
  const result = new Map<string, Set<string>>();
  for (const method of direct.keys()) {
    const commands = new Set<string>();
    const visit = (m: string, seen: Set<string>) => {
      if (seen.has(m)) return;
      seen.add(m);
      const d = direct.get(m);
      if (!d) return;
      for (const c of d.commands) commands.add(c);
      for (const next of d.calls) visit(next, seen);
    };
    visit(method, new Set());
    result.set(method, commands);
  }
  return result;
}
