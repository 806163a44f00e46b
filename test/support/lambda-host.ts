/**
 * Runs a deployed function the way Lambda does, from what SST would deploy (sst-eval.ts, with
 * `build: 'esbuild'` and `artifactsDir`): each invocation is a fresh Node process (a cold
 * execution environment, test/support/lambda-host-run.ts) whose working directory is the
 * function's task root, holding what `sst deploy` ships: the esbuild bundle of the handler
 * (functions/<name>.mjs, as the CLI's node runtime builds it), its copyFiles (coconut.yaml) and
 * resource.enc, the function's links encrypted
 * with SST_KEY exactly as SST's CLI writes it (sst/sst pkg/runtime/runtime.go: AES-256-GCM of
 * the links JSON, 12-byte zero nonce, tag appended; read back by the `sst` package's
 * dist/resource/node.js) — and whose environment is the function's own (from the evaluated
 * aws:lambda/function:Function) plus the variables the Lambda runtime defines
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
 * Nothing of the test process's environment leaks in: only PATH, and the overrides a test names
 * (the endpoint of moto_server, static credentials).
 */
import { execFile } from 'node:child_process';
import { createCipheriv, randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SstBuild, SstEvaluation } from './sst-eval.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface DeployedFunction {
  /** The aws:lambda/function:Function resource name: "EcrPushFunction". */
  resource: string;
  /** Lambda function name (what AWS_LAMBDA_FUNCTION_NAME holds). */
  functionName: string;
  /** "functions/ecr-push.handler" */
  handler: string;
  /** The function's configured environment variables, as SST hands them to the provider. */
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  logFormat?: string;
  build: SstBuild;
}

/** The functions of an evaluated app, each joined with its build (links, key, copyFiles). */
export function deployedFunctions(app: SstEvaluation): DeployedFunction[] {
  return app.of('aws:lambda/function:Function').map((fn) => {
    const inputs = fn.inputs as {
      name?: string;
      handler?: string;
      environment?: { variables?: Record<string, string> };
      timeout?: number;
      memorySize?: number;
      loggingConfig?: { logFormat?: string };
    };
    const build = app.builds.find((b) => inputs.handler === b.handler);
    if (!build) throw new Error(`${fn.name}: no build for handler ${inputs.handler}`);
    return {
      resource: fn.name,
      functionName: inputs.name ?? fn.name,
      handler: build.handler,
      environment: inputs.environment?.variables ?? {},
      timeoutSeconds: inputs.timeout ?? 3,
      memoryMb: inputs.memorySize ?? 128,
      ...(inputs.loggingConfig?.logFormat ? { logFormat: inputs.loggingConfig.logFormat } : {}),
      build,
    };
  });
}

/** resource.enc as SST's CLI writes it (pkg/runtime/runtime.go, `gcm.Seal(nil, make([]byte, 12), json, nil)`). */
export function encryptLinks(links: Record<string, unknown>, keyBase64: string): Buffer {
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), Buffer.alloc(12, 0));
  return Buffer.concat([cipher.update(JSON.stringify(links)), cipher.final(), cipher.getAuthTag()]);
}

/** The task root (/var/task) of a function: copyFiles and resource.enc. Remove it with rmSync when done. */
export function taskRoot(fn: DeployedFunction, links: Record<string, unknown> = fn.build.links): string {
  const dir = mkdtempSync(path.join(tmpdir(), `coconut-task-${fn.build.functionID}-`));
  const bundle = path.join(fn.build.out, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.mjs`);
  if (!existsSync(bundle) || fn.build.bytes < 1024) {
    throw new Error(`${fn.handler}: no bundle at ${bundle}: evaluate the app with build: 'esbuild' and an artifactsDir`);
  }
  cpSync(fn.build.out, dir, { recursive: true });
  for (const item of fn.build.copyFiles) {
    const to = path.join(dir, item.to ?? item.from);
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(path.resolve(ROOT, item.from), to);
  }
  const keyFile = fn.environment.SST_KEY_FILE;
  if (fn.environment.SST_KEY && keyFile) writeFileSync(path.join(dir, keyFile), encryptLinks(links, fn.environment.SST_KEY));
  return dir;
}

export interface Invocation {
  /** The handler's answer, or Lambda's error shape when it threw. */
  result?: unknown;
  errorType?: string;
  errorMessage?: string;
  requestId: string;
  /** stdout lines (what CloudWatch Logs would hold), and stderr. */
  stdout: string[];
  stderr: string;
}

export interface InvokeOptions {
  /** Added to (or replacing) the function's environment: endpoints, credentials. */
  env?: Record<string, string | undefined>;
  /** A task root from taskRoot(); default: a fresh one, removed afterwards. */
  root?: string;
  requestId?: string;
}

/** One invocation in a fresh execution environment. */
export async function invoke(fn: DeployedFunction, event: unknown, opts: InvokeOptions = {}): Promise<Invocation> {
  const root = opts.root ?? taskRoot(fn);
  const work = mkdtempSync(path.join(tmpdir(), 'coconut-invoke-'));
  const requestId = opts.requestId ?? randomUUID();
  const region = opts.env?.AWS_REGION ?? 'us-east-1';
  const requestFile = path.join(work, 'request.json');
  const resultFile = path.join(work, 'result.json');
  writeFileSync(
    requestFile,
    JSON.stringify({
      event,
      context: {
        awsRequestId: requestId,
        functionName: fn.functionName,
        functionVersion: '$LATEST',
        invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${fn.functionName}`,
        memoryLimitInMB: String(fn.memoryMb),
        logGroupName: `/aws/lambda/${fn.functionName}`,
        logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
      },
      timeoutMs: fn.timeoutSeconds * 1000,
    }),
  );
  // The runtime's own variables (reserved: a function cannot set them), then the function's.
  const runtimeEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: fn.handler,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]0123456789abcdef',
    LAMBDA_TASK_ROOT: root,
    _X_AMZN_TRACE_ID: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`,
    ...(fn.logFormat ? { AWS_LAMBDA_LOG_FORMAT: fn.logFormat } : {}),
  };
  const env: Record<string, string> = { ...runtimeEnv, ...fn.environment };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  try {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--no-warnings', path.join(import.meta.dirname, 'lambda-host-run.ts'), root, requestFile, resultFile],
        { cwd: root, env, timeout: fn.timeoutSeconds * 1000 + 10_000, maxBuffer: 16 * 1024 * 1024 },
        (error, out, err) =>
          error
            ? reject(new Error(`${fn.handler} did not answer: ${error.message}\n${err}`))
            : resolve({ stdout: out, stderr: err }),
      );
    });
    const answer = JSON.parse(readFileSync(resultFile, 'utf8')) as Omit<Invocation, 'requestId' | 'stdout' | 'stderr'>;
    return { ...answer, requestId, stdout: stdout.split('\n').filter((l) => l.trim() !== ''), stderr };
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (!opts.root) rmSync(root, { recursive: true, force: true });
  }
}
