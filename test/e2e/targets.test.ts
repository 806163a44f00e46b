/**
 * The demo's Helm, Copilot and ECS services end to end in the local runtime: push -> deploy -> bake ->
 * alarm -> rollback, with the exact command lines asserted. The builds run FAKE helm and copilot
 * executables (test/fixtures/fake-bin) that record their arguments, first on the builds' PATH on every
 * machine: a real helm or copilot installed here is never run (it would deploy to the developer's kube
 * context or AWS account) and never changes which assertions run. The command lines the buildspecs
 * print are checked too. The ecs service deploys through moto_server's ECS API.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { type Moto, startMoto } from '../support/moto.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const D1 = digest('a');
const D2 = digest('b');
const FAKES = path.join(PROJECT_ROOT, 'test/fixtures/fake-bin');

/** The demo's services other than demo-api, with short bakes and no approval, as extra list items. */
function demoServicesYaml(): string {
  const demo = parse(readFileSync(path.join(PROJECT_ROOT, 'examples/demo/coconut.yaml'), 'utf8')) as {
    services: { name: string; environments: Record<string, unknown>[] }[];
  };
  const services = demo.services
    .filter((s) => s.name !== 'demo-api')
    .map((s) => ({
      ...s,
      environments: s.environments.map(({ approval: _approval, ...env }) => ({
        ...env,
        bake: env.name === 'staging' ? '3s' : '1s',
      })),
    }));
  return stringify(services)
    .split('\n')
    .map((line) => (line ? `  ${line}` : line))
    .join('\n');
}

interface FakeCall {
  tool: string;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  imageLocation?: string;
  manifestType?: string;
}

/** The line a buildspec prints before it runs a command: "+" and each argument as bash's printf %q quotes it. */
function printed(argv: string[]): string {
  return `+${execFileSync('bash', ['-c', 'printf " %q" "$@"', '_', ...argv], { encoding: 'utf8' })}`;
}

describe('Helm, Copilot and ECS targets end to end (local runtime; FAKE helm/copilot; moto_server ECS)', () => {
  let rt: TestRuntime;
  let moto: Moto;
  let ecs: ECSClient;

  beforeAll(async () => {
    moto = await startMoto({ env: { MOTO_ECS_SERVICE_RUNNING: '1' } });
    ecs = new ECSClient(moto.clientOptions);
    const def = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'demo-orders',
        containerDefinitions: [
          { name: 'demo-orders', image: `${REGISTRY}/demo-orders:0.9.0`, memory: 256, readonlyRootFilesystem: true },
        ],
      }),
    );
    for (const env of ['staging', 'prod']) {
      await ecs.send(new CreateClusterCommand({ clusterName: `demo-${env}` }));
      await ecs.send(
        new CreateServiceCommand({
          cluster: `demo-${env}`,
          serviceName: 'demo-orders',
          taskDefinition: def.taskDefinition?.taskDefinitionArn,
          desiredCount: 1,
        }),
      );
    }
    // The FAKE tools, ahead of any real one on this machine's PATH.
    const bin = mkdtempSync(path.join(tmpdir(), 'coconut-fake-bin-'));
    for (const tool of ['helm', 'copilot']) symlinkSync(path.join(FAKES, tool), path.join(bin, tool));
    rt = await startTestRuntime({
      extraYaml: demoServicesYaml(),
      buildPath: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
      awsEndpoint: moto.endpoint,
      ecsPollMs: 100,
      probes: false,
    });
  }, 120_000);
  afterAll(async () => {
    await rt?.stop();
    await moto?.stop();
  });

  const calls = (tool: string): FakeCall[] => {
    const file = path.join(rt.dir, 'fake-tools.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as FakeCall)
      .filter((c) => c.tool === tool);
  };
  const buildLogs = () =>
    readdirSync(path.join(rt.dir, 'builds'))
      .map((d) => path.join(rt.dir, 'builds', d, 'build.log'))
      .filter(existsSync)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');

  /** 1.0.0 goes through staging and prod; 1.1.0 trips its staging alarm during bake and is rolled back. */
  async function deployBakeAlarmRollback(repository: string, alarm: string) {
    const first = startedId(await rt.push('1.0.0', repository, D1));
    const prod = await rt.waitForStage(first, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'SKIPPED']);
    expect(prod.state, prod.reason).toBe('SUCCEEDED');
    expect(prod.rehearsal).toBeUndefined();

    const second = startedId(await rt.push('1.1.0', repository, D2));
    const baking = await rt.waitForStage(second, 'staging', ['BAKING', 'FAILED', 'ROLLED_BACK', 'SUCCEEDED']);
    expect(baking.state, baking.reason).toBe('BAKING');
    await rt.alarms.set(alarm, 'ALARM', 'test: error rate above threshold');
    const staging = await rt.waitForStage(second, 'staging', ['ROLLED_BACK', 'ROLLBACK_FAILED', 'FAILED', 'SUCCEEDED']);
    await rt.alarms.set(alarm, 'OK');
    expect(staging).toMatchObject({ state: 'ROLLED_BACK', alarm, rolledBackTo: '1.0.0', previousVersion: '1.0.0' });
    expect(staging.reason).toBe(`alarm ${alarm} fired during bake`);
    expect((await rt.ports.store.getStage(second, 'prod'))?.state).toBe('SKIPPED');
    expect(await rt.engine.waitFor(second)).toMatchObject({ status: 'FAILED', error: 'Coconut.RolledBack' });
    return { first, second };
  }

  it('says once, at start, that the Copilot CLI is past end of support and that the ecs target is the way on', () => {
    const notices = rt.log.lines.filter((l) => l.message.includes('AWS ended support for the Copilot CLI on 2026-06-12'));
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toContain('demo-worker');
    expect(notices[0]?.message).toContain('target.kind: ecs');
  });

  it('helm: upgrade --install --atomic by digest, records revisions, and rolls back with helm rollback to the known-good revision', async () => {
    const { first, second } = await deployBakeAlarmRollback('demo-web', 'demo-web-staging-5xx');
    const upgrade = (env: string, version: string, id: string, image: string) => [
      'helm',
      'upgrade',
      '--install',
      'demo-web',
      'templates/helm/coconut-service',
      '--namespace',
      `demo-${env}`,
      '--atomic',
      '--wait',
      '--timeout',
      '300s',
      '--history-max',
      '20',
      '--description',
      `coconut deploy ${version} (${id})`,
      '--values',
      `examples/demo/helm/values-${env}.yaml`,
      '--set-string',
      `image.repository=${REGISTRY}/demo-web`,
      '--set-string',
      `image.digest=${image}`,
      '--set-string',
      `image.tag=${version}`,
    ];
    const metadata = (env: string) => ['helm', 'get', 'metadata', 'demo-web', '--namespace', `demo-${env}`, '--output', 'json'];
    const rollback = [
      'helm',
      'rollback',
      'demo-web',
      '1',
      '--namespace',
      'demo-staging',
      '--wait',
      '--timeout',
      '300s',
      '--cleanup-on-fail',
      '--history-max',
      '20',
    ];
    const expected = [
      upgrade('staging', '1.0.0', first, D1),
      metadata('staging'),
      upgrade('prod', '1.0.0', first, D1),
      metadata('prod'),
      upgrade('staging', '1.1.0', second, D2),
      metadata('staging'),
      rollback,
      metadata('staging'),
    ];
    expect(calls('helm').map((c) => ['helm', ...c.argv])).toEqual(expected);
    const logs = buildLogs();
    for (const argv of [expected[0], expected[2], expected[4], rollback] as string[][]) expect(logs).toContain(printed(argv));

    // The revision each version was deployed as is recorded; the rollback went to the known-good one.
    expect(await rt.ports.store.getEnvironmentState('demo-web', 'staging')).toMatchObject({
      lastKnownGood: { version: '1.0.0', digest: D1, revision: '1' },
      current: { version: '1.0.0', revision: '3' },
    });
    expect(await rt.ports.store.getEnvironmentState('demo-web', 'prod')).toMatchObject({
      lastKnownGood: { version: '1.0.0', revision: '1' },
    });
  });

  it('copilot: svc deploy of the digest through the manifest, and the known-good digest again on rollback', async () => {
    await deployBakeAlarmRollback('demo-worker', 'demo-worker-staging-errors');
    const deploy = (env: string) => ['copilot', 'svc', 'deploy', '--app', 'demo', '--env', env, '--name', 'demo-worker'];
    const image = (d: string) => `${REGISTRY}/demo-worker@${d}`;
    expect(
      calls('copilot').map((c) => ({
        argv: ['copilot', ...c.argv],
        cwd: c.cwd,
        uri: c.env.COCONUT_IMAGE_URI,
        location: c.imageLocation,
        type: c.manifestType,
        action: c.env.COCONUT_ACTION,
      })),
    ).toEqual(
      [
        [deploy('staging'), D1, 'deploy'],
        [deploy('prod'), D1, 'deploy'],
        [deploy('staging'), D2, 'deploy'],
        [deploy('staging'), D1, 'rollback'],
      ].map(([argv, d, action]) => ({
        argv,
        cwd: path.join(PROJECT_ROOT, 'examples/demo'),
        uri: image(d as string),
        // What Copilot reads after substituting ${COCONUT_IMAGE_URI} in the generated manifest.
        location: image(d as string),
        type: 'Backend Service',
        action,
      })),
    );
    expect(buildLogs()).toContain(printed(deploy('staging')));
    expect(await rt.ports.store.getEnvironmentState('demo-worker', 'staging')).toMatchObject({
      current: { version: '1.0.0', digest: D1 },
      lastKnownGood: { version: '1.0.0', digest: D1 },
    });
  });

  it('ecs: new task definition revisions by digest through the ECS API (no CodeBuild), rollback to the recorded one', async () => {
    const before = readdirSync(path.join(rt.dir, 'builds')).length;
    await deployBakeAlarmRollback('demo-orders', 'demo-orders-staging-5xx');
    expect(readdirSync(path.join(rt.dir, 'builds')).length).toBe(before); // no build ran

    const staging = await rt.ports.store.getEnvironmentState('demo-orders', 'staging');
    const known = staging?.lastKnownGood?.revision as string;
    expect(known).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task-definition\/demo-orders:\d+$/);
    expect(staging).toMatchObject({
      current: { version: '1.0.0', revision: known },
      lastKnownGood: { version: '1.0.0', digest: D1 },
    });

    const service = async (env: string) =>
      (await ecs.send(new DescribeServicesCommand({ cluster: `demo-${env}`, services: ['demo-orders'] }))).services?.[0];
    const imageOf = async (arn: string | undefined) =>
      (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition?.containerDefinitions?.[0]
        ?.image;
    const stagingService = await service('staging');
    expect(stagingService?.taskDefinition).toBe(known);
    expect(await imageOf(known)).toBe(`${REGISTRY}/demo-orders@${D1}`);
    expect(stagingService?.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
    expect(await imageOf((await service('prod'))?.taskDefinition)).toBe(`${REGISTRY}/demo-orders@${D1}`);
    // The bad version was really registered and deployed before the rollback.
    const bad = Number(known.split(':').pop()) + 2;
    expect(await imageOf(known.replace(/:\d+$/, `:${bad}`))).toBe(`${REGISTRY}/demo-orders@${D2}`);
  });
});

describe('ECS target without an endpoint (local runtime)', () => {
  let rt: TestRuntime | undefined;
  afterAll(() => rt?.stop());

  it('is a labelled rehearsal: nothing runs, nothing counts as deployed', async () => {
    rt = await startTestRuntime({ extraYaml: demoServicesYaml(), probes: false, awsEndpoint: '' });
    const id = startedId(await rt.push('2.0.0', 'demo-orders', D1));
    const stage = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK']);
    expect(stage.rehearsal).toEqual({ tools: ['ECS endpoint (COCONUT_AWS_ENDPOINT)'], steps: ['deploy'] });
    expect(rt.log.lines.some((l) => l.message.includes('ECS demo-staging/demo-orders: REHEARSAL (PLANNED, nothing ran)'))).toBe(
      true,
    );
    expect(await rt.ports.store.getEnvironmentState('demo-orders', 'prod')).toBeUndefined();
  });
});
