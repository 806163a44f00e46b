/**
 * sst.config.ts evaluated by SST's OWN components — the platform code embedded in the installed
 * `sst` binary, the @pulumi packages it pins — under Pulumi's runtime mocks, offline
 * (test/support/sst-eval.ts). What SST itself refuses fails here as it would fail `sst deploy`;
 * the resource graph it registers is checked against AWS's documented limits (test/support/aws-limits.ts).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { handlerNames } from '../../infra/functions.ts';
import {
  accessLogProblems,
  EVENT_PATTERN_MAX_CHARS,
  eventPatternProblems,
  LAMBDA_LIMITS,
  lambdaLimitProblems,
  rolePolicySizeProblems,
} from '../support/aws-limits.ts';
import { bigConfigYaml } from '../support/big-config.ts';
import { evaluateSstApp, type SstEvaluation, SstEvaluationError, type SstResource } from '../support/sst-eval.ts';
import { checkPinnedVersions } from '../support/sst-eval-run.ts';
import { sstPlatform } from '../support/sst-platform.ts';

const DEMO = 'examples/demo/coconut.yaml';
/** `sst secret set` values: secrets without a default must be set before a deploy (SST refuses otherwise). */
const SECRETS = { GithubWebhookSecret: 'test-github-secret', DockerhubToken: 'test-dockerhub-token' };

let app: SstEvaluation;
beforeAll(async () => {
  app = await evaluateSstApp({ configFile: DEMO, stage: 'prod', secrets: SECRETS });
}, 300_000);

/**
 * Inputs that carry text of a value that never resolved: `undefined` (a property SST's component does
 * not have) or Pulumi's "Calling [toString] on an [Output<T>]" (an output in a plain template string
 * instead of $interpolate). Both deploy as garbage rather than fail.
 */
function unresolvedInputs(resources: SstResource[]): string[] {
  const found: string[] = [];
  const walk = (value: unknown, where: string): void => {
    if (typeof value === 'string') {
      if (/\bundefined\b|\[object Object\]|Calling \[toString\]/.test(value)) found.push(`${where}: ${value.slice(0, 120)}`);
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, `${where}[${i}]`);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, `${where}.${k}`);
    }
  };
  for (const r of resources) walk(r.inputs, `${r.type} ${r.name}`);
  return found;
}

const named = (type: string, name: string) => app.resources.find((r) => r.type === type && r.name === name);

describe("SST's own platform code", () => {
  it('comes from the installed sst binary, and runs on the @pulumi versions it pins', () => {
    const platform = sstPlatform();
    const installed = JSON.parse(readFileSync('node_modules/sst/package.json', 'utf8')) as { version: string };
    expect(platform.version).toBe(installed.version);
    // The rule that bit us, in SST's source: platform/src/components/link.ts.
    const link = readFileSync(path.join(platform.dir, 'src/components/link.ts'), 'utf8');
    expect(link).toContain('const lcname = args.name.toLowerCase();');
    expect(link).toContain('is not unique.');
    expect(checkPinnedVersions(platform)).toEqual([]);
  });

  it("refuses two top-level components whose names are equal ignoring case (SST's error, not ours)", async () => {
    const refused = evaluateSstApp({ sstConfig: 'test/fixtures/sst/duplicate-names.config.ts', build: 'placeholder' });
    await expect(refused).rejects.toThrow(SstEvaluationError);
    await expect(refused).rejects.toThrow('Component name JOBS is not unique.');
    const accepted = await evaluateSstApp({ sstConfig: 'test/fixtures/sst/unique-names.config.ts', build: 'placeholder' });
    expect(accepted.of('sst:aws:Queue').map((r) => r.name)).toEqual(['Jobs']);
    expect(accepted.of('sst:aws:Bucket').map((r) => r.name)).toEqual(['JobFiles']);
    // SST's components create the AWS resources underneath, as on a deploy.
    expect(accepted.of('aws:sqs/queue:Queue').length).toBe(1);
  }, 120_000);

  it('refuses a deploy whose secrets have no value, naming the `sst secret set` command', async () => {
    await expect(evaluateSstApp({ configFile: DEMO, stage: 'prod', build: 'placeholder' })).rejects.toThrow(
      /Set a value for (GithubWebhookSecret|DockerhubToken) with `sst secret set/,
    );
  }, 120_000);
});

describe('sst.config.ts under SST (the demo coconut.yaml, stage prod)', () => {
  it('evaluates to the end: every component name is unique, the API and the `api` function side by side', () => {
    expect(named('sst:aws:Function', 'Api')).toBeDefined();
    expect(named('sst:aws:ApiGatewayV2', 'HttpApi')).toBeDefined();
    const topLevel = app.resources.filter((r) => r.type.startsWith('sst:') && r.type !== 'sst:sst:LinkRef');
    const lower = topLevel.map((r) => r.name.toLowerCase());
    expect(new Set(lower).size).toBe(lower.length);
    expect(String(app.outputs.api)).toMatch(/^https:\/\/.+\.execute-api\.us-east-1\.amazonaws\.com$/);
    expect(Object.keys(app.outputs.publicRoutes as object)).toContain('POST /webhooks/dockerhub/{token}');
  });

  it('holds no unresolved value in any input (no `undefined`, no Output printed as text)', () => {
    expect(unresolvedInputs(app.resources)).toEqual([]);
    const broken = structuredClone(named('aws:iam/role:Role', 'ApiRole') as SstResource);
    broken.inputs.name = `coconut-${undefined}`;
    expect(unresolvedInputs([broken])).toEqual(['aws:iam/role:Role ApiRole.name: coconut-undefined']);
  });

  it('deploys one Lambda per handler, each bundled (esbuild, as the CLI builds it) and within Lambda quotas', () => {
    const functions = app.of('aws:lambda/function:Function');
    expect(functions.map((f) => f.inputs.handler).sort()).toEqual(handlerNames().map((n) => `functions/${n}.handler`));
    expect(app.builds.map((b) => b.handler).sort()).toEqual(handlerNames().map((n) => `functions/${n}.handler`));
    for (const f of functions) expect(f.inputs).toMatchObject({ runtime: 'nodejs22.x', architectures: ['arm64'] });
    expect(lambdaLimitProblems(app.resources)).toEqual([]);
  });

  it('logs API requests by route, never by path: the Docker Hub token stays out of CloudWatch Logs', () => {
    const stages = app.of('aws:apigatewayv2/stage:Stage');
    expect(stages.length).toBe(1);
    const settings = stages[0]?.inputs.accessLogSettings as { format: string; destinationArn: string };
    expect(settings.destinationArn).toMatch(/^arn:aws:logs:/);
    expect(settings.format).toContain('$context.routeKey');
    expect(accessLogProblems(app.resources)).toEqual([]);
  });

  it('keeps every EventBridge pattern within the size quota', () => {
    expect(app.of('aws:cloudwatch/eventRule:EventRule').length).toBeGreaterThanOrEqual(3);
    expect(eventPatternProblems(app.resources)).toEqual([]);
  });

  it("keeps each role's inline policies within IAM's size quota, functions' permissions included", () => {
    const api = named('aws:iam/role:Role', 'ApiRole');
    expect(JSON.stringify(api?.inputs.inlinePolicies)).toContain('states:StartExecution');
    expect(rolePolicySizeProblems(app.resources)).toEqual([]);
  });
});

describe('sst.config.ts under SST with an `auth` section (JWT, dashboard site)', () => {
  it('puts non-public routes behind the JWT authorizer and deploys the dashboard', async () => {
    const dir = path.join('test-output', 'sst-eval');
    const file = path.join(dir, `coconut-auth-${process.pid}.yaml`);
    mkdirSync(dir, { recursive: true });
    const issuer = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE';
    writeFileSync(
      file,
      readFileSync(DEMO, 'utf8').replace('\nservices:', `\nauth: { issuer: '${issuer}', audience: [client-1] }\nservices:`),
    );
    try {
      const withAuth = await evaluateSstApp({ configFile: file, stage: 'prod', secrets: SECRETS, build: 'placeholder' });
      const [authorizer] = withAuth.of('aws:apigatewayv2/authorizer:Authorizer');
      expect(authorizer?.inputs).toMatchObject({ authorizerType: 'JWT', jwtConfiguration: { issuer, audiences: ['client-1'] } });
      const routes = withAuth.of('aws:apigatewayv2/route:Route');
      const kind = (key: string) => routes.find((r) => r.inputs.routeKey === key)?.inputs.authorizationType;
      expect(kind('GET /api/status')).toBe('JWT');
      expect(kind('POST /webhooks/dockerhub/{token}')).toBe('NONE');
      expect(withAuth.of('sst:aws:StaticSite').map((r) => r.name)).toEqual(['Dashboard']);
      expect(String(withAuth.outputs.dashboard)).toMatch(/^https:\/\/.+\.cloudfront\.net$/);
      expect([
        ...lambdaLimitProblems(withAuth.resources),
        ...accessLogProblems(withAuth.resources),
        ...eventPatternProblems(withAuth.resources),
        ...rolePolicySizeProblems(withAuth.resources),
      ]).toEqual([]);
    } finally {
      rmSync(file, { force: true });
    }
  }, 300_000);
});

describe('sst.config.ts under SST with 1,000 services (test/support/big-config.ts)', () => {
  it('deploys EventBridge patterns that fit the quota (alarm and push rules scale)', async () => {
    const dir = path.join('test-output', 'sst-eval');
    const file = path.join(dir, `coconut-1000-${process.pid}.yaml`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, bigConfigYaml(1000));
    try {
      const big = await evaluateSstApp({ configFile: file, stage: 'prod', secrets: SECRETS, build: 'placeholder' });
      const rules = big.of('aws:cloudwatch/eventRule:EventRule');
      expect(rules.map((r) => r.name).sort()).toEqual(['AlarmChangedRule', 'EcrPushRule', 'ExecutionEndedRule']);
      expect(eventPatternProblems(big.resources)).toEqual([]);
      expect(lambdaLimitProblems(big.resources)).toEqual([]);
      // One ARN per repository would take ~60,000 characters: granted by namespace instead (infra/policy-size.ts).
      expect(rolePolicySizeProblems(big.resources)).toEqual([]);
    } finally {
      rmSync(file, { force: true });
    }
  }, 300_000);
});

describe('the limit checks fail when a limit is broken', () => {
  const fn = (): SstResource => structuredClone(app.of('aws:lambda/function:Function')[0] as SstResource);

  it('Lambda: timeout over 900 s, memory outside 128..10,240 MB, environment over 4 KB', () => {
    const slow = fn();
    slow.inputs.timeout = LAMBDA_LIMITS.timeoutSeconds + 1;
    expect(lambdaLimitProblems([slow]).join('\n')).toMatch(/timeout 901 s is outside 1\.\.900 s/);
    const big = fn();
    big.inputs.memorySize = 10_241;
    expect(lambdaLimitProblems([big]).join('\n')).toMatch(/memory 10241 MB/);
    const env = fn();
    (env.inputs.environment as { variables: Record<string, string> }).variables.PADDING = 'x'.repeat(4096);
    expect(lambdaLimitProblems([env]).join('\n')).toMatch(/environment variables take \d+ bytes, more than 4096/);
  });

  it("access log: SST's default format (it logs $context.path) is caught", () => {
    const stage = structuredClone(app.of('aws:apigatewayv2/stage:Stage')[0] as SstResource);
    // SST's own default, read from its source (platform/src/components/aws/apigatewayv2.ts, createStage).
    const source = readFileSync(path.join(sstPlatform().dir, 'src/components/aws/apigatewayv2.ts'), 'utf8');
    expect(source).toContain('path: `"$context.path"`');
    (stage.inputs.accessLogSettings as { format: string }).format = JSON.stringify({ path: '"$context.path"' });
    expect(accessLogProblems([stage])).toEqual(['HttpApiStage: access log format logs $context.path']);
  });

  it('IAM: inline policies of a role over 10,240 characters', () => {
    const role = structuredClone(named('aws:iam/role:Role', 'ApiRole') as SstResource);
    (role.inputs.inlinePolicies as { policy: string }[]).push({
      policy: JSON.stringify({ Resource: 'x'.repeat(10_240) }),
    } as never);
    expect(rolePolicySizeProblems([role]).join('\n')).toMatch(/ApiRole: inline policies of \d+ characters/);
  });

  it('EventBridge: a pattern over 2,048 characters', () => {
    const rule = structuredClone(app.of('aws:cloudwatch/eventRule:EventRule')[0] as SstResource);
    rule.inputs.eventPattern = JSON.stringify({ detail: { alarmName: ['x'.repeat(EVENT_PATTERN_MAX_CHARS)] } });
    expect(eventPatternProblems([rule]).join('\n')).toMatch(/more than 2048/);
  });
});
