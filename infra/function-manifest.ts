/**
 * What each Lambda in functions/ may do. infra/functions.ts deploys every functions/*.ts
 * (except commons/ and http-routes.ts) and refuses one without an entry here, so a new
 * handler needs exactly one entry: its capabilities (-> IAM permissions, infra/permissions.ts)
 * and the secrets it reads. The contract test (test/unit/infra-contract.test.ts) derives what
 * each handler's code really calls and fails when an entry grants too little.
 *
 * Secrets: read them with `secret('Name')` from src/aws/secrets.ts (or `Resource.Name` from
 * "sst"), and list them here; the contract test checks that every secret a handler reads is
 * linked to it.
 */
export const SECRET_NAMES = ['SlackBotToken', 'SlackSigningSecret', 'GithubWebhookSecret', 'DockerhubToken'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

export type Capability =
  /** DynamoStore: Coconut's table and its indexes. */
  | 'store'
  /** SfnOrchestrator.startExecution: start Coconut's state machines (and look for a duplicate first). */
  | 'startExecution'
  /** SfnOrchestrator.sendTaskSuccess / sendTaskFailure: resume a waiting approval or bake. */
  | 'taskCallback'
  /** SfnOrchestrator.describeExecution / listExecutions. */
  | 'executions'
  /** CloudWatchAlarms.getStates. */
  | 'alarms'
  /** EcrRegistry.scanImage: scan findings of the configured ECR repositories (the scan gate). */
  | 'scanner'
  /** EcrRegistry.resolveDigest: the digest behind an ECR tag (releases that carry none). */
  | 'registry'
  /** PullSecrets.read: image.pullSecret credentials for digest lookups on GHCR / Docker Hub. */
  | 'pullSecrets'
  /** EcrImageSignatures: cosign and Notation signatures of ECR images (the signed-image gate). */
  | 'signatures'
  /** EcsReader: service state and task definitions. */
  | 'ecsRead'
  /** CodeBuildBuilds.getBuild: status and log link of Coconut's builds. */
  | 'builds'
  /** SfnOrchestrator.history: the steps of an execution, for the dashboard and `coconut watch`. */
  | 'executionHistory'
  /** EcsTargetAdapter: deploy/rollback of `kind: ecs` services (new task definition revision, UpdateService). */
  | 'ecsTarget';

export interface FunctionSpec {
  description: string;
  capabilities: Capability[];
  secrets?: SecretName[];
  /** Invoked asynchronously (by EventBridge): events that still fail after retries land in a dead-letter queue. */
  async?: boolean;
  timeout?: `${number} seconds` | `${number} minutes`;
  memory?: `${number} MB`;
}

export const FUNCTIONS: Record<string, FunctionSpec> = {
  'ecr-push': {
    description: 'ECR push (EventBridge) -> deployments',
    // registry/pullSecrets: a push without image-digest is resolved before planning.
    capabilities: ['store', 'startExecution', 'registry', 'pullSecrets'],
    async: true,
  },
  'alarm-changed': {
    description: 'CloudWatch alarm state change (EventBridge) -> fail the bakes watching it',
    capabilities: ['store', 'alarms', 'taskCallback'],
    async: true,
  },
  'execution-ended': {
    description: 'Step Functions execution failed/timed out/aborted (EventBridge) -> repair stages, locks and what it waited on',
    // Releasing a dead holder's lock wakes the next waiter (SendTaskSuccess on its task token).
    capabilities: ['store', 'taskCallback'],
    // An approval the stopped execution waited on expires: its Slack message loses its buttons.
    secrets: ['SlackBotToken'],
    async: true,
    // Retries the repair while the store is down, for as long as one invocation may run
    // (functions/execution-ended.ts says why Lambda's own two retries are not enough).
    timeout: '15 minutes',
  },
  'ecs-rollout-changed': {
    description: 'ECS service deployment / PAUSE hook events (EventBridge) -> the canary/linear rollouts that follow them',
    // DescribeServiceDeployments and ContinueServiceDeployment (ecsTarget), then SendTaskSuccess/Failure.
    capabilities: ['store', 'taskCallback', 'ecsTarget'],
    async: true,
  },
  'pipeline-step': {
    description: 'Bookkeeping steps of the deploy state machine (locks, stages, scan gate, alarms, bake)',
    // signatures/pullSecrets: the signed-image gate reads signatures from ECR, GHCR and Docker Hub.
    capabilities: ['store', 'alarms', 'scanner', 'taskCallback', 'ecsTarget', 'signatures', 'pullSecrets'],
    // Deployment threads in Slack (stage changes).
    secrets: ['SlackBotToken'],
    // The ECS deploy step waits for the service to settle (up to ~13 minutes per call, then the
    // state machine retries); the other actions take milliseconds.
    timeout: '15 minutes',
  },
  'request-approval': {
    description: 'Stores an approval request (waitForTaskToken) and tells the approvers',
    capabilities: ['store', 'taskCallback'],
    secrets: ['SlackBotToken'],
  },
  api: {
    description: 'Read API, approvals, manual deploys and rollbacks for the dashboard and CLI',
    capabilities: ['store', 'taskCallback', 'startExecution', 'alarms', 'executionHistory', 'registry', 'pullSecrets'],
    // Decisions from the dashboard update the Slack message.
    secrets: ['SlackBotToken'],
  },
  // Handlers that parallel work adds; their entries are ready so that the file is all they need.
  'github-webhook': {
    description: 'GitHub webhooks (GHCR package published, git tag) -> deployments and releases',
    capabilities: ['store', 'startExecution', 'registry', 'pullSecrets'],
    secrets: ['GithubWebhookSecret'],
  },
  'registry-webhook': {
    description: 'Docker Hub webhook (path token) -> deployments',
    capabilities: ['store', 'startExecution', 'registry', 'pullSecrets'],
    secrets: ['DockerhubToken'],
  },
  'slack-interactions': {
    description: 'Slack Approve/Reject buttons -> approval decisions',
    capabilities: ['store', 'taskCallback'],
    secrets: ['SlackSigningSecret', 'SlackBotToken'],
  },
};
