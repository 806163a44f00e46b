/**
 * Least privilege, enforced by a real IAM evaluator: for each Lambda in infra/function-manifest.ts,
 * an IAM user in moto_server holds exactly the statements infra grants it (statementsFor, refs
 * resolved to moto's account and region), and the src/aws adapters that handler uses run with
 * that user's keys. What its capabilities call goes through; a call outside them is refused.
 *
 * How moto checks (moto 5, source: moto/core/authorization.py, moto/core/responses.py call_action,
 * moto/iam/access_control.py): started with INITIAL_NO_AUTH_ACTION_COUNT=N, it lets N requests in
 * unchecked, then verifies every request's SigV4 signature and evaluates the caller's policies —
 * but for DynamoDB, Step Functions, CloudWatch, ECR and ECS it evaluates the ACTION against
 * resource "*" (only SQS, IAM, STS and S3 compute a request's resource), and it names the action by
 * the request's signing name (CloudWatch signs as "monitoring"). So the proof has two halves:
 * - actions, by moto: the user's policy is infra's statements with each Resource widened to "*"
 *   (moto compares "*" against the pattern) and "cloudwatch:" spelt "monitoring:" as moto spells it;
 * - resources, by IAM's documented matching rules (test/support/iam-policy.ts): every call the
 *   adapters sent (recorded by SDK middleware) is allowed by infra's exact statements on the ARN the
 *   Service Authorization Reference says IAM checks (test/support/aws-calls.ts).
 */
import { createHash } from 'node:crypto';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsServices } from '../../../infra/ecs.ts';
import { type Capability, FUNCTIONS } from '../../../infra/function-manifest.ts';
import { CAPABILITIES, type ResourceRefs, statementsFor } from '../../../infra/permissions.ts';
import { sdkConfig } from '../../../src/aws/clients.ts';
import { CloudWatchAlarms } from '../../../src/aws/cloudwatch-alarms.ts';
import { CodeBuildBuilds } from '../../../src/aws/codebuild-builds.ts';
import { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import { EcrRegistry } from '../../../src/aws/ecr-registry.ts';
import { EcrImageSignatures } from '../../../src/aws/ecr-signatures.ts';
import { EcsReader } from '../../../src/aws/ecs-reader.ts';
import { EcsTargetAdapter } from '../../../src/aws/ecs-target.ts';
import { PullSecrets } from '../../../src/aws/pull-secrets.ts';
import { SfnOrchestrator } from '../../../src/aws/sfn-orchestrator.ts';
import { tableDefinition } from '../../../src/aws/table.ts';
import { parseConfig } from '../../../src/core/config/load.ts';
import { OciDigestClient } from '../../../src/registry/oci-digest.ts';
import { type AwsCall, needed, recordCalls } from '../../support/aws-calls.ts';
import { allows, type Grant } from '../../support/iam-policy.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { installSstGlobals, resolveDeep } from '../../support/sst-recorder.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
/** The ecs target lives in another region than the pipeline (defect 14). */
const ECS_REGION = 'eu-west-1';
const TABLE = 'coconut-iam';
const PREFIX = 'coconut-iam';

const config = parseConfig(`
services:
  - name: web
    image: { registry: ecr, repository: web, pullSecret: web-pull }
    target: { kind: ecs, cluster: 'demo-{environment}', region: ${ECS_REGION} }
    environments: [{ name: staging, alarms: [web-staging-5xx] }]
`);

type Keys = { accessKeyId: string; secretAccessKey: string };

let moto: Moto;
let restoreGlobals: () => void;
let admin: Keys;
let refs: ResourceRefs;
let executionName: string;

const options = (keys: Keys, region = REGION) => ({ endpoint: moto.endpoint, region, credentials: keys, maxAttempts: 1 });

/** IAM's refusal (named by recordCalls, test/support/aws-calls.ts), whichever way the adapter wrapped it. */
function isAccessDenied(error: unknown): boolean {
  for (let e = error as { name?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.name === 'AccessDenied') return true;
  }
  return false;
}

/** The adapters a handler's capabilities cover, built on clients that sign with `keys` and record their calls. */
function adapters(keys: Keys, calls: AwsCall[]) {
  const db = recordCalls(new DynamoDBClient(sdkConfig(options(keys))), calls);
  const sfn = recordCalls(new SFNClient(sdkConfig(options(keys))), calls);
  const ecsTarget = new EcsTargetAdapter({ client: options(keys), pollMs: 20 });
  // The ECS adapter builds its client per region itself (that is what is under test): record each.
  const internal = ecsTarget as unknown as { client(region?: string): ECSClient };
  const clientFor = internal.client.bind(ecsTarget);
  const seen = new Set<ECSClient>();
  internal.client = (region?: string) => {
    const client = clientFor(region);
    if (!seen.has(client)) recordCalls(client, calls);
    seen.add(client);
    return client;
  };
  return {
    store: new DynamoStore(
      DynamoDBDocumentClient.from(db, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } }),
      TABLE,
    ),
    orchestrator: new SfnOrchestrator(sfn, { deploy: machineArn('deploy'), release: machineArn('release') }),
    alarms: new CloudWatchAlarms(recordCalls(new CloudWatchClient(sdkConfig(options(keys))), calls)),
    ecr: new EcrRegistry(recordCalls(new ECRClient(sdkConfig(options(keys))), calls)),
    ecsReader: new EcsReader(recordCalls(new ECSClient(sdkConfig(options(keys))), calls)),
    builds: new CodeBuildBuilds(recordCalls(new CodeBuildClient(sdkConfig(options(keys))), calls)),
    pullSecrets: new PullSecrets(recordCalls(new SecretsManagerClient(sdkConfig(options(keys))), calls)),
    ecsTarget,
    // The registry API is not moto's: a closed loopback port stands for it, so only the token call is IAM's here.
    signatures: new EcrImageSignatures({
      ecr: recordCalls(new ECRClient(sdkConfig(options(keys))), calls),
      client: new OciDigestClient({ timeoutMs: 500 }),
      others: { cosignSignatures: async () => [], notationSignatures: async () => [] },
      endpointOverride: 'http://127.0.0.1:9',
    }),
  };
}
type Adapters = ReturnType<typeof adapters>;

const machineArn = (machine: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${PREFIX}-${machine}`;

/** What each capability's adapter methods do in a handler, run against the fixtures below. */
const USES: Record<Capability, (a: Adapters, fn: string) => Promise<unknown>> = {
  store: async (a, fn) => {
    const at = new Date().toISOString();
    const id = `dep-${fn}`;
    await a.store.createDeployment(
      {
        deploymentId: id,
        service: 'web',
        version: '1.0.0',
        image: { registry: 'ecr', repository: 'web', tag: '1.0.0' },
        trigger: { kind: 'ecr-push', id: `evt-${fn}`, at },
        environments: ['staging'],
        createdAt: at,
        kind: 'deploy',
      },
      [
        {
          deploymentId: id,
          service: 'web',
          environment: 'staging',
          order: 0,
          version: '1.0.0',
          state: 'PENDING',
          createdAt: at,
          updatedAt: at,
        },
      ],
    );
    await a.store.getDeployment(id);
    await a.store.listDeployments({ service: 'web' });
    await a.store.putApproval({
      approvalId: `apr-${fn}`,
      deploymentId: id,
      service: 'web',
      environment: 'staging',
      version: '1.0.0',
      taskToken: 'token',
      requestedBy: 'ecr-push',
      requestedAt: at,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      status: 'PENDING',
    });
    await a.store.decideApproval(`apr-${fn}`, { status: 'APPROVED', decidedBy: 'U1', decidedAt: at });
    await a.store.putBakeWatch({
      alarm: 'web-staging-5xx',
      deploymentId: id,
      environment: 'staging',
      taskToken: 't',
      expiresAt: 9e9,
    });
    await a.store.deleteBakeWatch('web-staging-5xx', id, 'staging');
  },
  startExecution: (a, fn) => a.orchestrator.startExecution('deploy', `start-${fn}`, { from: fn }),
  // No execution waits on a token here: SendTaskSuccess is authorized, then answered "no such task".
  taskCallback: (a) => a.orchestrator.sendTaskSuccess('AAAAKgAAAAIAAAAAAAAAAQ-no-such-task', {}).catch(notDenied),
  executions: async (a) => {
    await a.orchestrator.describeExecution('deploy', executionName);
    await a.orchestrator.listExecutions('deploy', { limit: 5 });
  },
  executionHistory: (a) => a.orchestrator.history(executionName),
  alarms: (a) => a.alarms.getStates(['web-staging-5xx']),
  scanner: (a) =>
    // The first look starts the scan (Coconut.ScanPending), as the state machine's retry expects.
    a.ecr.scanImage({ registry: 'ecr', repository: 'web', tag: '1.0.0' }).catch(notDenied),
  registry: (a) => a.ecr.resolveDigest('web', '1.0.0'),
  pullSecrets: (a) => a.pullSecrets.read('web-pull'),
  // GetAuthorizationToken is IAM's; the registry call after it fails to connect (not a denial).
  signatures: (a) =>
    a.signatures
      .notationSignatures({ registry: 'ecr', repository: 'web', tag: '1.0.0', digest: `sha256:${'b'.repeat(64)}` })
      .catch(notDenied),
  ecsRead: (a) => a.ecsReader.serviceState('main', 'api'),
  builds: (a) => a.builds.getBuild(`${PREFIX}-helm-deploy:00000000-0000-0000-0000-000000000000`).catch(notDenied),
  ecsTarget: (a, fn) =>
    a.ecsTarget.deploy({
      cluster: 'demo-staging',
      service: 'web',
      region: ECS_REGION,
      repository: 'web',
      // A new image for each caller, so that each one registers a revision and updates the service.
      digest: `sha256:${createHash('sha256').update(fn).digest('hex')}`,
      alarms: ['web-staging-5xx'],
      deadline: Date.now() + 10_000,
    }),
};

function notDenied(error: unknown): void {
  if (isAccessDenied(error)) throw error;
}

/** infra's statements for a function, with moto's account and region. */
function grantsOf(fn: string): Grant[] {
  return statementsFor(FUNCTIONS[fn]?.capabilities ?? [], refs).map((s) => resolveDeep(s) as Grant);
}

/** The same statements as moto can evaluate them (see the header): Resource "*", CloudWatch as "monitoring". */
function motoPolicy(grants: Grant[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: grants.map((g) => ({
      Effect: 'Allow',
      Action: g.actions.map((a) => a.replace(/^cloudwatch:/, 'monitoring:')),
      Resource: '*',
    })),
  });
}

async function userWith(name: string, policy: string): Promise<Keys> {
  const iam = new IAMClient(sdkConfig(options(admin)));
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'coconut', PolicyDocument: policy }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey;
  return { accessKeyId: key?.AccessKeyId as string, secretAccessKey: key?.SecretAccessKey as string };
}

beforeAll(async () => {
  restoreGlobals = installSstGlobals('iam').restore;
  // Three unchecked requests make the admin user; every later request is checked by moto's IAM.
  moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3', MOTO_ECS_SERVICE_RUNNING: '1' } });
  // Executions stay RUNNING (no worker): moto 5.2.1 cannot start a second execution once one has run.
  await fetch(`${moto.endpoint}/moto-api/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ stepfunctions: { execute_state_machine: false } }),
  });
  const bootstrap = new IAMClient(sdkConfig(moto.clientOptions));
  await bootstrap.send(new CreateUserCommand({ UserName: 'admin' }));
  await bootstrap.send(
    new PutUserPolicyCommand({
      UserName: 'admin',
      PolicyName: 'all',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
    }),
  );
  const key = (await bootstrap.send(new CreateAccessKeyCommand({ UserName: 'admin' }))).AccessKey;
  admin = { accessKeyId: key?.AccessKeyId as string, secretAccessKey: key?.SecretAccessKey as string };

  // Fixtures, made by the admin: what the handlers' calls point at.
  const db = new DynamoDBClient(sdkConfig(options(admin)));
  const table = await db.send(new CreateTableCommand(tableDefinition(TABLE)));
  const sfn = new SFNClient(sdkConfig(options(admin)));
  const definition = JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
  for (const machine of ['deploy', 'release']) {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/${PREFIX}-${machine}`;
    await sfn.send(new CreateStateMachineCommand({ name: `${PREFIX}-${machine}`, roleArn, definition }));
  }
  executionName = 'existing-deployment';
  await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn('deploy'), name: executionName, input: '{}' }));
  await new CloudWatchClient(sdkConfig(options(admin))).send(
    new PutMetricAlarmCommand({
      AlarmName: 'web-staging-5xx',
      MetricName: 'HTTPCode_Target_5XX_Count',
      Namespace: 'AWS/ApplicationELB',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    }),
  );
  await new SecretsManagerClient(sdkConfig(options(admin))).send(
    new CreateSecretCommand({ Name: 'web-pull', SecretString: JSON.stringify({ username: 'bot', password: 'pull-token' }) }),
  );
  const ecr = new ECRClient(sdkConfig(options(admin)));
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'web' }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 2, digest: `sha256:${'b'.repeat(64)}` },
    layers: [],
  });
  await ecr.send(new PutImageCommand({ repositoryName: 'web', imageTag: '1.0.0', imageManifest: manifest }));
  const ecs = new ECSClient(sdkConfig(options(admin, ECS_REGION)));
  await ecs.send(new CreateClusterCommand({ clusterName: 'demo-staging' }));
  const task = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'web',
      taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/web-task`,
      tags: [{ key: 'team', value: 'web' }],
      containerDefinitions: [
        { name: 'web', image: `${ACCOUNT}.dkr.ecr.${ECS_REGION}.amazonaws.com/web:0.9.0`, essential: true, memory: 256 },
      ],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster: 'demo-staging',
      serviceName: 'web',
      taskDefinition: task.taskDefinition?.taskDefinitionArn,
      desiredCount: 1,
    }),
  );

  refs = {
    region: REGION,
    account: ACCOUNT,
    tableArn: table.TableDescription?.TableArn,
    machines: Object.fromEntries(['deploy', 'release'].map((m) => [m, { name: `${PREFIX}-${m}`, arn: machineArn(m) }])),
    ecrRepositories: ['web'],
    buildProjectPrefix: PREFIX,
    ecsServices: ecsServices(config),
    pullSecrets: ['web-pull'],
  } as unknown as ResourceRefs;
}, 60_000);

afterAll(async () => {
  await moto?.stop();
  restoreGlobals?.();
});

describe('Least privilege under moto_server IAM enforcement', () => {
  it('enforces: the bootstrap credentials are refused once the admin exists', async () => {
    const stranger = recordCalls(new DynamoDBClient(sdkConfig({ ...moto.clientOptions, maxAttempts: 1 })), []);
    // Its key is unknown to moto's IAM: 403 (InvalidClientTokenId), where before any request went through.
    await expect(stranger.send(new ListTablesCommand({}))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    // The admin, allowed everything, gets through: the refusal above is IAM's, not a broken server.
    const adminDb = recordCalls(new DynamoDBClient(sdkConfig(options(admin))), []);
    expect((await adminDb.send(new ListTablesCommand({}))).TableNames).toContain(TABLE);
  });

  for (const [fn, spec] of Object.entries(FUNCTIONS)) {
    it(`${fn}: its capabilities' calls are allowed (actions by moto, resources by IAM's rules); one call beyond them is refused`, async () => {
      const grants = grantsOf(fn);
      const keys = await userWith(`coconut-${fn}`, motoPolicy(grants));
      const calls: AwsCall[] = [];
      const a = adapters(keys, calls);

      for (const capability of spec.capabilities) await USES[capability](a, fn);
      expect(calls.length).toBeGreaterThan(0);
      const refused = calls
        .flatMap((call) => needed(call, ACCOUNT))
        .filter((n) => !allows(grants, n.action, n.resource))
        .map((n) => `${n.action} on ${n.resource}`);
      expect(refused).toEqual([]);

      // A capability this handler does not have, whose actions it holds none of: moto refuses it.
      const held = new Set(grants.flatMap((g) => g.actions));
      const beyond = (Object.keys(USES) as Capability[]).find(
        (c) => !spec.capabilities.includes(c) && CAPABILITIES[c].actions.every((action) => !held.has(action)),
      );
      expect(beyond, `${fn} holds every capability`).toBeDefined();
      const outside = USES[beyond as Capability](adapters(keys, []), fn);
      await expect(outside, `${fn} calling ${beyond}`).rejects.toSatisfy(isAccessDenied);
    }, 30_000);
  }

  it('pipeline-step deploys the ecs target in its own region, and its grant names that region only', async () => {
    const grants = grantsOf('pipeline-step');
    const keys = await userWith('coconut-ecs-region', motoPolicy(grants));
    const calls: AwsCall[] = [];
    const outcome = await USES.ecsTarget(adapters(keys, calls), 'ecs-region');
    expect(outcome).toMatchObject({ state: 'COMPLETED' });
    const ecsCalls = calls.filter((c) => c.action.startsWith('ecs:'));
    expect(ecsCalls.map((c) => c.action)).toEqual(expect.arrayContaining(['ecs:UpdateService', 'ecs:RegisterTaskDefinition']));
    expect(new Set(ecsCalls.map((c) => c.region))).toEqual(new Set([ECS_REGION]));
    const service = (region: string) => `arn:aws:ecs:${region}:${ACCOUNT}:service/demo-staging/web`;
    expect(allows(grants, 'ecs:UpdateService', service(ECS_REGION))).toBe(true);
    expect(allows(grants, 'ecs:UpdateService', service(REGION))).toBe(false);
  }, 30_000);
});
