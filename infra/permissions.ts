/**
 * Capabilities -> IAM statements. Each capability is what one adapter (or some of its methods)
 * calls, with the exact actions of the SDK commands it sends — no `*` action anywhere. The
 * contract test checks this table against the Command classes each adapter imports.
 * A `*` resource appears only where AWS offers no resource-level permission for the action.
 */
import type { EcsService } from './ecs.ts';
import type { Capability } from './function-manifest.ts';
import { compactRepositoryNames } from './policy-size.ts';

export interface CapabilitySpec {
  /**
   * The adapter in src/aws whose SDK calls this capability covers: a file, or a folder (ending in /)
   * holding an adapter split into files (every file in it).
   */
  adapter: string;
  /** The adapter methods this capability covers ('all': every method of the adapter). */
  methods: string[] | 'all';
  actions: string[];
}

export const CAPABILITIES: Record<Capability, CapabilitySpec> = {
  store: {
    adapter: 'src/aws/dynamo/',
    methods: 'all',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
  },
  startExecution: {
    adapter: 'src/aws/sfn-orchestrator.ts',
    methods: ['startExecution'],
    actions: ['states:StartExecution', 'states:DescribeExecution'],
  },
  taskCallback: {
    adapter: 'src/aws/sfn-orchestrator.ts',
    methods: ['sendTaskSuccess', 'sendTaskFailure'],
    actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
  },
  executionHistory: {
    adapter: 'src/aws/sfn-orchestrator.ts',
    methods: ['history'],
    actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
  },
  executions: {
    adapter: 'src/aws/sfn-orchestrator.ts',
    methods: ['describeExecution', 'listExecutions'],
    actions: ['states:DescribeExecution', 'states:ListExecutions'],
  },
  alarms: { adapter: 'src/aws/cloudwatch-alarms.ts', methods: 'all', actions: ['cloudwatch:DescribeAlarms'] },
  scanner: {
    adapter: 'src/aws/ecr-registry.ts',
    methods: ['scanImage'],
    actions: ['ecr:DescribeImageScanFindings', 'ecr:StartImageScan'],
  },
  registry: { adapter: 'src/aws/ecr-registry.ts', methods: ['resolveDigest'], actions: ['ecr:DescribeImages'] },
  pullSecrets: { adapter: 'src/aws/pull-secrets.ts', methods: ['read'], actions: ['secretsmanager:GetSecretValue'] },
  // The signed-image gate on ECR images: a registry token (GetAuthorizationToken), then the OCI
  // distribution API, which ECR authorizes as BatchGetImage (manifests, referrers) and
  // GetDownloadUrlForLayer (blobs) — ECR user guide, "Private repository policies" / IAM actions.
  signatures: {
    adapter: 'src/aws/ecr-signatures.ts',
    methods: 'all',
    actions: ['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  },
  ecsRead: {
    adapter: 'src/aws/ecs-reader.ts',
    methods: 'all',
    actions: ['ecs:DescribeServices', 'ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions'],
  },
  builds: { adapter: 'src/aws/codebuild-builds.ts', methods: 'all', actions: ['codebuild:BatchGetBuilds'] },
  ecsTarget: {
    adapter: 'src/aws/ecs-target.ts',
    methods: 'all',
    actions: [
      'ecs:DescribeServices',
      'ecs:UpdateService',
      'ecs:DescribeTaskDefinition',
      'ecs:RegisterTaskDefinition',
      // Canary and linear rollouts: following the service deployment, answering its PAUSE hooks.
      'ecs:DescribeServiceDeployments',
      'ecs:ContinueServiceDeployment',
      // RegisterTaskDefinition with tags, and handing the task's roles to ECS.
      'ecs:TagResource',
      'iam:PassRole',
    ],
  },
};

/**
 * CodeBuild in a VPC (build.vpc): CodeBuild's guide, "Allow CodeBuild access to AWS services required
 * to create a VPC network interface", grants these on "*" (EC2 has no resource-level permission for them).
 */
export const VPC_ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeDhcpOptions',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeVpcs',
];

/** Actions for which AWS has no resource-level permission (or needs `*` for part of the answer). */
export const RESOURCE_STAR_ACTIONS = new Set([
  'states:SendTaskSuccess',
  'states:SendTaskFailure',
  'states:SendTaskHeartbeat',
  // Composite alarms are only returned when DescribeAlarms is allowed on "*".
  'cloudwatch:DescribeAlarms',
  'ecs:DescribeTaskDefinition',
  'ecs:ListTaskDefinitions',
  'ecs:RegisterTaskDefinition',
  'ecr:GetAuthorizationToken',
  // Vended log delivery for Step Functions logging requires "*" (AWS docs, "Logging using CloudWatch Logs").
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  ...VPC_ENI_ACTIONS,
]);

export interface Statement {
  actions: string[];
  resources: Input<string>[];
}

/** Where the resources live: everything the statements point at. */
export interface ResourceRefs {
  region: Output<string>;
  account: Output<string>;
  tableArn: Output<string>;
  /** ARNs of Coconut's state machines by name (deploy, release...), and their names. */
  machines: Record<string, { arn: Output<string>; name: string }>;
  /** ECR repositories named in coconut.yaml. */
  ecrRepositories: string[];
  /** Name prefix of Coconut's CodeBuild projects. */
  buildProjectPrefix: string;
  /** Every ECS service an ecs target deploys (per environment), with the target's own region if it has one. */
  ecsServices?: EcsService[];
  /** Secrets Manager secret names of every image.pullSecret in coconut.yaml. */
  pullSecrets?: string[];
}

export function statementsFor(capabilities: Capability[], refs: ResourceRefs): Statement[] {
  const statements: Statement[] = [];
  const machines = Object.values(refs.machines);
  const executions = machines.map((m) => $interpolate`arn:aws:states:${refs.region}:${refs.account}:execution:${m.name}:*`);
  // Listed one by one while they fit IAM's role policy size, else by namespace (infra/policy-size.ts).
  const repositories = compactRepositoryNames(refs.ecrRepositories).map(
    (r) => $interpolate`arn:aws:ecr:${refs.region}:${refs.account}:repository/${r}`,
  );
  for (const capability of new Set(capabilities)) {
    const { actions } = CAPABILITIES[capability];
    switch (capability) {
      case 'store':
        statements.push({ actions, resources: [refs.tableArn, $interpolate`${refs.tableArn}/index/*`] });
        break;
      case 'startExecution':
        statements.push({ actions: ['states:StartExecution'], resources: machines.map((m) => m.arn) });
        statements.push({ actions: ['states:DescribeExecution'], resources: executions });
        break;
      case 'executionHistory':
        statements.push({ actions, resources: executions });
        break;
      case 'executions':
        statements.push({ actions: ['states:ListExecutions'], resources: machines.map((m) => m.arn) });
        statements.push({ actions: ['states:DescribeExecution'], resources: executions });
        break;
      case 'taskCallback':
      case 'alarms':
        statements.push({ actions, resources: ['*'] });
        break;
      case 'signatures':
        // No ECR repository in coconut.yaml: GHCR and Docker Hub need no IAM, nothing granted.
        if (repositories.length === 0) break;
        statements.push({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] });
        statements.push({ actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], resources: repositories });
        break;
      case 'scanner':
      case 'registry':
        // No ECR repository in coconut.yaml: nothing to scan or resolve, nothing granted.
        if (repositories.length > 0) statements.push({ actions, resources: repositories });
        break;
      case 'ecsRead':
        statements.push({
          actions: ['ecs:DescribeServices'],
          resources: [$interpolate`arn:aws:ecs:${refs.region}:${refs.account}:service/*`],
        });
        statements.push({ actions: ['ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions'], resources: ['*'] });
        break;
      case 'ecsTarget': {
        const services = refs.ecsServices ?? [];
        // No ECS target in coconut.yaml: nothing to deploy, nothing granted.
        if (services.length === 0) break;
        // Each service in the region (and account) the ECS step calls it in: target.region, else ours.
        const where = (s: EcsService) => ({ region: s.region ?? refs.region, account: s.account ?? refs.account });
        statements.push({
          actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
          resources: services.map((s) => {
            const { region, account } = where(s);
            return $interpolate`arn:aws:ecs:${region}:${account}:service/${s.cluster}/${s.service}`;
          }),
        });
        // Both need the service AND its service deployment (Service Authorization Reference: resource
        // types service* and service-deployment*, arn:aws:ecs:${Region}:${Account}:service-deployment/
        // ${ClusterName}/${ServiceName}/${ServiceDeploymentId}).
        statements.push({
          actions: ['ecs:DescribeServiceDeployments', 'ecs:ContinueServiceDeployment'],
          resources: services.flatMap((s) => {
            const { region, account } = where(s);
            return [
              $interpolate`arn:aws:ecs:${region}:${account}:service/${s.cluster}/${s.service}`,
              $interpolate`arn:aws:ecs:${region}:${account}:service-deployment/${s.cluster}/${s.service}/*`,
            ];
          }),
        });
        statements.push({ actions: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'], resources: ['*'] });
        // RegisterTaskDefinition with tags: the new revision, in the service's region.
        const places = new Map(services.map((s) => [`${s.region ?? ''}:${s.account ?? ''}`, where(s)]));
        statements.push({
          actions: ['ecs:TagResource'],
          resources: [...places.values()].map(
            ({ region, account }) => $interpolate`arn:aws:ecs:${region}:${account}:task-definition/*`,
          ),
        });
        // The task and execution roles of the services' task definitions (names are not known here).
        const accounts = new Map(services.map((s) => [s.account ?? '', where(s).account]));
        statements.push({
          actions: ['iam:PassRole'],
          resources: [...accounts.values()].map((account) => $interpolate`arn:aws:iam::${account}:role/*`),
        });
        break;
      }
      case 'pullSecrets': {
        // A secret's ARN ends in "-" and six random characters Secrets Manager adds (Secrets
        // Manager user guide, "Finding a secret from a partial ARN"): `name-??????` matches it
        // and no other secret whose name merely starts with `name`.
        const names = refs.pullSecrets ?? [];
        if (names.length === 0) break;
        statements.push({
          actions,
          resources: names.map((n) => $interpolate`arn:aws:secretsmanager:${refs.region}:${refs.account}:secret:${n}-??????`),
        });
        break;
      }
      case 'builds':
        statements.push({
          actions,
          resources: [$interpolate`arn:aws:codebuild:${refs.region}:${refs.account}:project/${refs.buildProjectPrefix}-*`],
        });
        break;
    }
  }
  return statements;
}
