/**
 * coconut.yaml for the helm, copilot and ecs targets, and the build variables each plan hands to its
 * deploy step: per-environment names, image names by registry, values files, alarms, rollback revisions.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { configJsonSchema } from '../../src/core/config/schema.ts';
import { configWarnings } from '../../src/core/config/warnings.ts';
import type { ConfigError } from '../../src/core/model/errors.ts';
import { buildPlan, rollbackEnvironment } from '../../src/core/triggers/plan.ts';

const yaml = (target: string, registry = 'ecr', repository = 'team/web') => `
services:
  - name: web
    image: { registry: ${registry}, repository: ${repository} }
    target: ${target}
    environments:
      - { name: staging, alarms: [web-staging-5xx, web-staging-latency] }
      - { name: prod, alarms: [web-prod-5xx] }
`;
const digest = `sha256:${'c'.repeat(64)}`;
const image = { registry: 'ecr' as const, repository: 'team/web', tag: '2.0.0', digest };

function vars(text: string, env = 0, registry: 'ecr' | 'ghcr' | 'dockerhub' = 'ecr') {
  const service = parseConfig(text).services[0]!;
  const plan = buildPlan(service, { ...image, registry });
  return Object.fromEntries(plan.environments[env]!.buildEnv.map((v) => [v.Name, v.Value]));
}

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, 'c.yaml');
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected an error');
}

describe('Config and plan: helm target', () => {
  it('resolves {environment} in release, namespace and cluster, and passes values files and pull secrets', () => {
    const text = yaml(`
      kind: helm
      namespace: web-{environment}
      cluster: eks-{environment}
      valuesFiles: ['deploy/values.yaml', 'deploy/values-{environment}.yaml']
      imagePullSecrets: [ghcr-pull]
      timeout: 10m`);
    expect(vars(text, 1)).toMatchObject({
      COCONUT_HELM_RELEASE: 'web',
      COCONUT_HELM_NAMESPACE: 'web-prod',
      COCONUT_EKS_CLUSTER: 'eks-prod',
      COCONUT_HELM_TIMEOUT: '600s',
      COCONUT_HELM_CHART: 'templates/helm/coconut-service',
      COCONUT_HELM_VALUES_FILES: 'deploy/values.yaml,deploy/values-prod.yaml',
      COCONUT_HELM_IMAGE_PULL_SECRETS: 'ghcr-pull',
      COCONUT_IMAGE_DIGEST: digest,
      // ECR's host depends on the build's account and region: derived in the buildspec.
      COCONUT_IMAGE_NAME: '',
    });
  });

  it('names the image by registry, or as target.imageRepository says', () => {
    expect(vars(yaml('{ kind: helm }', 'ghcr', 'acme/web'), 0, 'ghcr').COCONUT_IMAGE_NAME).toBe('ghcr.io/acme/web');
    expect(vars(yaml('{ kind: helm }', 'dockerhub', 'nginx'), 0, 'dockerhub').COCONUT_IMAGE_NAME).toBe('docker.io/library/nginx');
    expect(
      vars(yaml('{ kind: helm, imageRepository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web }')).COCONUT_IMAGE_NAME,
    ).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web');
  });

  it.each([
    ['{ kind: helm, namespace: "Web_{environment}" }', 'services[0].target.namespace', 'expected a Kubernetes namespace name'],
    ['{ kind: helm, valuesFiles: ["../secrets.yaml"] }', 'services[0].target.valuesFiles[0]', 'no ".."'],
    ['{ kind: helm, valuesFiles: ["-f.yaml"] }', 'services[0].target.valuesFiles[0]', 'relative to the repository root'],
    ['{ kind: helm, imagePullSecrets: ["a,b"] }', 'services[0].target.imagePullSecrets[0]', 'expected a Kubernetes secret name'],
    ['{ kind: helm, imageRepository: "ghcr.io/acme/web:latest" }', 'services[0].target.imageRepository', 'without tag'],
    [`{ kind: helm, release: "r-{environment}-${'x'.repeat(50)}" }`, 'services[0].target.release', 'at most 53'],
  ])('rejects %s at %s', (target, where, message) => {
    const error = errorOf(yaml(target));
    expect(error.issues[0]?.path).toBe(where);
    expect(error.message).toContain(message);
  });
});

describe('Config and plan: copilot target', () => {
  it('passes app, service and workspace, and warns once that the Copilot CLI is past end of support', () => {
    const text = yaml('{ kind: copilot, app: shop, type: Backend Service, workspace: services/web }');
    expect(vars(text)).toMatchObject({
      COCONUT_COPILOT_APP: 'shop',
      COCONUT_COPILOT_SERVICE: 'web',
      COCONUT_COPILOT_WORKSPACE: 'services/web',
    });
    const config = parseConfig(text);
    expect(config.services[0]?.target).toMatchObject({ type: 'Backend Service' });
    const warnings = configWarnings(config);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^AWS ended support for the Copilot CLI on 2026-06-12 \(web deploys with it\)/);
    expect(warnings[0]).toContain('target.kind: ecs');
    expect(configWarnings(parseConfig(yaml('{ kind: helm }')))).toEqual([]);
  });

  it('rejects an unknown manifest type, naming the two it knows', () => {
    expect(errorOf(yaml('{ kind: copilot, app: shop, type: Worker Service }')).message).toContain(
      'expected "Load Balanced Web Service" or "Backend Service"',
    );
  });
});

describe('Config and plan: ecs target', () => {
  it('passes cluster, service, container, region and the environment alarms', () => {
    const text = yaml('{ kind: ecs, cluster: "main-{environment}", container: app, region: eu-west-1 }');
    expect(vars(text, 0)).toMatchObject({
      COCONUT_ECS_CLUSTER: 'main-staging',
      COCONUT_ECS_SERVICE: 'web',
      COCONUT_ECS_CONTAINER: 'app',
      COCONUT_ECS_REGION: 'eu-west-1',
      COCONUT_ECS_ALARMS: 'web-staging-5xx,web-staging-latency',
    });
    expect(vars(text, 1).COCONUT_ECS_ALARMS).toBe('web-prod-5xx');
    expect(parseConfig(text).services[0]?.target.kind).toBe('ecs');
  });

  it('rejects a bad cluster and a bad region', () => {
    expect(errorOf(yaml('{ kind: ecs, cluster: "main cluster" }')).message).toContain('expected an ECS cluster name or ARN');
    expect(errorOf(yaml('{ kind: ecs, cluster: main, region: europe }')).message).toContain('expected an AWS region');
  });

  it('is offered by the JSON Schema for editors', () => {
    expect(JSON.stringify(configJsonSchema())).toContain('"const":"ecs"');
  });
});

describe('Config and plan: ansible target SSH access', () => {
  it('passes the key and known_hosts secret NAMES (never values) and the user, {environment} expanded', () => {
    const text = yaml(`
      kind: ansible
      inventory: ops/hosts.yml
      sshKey: 'web/ssh-{environment}'
      knownHosts: { secret: 'web/known-hosts-{environment}' }
      user: deploy`);
    expect(vars(text, 1)).toMatchObject({
      COCONUT_ANSIBLE_SSH_KEY_SECRET: 'web/ssh-prod',
      COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET: 'web/known-hosts-prod',
      COCONUT_ANSIBLE_REMOTE_USER: 'deploy',
    });
    expect(vars(text, 1)).not.toHaveProperty('COCONUT_ANSIBLE_KNOWN_HOSTS_FILE');
    const file = vars(
      yaml("{ kind: ansible, inventory: i.yml, sshKey: k, knownHosts: { file: 'ops/known_hosts.{environment}' } }"),
    );
    expect(file.COCONUT_ANSIBLE_KNOWN_HOSTS_FILE).toBe('ops/known_hosts.staging');
  });

  it('sets no SSH variable when the target names none (local demo hosts)', () => {
    expect(Object.keys(vars(yaml('{ kind: ansible, inventory: i.yml }'))).filter((k) => /SSH|KNOWN|REMOTE/.test(k))).toEqual([]);
  });

  it.each([
    ['{ kind: ansible, inventory: i.yml, sshKey: k }', 'services[0].target.knownHosts', 'sshKey needs knownHosts'],
    [
      '{ kind: ansible, inventory: i.yml, sshKey: k, knownHosts: { secret: a, file: b } }',
      'services[0].target.knownHosts',
      'expected exactly one of knownHosts.secret',
    ],
    ['{ kind: ansible, inventory: i.yml, knownHosts: {} }', 'services[0].target.knownHosts', 'expected exactly one'],
    ['{ kind: ansible, inventory: i.yml, knownHosts: { file: ../hosts } }', 'services[0].target.knownHosts.file', 'no ".."'],
    [
      '{ kind: ansible, inventory: i.yml, sshKey: "-----BEGIN KEY", knownHosts: { file: h } }',
      'services[0].target.sshKey',
      'never its value',
    ],
    [
      '{ kind: ansible, inventory: i.yml, sshKey: "a b", knownHosts: { file: h } }',
      'services[0].target.sshKey',
      'NAME of a Secrets Manager',
    ],
    ['{ kind: ansible, inventory: i.yml, user: "root; rm" }', 'services[0].target.user', 'expected a remote user name'],
    ['{ kind: ansible, inventory: i.yml, knownHosts: { file: h, strict: no } }', 'services[0].target.knownHosts', 'strict'],
  ])('rejects %s at %s', (target, where, message) => {
    const error = errorOf(yaml(target));
    expect(error.issues[0]?.path).toBe(where);
    expect(error.message).toContain(message);
  });

  it('is offered by the JSON Schema for editors', () => {
    const schema = JSON.stringify(configJsonSchema());
    for (const key of ['"sshKey"', '"knownHosts"', '"user"']) expect(schema).toContain(key);
  });
});

describe('Rollback variables', () => {
  it('carry the recorded target revision of the known-good version, empty when none was recorded', () => {
    const deploy = buildPlan(parseConfig(yaml('{ kind: helm }')).services[0]!, image).environments[0]!.buildEnv;
    const to = (revision?: string) =>
      Object.fromEntries(
        rollbackEnvironment(deploy, { version: '1.9.0', digest, ...(revision ? { revision } : {}) }).map((v) => [
          v.Name,
          v.Value,
        ]),
      );
    expect(to('7')).toMatchObject({ COCONUT_ACTION: 'rollback', COCONUT_VERSION: '1.9.0', COCONUT_ROLLBACK_REVISION: '7' });
    expect(to().COCONUT_ROLLBACK_REVISION).toBe('');
    expect(rollbackEnvironment(deploy, { version: '1.9.0' }).filter((v) => v.Name === 'COCONUT_ROLLBACK_REVISION')).toHaveLength(
      1,
    );
  });
});
