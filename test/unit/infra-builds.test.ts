/**
 * The CodeBuild projects sst.config.ts declares (recording stand-in for SST/Pulumi, demo config plus
 * a `build.vpc`), checked against CodeBuild's documented rules:
 * - Lambda compute (CodeBuild user guide, "Limitations of AWS Lambda compute"): no VPC, no
 *   privileged mode, no build timeout setting, at most 15 minutes. No project may need any of
 *   those on Lambda; Coconut's projects are all EC2 compute.
 * - Project.timeoutInMinutes is 5 to 2160 (CodeBuild API reference, Project); a helm target that
 *   may wait 3600 s gets a build that outlasts the upgrade and its atomic rollback.
 * - VpcConfig: at most 16 subnets and 5 security groups (API reference, VpcConfig), enforced by
 *   the coconut.yaml schema with an error that says so.
 * - `onTag: build` reads GitHub through a CodeConnections connection set as the project's source
 *   auth (API reference, SourceAuth: type CODECONNECTIONS, resource = the connection ARN).
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCompute, MAX_TIMEOUT_MINUTES, MIN_TIMEOUT_MINUTES, QUEUED_TIMEOUT_MINUTES } from '../../infra/build-compute.ts';
import { buildspecs } from '../../infra/pipeline.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { configJsonSchema } from '../../src/core/config/schema.ts';
import { installSstGlobals, type Recorded, resolveDeep } from '../support/sst-recorder.ts';

const VPC = {
  vpcId: 'vpc-0abc1234def567890',
  subnets: ['subnet-0aaa1111bbb222333', 'subnet-0ccc4444ddd555666'],
  securityGroups: ['sg-0eee7777fff888999'],
};
const VPC_YAML = `build:
  vpc:
    vpcId: ${VPC.vpcId}
    subnets: [${VPC.subnets.join(', ')}]
    securityGroups: [${VPC.securityGroups.join(', ')}]
`;

let projects: Recorded[];
let recorded: Recorded[];
let restore: () => void;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-infra-builds-'));
  const file = path.join(dir, 'coconut.yaml');
  copyFileSync('examples/demo/coconut.yaml', file);
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n${VPC_YAML}`);
  process.env.COCONUT_CONFIG = file;
  const stand = installSstGlobals('prod');
  restore = stand.restore;
  const { default: sstConfig } = (await import('../../sst.config.ts')) as unknown as {
    default: { run(): Promise<Record<string, unknown>> };
  };
  await sstConfig.run();
  recorded = stand.recording.resources;
  projects = stand.recording.of('aws.codebuild.Project');
});
afterAll(() => {
  restore?.();
  delete process.env.COCONUT_CONFIG;
});

interface ProjectArgs {
  name: string;
  environment: { type: string; computeType: string; privilegedMode?: boolean };
  buildTimeout: number;
  vpcConfig?: unknown;
  source: { type: string; buildspec?: string; auth: { type: string; resource: string } };
  [key: string]: unknown;
}
const args = (r: Recorded) => resolveDeep(r.args) as ProjectArgs;
const project = (name: string) => args(projects.find((p) => args(p).name === `coconut-prod-${name}`) as Recorded);
const policyOf = (name: string) => {
  const policy = recorded.find((r) => r.type === 'aws.iam.RolePolicy' && r.name === name) as Recorded;
  return JSON.parse(String(args(policy).policy)) as {
    Statement: { Action: string[]; Resource: string[]; Condition?: unknown }[];
  };
};

describe('CodeBuild projects (recorded sst.config.ts)', () => {
  it('runs no project on Lambda compute, each on BUILD_GENERAL1_SMALL within CodeBuild timeout bounds', () => {
    expect(projects.length).toBeGreaterThanOrEqual(7);
    for (const p of projects) {
      const a = args(p);
      expect(a.environment.type, a.name).toMatch(/^(ARM_CONTAINER|LINUX_CONTAINER)$/);
      expect(a.environment.computeType, a.name).toBe('BUILD_GENERAL1_SMALL');
      expect(a.buildTimeout, a.name).toBeGreaterThanOrEqual(MIN_TIMEOUT_MINUTES);
      expect(a.buildTimeout, a.name).toBeLessThanOrEqual(MAX_TIMEOUT_MINUTES);
    }
  });

  it('puts deploy and rollback builds in the configured VPC, with the ENI permissions CodeBuild needs; not the image build', () => {
    for (const name of ['ansible-deploy', 'ansible-rollback', 'helm-deploy', 'copilot-rollback']) {
      expect(project(name).vpcConfig, name).toEqual({
        vpcId: VPC.vpcId,
        subnets: VPC.subnets,
        securityGroupIds: VPC.securityGroups,
      });
    }
    expect(project('build-image').vpcConfig).toBeUndefined();
    expect(project('build-image').environment.privilegedMode).toBe(true);
    const statements = policyOf('BuildAnsibleDeployPolicy').Statement;
    expect(statements.flatMap((s) => s.Action)).toEqual(
      expect.arrayContaining([
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:CreateNetworkInterfacePermission',
      ]),
    );
    const eni = statements.find((s) => s.Action.includes('ec2:CreateNetworkInterfacePermission'));
    expect(JSON.stringify(eni?.Condition)).toContain(`subnet/${VPC.subnets[0]}`);
    expect(JSON.stringify(eni?.Condition)).toContain('codebuild.amazonaws.com');
  });

  it('clones onTag: build repositories through a CodeConnections connection the image-build role may use', () => {
    const connection = recorded.find((r) => r.type === 'aws.codestarconnections.Connection') as Recorded;
    expect(args(connection)).toMatchObject({ providerType: 'GitHub' });
    expect(String(args(connection).name).length).toBeLessThanOrEqual(32);
    const source = project('build-image').source;
    expect(source).toMatchObject({ type: 'GITHUB', auth: { type: 'CODECONNECTIONS' } });
    expect(source.buildspec).toBe(readFileSync('templates/buildspec/build-image.yml', 'utf8'));
    const statement = policyOf('BuildBuildImagePolicy').Statement.find((s) =>
      s.Action.includes('codeconnections:GetConnectionToken'),
    );
    expect(statement?.Resource).toEqual([source.auth.resource]);
    // The deploy builds keep the S3 archive of this repository.
    expect(project('helm-deploy').source.type).toBe('S3');
  });
});

describe('Build compute per target (infra/build-compute.ts)', () => {
  const helmConfig = (timeout: number) =>
    parseConfig(`
services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: helm, timeout: ${timeout} }
    environments: [{ name: prod }]
`);
  const helm = { name: 'helm-deploy', kind: 'helm', needsDocker: false };

  it('outlasts a one-hour helm wait and its atomic rollback, which Lambda compute (15 minutes) could not', () => {
    const compute = buildCompute(helm, helmConfig(3600));
    expect(compute.timeoutMinutes).toBeGreaterThanOrEqual(2 * 60 + 1);
    expect(compute.type).not.toMatch(/LAMBDA/);
    expect(buildCompute(helm, helmConfig(300)).timeoutMinutes).toBeLessThan(compute.timeoutMinutes);
  });

  it("gives each state machine's CodeBuild task room for the queue and the longest build it may start", () => {
    // A .sync task waits for the queue and the build together (Project.queuedTimeoutInMinutes, then
    // timeoutInMinutes); a task timeout below both fails a build CodeBuild would still finish.
    const config = helmConfig(3600);
    const tasks: { file: string; state: string; timeout: number }[] = [];
    const visit = (file: string, states: Record<string, Record<string, unknown>>) => {
      for (const [state, def] of Object.entries(states)) {
        if (def.Resource === 'arn:aws:states:::codebuild:startBuild.sync')
          tasks.push({ file, state, timeout: Number(def.TimeoutSeconds) });
        const inner = (def.ItemProcessor ?? def.Iterator) as { States?: Record<string, Record<string, unknown>> } | undefined;
        if (inner?.States) visit(file, inner.States);
      }
    };
    for (const file of ['deploy', 'release']) {
      visit(file, JSON.parse(readFileSync(`stepfunctions/${file}.asl.json`, 'utf8')).States);
    }
    expect(tasks.map((t) => `${t.file}:${t.state}`).sort()).toEqual([
      'deploy:Deploy',
      'deploy:DeployStep',
      'deploy:Rollback',
      'release:BuildImage',
    ]);
    for (const spec of buildspecs()) {
      const needed = 60 * (buildCompute(spec, config).timeoutMinutes + QUEUED_TIMEOUT_MINUTES);
      const starters = tasks.filter((t) => (spec.kind === 'build-image' ? t.file === 'release' : t.file === 'deploy'));
      for (const t of starters) expect(t.timeout, `${t.file}:${t.state} starts ${spec.name}`).toBeGreaterThanOrEqual(needed);
    }
  });

  it('runs on x86_64 when build.architecture says so (Regions without ARM_CONTAINER builds)', () => {
    const config = parseConfig(`
services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: helm }
    environments: [{ name: prod }]
build: { architecture: x86_64 }
`);
    expect(buildCompute(helm, config)).toMatchObject({
      type: 'LINUX_CONTAINER',
      image: 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
    });
    expect(buildCompute(helm, helmConfig(300))).toMatchObject({ type: 'ARM_CONTAINER' });
  });
});

describe('coconut.yaml build.vpc', () => {
  const base = `
services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: helm }
    environments: [{ name: prod }]
`;
  it('accepts a VPC and refuses bad ids and CodeBuild limits with clear errors', () => {
    expect(parseConfig(`${base}${VPC_YAML}`).build?.vpc).toEqual(VPC);
    expect(() =>
      parseConfig(
        `${base}build:\n  vpc: { vpcId: vpc-1, subnets: [subnet-0aaa1111bbb222333], securityGroups: [sg-0eee7777fff888999] }\n`,
      ),
    ).toThrow(/build\.vpc\.vpcId.*expected a VPC id like "vpc-0abc1234def567890"/s);
    const many = Array.from({ length: 6 }, (_, i) => `sg-0eee7777fff88899${i}`).join(', ');
    expect(() =>
      parseConfig(`${base}build:\n  vpc: { vpcId: ${VPC.vpcId}, subnets: [${VPC.subnets[0]}], securityGroups: [${many}] }\n`),
    ).toThrow(/at most 5 security groups \(CodeBuild VpcConfig limit\)/);
    expect(() =>
      parseConfig(`${base}build:\n  vpc: { vpcId: ${VPC.vpcId}, subnets: [], securityGroups: [sg-0eee7777fff888999] }\n`),
    ).toThrow(/at least one subnet/);
  });

  it('is part of the JSON Schema `coconut schema` prints', () => {
    const schema = configJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(schema.properties.build?.properties).toHaveProperty('vpc');
  });
});
