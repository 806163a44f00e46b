/**
 * `evaluateSstApp()`: sst.config.ts evaluated by SST's OWN components of the installed `sst`
 * version (taken from its binary, see sst-platform.ts) under Pulumi's runtime mocks, offline.
 * Resolves to every resource SST would register — its components and the raw AWS resources
 * they create, with their inputs — for checks against AWS's documented rules; rejects with
 * SST's own error when SST refuses the program (e.g. "Component name Api is not unique.").
 *
 * Use it for any check of what `sst deploy` would create:
 *
 *   const app = await evaluateSstApp({ configFile: 'examples/demo/coconut.yaml', stage: 'prod', secrets: {...} });
 *   for (const role of app.of('aws:iam/role:Role')) ... role.inputs.inlinePolicies ...
 *
 * Inputs are what the AWS provider would receive (secrets unwrapped). Limit checks: aws-limits.ts.
 *
 * It runs in a child process (sst-eval-run.ts) so SST's globals, its `process.chdir` and the
 * promises a failed program leaves behind stay out of the test runner.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** One resource SST registered: a component (custom: false) or an AWS resource (custom: true). */
export interface SstResource {
  /** Pulumi type token: "sst:aws:Function", "aws:lambda/function:Function", ... */
  type: string;
  name: string;
  custom: boolean;
  /** Inputs as the provider would receive them (outputs resolved). */
  inputs: Record<string, unknown>;
}

/** A function bundle the stand-in for the CLI's `Runtime.Build` produced. */
export interface SstBuild {
  functionID: string;
  handler: string;
  out: string;
  /** Bytes of the bundled handler file (before zipping). */
  bytes: number;
  /**
   * The links the CLI receives for this function (name -> properties, e.g. an sst.Secret's
   * { value, type }) and the key it encrypts them with into resource.enc (SST_KEY at runtime).
   */
  links: Record<string, Record<string, unknown>>;
  encryptionKey: string;
  /** copyFiles as the CLI receives them (from: relative to the project root). */
  copyFiles: { from: string; to?: string }[];
}

export interface SstEvaluation {
  resources: SstResource[];
  outputs: Record<string, unknown>;
  builds: SstBuild[];
  /** Provider functions called (getPolicyDocument, getRegion, ...): token and inputs. */
  invokes: { token: string; inputs: Record<string, unknown> }[];
  of(type: string): SstResource[];
}

export interface EvaluateOptions {
  /** coconut.yaml to deploy (COCONUT_CONFIG), relative to the project root. */
  configFile?: string;
  stage?: string;
  /** The SST config file, relative to the project root; default sst.config.ts. */
  sstConfig?: string;
  /** Values of `sst secret set <Name> <value>`; a secret without a value or placeholder fails, as on deploy. */
  secrets?: Record<string, string>;
  /** Bundle each function with esbuild (default), or write a placeholder handler (faster). */
  build?: 'esbuild' | 'placeholder';
  /**
   * Keep each function's build output (what `sst deploy` zips: the bundle, e.g. functions/api.mjs)
   * under this folder, one <functionID>-src folder each; the builds' `out` then point there.
   */
  artifactsDir?: string;
}

/** SST (or Pulumi) refused the program: `message` is theirs; `resources` were registered before. */
export class SstEvaluationError extends Error {
  readonly resources: SstResource[];
  constructor(message: string, resources: SstResource[], stack?: string) {
    super(message);
    this.name = 'SstEvaluationError';
    this.resources = resources;
    if (stack) this.stack = `SstEvaluationError: ${stack}`;
  }
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export async function evaluateSstApp(options: EvaluateOptions = {}): Promise<SstEvaluation> {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-sst-eval-'));
  const resultFile = path.join(dir, 'result.json');
  try {
    // The result file is the answer. The exit code is not: after a failed program, Pulumi's leak
    // detector sets exit code 1 for the promises left pending (runtime/debuggable.js).
    const { error, stderr } = await new Promise<{ error: Error | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--no-warnings', path.join(import.meta.dirname, 'sst-eval-run.ts'), JSON.stringify(options), resultFile],
        { cwd: ROOT, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 },
        (err, _stdout, errText) => resolve({ error: err, stderr: errText }),
      );
    });
    if (!existsSync(resultFile)) throw new Error(`SST evaluation process wrote no result: ${error?.message ?? ''}\n${stderr}`);
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as { ok: boolean; message?: string; stack?: string } & Omit<
      SstEvaluation,
      'of'
    >;
    if (!result.ok) throw new SstEvaluationError(String(result.message), result.resources ?? [], result.stack);
    const { resources } = result;
    return { ...result, of: (type) => resources.filter((r) => r.type === type) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
