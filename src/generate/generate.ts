/**
 * `coconut generate`: scaffolds for one service of coconut.yaml, rendered from the templates/ that
 * Coconut itself ships and tests (so a scaffold is never staler than the pipeline that deploys it).
 * Pure: it reads templates through a TemplateSource and returns files; the CLI writes them.
 * YAML templates are edited as documents (comments kept), never by text substitution, so every
 * output stays as valid — and as lint-clean — as the template it came from.
 */
import { Document, parseDocument } from 'yaml';
import type { CoconutConfig, EnvironmentConfig, ServiceConfig } from '../core/config/schema.ts';
import { copilotNotice } from '../core/config/warnings.ts';
import { imageName } from '../core/triggers/plan.ts';

export const GENERATE_KINDS = ['helm', 'copilot', 'ecs', 'ansible', 'ci', 'dockerfile'] as const;
export type GenerateKind = (typeof GENERATE_KINDS)[number];

/** Reads files of the Coconut checkout (paths relative to its root). */
export interface TemplateSource {
  read(file: string): string;
  /** Files below a folder, recursively, as paths relative to that folder. */
  list(dir: string): string[];
}

export interface GeneratedFile {
  /** Relative to the output folder. */
  path: string;
  content: string;
}

export interface Generation {
  files: GeneratedFile[];
  /** Commands or edits to do next, in order. */
  next: string[];
  /** Things the user should know (shown once). */
  notes: string[];
}

export class GenerateError extends Error {
  override name = 'GenerateError';
}

export function findService(config: CoconutConfig, name: string): ServiceConfig {
  const service = config.services.find((s) => s.name === name);
  if (!service) {
    throw new GenerateError(`no service "${name}" in coconut.yaml (services: ${config.services.map((s) => s.name).join(', ')})`);
  }
  return service;
}

export function generate(kind: GenerateKind, service: ServiceConfig, source: TemplateSource, out = '.'): Generation {
  const generation = GENERATORS[kind](service, source, out);
  const configured = service.target.kind;
  const deployable = kind === 'helm' || kind === 'copilot' || kind === 'ecs' || kind === 'ansible';
  if (deployable && configured !== kind) {
    generation.notes.push(
      `${service.name} deploys with target.kind "${configured}" today; to deploy with these files, change its target in coconut.yaml to kind "${kind}".`,
    );
  }
  return generation;
}

const GENERATORS: Record<GenerateKind, (service: ServiceConfig, source: TemplateSource, out: string) => Generation> = {
  helm: generateHelm,
  copilot: generateCopilot,
  ecs: generateEcs,
  ansible: generateAnsible,
  ci: generateCi,
  dockerfile: generateDockerfile,
};

/** Edits a YAML template as a document; `undefined` deletes a key. */
function editYaml(text: string, edits: [path: (string | number)[], value: unknown][]): string {
  const doc = parseDocument(text);
  for (const [path, value] of edits) {
    if (value === undefined) doc.deleteIn(path);
    else doc.setIn(path, value);
  }
  return doc.toString({ lineWidth: 116, flowCollectionPadding: false });
}

const join = (...parts: string[]) => parts.filter((p) => p && p !== '.').join('/') || '.';

function generateHelm(service: ServiceConfig, source: TemplateSource, out: string): Generation {
  const target = service.target.kind === 'helm' ? service.target : undefined;
  const chartDir = `helm/${service.name}`;
  const repository = imageName(service, target?.imageRepository);
  const files = source.list('templates/helm/coconut-service').map((file) => {
    let content = source.read(`templates/helm/coconut-service/${file}`);
    if (file === 'Chart.yaml') content = editYaml(content, [[['name'], service.name]]);
    if (file === 'values.yaml') {
      content = editYaml(content, [
        ...(repository ? ([[['image', 'repository'], repository]] as [string[], unknown][]) : []),
        [['imagePullSecrets'], target?.imagePullSecrets ?? []],
      ]);
    }
    return { path: `${chartDir}/${file}`, content };
  });
  const envs = service.environments.map((e) => e.name);
  return {
    files,
    next: [
      `helm lint ${join(out, chartDir)} && helm template ${service.name} ${join(out, chartDir)}`,
      target
        ? `in coconut.yaml, set ${service.name}'s target.chart to ${chartDir} (relative to the repository root) to deploy this copy`
        : `in coconut.yaml, give ${service.name} target: { kind: helm, chart: ${chartDir}, namespace: ${service.name}-{environment} } (environments: ${envs.join(', ')})`,
      `npx coconut validate, then push an image: Coconut runs templates/buildspec/helm-deploy.yml with the image digest`,
    ],
    notes: repository
      ? []
      : [
          `image.repository keeps a placeholder: ${service.name}'s ECR registry depends on the account and region, and Coconut sets it on every deploy (or set target.imageRepository).`,
        ],
  };
}

function copilotName(service: ServiceConfig): { app: string; name: string; type: string; workspace: string } {
  const t = service.target.kind === 'copilot' ? service.target : undefined;
  return {
    app: t?.app ?? service.name,
    name: t?.name ?? service.name,
    type: t?.type ?? 'Load Balanced Web Service',
    workspace: t?.workspace ?? '.',
  };
}

function generateCopilot(service: ServiceConfig, source: TemplateSource, out: string): Generation {
  const { app, name, type } = copilotName(service);
  const template = type === 'Backend Service' ? 'backend-service' : 'load-balanced-web-service';
  // Per environment, the alarms coconut.yaml bakes with also roll the ECS deployment back.
  const environments = Object.fromEntries(
    service.environments.filter((e) => e.alarms.length > 0).map((e) => [e.name, { deployment: { rollback_alarms: e.alarms } }]),
  );
  const manifest = editYaml(source.read(`templates/copilot/${template}/manifest.yml`), [
    [['name'], name],
    [['environments'], environments],
  ]);
  const envManifest = (env: EnvironmentConfig) =>
    editYaml(source.read('templates/copilot/environment/manifest.yml'), [[['name'], env.name]]);
  return {
    files: [
      { path: 'copilot/.workspace', content: `application: ${app}\n` },
      { path: `copilot/${name}/manifest.yml`, content: manifest },
      ...service.environments.map((env) => ({
        path: `copilot/environments/${env.name}/manifest.yml`,
        content: envManifest(env),
      })),
    ],
    next: [
      `cd ${out} && copilot app init ${app}   (once, if the application does not exist yet)`,
      ...service.environments.map((e) => `copilot env init --name ${e.name} && copilot env deploy --name ${e.name}`),
      `push an image: Coconut runs templates/buildspec/copilot-deploy.yml, which exports COCONUT_IMAGE_URI for image.location`,
    ],
    notes: [copilotNotice([service.name])],
  };
}

function generateEcs(service: ServiceConfig, _source: TemplateSource, out: string): Generation {
  const t = service.target.kind === 'ecs' ? service.target : undefined;
  const family = t?.service?.replaceAll('{environment}', '') || service.name;
  const container = t?.container ?? service.name;
  const image = `${imageName(service) || `ACCOUNT.dkr.ecr.REGION.amazonaws.com/${service.image.repository}`}:initial`;
  const taskDefinition = {
    family,
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: '256',
    memory: '512',
    runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
    executionRoleArn: `arn:aws:iam::ACCOUNT:role/${service.name}-execution`,
    taskRoleArn: `arn:aws:iam::ACCOUNT:role/${service.name}-task`,
    containerDefinitions: [
      {
        name: container,
        image,
        essential: true,
        user: '10001:10001',
        readonlyRootFilesystem: true,
        privileged: false,
        portMappings: [{ name: 'http', containerPort: 8080, protocol: 'tcp' }],
        linuxParameters: { capabilities: { drop: ['ALL'] }, initProcessEnabled: true },
        mountPoints: [{ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false }],
        environment: [{ name: 'PORT', value: '8080' }],
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': `/ecs/${service.name}`,
            'awslogs-region': 'REGION',
            'awslogs-stream-prefix': service.name,
            'awslogs-create-group': 'true',
          },
        },
      },
    ],
    volumes: [{ name: 'tmp' }],
  };
  const serviceFor = (env: EnvironmentConfig) => ({
    cluster: (t?.cluster ?? `${service.name}-{environment}`).replaceAll('{environment}', env.name),
    serviceName: (t?.service ?? service.name).replaceAll('{environment}', env.name),
    taskDefinition: family,
    desiredCount: 2,
    launchType: 'FARGATE',
    deploymentController: { type: 'ECS' },
    deploymentConfiguration: {
      maximumPercent: 200,
      minimumHealthyPercent: 100,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: env.alarms, enable: env.alarms.length > 0, rollback: env.alarms.length > 0 },
    },
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: ['subnet-PRIVATE-A', 'subnet-PRIVATE-B'],
        securityGroups: ['sg-SERVICE'],
        assignPublicIp: 'DISABLED',
      },
    },
    enableExecuteCommand: false,
    propagateTags: 'SERVICE',
    tags: [
      { key: 'coconut:service', value: service.name },
      { key: 'coconut:environment', value: env.name },
    ],
  });
  const dir = `ecs/${service.name}`;
  return {
    files: [
      { path: `${dir}/task-definition.json`, content: `${JSON.stringify(taskDefinition, null, 2)}\n` },
      ...service.environments.map((env) => ({
        path: `${dir}/service-${env.name}.json`,
        content: `${JSON.stringify(serviceFor(env), null, 2)}\n`,
      })),
    ],
    next: [
      `replace ACCOUNT, REGION, the subnets and the security group in ${join(out, dir)}/*.json`,
      `aws ecs register-task-definition --cli-input-json file://${join(out, dir)}/task-definition.json`,
      ...service.environments.map(
        (e) => `aws ecs create-service --cli-input-json file://${join(out, dir)}/service-${e.name}.json`,
      ),
      t
        ? `push an image: Coconut deploys it to these services by digest, without CodeBuild`
        : `in coconut.yaml, give ${service.name} target: { kind: ecs, cluster: ${service.name}-{environment}, container: ${container} } — Coconut then deploys each push by digest, without CodeBuild`,
    ],
    notes: [
      'The task definition runs as uid 10001 with a read-only root filesystem, no capabilities and /tmp on a volume; the services have the deployment circuit breaker and the environment alarms on, both with rollback.',
    ],
  };
}

function generateAnsible(service: ServiceConfig, _source: TemplateSource, out: string): Generation {
  const dir = `ansible/${service.name}`;
  const groups = Object.fromEntries(
    service.environments.map((env, i) => [
      env.name,
      { hosts: { [`${service.name}-${env.name}-1.example.internal`]: { app_deploy_port: 8080 + i } } },
    ]),
  );
  const inventory = [
    '---',
    `# Hosts of ${service.name}: one group per environment of coconut.yaml (deploys run with --limit ENVIRONMENT).`,
    '# Replace the example hosts; keep the group names.',
    new Document({
      all: {
        vars: {
          ansible_user: 'deploy',
          app_deploy_root: `/srv/${service.name}`,
          app_deploy_source: "{{ lookup('ansible.builtin.env', 'CODEBUILD_SRC_DIR') }}/app",
        },
        children: groups,
      },
    }).toString({ lineWidth: 116, flowCollectionPadding: false }),
  ].join('\n');
  return {
    files: [{ path: `${dir}/inventory.yml`, content: inventory }],
    next: [
      `replace the example hosts in ${join(out, dir)}/inventory.yml`,
      `ansible-playbook -i ${join(out, dir)}/inventory.yml --check --diff templates/ansible/harden.yml   (look first), then without --check`,
      service.target.kind === 'ansible'
        ? `point ${service.name}'s target.inventory in coconut.yaml at ${dir}/inventory.yml`
        : `in coconut.yaml, give ${service.name} target: { kind: ansible, inventory: ${dir}/inventory.yml }`,
    ],
    notes: [],
  };
}

function generateCi(service: ServiceConfig, source: TemplateSource, _out: string): Generation {
  const registry = service.image.registry;
  const file = `.github/workflows/release-${service.name}.yml`;
  const content = editYaml(source.read(`templates/ci/release-${registry}.yml`), [
    [['name'], `release ${service.name}`],
    [['env', 'IMAGE_REPOSITORY'], service.image.repository],
  ]);
  const setup: Record<typeof registry, string> = {
    ecr: 'set the repository variables AWS_ROLE_ARN (a role trusting GitHub OIDC for this repository, allowed to push to the ECR repository) and AWS_REGION',
    ghcr: 'nothing to set: the run uses GITHUB_TOKEN (packages: write)',
    dockerhub: 'set the variable DOCKERHUB_USERNAME and the secret DOCKERHUB_TOKEN (an access token limited to this repository)',
  };
  return {
    files: [{ path: file, content }],
    next: [
      setup[registry],
      `git add ${file} && git commit -m "release ${service.name}" && git tag v1.0.0 && git push --follow-tags`,
    ],
    notes: [],
  };
}

function generateDockerfile(service: ServiceConfig, source: TemplateSource, _out: string): Generation {
  const dockerfile = source.read('templates/docker/Dockerfile').replace(/^ARG SERVICE=.*$/m, `ARG SERVICE=${service.name}`);
  return {
    files: [
      { path: 'Dockerfile', content: dockerfile },
      { path: '.dockerignore', content: source.read('templates/docker/.dockerignore') },
    ],
    next: [
      `docker build -t ${service.image.repository}:dev . && docker run --rm --read-only --tmpfs /tmp -p 8080:8080 ${service.image.repository}:dev`,
    ],
    notes: [],
  };
}
