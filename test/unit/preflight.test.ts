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
  computeProblem,
  editDistance,
  formatFinding,
  type Lookup,
  preflight,
  requirements,
  type SlackChannelState,
  type SlackChannels,
  suggestion,
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

/** Every kind of thing a config can name: secrets, Copilot, EKS, ECS across Regions, Slack. */
const EVERYTHING = `slack:
  channel: "#deploys"
services:
  - name: web
    image: { registry: ghcr, repository: octo/web, pullSecret: ghcr/pull }
    source: { github: octo/web, pushSecret: ghcr/push }
    target: { kind: copilot, app: shop }
    environments:
      - name: staging
      - name: prod
        approval: { approvers: [U1], channel: "#prod-approvals" }
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, cluster: "eks-{environment}" }
    environments: [{ name: staging }, { name: prod }]
  - name: ops
    image: { registry: dockerhub, repository: octo/ops }
    target: { kind: ansible, inventory: inv.ini, sshKey: ops/ssh, knownHosts: { secret: "ops/hosts-{environment}" } }
    environments: [{ name: staging }, { name: prod }]
  - name: jobs
    image: { registry: ecr, repository: jobs }
    target: { kind: ecs, cluster: main, service: "jobs-{environment}" }
    environments: [{ name: staging }, { name: prod }]
  - name: batch
    image: { registry: ecr, repository: batch }
    target: { kind: ecs, cluster: "b-{environment}", region: us-west-2 }
    environments: [{ name: staging }, { name: prod }]
`;

type Call = [string, string, string, string[]];

/**
 * An account that has exactly `names`; services and Copilot environments are named "parent/name".
 * Every question is recorded as [method, region, parent, names].
 */
function recordingAccount(names: string[], secretStates: Record<string, 'set' | 'no-value' | 'scheduled-for-deletion'> = {}) {
  const has = new Set(names);
  const calls: Call[] = [];
  const lookup =
    (method: string) =>
    async (region: string, asked: string[], parent = ''): Promise<Lookup> => {
      calls.push([method, region, parent, asked]);
      return {
        found: new Set(asked.filter((n) => has.has(parent ? `${parent}/${n}` : n))),
        candidates: names.filter((n) => !n.includes('/') || parent !== ''),
      };
    };
  const reader: AccountReader = {
    alarms: lookup('alarms'),
    ecrRepositories: lookup('ecrRepositories'),
    ecsClusters: lookup('ecsClusters'),
    ecsServices: (region, cluster, asked) => lookup('ecsServices')(region, asked, cluster),
    eksClusters: lookup('eksClusters'),
    copilotApps: lookup('copilotApps'),
    copilotEnvironments: (region, app, asked) => lookup('copilotEnvironments')(region, asked, app),
    secrets: async (region, asked) => {
      calls.push(['secrets', region, '', asked]);
      return new Map(asked.flatMap((n) => (secretStates[n] ? [[n, secretStates[n]] as const] : [])));
    },
    sstStageExists: async (region, app, stage) => {
      calls.push(['sstStageExists', region, app, [stage]]);
      return has.has(`/sst/passphrase/${app}/${stage}`);
    },
  };
  return { reader, calls };
}

describe('Function: requirements of every target kind', () => {
  it('names each secret, Copilot application and environment, EKS and ECS cluster, service and Slack channel once', () => {
    const { config } = parseConfigWithPositions(EVERYTHING);
    const reqs = requirements(config, 'eu-west-1');
    expect(
      reqs.map((r) => [r.kind, r.name, r.region, r.environment ?? '-', r.parent ?? '-', r.service, r.path.join('.')]),
    ).toEqual([
      ['secret', 'ghcr/pull', 'eu-west-1', '-', '-', 'web', 'services.0.image.pullSecret'],
      ['secret', 'ghcr/push', 'eu-west-1', '-', '-', 'web', 'services.0.source.pushSecret'],
      ['copilot-app', 'shop', 'eu-west-1', '-', '-', 'web', 'services.0.target.app'],
      ['copilot-environment', 'staging', 'eu-west-1', 'staging', 'shop', 'web', 'services.0.environments.0.name'],
      ['slack-channel', '#prod-approvals', 'eu-west-1', '-', '-', 'web', 'services.0.environments.1.approval.channel'],
      ['copilot-environment', 'prod', 'eu-west-1', 'prod', 'shop', 'web', 'services.0.environments.1.name'],
      ['ecr-repository', 'api', 'eu-west-1', '-', '-', 'api', 'services.1.image.repository'],
      ['eks-cluster', 'eks-staging', 'eu-west-1', 'staging', '-', 'api', 'services.1.target.cluster'],
      ['eks-cluster', 'eks-prod', 'eu-west-1', 'prod', '-', 'api', 'services.1.target.cluster'],
      ['secret', 'ops/ssh', 'eu-west-1', '-', '-', 'ops', 'services.2.target.sshKey'],
      ['secret', 'ops/hosts-staging', 'eu-west-1', 'staging', '-', 'ops', 'services.2.target.knownHosts.secret'],
      ['secret', 'ops/hosts-prod', 'eu-west-1', 'prod', '-', 'ops', 'services.2.target.knownHosts.secret'],
      ['ecr-repository', 'jobs', 'eu-west-1', '-', '-', 'jobs', 'services.3.image.repository'],
      ['ecs-cluster', 'main', 'eu-west-1', '-', '-', 'jobs', 'services.3.target.cluster'],
      ['ecs-service', 'jobs-staging', 'eu-west-1', 'staging', 'main', 'jobs', 'services.3.target.service'],
      ['ecs-service', 'jobs-prod', 'eu-west-1', 'prod', 'main', 'jobs', 'services.3.target.service'],
      ['ecr-repository', 'batch', 'eu-west-1', '-', '-', 'batch', 'services.4.image.repository'],
      ['ecs-cluster', 'b-staging', 'us-west-2', 'staging', '-', 'batch', 'services.4.target.cluster'],
      ['ecs-service', 'batch', 'us-west-2', 'staging', 'b-staging', 'batch', 'services.4.target.kind'],
      ['ecs-cluster', 'b-prod', 'us-west-2', 'prod', '-', 'batch', 'services.4.target.cluster'],
      ['ecs-service', 'batch', 'us-west-2', 'prod', 'b-prod', 'batch', 'services.4.target.kind'],
      ['slack-channel', '#deploys', 'eu-west-1', '-', '-', '', 'slack.channel'],
    ]);
  });
});

describe('Function: preflight, every kind of finding', () => {
  const EXISTING = [
    'shop',
    'shop/staging',
    'api',
    'eks-staging',
    'jobs',
    'main',
    'main/jobs-prod',
    'b-prod',
    'b-prod/batch',
    'b-staging/batch',
  ];

  it('asks once per kind, Region and parent, and says what is missing with the closest name', async () => {
    const located = parseConfigWithPositions(EVERYTHING, 'coconut.yaml');
    const { reader, calls } = recordingAccount(EXISTING, {
      'ghcr/pull': 'set',
      'ghcr/push': 'no-value',
      'ops/ssh': 'no-value',
      'ops/hosts-staging': 'no-value',
      'ops/hosts-prod': 'scheduled-for-deletion',
    });
    const report = await preflight(located.config, reader, {
      region: 'eu-west-1',
      positionOf: located.positionOf,
      builds: [{ kind: 'helm', compute: 'EC2' }],
    });
    expect(calls).toEqual([
      ['ecrRepositories', 'eu-west-1', '', ['api', 'jobs', 'batch']],
      ['eksClusters', 'eu-west-1', '', ['eks-staging', 'eks-prod']],
      ['ecsClusters', 'eu-west-1', '', ['main']],
      ['ecsClusters', 'us-west-2', '', ['b-staging', 'b-prod']],
      // b-staging does not exist: its service is not asked for.
      ['ecsServices', 'eu-west-1', 'main', ['jobs-staging', 'jobs-prod']],
      ['ecsServices', 'us-west-2', 'b-prod', ['batch']],
      ['copilotApps', 'eu-west-1', '', ['shop']],
      ['copilotEnvironments', 'eu-west-1', 'shop', ['staging', 'prod']],
      ['secrets', 'eu-west-1', '', ['ghcr/pull', 'ghcr/push', 'ops/ssh', 'ops/hosts-staging', 'ops/hosts-prod']],
    ]);
    expect(report.findings.map((f) => `${f.line}:${f.column} ${f.kind} ${f.path}: ${f.message}`)).toEqual([
      '6:45 secret services[0].source.pushSecret: Secrets Manager secret "ghcr/push" in eu-west-1 has no value: set its JSON {"username","password"} with `aws secretsmanager put-secret-value`',
      '10:15 copilot-environment services[0].environments[1].name: Copilot environment "prod" does not exist in application "shop" in eu-west-1 (create it with `copilot env init --app shop --name prod`) (did you mean "b-prod"?)',
      '14:36 eks-cluster services[1].target.cluster: EKS cluster "eks-prod" (environment prod) does not exist in eu-west-1',
      '18:58 secret services[2].target.sshKey: Secrets Manager secret "ops/ssh" in eu-west-1 has no value: set the SSH private key (OpenSSH or PEM text, no passphrase) with `aws secretsmanager put-secret-value`',
      '18:89 secret services[2].target.knownHosts.secret: Secrets Manager secret "ops/hosts-staging" in eu-west-1 has no value: set the known_hosts lines of the hosts with `aws secretsmanager put-secret-value`',
      '18:89 secret services[2].target.knownHosts.secret: Secrets Manager secret "ops/hosts-prod" in eu-west-1 is scheduled for deletion (restore it with `aws secretsmanager restore-secret`)',
      '22:50 ecs-service services[3].target.service: ECS service "jobs-staging" (environment staging) does not exist in cluster "main" in eu-west-1 (did you mean "eks-staging"?)',
      '25:41 ecr-repository services[4].image.repository: ECR repository "batch" does not exist in eu-west-1',
      '26:35 ecs-cluster services[4].target.cluster: ECS cluster "b-staging" (environment staging) does not exist (or is not ACTIVE) in us-west-2',
    ]);
    // Slack has no reader here: its two channels are a note, not counted as checked; the compute check is.
    expect(report.checked).toBe(20 + 1);
    expect(report.notes).toEqual([
      'Slack channels not checked (#prod-approvals, #deploys): set SLACK_BOT_TOKEN to the bot token to check them',
    ]);
    expect(report).not.toHaveProperty('stage');
  });

  it('a missing Copilot application is its finding alone: its environments are not asked for', async () => {
    const located = parseConfigWithPositions(EVERYTHING);
    const { reader, calls } = recordingAccount(EXISTING.filter((n) => n !== 'shop'));
    const report = await preflight(located.config, reader, { region: 'eu-west-1' });
    expect(calls.map((c) => c[0])).not.toContain('copilotEnvironments');
    expect(report.findings.filter((f) => f.kind.startsWith('copilot'))).toEqual([
      {
        kind: 'copilot-app',
        path: 'services[0].target.app',
        message:
          'Copilot application "shop" does not exist in eu-west-1 (Copilot keeps it as the SSM parameter /copilot/applications/shop; create it with `copilot app init shop`)',
      },
    ]);
    // A secret the reader does not mention is missing.
    expect(report.findings.find((f) => f.path === 'services[0].image.pullSecret')?.message).toBe(
      'Secrets Manager secret "ghcr/pull" does not exist in eu-west-1',
    );
    // Without a build list, the compute check is a note and not counted.
    expect(report.notes).toContain('CodeBuild compute per Region: not checked (no build list given)');
    expect(report.checked).toBe(20);
  });

  it('every question that fails is a finding naming what could not be checked, and why', async () => {
    const located = parseConfigWithPositions(EVERYTHING);
    const fail = async () => {
      throw new Error('connect ETIMEDOUT');
    };
    const { reader } = recordingAccount(['main', 'shop', 'b-prod', 'b-staging']);
    const report = await preflight(
      located.config,
      {
        ...reader,
        ecrRepositories: fail,
        eksClusters: async () => {
          throw 'throttled';
        },
        ecsServices: () => Promise.reject(null),
        copilotEnvironments: fail,
        secrets: async () => {
          throw Object.assign(new Error('no permission'), { name: 'AccessDeniedException' });
        },
        sstStageExists: fail,
      },
      { region: 'eu-west-1', stage: 'dev', app: 'myapp' },
    );
    expect(report.stage).toBe('dev');
    // Without positions the findings go by path.
    expect(report.findings.map((f) => f.message)).toEqual([
      'could not check Copilot environment "staging" in eu-west-1: connect ETIMEDOUT',
      'could not check Copilot environment "prod" in eu-west-1: connect ETIMEDOUT',
      'could not check Secrets Manager secret "ghcr/pull" in eu-west-1: AccessDeniedException: no permission',
      'could not check Secrets Manager secret "ghcr/push" in eu-west-1: AccessDeniedException: no permission',
      'could not check ECR repository "api" in eu-west-1: connect ETIMEDOUT',
      'could not check EKS cluster "eks-staging" in eu-west-1: throttled',
      'could not check EKS cluster "eks-prod" in eu-west-1: throttled',
      'could not check Secrets Manager secret "ops/hosts-staging" in eu-west-1: AccessDeniedException: no permission',
      'could not check Secrets Manager secret "ops/hosts-prod" in eu-west-1: AccessDeniedException: no permission',
      'could not check Secrets Manager secret "ops/ssh" in eu-west-1: AccessDeniedException: no permission',
      'could not check ECR repository "jobs" in eu-west-1: connect ETIMEDOUT',
      'could not check ECS service "jobs-staging" in eu-west-1: null',
      'could not check ECS service "jobs-prod" in eu-west-1: null',
      'could not check ECR repository "batch" in eu-west-1: connect ETIMEDOUT',
      'could not check ECS service "batch" in us-west-2: null',
      'could not check ECS service "batch" in us-west-2: null',
    ]);
    expect(report.notes).toContain("could not look for SST's state of myapp/dev in eu-west-1: connect ETIMEDOUT");
  });

  it('asks Slack once per channel: missing (with a suggestion), archived, not a member (one note), unreachable', async () => {
    const yaml = `slack:
  channel: "#deploys"
services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: helm }
    environments:
      - { name: a, approval: { approvers: [U1], channel: "#deploys" } }
      - { name: b, approval: { approvers: [U1], channel: "#old" } }
      - { name: c, approval: { approvers: [U1], channel: "#quiet" } }
      - { name: d, approval: { approvers: [U1], channel: "#secret" } }
      - { name: e, approval: { approvers: [U1], channel: "#deplyos" } }
      - { name: f, approval: { approvers: [U1], channel: "#quiet" } }
      - { name: g, approval: { approvers: [U1], channel: "#down" } }
`;
    const located = parseConfigWithPositions(yaml);
    const asked: string[] = [];
    const states: Record<string, SlackChannelState> = {
      '#deploys': { state: 'ok', member: true },
      '#old': { state: 'archived' },
      '#quiet': { state: 'ok', member: false },
      '#secret': { state: 'missing', candidates: [] },
      '#deplyos': { state: 'missing', candidates: ['#deploys', '#random'] },
    };
    const slack: SlackChannels = {
      channel: async (channel) => {
        asked.push(channel);
        const state = states[channel];
        if (!state) throw new Error('ratelimited');
        return state;
      },
    };
    const report = await preflight(located.config, recordingAccount([]).reader, { region: 'eu-west-1', slack, builds: [] });
    expect(asked).toEqual(['#deploys', '#old', '#quiet', '#secret', '#deplyos', '#down']);
    expect(report.findings.map((f) => [f.path, f.message])).toEqual([
      ['services[0].environments[1].approval.channel', 'Slack channel #old is archived: nothing can be posted there'],
      ['services[0].environments[3].approval.channel', 'Slack channel #secret does not exist or the bot cannot see it'],
      [
        'services[0].environments[4].approval.channel',
        'Slack channel #deplyos does not exist or the bot cannot see it (did you mean "#deploys"?)',
      ],
      ['services[0].environments[6].approval.channel', 'could not check Slack channel #down: ratelimited'],
    ]);
    expect(report.notes).toEqual([
      'the bot is not a member of Slack channel #quiet: invite it (/invite), or give it the chat:write.public scope for a public channel',
    ]);
    // Every channel line counts, the top-level one included, plus the compute check.
    expect(report.checked).toBe(8 + 1);
  });

  it('the SST state of the stage is asked for the app given', async () => {
    const located = parseConfigWithPositions(EVERYTHING);
    const { reader, calls } = recordingAccount([...EXISTING, '/sst/passphrase/myapp/prod']);
    const report = await preflight(located.config, reader, { region: 'eu-west-1', stage: 'prod', app: 'myapp', builds: [] });
    expect(calls).toContainEqual(['sstStageExists', 'eu-west-1', 'myapp', ['prod']]);
    expect(report.notes.filter((n) => n.includes('SST'))).toEqual([]);
  });
});

describe('Function: computeProblem', () => {
  it('names every kind built on Lambda compute, the Regions that offer it and the source', () => {
    const { config } = parseConfigWithPositions(EVERYTHING);
    const problem = computeProblem(config, 'eu-south-2', [
      { kind: 'copilot', compute: 'EC2' },
      { kind: 'ansible', compute: 'LAMBDA' },
      { kind: 'helm', compute: 'LAMBDA' },
    ]);
    expect(problem).toEqual({
      path: ['services', 1, 'target', 'kind'],
      message:
        'CodeBuild Lambda compute, which runs the helm, ansible deploys, is not offered in eu-south-2 (offered in us-east-1, us-east-2, us-west-2, ap-south-1, ap-southeast-1, ap-southeast-2, ap-northeast-1, eu-central-1, eu-west-1, sa-east-1: https://docs.aws.amazon.com/codebuild/latest/userguide/lambda.html#lambda.regions); deploy Coconut to one of those Regions',
    });
    expect(computeProblem(config, 'eu-south-2', [{ kind: 'ecs', compute: 'LAMBDA' }])).toEqual({
      path: ['services', 3, 'target', 'kind'],
      message: expect.stringContaining('which runs the ecs deploys'),
    });
    expect(computeProblem(config, 'eu-south-2', [{ kind: 'build-image', compute: 'LAMBDA' }])).toBeUndefined();
  });
});

describe('Function: closest and suggestion', () => {
  it('prefers the nearest candidate, the first of equals, and ignores case when measuring', () => {
    expect(closest('abcdefgh', ['abcdefxx', 'abcdefgx'])).toBe('abcdefgx');
    expect(closest('abcd', ['abce', 'abcf'])).toBe('abce');
    expect(closest('API-HEALTH', ['api-health'])).toBe('api-health');
    expect(suggestion('api-helth', ['api-health'])).toBe(' (did you mean "api-health"?)');
    expect(suggestion('api', ['billing'])).toBe('');
  });

  it('allows a quarter of the name in edits, and at least two', () => {
    // 16 characters: 4 edits allowed, not 5.
    expect(closest('abcdefghijklmnop', ['abcdefghijklwxyz'])).toBe('abcdefghijklwxyz');
    expect(closest('abcdefghijklmnop', ['abcdefghijkvwxyz'])).toBeUndefined();
    // 3 characters: still 2 edits.
    expect(closest('abc', ['axy'])).toBe('axy');
    expect(closest('abc', ['xyz'])).toBeUndefined();
  });

  it('counts insertions, deletions, substitutions and one swapped pair', () => {
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('abc', 'abxc')).toBe(1);
    expect(editDistance('abxc', 'abc')).toBe(1);
    expect(editDistance('abc', 'axc')).toBe(1);
    expect(editDistance('abcd', 'badc')).toBe(2);
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    // A swap needs both letters crossed, not one.
    expect(editDistance('ab', 'ca')).toBe(2);
    expect(editDistance('xb', 'bz')).toBe(2);
  });
});

describe('Function: formatFinding', () => {
  it('puts file, line and column before the path, as editors jump to them', () => {
    const finding = { kind: 'alarm' as const, path: 'services[0].environments[0].alarms[0]', message: 'missing' };
    expect(formatFinding('coconut.yaml', { ...finding, line: 12, column: 9 })).toBe(
      'coconut.yaml:12:9 services[0].environments[0].alarms[0]: missing',
    );
    expect(formatFinding('coconut.yaml', { ...finding, line: 12 })).toBe(
      'coconut.yaml:12:1 services[0].environments[0].alarms[0]: missing',
    );
    expect(formatFinding('coconut.yaml', finding)).toBe('coconut.yaml services[0].environments[0].alarms[0]: missing');
  });
});

describe('Function: preflight, grouping and order', () => {
  const TWO_CLUSTERS = `services:
  - name: a
    image: { registry: ecr, pullSecret: pull-a, repository: repo-a }
    target: { kind: ecs, cluster: "c-{environment}", service: svc }
    environments: [{ name: one }, { name: two }]
  - name: b
    image: { registry: ecr, repository: repo-b, pullSecret: pull-b }
    target: { kind: copilot, app: shop }
    environments: [{ name: one }]
`;

  it('asks for services cluster by cluster in one Region, and orders findings of one line by column', async () => {
    const located = parseConfigWithPositions(TWO_CLUSTERS);
    const { reader, calls } = recordingAccount(['c-one', 'c-two', 'c-one/svc', 'shop', 'shop/one']);
    const report = await preflight(located.config, reader, { region: 'eu-west-1', positionOf: located.positionOf, builds: [] });
    expect(calls.filter((c) => c[0] === 'ecsServices')).toEqual([
      ['ecsServices', 'eu-west-1', 'c-one', ['svc']],
      ['ecsServices', 'eu-west-1', 'c-two', ['svc']],
    ]);
    expect(report.findings.map((f) => `${f.line}:${f.column} ${f.path}`)).toEqual([
      // Line 3: the secret is checked after the repository but written before it.
      '3:41 services[0].image.pullSecret',
      '3:61 services[0].image.repository',
      '4:63 services[0].target.service',
      // Line 7: the repository comes first on the line though "pullSecret" sorts first by name.
      '7:41 services[1].image.repository',
      '7:61 services[1].image.pullSecret',
    ]);
  });

  it('a missing cluster written without "{environment}" names no environment', async () => {
    const located = parseConfigWithPositions(TWO_CLUSTERS.replace('"c-{environment}"', 'main'));
    const { reader } = recordingAccount(['repo-a', 'repo-b', 'shop', 'shop/one'], { 'pull-a': 'set', 'pull-b': 'set' });
    const report = await preflight(located.config, reader, { region: 'eu-west-1', builds: [] });
    expect(report.findings.map((f) => f.message)).toEqual(['ECS cluster "main" does not exist (or is not ACTIVE) in eu-west-1']);
  });

  it('a failed question about ECS clusters or Copilot applications names that kind', async () => {
    const located = parseConfigWithPositions(TWO_CLUSTERS);
    const { reader } = recordingAccount(['repo-a', 'repo-b']);
    const down = async () => {
      throw new Error('down');
    };
    const report = await preflight(
      located.config,
      { ...reader, ecsClusters: down, copilotApps: down, secrets: async () => new Map() },
      { region: 'eu-west-1', builds: [] },
    );
    expect(report.findings.map((f) => f.message).filter((m) => m.startsWith('could not'))).toEqual([
      'could not check ECS cluster "c-one" in eu-west-1: down',
      'could not check ECS cluster "c-two" in eu-west-1: down',
      'could not check Copilot application "shop" in eu-west-1: down',
    ]);
  });
});
