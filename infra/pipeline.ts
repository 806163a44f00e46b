/**
 * The pipeline: state machines from stepfunctions/*.asl.json (JSONPath, deployed as they are
 * through the raw aws.sfn.StateMachine with every ${Placeholder} substituted; logging on) and
 * one CodeBuild project per buildspec in templates/buildspec/, named `<prefix>-<buildspec>`
 * as the state machine and the local build runner expect. Each project's compute, image,
 * timeout and network come from infra/build-compute.ts (EC2 everywhere; why is written there).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { type AslDefinition, buildspecPlaceholder, placeholdersIn, substitute, taskStates } from '../src/core/asl.ts';
import { helmCanaryRouteProblems } from '../src/core/config/helm-canary-route.ts';
import type { CoconutConfig } from '../src/core/config/schema.ts';
import { namedPaths } from '../src/core/config/target-files.ts';
import { type BuildspecInfo, buildCompute, QUEUED_TIMEOUT_MINUTES } from './build-compute.ts';
import { kebab, pascal } from './naming.ts';
import { RESOURCE_STAR_ACTIONS, VPC_ENI_ACTIONS } from './permissions.ts';
import { compactRepositoryNames } from './policy-size.ts';
import { ansibleSecrets, eksClusters, pushSecrets, secretArnPattern } from './target-resources.ts';

export type Buildspec = BuildspecInfo;

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
 * stepfunctions/<name>.asl.json, <Name>Buildspec -> the text of templates/buildspec/<name>.yml
 * (inside a JSON string), BuildProjectPrefix -> the CodeBuild name prefix.
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
    const buildspec = /^(\w+)Buildspec$/.exec(name);
    if (name === 'BuildProjectPrefix') values[name] = refs.buildProjectPrefix;
    else if (buildspec && existsSync(path.join('templates', 'buildspec', `${kebab(buildspec[1] as string)}.yml`)))
      values[name] = buildspecPlaceholder(kebab(buildspec[1] as string), process.cwd());
    else if (fn && refs.functions[kebab(fn[1] as string)])
      values[name] = (refs.functions[kebab(fn[1] as string)] as Resource).arn;
    else if (machine && refs.machines[kebab(machine[1] as string)])
      values[name] = (refs.machines[kebab(machine[1] as string)] as { arn: Output<string> }).arn;
    else {
      throw new Error(
        `${file}: no AWS value for placeholder \${${name}} (expected <Name>FunctionArn for functions/<name>.ts, <Name>StateMachineArn, <Name>Buildspec for templates/buildspec/<name>.yml or BuildProjectPrefix)`,
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
  definition: AslDefinition,
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

export interface SourcePath {
  /** Relative to the repository root. */
  path: string;
  kind: 'file' | 'directory';
}

/**
 * What the builds' source archive holds besides coconut.yaml: templates/ and every file or folder
 * a target names, for every environment ("{environment}" expanded as the plan expands it). A
 * named path that does not exist stops the deploy with the service, environment and path, rather
 * than a build failing later with "not a file". Nothing is archived twice: a path inside another
 * archived folder is left to that folder.
 */
export function sourcePaths(config: CoconutConfig, root = process.cwd()): SourcePath[] {
  const found = new Map<string, SourcePath['kind']>([['templates', 'directory']]);
  const missing: string[] = [];
  for (const service of config.services) {
    for (const named of namedPaths(service)) {
      const full = path.join(root, named.path);
      const where = `service ${named.service}, environment ${named.environment}: ${named.field}`;
      if (path.isAbsolute(named.path) || path.relative(root, full).startsWith('..')) {
        missing.push(`${where} "${named.path}" is outside the repository`);
        continue;
      }
      const stat = existsSync(full) ? statSync(full) : undefined;
      const isDir = stat?.isDirectory() ?? false;
      const fits = stat && (named.expect === 'file or directory' || (named.expect === 'directory') === isDir);
      if (!fits) {
        missing.push(`${where} "${named.path}" is not an existing ${named.expect} (relative to ${root})`);
        continue;
      }
      // A playbook or inventory file travels with its folder (roles/, group_vars/), unless that is the root.
      const folder = named.archive === 'folder' && !isDir ? path.posix.dirname(named.path) : named.path;
      if (folder === '.' || folder === '') found.set(path.posix.normalize(named.path), isDir ? 'directory' : 'file');
      else found.set(path.posix.normalize(folder), folder === named.path && !isDir ? 'file' : 'directory');
    }
  }
  if (missing.length > 0) {
    throw new Error(`coconut.yaml names files the builds need that are missing:\n  ${[...new Set(missing)].join('\n  ')}`);
  }
  const routeless = helmCanaryRouteProblems(config, (relative) => {
    const full = path.join(root, relative);
    return existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined;
  });
  if (routeless.length > 0)
    throw new Error(`coconut.yaml asks for Helm rollouts the chart cannot split:\n  ${routeless.join('\n  ')}`);
  const sorted = [...found.keys()].sort();
  const inside = (p: string, dir: string) => p.startsWith(`${dir}/`);
  return sorted
    .filter((p) => !sorted.some((other) => other !== p && found.get(other) === 'directory' && inside(p, other)))
    .map((p) => ({ path: p, kind: found.get(p) as SourcePath['kind'] }));
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
    case 'ansible': {
      // SSH access to the hosts: ansible-deploy.yml and ansible-rollback.yml read the key and the
      // known_hosts secrets (target.sshKey, target.knownHosts.secret) with get-secret-value.
      const secrets = ansibleSecrets(config);
      return secrets.length
        ? [
            {
              Action: ['secretsmanager:GetSecretValue'],
              Resource: secrets.map((name) =>
                $resolve([region, account]).apply(([r, a]) => secretArnPattern(r as string, a as string, name)),
              ),
            },
          ]
        : [];
    }
    case 'build-image': {
      // One ARN per repository while they fit IAM's role policy size, else by namespace (infra/policy-size.ts).
      const repositories = compactRepositoryNames(
        config.services.filter((s) => s.image.registry === 'ecr').map((s) => s.image.repository),
      );
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

/** The text of a buildspec, for builds whose source is not ours (the release's app repository). */
export function inlineBuildspec(name: string, root = process.cwd()): string {
  return readFileSync(path.join(root, 'templates', 'buildspec', `${name}.yml`), 'utf8');
}

/**
 * CodeBuild reads the source through the connection (CodeBuild user guide, "GitHub App
 * connections": the service role needs codeconnections:GetConnectionToken and GetConnection).
 * Connections made before the CodeConnections rename have codestar-connections ARNs, and IAM
 * matches the action prefix to the ARN's, so both spellings are granted on this one connection.
 */
function connectionStatement(arn: Output<string>) {
  return {
    Effect: 'Allow',
    Action: [
      'codeconnections:GetConnectionToken',
      'codeconnections:GetConnection',
      'codeconnections:UseConnection',
      'codestar-connections:GetConnectionToken',
      'codestar-connections:GetConnection',
      'codestar-connections:UseConnection',
    ],
    Resource: [arn],
  };
}

/**
 * A build in a VPC gets an elastic network interface in one of the subnets (CodeBuild user guide,
 * "Allow CodeBuild to access AWS services in your Amazon VPC"): the Describe/Create/Delete calls
 * take no resource-level permission; CreateNetworkInterfacePermission is limited to these subnets
 * and to CodeBuild.
 */
function vpcStatements(subnets: string[], args: PipelineArgs) {
  return [
    {
      Effect: 'Allow',
      Action: VPC_ENI_ACTIONS,
      Resource: ['*'],
    },
    {
      Effect: 'Allow',
      Action: ['ec2:CreateNetworkInterfacePermission'],
      Resource: [$interpolate`arn:aws:ec2:${args.region}:${args.account}:network-interface/*`],
      Condition: {
        StringEquals: {
          'ec2:Subnet': subnets.map((id) => $interpolate`arn:aws:ec2:${args.region}:${args.account}:subnet/${id}`),
          'ec2:AuthorizedService': 'codebuild.amazonaws.com',
        },
      },
    },
  ];
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
  for (const p of sourcePaths(args.config)) {
    archive[p.path] = p.kind === 'directory' ? new $util.asset.FileArchive(p.path) : new $util.asset.FileAsset(p.path);
  }
  const source = new aws.s3.BucketObjectv2('BuildSourceArchive', {
    bucket: bucket.name,
    key: sourceKey,
    source: new $util.asset.AssetArchive(archive),
  });

  // onTag: build clones the app's GitHub repository: through a CodeConnections connection, which
  // someone confirms once in the console (Developer Tools > Settings > Connections), see docs/aws-builds.md.
  const buildRepos = [...new Set(args.config.services.flatMap((s) => (s.source?.onTag === 'build' ? [s.source.github] : [])))];
  const github =
    buildRepos.length > 0
      ? new aws.codestarconnections.Connection('GitHubConnection', {
          name: `${args.buildProjectPrefix}-github`.slice(0, 32),
          providerType: 'GitHub',
        })
      : undefined;

  const projects: Record<string, Resource> = {};
  for (const spec of specs) {
    const projectName = `${args.buildProjectPrefix}-${spec.name}`;
    const compute = buildCompute(spec, args.config);
    const logGroup = new aws.cloudwatch.LogGroup(`Build${pascal(spec.name)}Logs`, {
      name: `/aws/codebuild/${projectName}`,
      retentionInDays: 30,
    });
    const fromGitHub = spec.name === 'build-image' && github !== undefined;
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
          ...(fromGitHub && github ? [connectionStatement(github.arn)] : []),
          ...(compute.vpc ? vpcStatements(compute.vpc.subnets, args) : []),
          ...targetStatements(spec.kind, args).map((s) => ({ Effect: 'Allow', ...s })),
        ],
      }),
    });
    projects[spec.name] = new aws.codebuild.Project(`Build${pascal(spec.name)}`, {
      name: projectName,
      description: `Coconut: runs templates/buildspec/${spec.name}.yml (${compute.why})`,
      serviceRole: role.arn,
      source:
        fromGitHub && github
          ? {
              // Each release overrides the location and version with the tagged repository; the
              // buildspec travels inline because that repository has no templates/ (release.asl.json
              // passes it as BuildspecOverride too).
              type: 'GITHUB',
              location: `https://github.com/${buildRepos[0]}.git`,
              buildspec: inlineBuildspec(spec.name),
              auth: { type: 'CODECONNECTIONS', resource: github.arn },
            }
          : {
              type: 'S3',
              location: $interpolate`${bucket.name}/${source.key}`,
              buildspec: `templates/buildspec/${spec.name}.yml`,
            },
      artifacts: { type: 'NO_ARTIFACTS' },
      environment: {
        type: compute.type,
        computeType: compute.computeType,
        image: compute.image,
        privilegedMode: compute.privilegedMode,
      },
      buildTimeout: compute.timeoutMinutes,
      queuedTimeout: QUEUED_TIMEOUT_MINUTES,
      ...(compute.vpc
        ? { vpcConfig: { vpcId: compute.vpc.vpcId, subnets: compute.vpc.subnets, securityGroupIds: compute.vpc.securityGroups } }
        : {}),
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
          Statement: stateMachinePolicy(JSON.parse(def as string) as AslDefinition, {
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
  return { projects, stateMachines, definitions, bucket, ...(github ? { githubConnection: github } : {}) };
}
