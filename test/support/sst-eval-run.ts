/**
 * The evaluation itself, run in a child process by evaluateSstApp (sst-eval.ts): SST's program
 * sets globals, changes directory and, when it fails, leaves promises rejecting behind it; a
 * process of its own keeps all of that away from the test runner.
 *
 * Evaluates sst.config.ts with SST's OWN component code (the platform embedded in the installed
 * `sst` binary, see sst-platform.ts) under Pulumi's runtime mocks (`pulumi.runtime.setMocks`):
 * no Pulumi engine, no AWS. Every resource SST registers — its components and the raw AWS
 * resources they create — is recorded with its inputs, so tests can check the graph SST would
 * deploy against AWS's documented rules.
 *
 * What stands in for the `sst` CLI (Go), and why it is faithful:
 * - The entry point is the one the CLI generates (strings in the binary):
 *   `import { run } from "<platform>/src/auto/run.ts"; import mod from "<sst.config.ts>"; await run(mod.run)`,
 *   with `$app`, `$cli`, `$dev` defined and src/shim/run.js's exports ($interpolate, $resolve, ...)
 *   and `sst` (platform/src/components) and `aws` (@pulumi/aws) as globals.
 * - The CLI's RPC server (SST_SERVER, platform/src/components/rpc/rpc.ts) is a local HTTP server on
 *   127.0.0.1 that answers the calls an AWS deploy makes: `Provider.Aws.Bootstrap` (the asset bucket),
 *   `Runtime.Build` (a function bundled with esbuild, as the CLI's node runtime does), `Runtime.AddTarget`.
 * - Providers this app does not use (Cloudflare, Vercel) are not installed: their imports resolve to a
 *   stub that throws when touched.
 * - Pulumi's mocks answer for the AWS provider: a resource reports its inputs plus the outputs SST reads
 *   (ARNs, endpoints); a data source (getPolicyDocument, getRegion, ...) echoes its arguments with its
 *   results, as the provider does; a `command:local:Command` (a site build) really runs its `create`.
 * - `sst secret set` values come from `options.secrets` (SST_SECRET_<Name>, as the CLI passes them).
 */

import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire, Module } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EvaluateOptions, SstBuild, SstEvaluation, SstResource } from './sst-eval.ts';
import { type SstPlatform, sstPlatform } from './sst-platform.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

/** The @pulumi packages SST's platform code runs on: the versions must be the ones it pins. */
const PINNED = ['@pulumi/pulumi', '@pulumi/aws', '@pulumi/random', '@pulumi/command', '@pulumi/docker-build'];
const STUBBED_PACKAGES = /^(@pulumi\/cloudflare|@pulumiverse\/vercel|@pulumi\/tls|@cloudflare\/)/;

export function checkPinnedVersions(platform: SstPlatform, root = ROOT): string[] {
  const problems: string[] = [];
  const req = createRequire(path.join(root, 'package.json'));
  for (const name of PINNED) {
    const wanted = platform.packageJson.dependencies[name];
    let installed: string | undefined;
    try {
      installed = (JSON.parse(readFileSync(req.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
    } catch {
      installed = undefined;
    }
    if (installed !== wanted) {
      problems.push(
        `${name}: sst ${platform.version} runs on ${wanted}, installed ${installed ?? 'nothing'}: set "${name}": "${wanted}" in devDependencies`,
      );
    }
  }
  return problems;
}

/** SST's platform bundled once per sst version into one CommonJS file (cached next to the platform). */
async function platformBundle(platform: SstPlatform): Promise<string> {
  const esbuild = await import('esbuild');
  // Keyed by how it is built (this function's text) and by esbuild's version: a change rebuilds it.
  const key = createHash('sha256').update(platformBundle.toString()).update(esbuild.version).digest('hex').slice(0, 12);
  const out = path.join(path.dirname(platform.dir), `platform-bundle-${key}.cjs`);
  if (existsSync(out)) return out;
  const stubs = 'coconut-sst-stub';
  const result = await esbuild.build({
    stdin: {
      contents: [
        `export { run } from './src/auto/run.ts';`,
        `export * as sst from './src/components/index.ts';`,
        `export * as shim from './src/shim/run.js';`,
        `export * as pulumi from '@pulumi/pulumi';`,
        `export * as aws from '@pulumi/aws';`,
      ].join('\n'),
      resolveDir: platform.dir,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    write: false,
    logLevel: 'silent',
    // Packages come from our node_modules (the pinned versions), not from the bundle.
    packages: 'external',
    plugins: [
      {
        name: stubs,
        setup(build) {
          build.onResolve({ filter: STUBBED_PACKAGES }, (args) => ({ path: args.path, namespace: stubs }));
          build.onLoad({ filter: /.*/, namespace: stubs }, (args) => ({
            contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is not installed for the SST evaluation (only the AWS provider is)`)}); };
module.exports = new Proxy({}, { get: (_t, p) => (p === '__esModule' ? false : new Proxy(function () {}, { get: fail, apply: fail, construct: fail })) });`,
            loader: 'js',
          }));
        },
      },
    ],
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no bundle of the SST platform');
  const staging = `${out}.${process.pid}`;
  writeFileSync(staging, file.contents);
  renameSync(staging, out);
  return out;
}

interface PlatformModule {
  run(program: () => Promise<Record<string, unknown> | undefined>): Promise<Record<string, unknown>>;
  sst: Record<string, unknown>;
  shim: Record<string, unknown>;
  pulumi: typeof import('@pulumi/pulumi');
  aws: unknown;
}

/** The service and resource-type part of an ARN for a Pulumi AWS type token. */
function arnFor(type: string, physical: string): string {
  const [, mod = 'x', kind = 'x'] = /^aws:([^/]+)\/([^:]+):/.exec(type) ?? [];
  switch (type) {
    case 'aws:iam/role:Role':
      return `arn:aws:iam::${ACCOUNT}:role/${physical}`;
    case 'aws:iam/policy:Policy':
      return `arn:aws:iam::${ACCOUNT}:policy/${physical}`;
    case 'aws:s3/bucket:Bucket':
    case 'aws:s3/bucketV2:BucketV2':
      return `arn:aws:s3:::${physical}`;
    case 'aws:lambda/function:Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${physical}`;
    case 'aws:sqs/queue:Queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${physical}`;
    case 'aws:dynamodb/table:Table':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physical}`;
    case 'aws:cloudwatch/logGroup:LogGroup':
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${physical}`;
    case 'aws:cloudwatch/eventRule:EventRule':
      return `arn:aws:events:${REGION}:${ACCOUNT}:rule/${physical}`;
    case 'aws:sfn/stateMachine:StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${physical}`;
    case 'aws:codebuild/project:Project':
      return `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${physical}`;
    default:
      return `arn:aws:${mod}:${REGION}:${ACCOUNT}:${kind}/${physical}`;
  }
}

/** What a resource reports once created: its inputs plus the computed outputs SST reads. */
function stateOf(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const physical = typeof inputs.name === 'string' ? inputs.name : `${name}-mock`;
  const state: Record<string, unknown> = { ...inputs, name: physical, arn: arnFor(type, physical) };
  switch (type) {
    case 'aws:apigatewayv2/api:Api':
      state.apiEndpoint = `https://${name.toLowerCase()}.execute-api.${REGION}.amazonaws.com`;
      state.executionArn = `arn:aws:execute-api:${REGION}:${ACCOUNT}:${name.toLowerCase()}`;
      break;
    case 'aws:lambda/function:Function':
      state.invokeArn = `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${state.arn}/invocations`;
      state.qualifiedArn = `${state.arn}:1`;
      break;
    case 'aws:sqs/queue:Queue':
      state.url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${physical}`;
      break;
    case 'aws:s3/bucket:Bucket':
    case 'aws:s3/bucketV2:BucketV2': {
      const bucket = typeof inputs.bucket === 'string' ? inputs.bucket : physical.toLowerCase();
      Object.assign(state, {
        bucket,
        arn: `arn:aws:s3:::${bucket}`,
        bucketDomainName: `${bucket}.s3.amazonaws.com`,
        bucketRegionalDomainName: `${bucket}.s3.${REGION}.amazonaws.com`,
      });
      break;
    }
    case 'aws:cloudfront/distribution:Distribution':
      state.domainName = `${name.toLowerCase()}.cloudfront.net`;
      break;
    case 'aws:dynamodb/table:Table':
      state.streamArn = `${state.arn}/stream/2026-01-01T00:00:00.000`;
      break;
    case 'random:index/randomBytes:RandomBytes': {
      // What the random provider reports: `length` bytes as base64 and hex (deterministic here).
      // SST's Function uses one as the key of its links file (SST_KEY, function.ts encryptionKey).
      const bytes = Buffer.alloc(Number(inputs.length ?? 32));
      createHash('sha256').update(name).digest().copy(bytes);
      Object.assign(state, { base64: bytes.toString('base64'), hex: bytes.toString('hex') });
      break;
    }
  }
  return state;
}

/**
 * Inputs with secrets unwrapped: Pulumi hands mocks a secret as { [specialSigKey]: specialSecretSig, value }
 * (@pulumi/pulumi runtime/rpc.ts); checks want the value a provider would receive.
 */
const SPECIAL_SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
function unsecret(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unsecret);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (record[SPECIAL_SIG_KEY] === SECRET_SIG) return unsecret(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unsecret(v)]));
  }
  return value;
}

/** aws.iam.getPolicyDocument as the provider computes it: statements in, IAM JSON out. */
function policyDocument(inputs: Record<string, unknown>): Record<string, unknown> {
  const one = (v: unknown) => (Array.isArray(v) && v.length === 1 ? v[0] : v);
  const statements = (inputs.statements as Record<string, unknown>[] | undefined) ?? [];
  const Statement = statements.map((s) => {
    const out: Record<string, unknown> = {};
    if (s.sid) out.Sid = s.sid;
    out.Effect = s.effect ?? 'Allow';
    if (s.actions) out.Action = one(s.actions);
    if (s.notActions) out.NotAction = one(s.notActions);
    if (s.resources) out.Resource = one(s.resources);
    if (s.notResources) out.NotResource = one(s.notResources);
    const principals = s.principals as { type: string; identifiers: string[] }[] | undefined;
    if (principals?.length) {
      out.Principal = Object.fromEntries(principals.map((p) => [p.type, one(p.identifiers)]));
    }
    const conditions = s.conditions as { test: string; variable: string; values: string[] }[] | undefined;
    if (conditions?.length) {
      const condition: Record<string, Record<string, unknown>> = {};
      for (const c of conditions) condition[c.test] = { ...condition[c.test], [c.variable]: one(c.values) };
      out.Condition = condition;
    }
    return out;
  });
  const json = JSON.stringify({ Version: inputs.version ?? '2012-10-17', Statement });
  // A data source echoes its arguments among its results (SST reads `statements` back, function.ts createRole).
  return { ...inputs, id: String(json.length), json, minifiedJson: json };
}

function invokeResult(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case 'aws:index/getRegion:getRegion':
      return { id: REGION, name: REGION, region: REGION, endpoint: `ec2.${REGION}.amazonaws.com`, description: 'US East' };
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { id: ACCOUNT, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: 'AIDATEST' };
    case 'aws:index/getPartition:getPartition':
      return { id: 'aws', partition: 'aws', dnsSuffix: 'amazonaws.com', reverseDnsPrefix: 'com.amazonaws' };
    case 'aws:iam/getPolicyDocument:getPolicyDocument':
      return policyDocument(inputs);
    default:
      return {};
  }
}

/** What the Command provider does on create: `create` through the shell, in `dir`, with `environment`. */
async function runLocalCommand(inputs: Record<string, unknown>, root: string): Promise<void> {
  const command = unsecret(inputs.create);
  if (typeof command !== 'string' || !command) return;
  const cwd = typeof inputs.dir === 'string' ? inputs.dir : root;
  const environment = (unsecret(inputs.environment) ?? {}) as Record<string, string>;
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      { cwd, env: { ...process.env, ...environment }, timeout: 120_000 },
      (error, _out, err) => (error ? reject(new Error(`local command failed in ${cwd}: ${command}\n${err}`)) : resolve()),
    );
  });
}

/** The CLI's side of SST's RPC (platform/src/components/rpc/rpc.ts): JSON-RPC 1.0 over HTTP POST /rpc. */
async function startRpcServer(
  work: string,
  root: string,
  mode: 'esbuild' | 'placeholder',
  builds: SstBuild[],
): Promise<{ server: Server; url: string; stop(): Promise<void> }> {
  const esbuild = await import('esbuild');
  // Calls still running when the program has failed (other functions' builds write into `work`):
  // `stop` waits for them, so removing `work` does not race a build that is still writing there.
  const running = new Set<Promise<unknown>>();
  let stopping = false;
  const methods: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
    'Provider.Aws.Bootstrap': async () => ({
      asset: `sst-asset-${ACCOUNT}`,
      assetEcrRegistryId: ACCOUNT,
      assetEcrUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sst-asset`,
      state: `sst-state-${ACCOUNT}`,
      appsyncHttp: '',
      appsyncRealtime: '',
    }),
    'Runtime.AddTarget': async () => null,
    // The node runtime's build: the handler's file bundled for Node on Lambda, handler name kept.
    'Runtime.Build': async (input) => {
      const functionID = String(input.functionID);
      const handler = String(input.handler);
      const runtime = String(input.runtime ?? '');
      if (!runtime.startsWith('nodejs'))
        return { handler, out: '', errors: [`runtime ${runtime} is not built here`], sourcemaps: [] };
      const dot = handler.lastIndexOf('.');
      const base = handler.slice(0, dot);
      const entry = ['.ts', '.mts', '.js', '.mjs'].map((ext) => base + ext).find((f) => existsSync(path.join(root, f)));
      if (!entry) return { handler, out: '', errors: [`Could not find file for handler "${handler}"`], sourcemaps: [] };
      const out = path.join(work, 'artifacts', `${functionID}-src`);
      const outfile = path.join(out, `${base}.mjs`);
      mkdirSync(path.dirname(outfile), { recursive: true });
      if (mode === 'placeholder') {
        writeFileSync(outfile, `export const handler = async () => undefined;\n`);
      } else {
        const properties = (input.properties ?? {}) as { architecture?: string };
        const result = await esbuild
          .build({
            entryPoints: [path.join(root, entry)],
            outfile,
            bundle: true,
            platform: 'node',
            format: 'esm',
            target: runtime.replace('nodejs', 'node').replace('.x', ''),
            logLevel: 'silent',
            // ESM bundles of CommonJS dependencies need a require (the CLI adds the same banner).
            banner: {
              js: `import { createRequire as topLevelCreateRequire } from 'module';\nconst require = topLevelCreateRequire(import.meta.url);`,
            },
            define: { 'process.env.COCONUT_ARCH': JSON.stringify(properties.architecture ?? 'x86_64') },
          })
          .catch((error: { errors?: { text: string }[] }) => ({ errors: error.errors ?? [{ text: String(error) }] }));
        if (result.errors.length) return { handler, out, errors: result.errors.map((e) => e.text), sourcemaps: [] };
      }
      builds.push({
        functionID,
        handler,
        out,
        bytes: statSync(outfile).size,
        // What the CLI writes next to the bundle as resource.enc, encrypted with this key.
        links: (input.links ?? {}) as Record<string, Record<string, unknown>>,
        encryptionKey: String(input.encryptionKey ?? ''),
        copyFiles: (input.copyFiles ?? []) as { from: string; to?: string }[],
      });
      return { handler, out, errors: [], sourcemaps: [] };
    },
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', async () => {
      const call = JSON.parse(body) as { method: string; params: Record<string, unknown>[] };
      const method = methods[call.method];
      let reply: { result?: unknown; error: string | null };
      if (!method) reply = { error: `rpc: can't find method ${call.method}` };
      else if (stopping) reply = { error: 'rpc: the deploy has ended' };
      else {
        const pending = method(call.params[0] ?? {});
        running.add(pending);
        try {
          reply = { result: await pending, error: null };
        } catch (error) {
          reply = { error: String(error) };
        } finally {
          running.delete(pending);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const stop = async () => {
    stopping = true;
    server.close();
    server.closeAllConnections();
    await Promise.allSettled([...running]);
  };
  return { server, url: `http://127.0.0.1:${port}`, stop };
}

const GLOBALS = ['$app', '$cli', '$dev', 'sst', 'aws', '$config'];

/**
 * Runs `sst.config.ts` the way `sst deploy` would, but against Pulumi's mocks: SST's own checks
 * (unique names, argument validation) throw as they would on deploy. Resolves to the resources
 * SST registered; rejects with SST's error when the program fails.
 */
export async function evaluateInProcess(options: EvaluateOptions = {}): Promise<Omit<SstEvaluation, 'of'>> {
  const root = ROOT;
  const stage = options.stage ?? 'test';
  const platform = sstPlatform(root);
  const pinned = checkPinnedVersions(platform, root);
  if (pinned.length) throw new Error(`SST evaluation: ${pinned.join('; ')}`);
  const bundle = await platformBundle(platform);

  const work = mkdtempSync(path.join(tmpdir(), 'coconut-sst-work-'));
  const resources: SstResource[] = [];
  const invokes: SstEvaluation['invokes'] = [];
  const builds: SstBuild[] = [];
  const rpc = await startRpcServer(work, root, options.build ?? 'esbuild', builds);

  const g = globalThis as Record<string, unknown>;
  const previous: Record<string, unknown> = Object.fromEntries(GLOBALS.map((k) => [k, g[k]]));
  const previousEnv = { COCONUT_CONFIG: process.env.COCONUT_CONFIG, SST_SERVER: process.env.SST_SERVER };
  const previousCwd = process.cwd();
  // When SST's program fails, every output that depended on the failed resource rejects too, with
  // no one listening (in a real deploy the engine reports the first error): collect them.
  const stray: unknown[] = [];
  let strayArrived: () => void = () => {};
  const firstStray = new Promise<void>((resolve) => {
    strayArrived = resolve;
  });
  process.on('unhandledRejection', (reason) => {
    stray.push(reason);
    strayArrived();
  });
  try {
    if (options.configFile) process.env.COCONUT_CONFIG = options.configFile;
    // `sst secret set <Name> <value>` values, as the CLI passes them (platform/src/components/secret.ts).
    for (const [name, value] of Object.entries(options.secrets ?? {})) process.env[`SST_SECRET_${name}`] = value;
    process.env.SST_SERVER = rpc.url;
    process.env.SST_AWS_REGION = REGION;

    const configUrl = pathToFileURL(path.resolve(root, options.sstConfig ?? 'sst.config.ts')).href;
    // `$config` must exist when the config module loads; it is the identity in SST (platform/src/config.ts).
    Object.assign(g, { $config: (c: unknown) => c });
    const { default: config } = (await import(/* @vite-ignore */ configUrl)) as {
      default: {
        app(input: { stage: string }): { name: string; removal?: string; protect?: boolean; providers?: unknown };
        run(): Promise<Record<string, unknown> | undefined>;
      };
    };
    const app = config.app({ stage });
    Object.assign(g, {
      $app: {
        name: app.name,
        stage,
        removal: app.removal ?? 'retain',
        protect: app.protect ?? false,
        providers: app.providers ?? {},
      },
      $cli: {
        command: 'deploy',
        rpc: rpc.url,
        paths: { home: path.join(work, 'home'), root, work, platform: platform.dir },
        state: { version: {} },
      },
      $dev: false,
    });
    // Pulumi serializes dynamic providers (SST's KV store entries, ...) by parsing their code with
    // TypeScript's JS API, through its typescript-shim: `require("typescript")`, or the TypeScript it
    // vendors when there is none. Our `typescript` is 7 (no JS API; Pulumi's peer range is < 6), so
    // the shim gets Pulumi's vendored copy, as in an app without TypeScript of its own.
    const req = createRequire(import.meta.url);
    const pulumiDir = path.dirname(req.resolve('@pulumi/pulumi/package.json'));
    const shim = path.join(pulumiDir, 'typescript-shim.js');
    const vendored = readdirSync(path.join(pulumiDir, 'vendor')).find((d) => d.startsWith('typescript@'));
    if (!vendored) throw new Error(`${pulumiDir}/vendor has no TypeScript: Pulumi's closure serialization needs one`);
    const typescript = req(path.join(pulumiDir, 'vendor', vendored, 'typescript.js'));
    req.cache[shim] = Object.assign(new Module(shim), { filename: shim, loaded: true, exports: typescript });
    // The platform reads $app/$cli at load time (the CLI defines them at build time): load it now.
    const mod = req(bundle) as PlatformModule;
    const { pulumi } = mod;
    for (const k of Object.keys(mod.shim)) previous[k] ??= g[k];
    Object.assign(g, { sst: mod.sst, aws: mod.aws, ...mod.shim });

    await pulumi.runtime.setMocks(
      {
        async newResource(args) {
          // A local command (a site's build) runs during a deploy, and SST reads what it wrote: run it.
          if (args.type === 'command:local:Command') await runLocalCommand(args.inputs, root);
          resources.push({
            type: args.type,
            name: args.name,
            custom: args.custom ?? true,
            inputs: unsecret(args.inputs) as Record<string, unknown>,
          });
          return { id: `${args.name}-id`, state: stateOf(args.type, args.name, args.inputs) };
        },
        call(args) {
          invokes.push({ token: args.token, inputs: args.inputs });
          return invokeResult(args.token, args.inputs);
        },
      },
      app.name,
      stage,
      false,
    );
    // runInPulumiStack creates the root stack SST's transformations attach to, runs the program,
    // and settles every output, so an error thrown inside an apply surfaces here.
    let outputs: Record<string, unknown> = {};
    let failure: unknown;
    try {
      outputs = (await pulumi.runtime.runInPulumiStack(() => mod.run(config.run))) ?? {};
    } catch (error) {
      failure = error;
    }
    // Let every registration still in flight finish (and the rejections of outputs that depended on
    // a failed resource surface) before judging and before the RPC server goes away.
    // (After a failure, registrations under the failed resource never finish: stop waiting once an
    // error is known.)
    // Woken by whichever comes first (Pulumi's own promise, the first stray rejection), never polled;
    // 120 s is a limit for a stuck registration, not a speed assertion.
    const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
    if (runtime.waitForRPCs && !failure && stray.length === 0) {
      let limit: NodeJS.Timeout | undefined;
      await Promise.race([
        runtime.waitForRPCs().catch((error: unknown) => {
          stray.push(error);
        }),
        firstStray,
        new Promise((resolve) => {
          limit = setTimeout(resolve, 120_000);
        }),
      ]);
      clearTimeout(limit);
    }
    // Rejections of outputs that settle in the same moment are reported a turn later: give them one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    failure ??= stray[0];
    if (failure) throw Object.assign(failure instanceof Error ? failure : new Error(String(failure)), { resources });
    if (options.artifactsDir) {
      for (const b of builds) {
        const kept = path.join(options.artifactsDir, path.basename(b.out));
        cpSync(b.out, kept, { recursive: true });
        b.out = kept;
      }
    }
    return { resources, outputs, builds, invokes };
  } finally {
    await rpc.stop();
    rmSync(work, { recursive: true, force: true, maxRetries: 5 });
    process.chdir(previousCwd);
    Object.assign(g, previous);
    for (const [k, v] of Object.entries(previousEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Child-process entry: `node sst-eval-run.ts <options JSON> <result file>`. */
if (import.meta.main) {
  const [optionsJson = '{}', resultFile] = process.argv.slice(2);
  if (!resultFile) throw new Error('usage: node test/support/sst-eval-run.ts <options JSON> <result file>');
  const plain = (value: unknown) => JSON.parse(JSON.stringify(value ?? null, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  try {
    const result = await evaluateInProcess(JSON.parse(optionsJson) as EvaluateOptions);
    writeFileSync(resultFile, JSON.stringify({ ok: true, ...plain(result) }));
  } catch (error) {
    const e = error as Error & { resources?: SstResource[] };
    writeFileSync(
      resultFile,
      JSON.stringify({ ok: false, message: e.message, stack: e.stack, resources: plain(e.resources ?? []) }),
    );
  }
  process.exit(0);
}
