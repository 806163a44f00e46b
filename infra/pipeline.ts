/**
 * The pipeline: state machines from stepfunctions/*.asl.json (JSONPath, deployed as they are
 * through the raw aws.sfn.StateMachine with every ${Placeholder} substituted; logging on) and
 * one CodeBuild project per buildspec in templates/buildspec/, named `<prefix>-<buildspec>`
 * as the state machine and the local build runner expect. Builds run on Lambda compute (they
 * start in seconds) unless the buildspec needs docker: those get privileged EC2 compute.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { CoconutConfig } from '../src/core/config/schema.ts';
import { placeholdersIn, type StateDefinition, substitute, taskStates } from '../src/local/asl.ts';
import { kebab, pascal } from './naming.ts';
import { RESOURCE_STAR_ACTIONS } from './permissions.ts';
import { eksClusters, pushSecrets, secretArnPattern } from './target-resources.ts';

export interface Buildspec {
  /** File name without .yml: "ansible-deploy". */
  name: string;
  /** Target kind or job: "ansible", "helm", "build-image". */
  kind: string;
  needsDocker: boolean;
  image?: string;
}

export function buildspecs(root = process.cwd()): Buildspec[] {
  const dir = path.join(root, 'templates', 'buildspec');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.yml'.length);
      const spec = parse(readFileSync(path.join(dir, file), 'utf8')) as { env?: { variables?: Record<string, unknown> } };
      const vars = spec?.env?.variables ?? {};
      const tools = String(vars.COCONUT_REQUIRED_TOOLS ?? '')
        .split(/[\s,]+/)
        .filter(Boolean);
      return {
        name,
        kind: name.replace(/-(deploy|rollback)$/, ''),
        needsDocker: tools.includes('docker'),
        ...(typeof vars.COCONUT_CODEBUILD_IMAGE === 'string' ? { image: vars.COCONUT_CODEBUILD_IMAGE } : {}),
      };
    });
}

export function stateMachineFiles(root = process.cwd()): { machine: string; file: string; text: string }[] {
  const dir = path.join(root, 'stepfunctions');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.asl.json'))
    .sort()
    .map((f) => ({
      machine: f.slice(0, -'.asl.json'.length),
      file: `stepfunctions/${f}`,
      text: readFileSync(path.join(dir, f), 'utf8'),
    }));
}

/**
 * The AWS value of every placeholder, by naming convention (the same names src/local/asl.ts
 * gives local values): <Name>FunctionArn -> functions/<name>.ts, <Name>StateMachineArn ->
 * stepfunctions/<name>.asl.json, BuildProjectPrefix -> the CodeBuild name prefix.
 */
export function awsSubstitutions(
  placeholders: string[],
  refs: { functions: Record<string, Resource>; machines: Record<string, { arn: Output<string> }>; buildProjectPrefix: string },
  file: string,
): Record<string, Input<string>> {
  const values: Record<string, Input<string>> = {};
  for (const name of placeholders) {
    const fn = /^(\w+)FunctionArn$/.exec(name);
    const machine = /^(\w+)StateMachineArn$/.exec(name);
    if (name === 'BuildProjectPrefix') values[name] = refs.buildProjectPrefix;
    else if (fn && refs.functions[kebab(fn[1] as string)])
      values[name] = (refs.functions[kebab(fn[1] as string)] as Resource).arn;
    else if (machine && refs.machines[kebab(machine[1] as string)])
      values[name] = (refs.machines[kebab(machine[1] as string)] as { arn: Output<string> }).arn;
    else {
      throw new Error(
        `${file}: no AWS value for placeholder \${${name}} (expected <Name>FunctionArn for functions/<name>.ts, <Name>StateMachineArn or BuildProjectPrefix)`,
      );
    }
  }
  return values;
}

interface PolicyStatement {
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
}

/** The EventBridge rule Step Functions manages for CodeBuild `.sync` tasks (AWS's name, codebuild-iam page). */
export const CODEBUILD_SYNC_RULE = 'StepFunctionsGetEventForCodeBuildStartBuildRule';

/** What a state machine's role must allow, read from its (substituted) definition. */
export function stateMachinePolicy(
  definition: StateDefinition,
  ctx: { region: string; account: string; buildProjectPrefix: string; file: string },
): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const lambdas = new Set<string>();
  let codebuild = false;
  for (const [name, state] of taskStates(definition)) {
    const resource = String(state.Resource);
    const params = (state.Parameters ?? {}) as Record<string, unknown>;
    if (resource === 'arn:aws:states:::lambda:invoke' || resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      const fn = params.FunctionName;
      if (typeof fn !== 'string' || !fn.startsWith('arn:')) throw new Error(`${ctx.file}: ${name} invokes no fixed function ARN`);
      lambdas.add(fn);
    } else if (resource === 'arn:aws:states:::codebuild:startBuild.sync') {
      codebuild = true;
    } else {
      throw new Error(`${ctx.file}: ${name} uses ${resource}; add the permissions it needs in infra/pipeline.ts`);
    }
  }
  if (lambdas.size > 0) {
    statements.push({
      Effect: 'Allow',
      Action: ['lambda:InvokeFunction'],
      Resource: [...lambdas].flatMap((arn) => [arn, `${arn}:*`]),
    });
  }
  if (codebuild) {
    // AWS's policy for the CodeBuild .sync integration (Step Functions developer guide, "IAM policies
    // for AWS CodeBuild", https://docs.aws.amazon.com/step-functions/latest/dg/codebuild-iam.html):
    // StartBuild, StopBuild, BatchGetBuilds and BatchGetReports, and the events actions on the rule
    // Step Functions manages to learn that a build ended. The rule's name is AWS's, spelled as there:
    // "GetEvent" singular. The projects are ours (named `<prefix>-<buildspec>`); CodeBuild names a
    // project's report groups `<project>-<report>`, hence the same prefix for BatchGetReports.
    statements.push({
      Effect: 'Allow',
      Action: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds'],
      Resource: [`arn:aws:codebuild:${ctx.region}:${ctx.account}:project/${ctx.buildProjectPrefix}-*`],
    });
    statements.push({
      Effect: 'Allow',
      Action: ['codebuild:BatchGetReports'],
      Resource: [`arn:aws:codebuild:${ctx.region}:${ctx.account}:report-group/${ctx.buildProjectPrefix}-*`],
    });
    statements.push({
      Effect: 'Allow',
      Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      Resource: [`arn:aws:events:${ctx.region}:${ctx.account}:rule/${CODEBUILD_SYNC_RULE}`],
    });
  }
  const logging = [...RESOURCE_STAR_ACTIONS].filter((a) => a.startsWith('logs:'));
  statements.push({ Effect: 'Allow', Action: logging, Resource: ['*'] });
  return statements;
}

function assumedBy(service: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });
}

/** Files the builds need: the templates, coconut.yaml, and what the targets point at. */
export function sourcePaths(config: CoconutConfig, root = process.cwd()): string[] {
  const paths = new Set<string>(['templates']);
  for (const service of config.services) {
    for (const value of Object.values(service.target)) {
      if (typeof value !== 'string' || !value.includes('/') || path.isAbsolute(value) || value.includes('..')) continue;
      const full = path.join(root, value);
      if (!existsSync(full)) continue;
      paths.add(statSync(full).isDirectory() ? value : path.dirname(value));
    }
  }
  return [...paths].sort();
}

export interface PipelineArgs {
  config: CoconutConfig;
  configFile: string;
  buildProjectPrefix: string;
  region: Output<string>;
  account: Output<string>;
  functions: Record<string, Resource>;
  machines: Record<string, { arn: Output<string>; name: string }>;
}

/** Extra permissions the deploy tool of a target kind needs in its builds. */
export function targetStatements(kind: string, args: PipelineArgs): { Action: string[]; Resource: Input<string>[] }[] {
  const { region, account, config } = args;
  const targets = config.services.map((s) => s.target);
  switch (kind) {
    case 'helm': {
      // The names the builds are handed: `{environment}` expanded for every environment.
      const clusters = eksClusters(config);
      return clusters.length
        ? [
            {
              Action: ['eks:DescribeCluster'],
              Resource: clusters.map((c) => $interpolate`arn:aws:eks:${region}:${account}:cluster/${c}`),
            },
          ]
        : [];
    }
    case 'copilot': {
      const apps = [...new Set(targets.flatMap((t) => (t.kind === 'copilot' ? [t.app] : [])))];
      if (apps.length === 0) return [];
      return [
        // Copilot deploys through the environment manager roles of the application.
        { Action: ['sts:AssumeRole'], Resource: apps.map((a) => $interpolate`arn:aws:iam::${account}:role/${a}-*`) },
        {
          Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
          Resource: [$interpolate`arn:aws:ssm:${region}:${account}:parameter/copilot/*`],
        },
        {
          Action: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents', 'cloudformation:DescribeChangeSet'],
          Resource: apps.map((a) => $interpolate`arn:aws:cloudformation:${region}:${account}:stack/${a}-*/*`),
        },
      ];
    }
    case 'build-image': {
      const repositories = [...new Set(config.services.filter((s) => s.image.registry === 'ecr').map((s) => s.image.repository))];
      // GHCR / Docker Hub logins: build-image.yml reads the secret named by COCONUT_REGISTRY_SECRET
      // (source.pushSecret) with `aws secretsmanager get-secret-value`.
      const secrets = pushSecrets(config);
      return [
        { Action: ['ecr:GetAuthorizationToken'], Resource: ['*'] },
        ...(secrets.length
          ? [
              {
                Action: ['secretsmanager:GetSecretValue'],
                Resource: secrets.map((name) =>
                  $resolve([region, account]).apply(([r, a]) => secretArnPattern(r as string, a as string, name)),
                ),
              },
            ]
          : []),
        ...(repositories.length
          ? [
              {
                Action: [
                  'ecr:BatchCheckLayerAvailability',
                  'ecr:InitiateLayerUpload',
                  'ecr:UploadLayerPart',
                  'ecr:CompleteLayerUpload',
                  'ecr:PutImage',
                  'ecr:BatchGetImage',
                ],
                Resource: repositories.map((r) => $interpolate`arn:aws:ecr:${region}:${account}:repository/${r}`),
              },
            ]
          : []),
      ];
    }
    default:
      return [];
  }
}

export function pipeline(args: PipelineArgs) {
  const specs = buildspecs();
  // `ecs` targets deploy through the ECS API from the pipeline-step function: no CodeBuild project.
  const NATIVE_KINDS = new Set(['ecs']);
  for (const kind of new Set(args.config.services.map((s) => s.target.kind))) {
    if (NATIVE_KINDS.has(kind)) continue;
    for (const step of ['deploy', 'rollback']) {
      if (!specs.some((s) => s.name === `${kind}-${step}`)) {
        throw new Error(`coconut.yaml uses target kind ${kind}, but templates/buildspec/${kind}-${step}.yml does not exist`);
      }
    }
  }

  // The builds' source: templates and the files the targets name, zipped to S3 at deploy time.
  const bucket = new sst.aws.Bucket('BuildSource');
  const sourceKey = 'coconut-source.zip';
  const archive: Record<string, unknown> = { 'coconut.yaml': new $util.asset.FileAsset(args.configFile) };
  for (const p of sourcePaths(args.config)) archive[p] = new $util.asset.FileArchive(p);
  const source = new aws.s3.BucketObjectv2('BuildSourceArchive', {
    bucket: bucket.name,
    key: sourceKey,
    source: new $util.asset.AssetArchive(archive),
  });

  const projects: Record<string, Resource> = {};
  for (const spec of specs) {
    const projectName = `${args.buildProjectPrefix}-${spec.name}`;
    const logGroup = new aws.cloudwatch.LogGroup(`Build${pascal(spec.name)}Logs`, {
      name: `/aws/codebuild/${projectName}`,
      retentionInDays: 30,
    });
    const role = new aws.iam.Role(`Build${pascal(spec.name)}Role`, { assumeRolePolicy: assumedBy('codebuild.amazonaws.com') });
    new aws.iam.RolePolicy(`Build${pascal(spec.name)}Policy`, {
      role: role.name,
      policy: $jsonStringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [$interpolate`${logGroup.arn}:*`] },
          {
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:GetObjectVersion'],
            Resource: [$interpolate`${bucket.arn}/${sourceKey}`],
          },
          ...targetStatements(spec.kind, args).map((s) => ({ Effect: 'Allow', ...s })),
        ],
      }),
    });
    projects[spec.name] = new aws.codebuild.Project(`Build${pascal(spec.name)}`, {
      name: projectName,
      description: `Coconut: runs templates/buildspec/${spec.name}.yml`,
      serviceRole: role.arn,
      source: {
        type: 'S3',
        location: $interpolate`${bucket.name}/${source.key}`,
        buildspec: `templates/buildspec/${spec.name}.yml`,
      },
      artifacts: { type: 'NO_ARTIFACTS' },
      environment: spec.needsDocker
        ? {
            type: 'LINUX_CONTAINER',
            computeType: 'BUILD_GENERAL1_SMALL',
            image: spec.image ?? 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
            privilegedMode: true,
          }
        : {
            // Lambda compute: no queueing for an instance, a deploy starts in seconds (at most 15 minutes).
            type: 'ARM_LAMBDA_CONTAINER',
            computeType: 'BUILD_LAMBDA_1GB',
            image: spec.image ?? 'aws/codebuild/amazonlinux-aarch64-lambda-standard:python3.12',
          },
      buildTimeout: spec.needsDocker ? 60 : 15,
      logsConfig: { cloudwatchLogs: { groupName: logGroup.name, status: 'ENABLED' } },
    });
  }

  const stateMachines: Record<string, Resource> = {};
  const definitions: Record<string, Output<string>> = {};
  for (const { machine, file, text } of stateMachineFiles()) {
    const own = args.machines[machine];
    if (!own) throw new Error(`${file} has no state machine name (infra/pipeline.ts)`);
    const names = placeholdersIn(text);
    const values = awsSubstitutions(names, { ...args, machines: args.machines }, file);
    const definition = $resolve(names.map((n) => values[n])).apply((resolved) =>
      substitute(text, Object.fromEntries(names.map((n, i) => [n, String(resolved[i])])), file),
    );
    definitions[machine] = definition;
    const logGroup = new aws.cloudwatch.LogGroup(`${pascal(machine)}MachineLogs`, {
      name: `/aws/vendedlogs/states/${own.name}`,
      retentionInDays: 30,
    });
    const role = new aws.iam.Role(`${pascal(machine)}MachineRole`, { assumeRolePolicy: assumedBy('states.amazonaws.com') });
    const policy = new aws.iam.RolePolicy(`${pascal(machine)}MachinePolicy`, {
      role: role.name,
      policy: $resolve([definition, args.region, args.account]).apply(([def, region, account]) =>
        JSON.stringify({
          Version: '2012-10-17',
          Statement: stateMachinePolicy(JSON.parse(def as string) as StateDefinition, {
            region: region as string,
            account: account as string,
            buildProjectPrefix: args.buildProjectPrefix,
            file,
          }),
        }),
      ),
    });
    stateMachines[machine] = new aws.sfn.StateMachine(
      `${pascal(machine)}Machine`,
      {
        name: own.name,
        type: 'STANDARD',
        roleArn: role.arn,
        definition,
        // Execution data carries task tokens: keep it out of the logs.
        loggingConfiguration: { logDestination: $interpolate`${logGroup.arn}:*`, includeExecutionData: false, level: 'ALL' },
      },
      { dependsOn: [policy] },
    );
  }
  return { projects, stateMachines, definitions, bucket };
}
