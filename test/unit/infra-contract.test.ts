import { readdirSync } from 'node:fs';
/**
 * sst.config.ts, loaded with a recording stand-in for the SST and Pulumi globals (nothing
 * reaches SST, Pulumi or AWS), against the code it deploys: handlers, state machines and
 * their substitutions, secrets, routes, rules, and least-privilege permissions derived from
 * the SDK commands each adapter sends. The mutation tests prove each check can fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '../../functions/http-routes.ts';
import { awsSubstitutions } from '../../infra/pipeline.ts';
import { loadConfigFile } from '../../src/core/config/load.ts';
import type { CoconutConfig } from '../../src/core/config/schema.ts';
import {
  type Contract,
  checkAdapterActions,
  checkFunctionPermissions,
  checkHandlers,
  checkNoWildcards,
  checkRoutes,
  checkSecrets,
  checkStateMachinePermissions,
  checkStateMachines,
  checkTriggers,
  contractOf,
  neededCapabilities,
  secretReads,
} from '../support/infra-checks.ts';
import { installSstGlobals, type Out, type Recording } from '../support/sst-recorder.ts';

const CONFIG = 'examples/demo/coconut.yaml';
let contract: Contract;
let outputs: Record<string, unknown>;
let app: Record<string, unknown>;
let config: CoconutConfig;
let restore: () => void;
let recording: Recording;

beforeAll(async () => {
  process.env.COCONUT_CONFIG = CONFIG;
  const stand = installSstGlobals('prod');
  restore = stand.restore;
  recording = stand.recording;
  const { default: sstConfig } = (await import('../../sst.config.ts')) as unknown as {
    default: { app(input: { stage: string }): Record<string, unknown>; run(): Promise<Record<string, unknown>> };
  };
  app = sstConfig.app({ stage: 'prod' });
  outputs = await sstConfig.run();
  contract = contractOf(stand.recording);
  config = await loadConfigFile(CONFIG);
});
afterAll(() => {
  restore?.();
  delete process.env.COCONUT_CONFIG;
});

const clone = (): Contract => structuredClone(contract);

describe('Contract: sst.config.ts', () => {
  it('is an AWS app that keeps production data on removal', () => {
    expect(app).toMatchObject({ name: 'coconut', home: 'aws', removal: 'retain' });
  });

  it('deploys every handler in functions/, each path existing and exporting handler, on nodejs22.x arm64', async () => {
    const onDisk = readdirSync('functions')
      .filter((f) => f.endsWith('.ts') && f !== 'http-routes.ts')
      .map((f) => `functions/${f.replace(/\.ts$/, '')}.handler`)
      .sort();
    expect(onDisk.length).toBeGreaterThanOrEqual(6);
    expect(contract.functions.map((f) => f.handler).sort()).toEqual(onDisk);
    expect(await checkHandlers(contract)).toEqual([]);
  });

  it('deploys every ASL file as JSONPath with every placeholder substituted, logging on', () => {
    expect(checkStateMachines(contract, 'coconut-prod')).toEqual([]);
    const files = readdirSync('stepfunctions').filter((f) => f.endsWith('.asl.json'));
    expect(contract.machines.map((m) => m.name).sort()).toEqual(
      files.map((f) => `coconut-prod-${f.replace('.asl.json', '')}`).sort(),
    );
    const definition = JSON.parse(contract.machines[0]?.definition ?? '{}');
    expect(JSON.stringify(definition)).toContain('coconut-prod-');
    // The substitution is the ARN of the PipelineStep function itself (whatever ARN the stand-in
    // gives it), not a name pasted in: compared with that function's own output.
    const fn = recording.of('sst.aws.Function').filter((f) => f.name === 'PipelineStep');
    expect(fn).toHaveLength(1);
    const arn = (fn[0]?.proxy as { arn: Out<string> } | undefined)?.arn.value();
    expect(JSON.stringify(definition)).toContain(JSON.stringify(arn));
  });

  it('grants the state machine role what its tasks call, and nothing with a * action', () => {
    expect(checkStateMachinePermissions(contract)).toEqual([]);
    expect(checkNoWildcards(contract)).toEqual([]);
  });

  it('covers every SDK command of every src/aws adapter with a capability in infra/permissions.ts', () => {
    expect(checkAdapterActions()).toEqual([]);
  });

  it('grants each function the actions its code reaches (least privilege, derived from the code)', () => {
    // A push without image-digest is resolved before planning (ECR's API; the pull secret elsewhere).
    expect(neededCapabilities('ecr-push')).toEqual(new Set(['store', 'startExecution', 'registry', 'pullSecrets']));
    // The repair releases a dead holder's lock and wakes the next waiter through its task token.
    expect(neededCapabilities('execution-ended')).toEqual(new Set(['store', 'taskCallback']));
    // The signed-image gate reads signatures: ECR's token and registry API, or a pull secret for GHCR / Docker Hub.
    expect(neededCapabilities('pipeline-step')).toEqual(
      new Set(['store', 'alarms', 'scanner', 'taskCallback', 'signatures', 'pullSecrets']),
    );
    expect(checkFunctionPermissions(contract, config)).toEqual([]);
    // Least privilege: the push handler cannot resume tasks.
    const actions = (name: string) =>
      contract.functions.find((f) => f.handler === `functions/${name}.handler`)?.permissions.flatMap((s) => s.actions) ?? [];
    expect(actions('ecr-push')).not.toContain('states:SendTaskSuccess');
    // The API starts manual deploys and rollbacks, but never touches targets or builds.
    expect(actions('api')).toContain('states:StartExecution');
    expect(actions('api').filter((a) => a.startsWith('ecs:') || a.startsWith('codebuild:') || a === 'iam:PassRole')).toEqual([]);
    expect(
      actions('execution-ended').filter(
        (a) => !a.startsWith('dynamodb:') && !a.startsWith('sqs:') && !a.startsWith('states:SendTask'),
      ),
    ).toEqual([]);
  });

  it('links every secret a handler reads to it', () => {
    expect(checkSecrets(contract)).toEqual([]);
  });

  it('puts every HTTP route on the API (non-public ones behind auth) and every rule on its function', () => {
    expect(checkRoutes(contract)).toEqual([]);
    expect(checkTriggers(contract, config)).toEqual([]);
    // No `auth` section in the demo coconut.yaml: the API falls back to IAM auth, and says so;
    // only the public (self-verifying) webhook routes have none.
    const publicRoutes = new Set(HTTP_ROUTES.filter((r) => r.public).map((r) => r.route));
    for (const r of contract.routes) {
      expect(JSON.stringify(r.auth), String(r.route)).toBe(publicRoutes.has(String(r.route)) ? 'false' : '{"iam":true}');
    }
    expect(outputs.apiAuth).toMatch(/IAM/);
    // The `api` output is the HTTP API's own URL (not another component's).
    const apis = recording.of('sst.aws.ApiGatewayV2');
    expect(apis).toHaveLength(1);
    expect((outputs.api as Out).value()).toBe((apis[0]?.proxy as { url: Out<string> } | undefined)?.url.value());
  });
});

describe('Contract: the checks fail when something is taken away', () => {
  it('a handler path removed or pointing nowhere', async () => {
    const gone = clone();
    gone.functions = gone.functions.filter((f) => f.handler !== 'functions/ecr-push.handler');
    expect(await checkHandlers(gone)).toContain('functions/ecr-push.ts is not deployed');
    const wrong = clone();
    (wrong.functions[0] as { handler: string }).handler = 'functions/nope.handler';
    expect((await checkHandlers(wrong)).join('\n')).toMatch(/handler functions\/nope\.handler names no file/);
  });

  it('a placeholder substitution removed', () => {
    const unsubstituted = clone();
    const machine = unsubstituted.machines[0] as { definition: string };
    const arn = contract.functions.find((f) => f.handler === 'functions/pipeline-step.handler')?.arn as string;
    machine.definition = machine.definition.split(arn).join(['$', '{PipelineStepFunctionArn}'].join(''));
    expect(checkStateMachines(unsubstituted, 'coconut-prod').join('\n')).toMatch(
      /placeholders left unsubstituted: PipelineStepFunctionArn/,
    );
    // infra refuses a placeholder it has no AWS value for, instead of deploying it as text.
    expect(() =>
      awsSubstitutions(['NotDeployedFunctionArn'], { functions: {}, machines: {}, buildProjectPrefix: 'p' }, 'x.asl.json'),
    ).toThrow(`x.asl.json: no AWS value for placeholder ${['$', '{NotDeployedFunctionArn}'].join('')}`);
  });

  it('a permission removed from a function, from the state machine role, or widened to *', () => {
    const lessPush = clone();
    for (const s of lessPush.functions.find((f) => f.handler === 'functions/ecr-push.handler')?.permissions ?? []) {
      s.actions = s.actions.filter((a) => a !== 'states:StartExecution');
    }
    expect(checkFunctionPermissions(lessPush, config)).toContain(
      'ecr-push: its code needs states:StartExecution (startExecution), not granted',
    );

    const lessMachine = clone();
    for (const s of lessMachine.machines[0]?.policy ?? []) s.actions = s.actions.filter((a) => a !== 'lambda:InvokeFunction');
    expect(checkStateMachinePermissions(lessMachine).join('\n')).toMatch(/AcquireLock needs lambda:InvokeFunction/);

    // The managed rule misspelt as it once was ("GetEvents"): AWS's name is "GetEvent" (codebuild-iam page).
    const plural = clone();
    for (const s of plural.machines.find((m) => m.name.endsWith('-deploy'))?.policy ?? []) {
      s.resources = s.resources.map((r) => r.replace('GetEventFor', 'GetEventsFor'));
    }
    expect(checkStateMachinePermissions(plural).join('\n')).toMatch(
      /Deploy needs events:PutRule on arn:aws:events:us-east-1:123456789012:rule\/StepFunctionsGetEventForCodeBuildStartBuildRule/,
    );

    const wide = clone();
    wide.functions[0]?.permissions.push({ actions: ['dynamodb:*'], resources: ['*'] });
    expect(checkNoWildcards(wide).join('\n')).toMatch(/wildcard action dynamodb:\*/);
  });

  it('a secret a handler reads but is not linked to', () => {
    const reads = { ...secretReads(), api: new Set(['GithubWebhookSecret']) };
    expect(checkSecrets(contract, reads)).toEqual(['api: reads secret GithubWebhookSecret, which is not linked to it']);
  });

  it('a route or a rule that does not reach its function', () => {
    const noRoute = clone();
    noRoute.routes = noRoute.routes.filter((r) => r.route !== 'GET /api/status');
    expect(checkRoutes(noRoute)).toContain('route GET /api/status is not on the API');
    const noRule = clone();
    noRule.rules = noRule.rules.filter((r) => !r.name.endsWith('-ecr-push'));
    expect(checkTriggers(noRule, config)).toContain('event rule ecr-push is not deployed');
  });
});
