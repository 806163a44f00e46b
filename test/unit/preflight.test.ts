/**
 * The preflight domain: what coconut.yaml requires of the account (with paths and lines), the
 * CodeBuild Lambda-compute Region rule, suggestions, and what happens when a question fails.
 * The account here is an in-memory AccountReader (our own port, not a platform stand-in); the
 * adapters meet moto_server in test/integration/moto/preflight.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigWithPositions } from '../../src/core/config/load.ts';
import {
  type AccountReader,
  CODEBUILD_LAMBDA_REGIONS,
  closest,
  editDistance,
  type Lookup,
  preflight,
  requirements,
} from '../../src/core/config/preflight.ts';
import { commandActions, ROOT } from '../support/code-graph.ts';

const YAML = `services:
  - name: api
    image:
      registry: ecr
      repository: demo-api
    target:
      kind: ecs
      cluster: demo-{environment}
      region: eu-west-1
    environments:
      - name: staging
      - name: prod
        alarms: [api-prod-5xx]
  - name: ops
    image:
      registry: ghcr
      repository: octo/ops
    target:
      kind: ansible
      inventory: inventory.ini
    environments:
      - name: prod
        alarms: [api-prod-5xx]
`;

/** An account that has exactly these names, in every Region. */
function account(names: string[], overrides: Partial<AccountReader> = {}): AccountReader {
  const has = new Set(names);
  const lookup = async (_region: string, asked: string[]): Promise<Lookup> => ({
    found: new Set(asked.filter((n) => has.has(n))),
    candidates: names,
  });
  return {
    alarms: lookup,
    ecrRepositories: lookup,
    ecsClusters: lookup,
    ecsServices: (region, _cluster, asked) => lookup(region, asked),
    eksClusters: lookup,
    copilotApps: lookup,
    copilotEnvironments: (region, _app, asked) => lookup(region, asked),
    secrets: async (_region, asked) => new Map(asked.map((n) => [n, has.has(n) ? 'set' : 'missing'] as const)),
    sstStageExists: async (_region, app, stage) => has.has(`/sst/passphrase/${app}/${stage}`),
    ...overrides,
  };
}

describe('Function: requirements', () => {
  it('expands "{environment}" per environment, uses the target Region and the default service name', () => {
    const { config } = parseConfigWithPositions(YAML);
    const reqs = requirements(config, 'us-east-1');
    expect(reqs.map((r) => [r.kind, r.name, r.region, r.environment ?? '', r.path.join('.')])).toEqual([
      ['ecr-repository', 'demo-api', 'us-east-1', '', 'services.0.image.repository'],
      ['ecs-cluster', 'demo-staging', 'eu-west-1', 'staging', 'services.0.target.cluster'],
      ['ecs-service', 'api', 'eu-west-1', 'staging', 'services.0.target.kind'],
      ['alarm', 'api-prod-5xx', 'us-east-1', '', 'services.0.environments.1.alarms.0'],
      ['ecs-cluster', 'demo-prod', 'eu-west-1', 'prod', 'services.0.target.cluster'],
      ['ecs-service', 'api', 'eu-west-1', 'prod', 'services.0.target.kind'],
      ['alarm', 'api-prod-5xx', 'us-east-1', '', 'services.1.environments.0.alarms.0'],
    ]);
  });
});

describe('Function: requirements of ansible SSH access', () => {
  it('checks the SSH key and known_hosts secrets: once when shared, per environment when templated', () => {
    const { config } = parseConfigWithPositions(`services:
  - name: ops
    image: { registry: ghcr, repository: octo/ops }
    target:
      kind: ansible
      inventory: inventory.ini
      sshKey: 'ops/ssh-{environment}'
      knownHosts: { secret: ops/known-hosts }
    environments: [{ name: staging }, { name: prod }]
`);
    const secrets = requirements(config, 'us-east-1').filter((r) => r.kind === 'secret');
    expect(secrets.map((r) => [r.name, r.environment ?? '', r.path.join('.')])).toEqual([
      ['ops/ssh-staging', 'staging', 'services.0.target.sshKey'],
      ['ops/known-hosts', '', 'services.0.target.knownHosts.secret'],
      ['ops/ssh-prod', 'prod', 'services.0.target.sshKey'],
    ]);
  });
});

describe('Function: preflight', () => {
  it('reports each line naming a missing thing, in file order, with line and column', async () => {
    const located = parseConfigWithPositions(YAML, 'coconut.yaml');
    const report = await preflight(located.config, account(['demo-api', 'demo-staging', 'api']), {
      region: 'us-east-1',
      positionOf: located.positionOf,
      builds: [],
    });
    expect(report.findings.map((f) => [f.line, f.column, f.path, f.message])).toEqual([
      [
        8,
        16,
        'services[0].target.cluster',
        'ECS cluster "demo-prod" (environment prod) does not exist (or is not ACTIVE) in eu-west-1',
      ],
      [13, 18, 'services[0].environments[1].alarms[0]', 'CloudWatch alarm "api-prod-5xx" does not exist in us-east-1'],
      [23, 18, 'services[1].environments[0].alarms[0]', 'CloudWatch alarm "api-prod-5xx" does not exist in us-east-1'],
    ]);
  });

  it('a question the account refuses becomes a finding that says so, not a pass', async () => {
    const located = parseConfigWithPositions(YAML);
    const denied = Object.assign(new Error('User is not authorized to perform: cloudwatch:DescribeAlarms'), {
      name: 'AccessDenied',
    });
    const report = await preflight(
      located.config,
      account(['demo-api', 'demo-staging', 'demo-prod', 'api'], {
        alarms: async () => {
          throw denied;
        },
      }),
      { region: 'us-east-1', builds: [] },
    );
    expect(report.findings.map((f) => f.message)).toEqual([
      'could not check CloudWatch alarm "api-prod-5xx" in us-east-1: AccessDenied: User is not authorized to perform: cloudwatch:DescribeAlarms',
      'could not check CloudWatch alarm "api-prod-5xx" in us-east-1: AccessDenied: User is not authorized to perform: cloudwatch:DescribeAlarms',
    ]);
  });

  // CodeBuild User Guide, "Which regions support AWS Lambda compute in CodeBuild?"
  // (https://docs.aws.amazon.com/codebuild/latest/userguide/lambda.html#lambda.regions):
  // Europe (Paris) eu-west-3 is not among them; Europe (Ireland) eu-west-1 is.
  it('flags a Region without CodeBuild Lambda compute when a target builds on it', async () => {
    const located = parseConfigWithPositions(YAML);
    const builds = [
      { kind: 'ansible', compute: 'LAMBDA' as const },
      { kind: 'build-image', compute: 'EC2' as const },
    ];
    const all = account(['demo-api', 'demo-staging', 'demo-prod', 'api', 'api-prod-5xx']);
    const paris = await preflight(located.config, all, { region: 'eu-west-3', positionOf: located.positionOf, builds });
    expect(paris.findings).toHaveLength(1);
    expect(paris.findings[0]).toMatchObject({ kind: 'compute', path: 'services[1].target.kind', line: 19 });
    expect(paris.findings[0]?.message).toContain(
      'CodeBuild Lambda compute, which runs the ansible deploys, is not offered in eu-west-3',
    );
    const ireland = await preflight(located.config, all, { region: 'eu-west-1', builds });
    expect(ireland.findings).toEqual([]);
    // ...and when every build runs on EC2, any Region will do.
    const ec2 = await preflight(located.config, all, { region: 'eu-west-3', builds: [{ kind: 'ansible', compute: 'EC2' }] });
    expect(ec2.findings).toEqual([]);
    expect(CODEBUILD_LAMBDA_REGIONS).toHaveLength(10);
  });

  it('without a bot token the Slack channels are a note, not a finding', async () => {
    const located = parseConfigWithPositions(`slack:\n  channel: "#deploys"\n${YAML}`);
    const report = await preflight(located.config, account(['demo-api', 'demo-staging', 'demo-prod', 'api', 'api-prod-5xx']), {
      region: 'us-east-1',
      builds: [],
    });
    expect(report.findings).toEqual([]);
    expect(report.notes).toEqual(['Slack channels not checked (#deploys): set SLACK_BOT_TOKEN to the bot token to check them']);
  });
});

describe('Option: stage', () => {
  it('notes a stage SST has no state for (no secret set yet), and nothing once it has', async () => {
    const located = parseConfigWithPositions(YAML);
    const names = ['demo-api', 'demo-staging', 'demo-prod', 'api', 'api-prod-5xx'];
    const fresh = await preflight(located.config, account(names), { region: 'eu-west-1', stage: 'prod', builds: [] });
    expect(fresh.findings).toEqual([]);
    expect(fresh.notes).toEqual([
      'SST has no state for coconut/prod in eu-west-1 (no SSM parameter /sst/passphrase/coconut/prod): no secret has been set for stage prod here yet; set them with `npx sst secret set NAME VALUE --stage prod` before `sst deploy --stage prod`',
    ]);
    const known = await preflight(located.config, account([...names, '/sst/passphrase/coconut/prod']), {
      region: 'eu-west-1',
      stage: 'prod',
      builds: [],
    });
    expect(known.notes).toEqual([]);
  });
});

describe('Function: closest', () => {
  it('suggests the nearest existing name within a few edits, counting a swapped pair as one', () => {
    expect(editDistance('healht', 'health')).toBe(1);
    expect(closest('demo-api-prod-healht', ['demo-api-prod-health', 'demo-api-staging-health'])).toBe('demo-api-prod-health');
    expect(closest('api', ['billing', 'search'])).toBeUndefined();
    expect(closest('same', ['same'])).toBeUndefined();
  });
});

describe('docs/cli.md', () => {
  it('lists exactly the IAM actions the preflight adapter sends (read from its SDK commands)', () => {
    const docs = readFileSync(path.join(ROOT, 'docs/cli.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## Before a deploy: `coconut preflight`'));
    const iam = section.slice(
      section.indexOf('IAM for the caller'),
      section.indexOf('\n\n', section.indexOf('IAM for the caller')),
    );
    const documented = new Set([...iam.matchAll(/`([a-z0-9]+:[A-Za-z]+)`/g)].map((m) => m[1]));
    const sent = new Set(commandActions('src/aws/preflight-reader.ts').values());
    expect([...documented].sort()).toEqual([...sent].sort());
    // Read-only: Describe, List and Get only.
    for (const action of sent) expect(action).toMatch(/:(Describe|List|Get)/);
  });
});
