/**
 * The production wiring, run as Lambda runs it: every function infra/ deploys is invoked through
 * the `handler` export of its bundle (functions/<name>.mjs, built with esbuild as SST's CLI builds
 * it) in a fresh Node process (test/support/lambda-host.ts), with the environment
 * SST's own components give it (sst.config.ts evaluated under Pulumi mocks, test/support/sst-eval.ts),
 * its linked sst.Secrets in resource.enc as SST's CLI writes them, and the Lambda runtime's own
 * variables. Only the AWS endpoint (AWS_ENDPOINT_URL, honoured by the SDK v3 for every client:
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html) and static
 * credentials are overridden, to reach moto_server, where the table and the state machines exist
 * under the names infra/ gives them. This runs src/aws/ports.ts (variables -> adapters),
 * src/aws/secrets.ts (links -> values) and src/aws/json-log.ts (log lines) for real; each test
 * checks an effect in moto that only a correct wiring produces.
 *
 * Slack: the bot token is linked, so Slack is on; its Web API is slack.com, fixed when the token
 * comes from a link, which a test cannot reach (or which refuses the made-up token where it can):
 * the handlers treat a failed Slack call as a failed notification, not a failed step.
 */

import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handlerNames } from '../../../infra/functions.ts';
import { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import { tableDefinition } from '../../../src/aws/table.ts';
import { loadConfigFile } from '../../../src/core/config/load.ts';
import type { ServiceConfig } from '../../../src/core/config/schema.ts';
import {
  buildPlan,
  type DeploymentPlan,
  deploymentRecord,
  executionName,
  initialStages,
} from '../../../src/core/triggers/plan.ts';
import { releaseName } from '../../../src/core/triggers/start-release.ts';
import { ecrPush } from '../../support/fixtures.ts';
import { type DeployedFunction, deployedFunctions, type Invocation, invoke } from '../../support/lambda-host.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { blockActions, signedInteraction } from '../../support/slack-server.ts';
import { evaluateSstApp, type SstEvaluation } from '../../support/sst-eval.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const CONFIG = 'examples/demo/coconut.yaml';
/** `sst secret set` values for the stage: what the functions' links carry. */
const SECRETS = {
  GithubWebhookSecret: 'wiring-github-secret',
  DockerhubToken: 'wiring-dockerhub-token',
  SlackBotToken: 'xoxb-wiring-test',
  SlackSigningSecret: 'wiring-signing-secret',
};
const DIGEST = `sha256:${'ab'.repeat(32)}`;

let moto: Moto;
let app: SstEvaluation;
let fns: Map<string, DeployedFunction>;
let sfn: SFNClient;
let sqs: SQSClient;
let cloudwatch: CloudWatchClient;
let dynamo: DynamoDBDocumentClient;

const artifacts = mkdtempSync(path.join(tmpdir(), 'coconut-artifacts-'));
beforeAll(async () => {
  [moto, app] = await Promise.all([
    startMoto(),
    evaluateSstApp({ configFile: CONFIG, stage: 'prod', secrets: SECRETS, artifactsDir: artifacts }),
  ]);
  fns = new Map(deployedFunctions(app).map((fn) => [path.basename(fn.handler, '.handler'), fn]));
  sfn = new SFNClient(moto.clientOptions);
  sqs = new SQSClient(moto.clientOptions);
  cloudwatch = new CloudWatchClient(moto.clientOptions);
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(moto.clientOptions));
}, 120_000);
afterAll(async () => {
  await moto?.stop();
  rmSync(artifacts, { recursive: true, force: true });
});

/** What infra/ creates that the handlers reach: the table and the state machines, under their deployed names. */
async function deployInfra(): Promise<void> {
  await moto.reset();
  const table = fns.get('ecr-push')?.environment.COCONUT_TABLE as string;
  await new DynamoDBClient(moto.clientOptions).send(new CreateTableCommand(tableDefinition(table)));
  for (const machine of app.of('aws:sfn/stateMachine:StateMachine')) {
    const inputs = machine.inputs as { name: string; definition: string; roleArn: string };
    await sfn.send(new CreateStateMachineCommand({ name: inputs.name, definition: inputs.definition, roleArn: inputs.roleArn }));
  }
}
// moto 5.2.1 deep-copies every state machine on StartExecution, which fails once an execution has
// run in the server: each test starts from a reset server and starts at most one execution.
beforeEach(deployInfra, 30_000);

/** A deployment as ecr-push records it (without starting its execution: one per test, see above). */
async function seedDeployment(version: string): Promise<DeploymentPlan> {
  const config = await loadConfigFile(path.join(ROOT, CONFIG));
  const service = config.services.find((s) => s.name === 'demo-api') as ServiceConfig;
  const plan = buildPlan(service, { registry: 'ecr', repository: 'demo-api', tag: version, digest: DIGEST });
  const now = new Date();
  const store = new DynamoStore(dynamo, table());
  await store.createDeployment(
    deploymentRecord(plan, { kind: 'ecr-push', id: randomUUID(), at: now.toISOString() }, 'deploy', now),
    initialStages(plan, now),
  );
  return plan;
}

/** The environment override: moto's endpoint and static credentials, nothing else. */
const AT_MOTO = () => ({
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_SESSION_TOKEN: 'testing-session',
});

function fn(name: string): DeployedFunction {
  const found = fns.get(name);
  if (!found) throw new Error(`infra deploys no function for functions/${name}.ts`);
  return found;
}

async function call(name: string, event: unknown, env: Record<string, string | undefined> = {}): Promise<Invocation> {
  const invocation = await invoke(fn(name), event, { env: { ...AT_MOTO(), ...env } });
  // json-log, on every invocation: each line on stdout and stderr (both go to CloudWatch Logs) is
  // JSON with a level and a message, and names the invocation's request id (Powertools' key, or
  // logErrors' own when the ports, and with them the logger, could not be built).
  for (const line of logLines(invocation)) {
    const where = `${name}: ${JSON.stringify(line)}`;
    expect(line, where).toMatchObject({ level: expect.any(String), message: expect.any(String) });
    expect(line.function_request_id ?? line.requestId, where).toBe(invocation.requestId);
  }
  return invocation;
}

/** The handler answered (no error), with this result. */
function ok(invocation: Invocation): unknown {
  if (invocation.errorType) {
    throw new Error(
      `handler failed: ${invocation.errorType}: ${invocation.errorMessage}\n${invocation.stdout.join('\n')}\n${invocation.stderr}`,
    );
  }
  return invocation.result;
}

/** Log lines as CloudWatch Logs would hold them: each one JSON. */
function logLines(invocation: Invocation): Record<string, unknown>[] {
  const stderr = invocation.stderr.split('\n').filter((l) => l.trim() !== '');
  return [...invocation.stdout, ...stderr].map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`a log line is not JSON: ${line}`);
    }
  });
}

const table = () => fn('ecr-push').environment.COCONUT_TABLE as string;
const item = async (pk: string, sk: string) =>
  (await dynamo.send(new GetCommand({ TableName: table(), Key: { pk, sk } }))).Item as Record<string, unknown> | undefined;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function executionStatus(executionArn: string, wanted: string[]) {
  return until(`execution ${executionArn} to be ${wanted.join('|')}`, async () => {
    const res = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return wanted.includes(res.status ?? '') ? res : undefined;
  });
}

/**
 * A real task token: an execution parked on a waitForTaskToken state (as the deploy machine's
 * lock, approval and bake states park), its token delivered through SQS.
 */
async function parkedExecution(): Promise<{ executionArn: string; token: string }> {
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'wiring-tokens' }))).QueueUrl as string;
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name: 'wiring-waiter',
      roleArn: 'arn:aws:iam::123456789012:role/wiring',
      definition: JSON.stringify({
        StartAt: 'Wait',
        States: {
          Wait: {
            Type: 'Task',
            Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
            Parameters: { QueueUrl: queueUrl, MessageBody: { 'token.$': '$$.Task.Token' } },
            TimeoutSeconds: 120,
            End: true,
          },
        },
      }),
    }),
  );
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: `wait-${randomUUID()}` }));
  const token = await until('a task token on the queue', async () => {
    const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }));
    const message = res.Messages?.[0];
    if (!message?.Body) return undefined;
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    return (JSON.parse(message.Body) as { token: string }).token;
  });
  return { executionArn: executionArn as string, token };
}

/**
 * An API Gateway HTTP API event, payload format 2.0
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
 */
function httpApiEvent(
  routeKey: string,
  opts: { path?: string; body?: string; headers?: Record<string, string>; pathParameters?: Record<string, string> } = {},
  authorizer?: Record<string, unknown>,
) {
  const [method, routePath] = routeKey.split(' ') as [string, string];
  const rawPath = opts.path ?? routePath;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', 'user-agent': 'test', ...opts.headers },
    ...(opts.pathParameters ? { pathParameters: opts.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
      requestId: 'Jd9dOjQvoAMEVfA=',
      routeKey,
      stage: '$default',
      time: '02/Dec/2026:07:00:00 +0000',
      timeEpoch: Date.now(),
      ...(authorizer ? { authorizer } : {}),
    },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    isBase64Encoded: false,
  };
}

/** The SigV4 caller API Gateway verified (IAM authorization: the API without an `auth:` section). */
const IAM_CALLER = {
  iam: {
    accessKey: 'AKIAWIRING',
    accountId: '123456789012',
    callerId: 'AIDAWIRING',
    principalOrgId: null,
    userArn: 'arn:aws:iam::123456789012:user/operator',
    userId: 'AIDAWIRING',
  },
};

describe('Deployed handlers, invoked as Lambda invokes them (moto_server)', () => {
  it('covers every function infra/ deploys, each with its handler file and the variables ports.ts reads', () => {
    expect([...fns.keys()].sort()).toEqual(handlerNames(ROOT));
    for (const [name, f] of fns) {
      expect(f.handler, name).toBe(`functions/${name}.handler`);
      expect(Object.keys(f.environment), name).toEqual(
        expect.arrayContaining(['COCONUT_CONFIG', 'COCONUT_TABLE', 'COCONUT_DEPLOY_STATE_MACHINE', 'SST_KEY', 'SST_KEY_FILE']),
      );
    }
  });

  it('creates in moto the table infra/ deploys: tableDefinition has its name, keys and indexes', () => {
    const [deployed] = app.of('aws:dynamodb/table:Table');
    const inputs = deployed?.inputs as {
      name: string;
      hashKey: string;
      rangeKey: string;
      attributes: { name: string; type: string }[];
      globalSecondaryIndexes: { name: string; hashKey: string; rangeKey: string; projectionType: string }[];
    };
    const ours = tableDefinition(table());
    expect(inputs.name).toBe(table());
    expect(ours.KeySchema).toEqual([
      { AttributeName: inputs.hashKey, KeyType: 'HASH' },
      { AttributeName: inputs.rangeKey, KeyType: 'RANGE' },
    ]);
    expect(ours.AttributeDefinitions?.map((a) => ({ name: a.AttributeName, type: a.AttributeType }))).toEqual(
      expect.arrayContaining(inputs.attributes),
    );
    expect(ours.GlobalSecondaryIndexes?.map((i) => [i.IndexName, ...(i.KeySchema ?? []).map((k) => k.AttributeName)])).toEqual(
      inputs.globalSecondaryIndexes.map((i) => [i.name, i.hashKey, i.rangeKey]),
    );
  });

  it('ecr-push: a push starts the deploy execution under its deterministic name and records the deployment; logs are JSON with the request id', async () => {
    const event = ecrPush({ 'repository-name': 'demo-api', 'image-tag': '1.2.3', 'image-digest': DIGEST });
    const first = await call('ecr-push', event);
    const expected = executionName('demo-api', { registry: 'ecr', repository: 'demo-api', tag: '1.2.3', digest: DIGEST });
    expect(ok(first)).toMatchObject({ outcomes: [{ status: 'started', deploymentId: expected }] });

    const machine = fn('ecr-push').environment.COCONUT_DEPLOY_STATE_MACHINE as string;
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine }));
    expect(listed.executions?.map((e) => e.name)).toEqual([expected]);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: listed.executions?.[0]?.executionArn }));
    expect(JSON.parse(described.input ?? '{}')).toMatchObject({ deploymentId: expected, service: 'demo-api', version: '1.2.3' });
    expect(await item(`DEP#${expected}`, 'META')).toMatchObject({ service: 'demo-api', version: '1.2.3' });

    // The same push again, in another cold environment: the name makes it a duplicate.
    const again = await call('ecr-push', event);
    expect(JSON.stringify(ok(again))).toContain('duplicate');
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine }))).executions).toHaveLength(1);

    // json-log: every line is JSON with level and message, and carries this invocation's request id.
    const lines = logLines(first);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatchObject({ level: expect.any(String), message: expect.any(String), service: 'coconut' });
      expect(line.function_request_id).toBe(first.requestId);
    }
    expect(lines.some((l) => JSON.stringify(l).includes(expected))).toBe(true);
  }, 60_000);

  it('ecr-push without COCONUT_TABLE fails naming the variable infra/ sets', async () => {
    const event = ecrPush({ 'repository-name': 'demo-api', 'image-tag': '1.2.4', 'image-digest': DIGEST });
    const failed = await call('ecr-push', event, { COCONUT_TABLE: undefined });
    expect(failed.errorMessage).toMatch(/COCONUT_TABLE is not set/);
    expect(
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn: fn('ecr-push').environment.COCONUT_DEPLOY_STATE_MACHINE })))
        .executions,
    ).toEqual([]);
  }, 30_000);

  it('github-webhook: a tag signed with the linked secret starts the release execution; a wrong signature starts nothing', async () => {
    const payload = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/github/push-tag.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    Object.assign(payload, { ref: 'refs/tags/1.3.0' });
    Object.assign(payload.repository as object, { full_name: 'coconut-demo/demo-api', name: 'demo-api' });
    const body = JSON.stringify(payload);
    const signed = (secret: string, delivery: string) =>
      httpApiEvent('POST /webhooks/github', {
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          // Signed as GitHub documents it: HMAC-SHA256 of the raw body with the webhook's secret.
          'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        },
      });
    const forged = ok(await call('github-webhook', signed('not-the-secret', randomUUID())));
    expect(forged).toMatchObject({ statusCode: 401 });

    const accepted = ok(await call('github-webhook', signed(SECRETS.GithubWebhookSecret, randomUUID()))) as {
      statusCode: number;
      body: string;
    };
    expect(accepted.statusCode, accepted.body).toBe(202);
    const releaseMachine = fn('github-webhook').environment.COCONUT_RELEASE_STATE_MACHINE as string;
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: releaseMachine }));
    expect(listed.executions?.map((e) => e.name)).toEqual([releaseName('demo-api', 'coconut-demo/demo-api', '1.3.0')]);
  }, 60_000);

  it('registry-webhook: the token in the path is the linked DockerhubToken', async () => {
    const body = readFileSync(path.join(ROOT, 'test/fixtures/dockerhub/push.json'), 'utf8');
    const at = (token: string) =>
      httpApiEvent('POST /webhooks/dockerhub/{token}', {
        path: `/webhooks/dockerhub/${token}`,
        body,
        headers: { 'content-type': 'application/json' },
        pathParameters: { token },
      });
    const refused = ok(await call('registry-webhook', at('not-the-token'))) as { statusCode: number };
    expect(refused.statusCode).toBe(401);
    // The demo deploys nothing from Docker Hub: past the token, the push is understood and ignored.
    const accepted = ok(await call('registry-webhook', at(SECRETS.DockerhubToken))) as { statusCode: number; body: string };
    expect(accepted.statusCode, accepted.body).toBe(202);
    expect(accepted.body).toContain('svendowideit/testhook');
  }, 60_000);

  it('pipeline-step takes the lock for a parked execution and resumes it; execution-ended releases the lock of a failed one', async () => {
    const plan = await seedDeployment('1.2.3');
    const { executionArn, token } = await parkedExecution();
    const ref = { deploymentId: plan.deploymentId, service: 'demo-api', version: '1.2.3', environment: 'staging' };
    const acquired = ok(await call('pipeline-step', { action: 'acquireLock', ref, holdSeconds: 3600, taskToken: token }));
    expect(acquired).toMatchObject({ acquired: true });
    expect(await item('LOCK#demo-api#staging', 'LOCK')).toMatchObject({ owner: ref.deploymentId });
    // The lock was free: the step settled the parked task itself.
    expect((await executionStatus(executionArn, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');

    const ended = await call('execution-ended', {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [
        `${fn('execution-ended').environment.COCONUT_DEPLOY_STATE_MACHINE?.replace(':stateMachine:', ':execution:')}:${ref.deploymentId}`,
      ],
      detail: {
        executionArn: `${fn('execution-ended').environment.COCONUT_DEPLOY_STATE_MACHINE?.replace(':stateMachine:', ':execution:')}:${ref.deploymentId}`,
        stateMachineArn: fn('execution-ended').environment.COCONUT_DEPLOY_STATE_MACHINE,
        name: ref.deploymentId,
        status: 'FAILED',
        error: 'States.TaskFailed',
        cause: 'the deploy build failed',
      },
    });
    expect(ok(ended)).toEqual({
      repaired: ['staging: PENDING -> SKIPPED', 'staging: lock released', 'prod: PENDING -> SKIPPED'],
    });
    const lock = await item('LOCK#demo-api#staging', 'LOCK');
    expect(lock?.owner, JSON.stringify(lock)).toBeUndefined();
    expect(await item(`DEP#${ref.deploymentId}`, 'ENV#staging')).toMatchObject({ state: 'SKIPPED' });
  }, 60_000);

  it('alarm-changed fails the bake that pipeline-step started on that alarm: the parked execution fails at once', async () => {
    const alarm = 'demo-api-staging-health';
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: alarm,
        MetricName: 'HealthCheckFailed',
        Namespace: 'Demo',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'healthy' }));
    const plan = await seedDeployment('1.2.3');
    const { executionArn, token } = await parkedExecution();
    const ref = { deploymentId: plan.deploymentId, service: 'demo-api', version: '1.2.3', environment: 'staging' };
    ok(await call('pipeline-step', { action: 'startBake', ref, alarms: [alarm], bakeSeconds: 600, taskToken: token }));
    expect(await item(`ALARM#${alarm}`, `BAKE#${ref.deploymentId}#staging`)).toBeDefined();

    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'ALARM', StateReason: 'probe failed twice' }));
    const changed = await call('alarm-changed', {
      version: '0',
      id: randomUUID(),
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarm}`],
      detail: {
        alarmName: alarm,
        state: { value: 'ALARM', reason: 'probe failed twice', timestamp: new Date().toISOString() },
        previousState: { value: 'OK', reason: 'healthy', timestamp: new Date().toISOString() },
        configuration: { description: 'demo-api health' },
      },
    });
    expect(ok(changed)).toEqual({ failedBakes: 1 });
    const failed = await executionStatus(executionArn, ['FAILED', 'SUCCEEDED']);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('Coconut.AlarmFired');
    // The alarm is the cause (moto 5.2.1 keeps a task failure's error, not its cause: read the log).
    const fired = logLines(changed).find((l) => String(l.message).includes(`alarm ${alarm} fired`));
    expect(fired).toMatchObject({ deploymentId: ref.deploymentId, function_request_id: changed.requestId });
  }, 60_000);

  it('request-approval stores the approval; a Slack click signed with the linked secret approves it and resumes the execution; the API lists it', async () => {
    const { executionArn, token } = await parkedExecution();
    const request = {
      taskToken: token,
      deploymentId: 'demo-api-1_2_3-approval',
      service: 'demo-api',
      environment: 'prod',
      version: '1.2.3',
      timeoutSeconds: 3600,
      enteredAt: new Date().toISOString(),
    };
    const { approvalId } = ok(await call('request-approval', request)) as { approvalId: string };
    expect(await item(`APR#${approvalId}`, 'META')).toMatchObject({ status: 'PENDING', deploymentId: request.deploymentId });

    const click = (secret: string) => {
      const signed = signedInteraction(
        secret,
        blockActions({ user: 'U0DEMOLEAD', action: 'approve', approvalId, channel: 'C0DEPLOYS', messageTs: '1700000000.000100' }),
      );
      return httpApiEvent('POST /slack/interactions', { body: signed.body, headers: signed.headers });
    };
    const forged = ok(await call('slack-interactions', click('not-the-signing-secret'))) as { statusCode: number };
    expect(forged.statusCode).toBe(401);
    expect(await item(`APR#${approvalId}`, 'META')).toMatchObject({ status: 'PENDING' });

    const clicked = ok(await call('slack-interactions', click(SECRETS.SlackSigningSecret))) as { statusCode: number };
    expect(clicked.statusCode).toBe(200);
    expect(await item(`APR#${approvalId}`, 'META')).toMatchObject({ status: 'APPROVED', decidedById: 'U0DEMOLEAD' });
    expect((await executionStatus(executionArn, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');

    const listed = ok(await call('api', httpApiEvent('GET /api/approvals', {}, IAM_CALLER))) as {
      statusCode: number;
      body: string;
    };
    expect(listed.statusCode, listed.body).toBe(200);
    const approvals = (JSON.parse(listed.body) as { approvals: { approvalId: string; status: string; taskToken?: string }[] })
      .approvals;
    expect(approvals.find((a) => a.approvalId === approvalId)).toMatchObject({ status: 'APPROVED' });
    expect(listed.body).not.toContain(token);
  }, 90_000);
});
