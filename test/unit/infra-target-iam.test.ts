/**
 * IAM of the deploy targets, checked against the resource ARNs AWS authorizes each call on
 * (Service Authorization Reference) with IAM's matching rules (test/support/iam-policy.ts):
 * - Helm: `aws eks update-kubeconfig` needs eks:DescribeCluster on the cluster it names
 *   (EKS User Guide, "Connect kubectl to an EKS cluster by creating a kubeconfig file":
 *   https://docs.aws.amazon.com/eks/latest/userguide/create-kubeconfig.html), resource
 *   arn:aws:eks:${Region}:${Account}:cluster/${ClusterName}
 *   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelastickubernetesservice.html).
 *   With `cluster: demo-{environment}` that is demo-staging and demo-prod, never the template.
 * - Image build to GHCR / Docker Hub: secretsmanager:GetSecretValue on the push secret, resource
 *   arn:aws:secretsmanager:${Region}:${Account}:secret:${SecretId} where the ARN ends in "-" and six
 *   random characters (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html).
 * - Ansible builds with target.sshKey / knownHosts.secret: secretsmanager:GetSecretValue on exactly
 *   those secrets, the same ARN rule, "{environment}" expanded; nothing when no target names one.
 * - ECS with target.region: UpdateService/DescribeServices on
 *   arn:aws:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}, TagResource on the
 *   task definition arn:aws:ecs:${Region}:${Account}:task-definition/${Family}:${Revision}
 *   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html),
 *   in the target's region; DescribeServiceDeployments / ContinueServiceDeployment on both required resource
 *   types, the service and its service deployment
 *   arn:aws:ecs:${Region}:${Account}:service-deployment/${ClusterName}/${ServiceName}/${ServiceDeploymentId}.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsServices } from '../../infra/ecs.ts';
import type { ResourceRefs } from '../../infra/permissions.ts';
import { statementsFor } from '../../infra/permissions.ts';
import { type PipelineArgs, targetStatements } from '../../infra/pipeline.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { buildEnvironment } from '../../src/core/triggers/plan.ts';
import { releasePlan } from '../../src/core/triggers/start-release.ts';
import { allows, type Grant } from '../support/iam-policy.ts';
import { installSstGlobals, resolveDeep } from '../support/sst-recorder.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

const config = parseConfig(`
services:
  - name: web
    image: { registry: ecr, repository: web }
    target: { kind: helm, cluster: 'demo-{environment}' }
    environments: [{ name: staging }, { name: prod }]
  - name: api
    image: { registry: ghcr, repository: octo/api }
    source: { github: octo/api, onTag: build, pushSecret: coconut/ghcr-push }
    target: { kind: helm, cluster: shared }
    environments: [{ name: staging }]
  - name: hub
    image: { registry: dockerhub, repository: octo/hub }
    source: { github: octo/hub, onTag: deploy, pushSecret: coconut/not-built-here }
    target: { kind: helm }
    environments: [{ name: staging }]
  - name: shop
    image: { registry: ecr, repository: shop }
    target:
      kind: ansible
      inventory: ops/hosts.yml
      sshKey: 'shop/ssh-{environment}'
      knownHosts: { secret: shop/known-hosts }
    environments: [{ name: staging }, { name: prod }]
  - name: legacy
    image: { registry: ecr, repository: legacy }
    target: { kind: ansible, inventory: ops/legacy.yml, sshKey: legacy-ssh, knownHosts: { file: ops/known_hosts } }
    environments: [{ name: prod }]
  - name: orders
    image: { registry: ecr, repository: orders }
    target: { kind: ecs, cluster: 'demo-{environment}', region: eu-west-1 }
    environments: [{ name: staging }, { name: prod }]
  - name: billing
    image: { registry: ecr, repository: billing }
    target: { kind: ecs, cluster: main }
    environments: [{ name: prod }]
  - name: ledger
    image: { registry: ecr, repository: ledger }
    target: { kind: ecs, cluster: 'arn:aws:ecs:ap-southeast-2:210987654321:cluster/finance' }
    environments: [{ name: prod }]
`);

let restore: () => void;
beforeAll(() => {
  restore = installSstGlobals('test').restore;
});
afterAll(() => restore?.());

function buildGrants(kind: string): Grant[] {
  const args = { config, region: REGION, account: ACCOUNT } as unknown as PipelineArgs;
  return targetStatements(kind, args).map((s) => resolveDeep({ actions: s.Action, resources: s.Resource }) as Grant);
}

function functionGrants(capability: 'ecsTarget'): Grant[] {
  const refs = {
    region: REGION,
    account: ACCOUNT,
    tableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/t`,
    machines: {},
    ecrRepositories: [],
    buildProjectPrefix: 'coconut-test',
    ecsServices: ecsServices(config),
  } as unknown as ResourceRefs;
  return statementsFor([capability], refs).map((s) => resolveDeep(s) as Grant);
}

describe('IAM: Helm builds (defect 8)', () => {
  it('may describe the cluster of every environment, {environment} expanded, and no other', () => {
    const grants = buildGrants('helm');
    for (const cluster of ['demo-staging', 'demo-prod', 'shared']) {
      expect(allows(grants, 'eks:DescribeCluster', `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${cluster}`), cluster).toBe(true);
    }
    expect(allows(grants, 'eks:DescribeCluster', `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/demo-dev`)).toBe(false);
    expect(JSON.stringify(grants)).not.toContain('{environment}');
  });
});

describe('IAM: image builds (defect 10)', () => {
  it('may read the push secret of each onTag: build service, by name with the six-character suffix only', () => {
    const grants = buildGrants('build-image');
    const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;
    expect(allows(grants, 'secretsmanager:GetSecretValue', secret('coconut/ghcr-push-AbC123'))).toBe(true);
    // Another secret whose name merely starts the same, and the secret of a service that builds nothing.
    expect(allows(grants, 'secretsmanager:GetSecretValue', secret('coconut/ghcr-push-extra-AbC123'))).toBe(false);
    expect(allows(grants, 'secretsmanager:GetSecretValue', secret('coconut/not-built-here-AbC123'))).toBe(false);
  });

  it('grants the secret the build is handed and reads: the release plan passes it, the buildspec reads that variable', () => {
    const service = config.services.find((s) => s.name === 'api');
    const plan = releasePlan(service as NonNullable<typeof service>, { repository: 'octo/api', tag: '1.0.0' });
    expect(plan.buildEnv).toContainEqual({ Name: 'COCONUT_REGISTRY_SECRET', Value: 'coconut/ghcr-push', Type: 'PLAINTEXT' });
    const release = JSON.parse(readFileSync('stepfunctions/release.asl.json', 'utf8'));
    expect(release.States.BuildImage.Parameters['EnvironmentVariablesOverride.$']).toBe('$.buildEnv');
    const buildspec = readFileSync('templates/buildspec/build-image.yml', 'utf8');
    expect(buildspec).toContain('aws secretsmanager get-secret-value --secret-id "$COCONUT_REGISTRY_SECRET"');
  });
});

describe('IAM: Ansible builds reach their hosts over SSH', () => {
  const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;

  it('may read the SSH key and known_hosts secrets of every ansible target, per environment, and no other', () => {
    const grants = buildGrants('ansible');
    for (const name of ['shop/ssh-staging', 'shop/ssh-prod', 'shop/known-hosts', 'legacy-ssh']) {
      expect(allows(grants, 'secretsmanager:GetSecretValue', secret(`${name}-AbC123`)), name).toBe(true);
    }
    expect(allows(grants, 'secretsmanager:GetSecretValue', secret('shop/ssh-dev-AbC123'))).toBe(false);
    expect(allows(grants, 'secretsmanager:GetSecretValue', secret('legacy-ssh-extra-AbC123'))).toBe(false);
    expect(allows(grants, 'secretsmanager:GetSecretValue', secret('coconut/ghcr-push-AbC123'))).toBe(false);
    expect(
      allows(grants, 'secretsmanager:GetSecretValue', `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:legacy-ssh-AbC123`),
    ).toBe(false);
    expect(JSON.stringify(grants)).not.toContain('{environment}');
    // Only reads: nothing that could change or list secrets.
    expect(grants.flatMap((g) => g.actions)).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('grants nothing when no ansible target names a secret', () => {
    const plain = parseConfig(`
services:
  - name: demo
    image: { registry: ecr, repository: demo }
    target: { kind: ansible, inventory: ops/hosts.yml }
    environments: [{ name: prod }]
`);
    const args = { config: plain, region: REGION, account: ACCOUNT } as unknown as PipelineArgs;
    expect(targetStatements('ansible', args)).toEqual([]);
  });

  it('grants the secrets the plan hands the build, which the buildspecs read by those variables', () => {
    const shop = config.services.find((s) => s.name === 'shop') as (typeof config.services)[number];
    const vars = new Map(
      buildEnvironment(shop, 'prod', 'd', { registry: 'ecr', repository: 'shop', tag: '1' }, 'deploy').map((v) => [
        v.Name,
        v.Value,
      ]),
    );
    expect(vars.get('COCONUT_ANSIBLE_SSH_KEY_SECRET')).toBe('shop/ssh-prod');
    expect(vars.get('COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET')).toBe('shop/known-hosts');
    const script = readFileSync('templates/buildspec/scripts/ansible-ssh.sh', 'utf8');
    expect(script).toMatch(/^key_secret=\$\{COCONUT_ANSIBLE_SSH_KEY_SECRET:-\}$/m);
    expect(script).toMatch(/^hosts_secret=\$\{COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET:-\}$/m);
    expect(script).toContain('aws secretsmanager get-secret-value --secret-id="$key_secret"');
    expect(script).toContain('aws secretsmanager get-secret-value --secret-id="$hosts_secret"');
    for (const step of ['deploy', 'rollback']) {
      expect(readFileSync(`templates/buildspec/ansible-${step}.yml`, 'utf8')).toContain(
        'bash templates/buildspec/scripts/ansible-ssh.sh "$ssh_dir"',
      );
    }
  });
});

describe('IAM: ECS targets with their own region (defect 14)', () => {
  it("grants the services in the target's region, and the others in the pipeline's", () => {
    const grants = functionGrants('ecsTarget');
    const service = (region: string, path: string) => `arn:aws:ecs:${region}:${ACCOUNT}:service/${path}`;
    for (const action of ['ecs:UpdateService', 'ecs:DescribeServices']) {
      expect(allows(grants, action, service('eu-west-1', 'demo-staging/orders'))).toBe(true);
      expect(allows(grants, action, service('eu-west-1', 'demo-prod/orders'))).toBe(true);
      expect(allows(grants, action, service(REGION, 'main/billing'))).toBe(true);
      expect(allows(grants, action, service(REGION, 'demo-staging/orders'))).toBe(false);
    }
    // Canary / linear rollouts: the service deployments of exactly those services (resource type service-deployment).
    const deployment = (region: string, path: string) =>
      `arn:aws:ecs:${region}:${ACCOUNT}:service-deployment/${path}/EZe5RNVLH6P`;
    for (const action of ['ecs:DescribeServiceDeployments', 'ecs:ContinueServiceDeployment']) {
      // Both resource types are required: the service deployment and its service.
      expect(allows(grants, action, service('eu-west-1', 'demo-prod/orders'))).toBe(true);
      expect(allows(grants, action, deployment('eu-west-1', 'demo-prod/orders'))).toBe(true);
      expect(allows(grants, action, deployment(REGION, 'main/billing'))).toBe(true);
      expect(allows(grants, action, deployment(REGION, 'demo-prod/orders'))).toBe(false);
      expect(allows(grants, action, deployment('eu-west-1', 'demo-prod/other'))).toBe(false);
    }
    expect(allows(grants, 'ecs:TagResource', `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/orders:7`)).toBe(true);
    expect(allows(grants, 'ecs:TagResource', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/billing:3`)).toBe(true);
    expect(allows(grants, 'ecs:TagResource', `arn:aws:ecs:ap-south-1:${ACCOUNT}:task-definition/orders:7`)).toBe(false);
  });

  it("calls and grants a cluster given as an ARN in that ARN's region and account", () => {
    const ledger = config.services.find((s) => s.name === 'ledger') as (typeof config.services)[number];
    const vars = new Map(
      buildEnvironment(ledger, 'prod', 'd', { registry: 'ecr', repository: 'ledger', tag: '1' }, 'deploy').map((v) => [
        v.Name,
        v.Value,
      ]),
    );
    expect(vars.get('COCONUT_ECS_REGION')).toBe('ap-southeast-2');
    const grants = functionGrants('ecsTarget');
    expect(allows(grants, 'ecs:UpdateService', 'arn:aws:ecs:ap-southeast-2:210987654321:service/finance/ledger')).toBe(true);
    expect(allows(grants, 'ecs:UpdateService', `arn:aws:ecs:${REGION}:${ACCOUNT}:service/finance/ledger`)).toBe(false);
    expect(allows(grants, 'iam:PassRole', 'arn:aws:iam::210987654321:role/ledger-task')).toBe(true);
  });
});
