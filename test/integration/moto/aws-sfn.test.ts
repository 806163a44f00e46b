/**
 * SfnOrchestrator against moto_server with real execution (execute_state_machine on): the
 * idempotent start, describe and list, and a task token round trip through SQS.
 */
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SfnOrchestrator } from '../../../src/aws/sfn-orchestrator.ts';
import { TaskTokenExpiredError } from '../../../src/core/model/errors.ts';
import { type Moto, startMoto } from '../../support/moto.ts';

const ROLE = 'arn:aws:iam::123456789012:role/coconut-test';

let moto: Moto;
let sfn: SFNClient;
let sqs: SQSClient;
beforeAll(async () => {
  moto = await startMoto();
  sfn = new SFNClient(moto.clientOptions);
  sqs = new SQSClient(moto.clientOptions);
});
afterAll(() => moto?.stop());
// moto 5.2.1 deep-copies every state machine on StartExecution, which fails once any execution
// has run in the server (its worker holds a lock): each test starts from a reset server and
// starts at most one new execution.
beforeEach(() => moto.reset());

async function machine(name: string, definition: unknown): Promise<string> {
  const res = await sfn.send(new CreateStateMachineCommand({ name, roleArn: ROLE, definition: JSON.stringify(definition) }));
  return res.stateMachineArn as string;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A machine that parks on a task token sent through SQS, then echoes what it was given. */
async function tokenMachine(name: string, queueUrl: string, timeoutSeconds = 60): Promise<string> {
  return machine(name, {
    StartAt: 'WaitForApproval',
    States: {
      WaitForApproval: {
        Type: 'Task',
        Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
        Parameters: { QueueUrl: queueUrl, MessageBody: { 'token.$': '$$.Task.Token', 'deploymentId.$': '$.deploymentId' } },
        TimeoutSeconds: timeoutSeconds,
        End: true,
      },
    },
  });
}

async function receiveToken(queueUrl: string): Promise<{ token: string; deploymentId: string }> {
  return until('a task token on the queue', async () => {
    const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }));
    const message = res.Messages?.[0];
    if (!message?.Body) return undefined;
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    return JSON.parse(message.Body) as { token: string; deploymentId: string };
  });
}

async function statusOf(executionArn: string, wanted: string[]): Promise<{ status: string; output?: string; error?: string }> {
  return until(`execution ${executionArn} to be ${wanted.join('|')}`, async () => {
    const res = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return wanted.includes(res.status ?? '')
      ? {
          status: res.status as string,
          ...(res.output ? { output: res.output } : {}),
          ...(res.error ? { error: res.error } : {}),
        }
      : undefined;
  });
}

describe('Class: SfnOrchestrator (moto_server)', () => {
  it('starts an execution once: the same name twice starts nothing new (started: false)', async () => {
    const arn = await machine('coconut-idem', { StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 30, End: true } } });
    const orchestrator = new SfnOrchestrator(sfn, { deploy: arn });
    const first = await orchestrator.startExecution('deploy', 'api-1_0_0-abc123', { version: '1.0.0' });
    expect(first).toEqual({ executionArn: `${arn.replace(':stateMachine:', ':execution:')}:api-1_0_0-abc123`, started: true });
    const again = await orchestrator.startExecution('deploy', 'api-1_0_0-abc123', { version: '1.0.0' });
    expect(again).toEqual({ executionArn: first.executionArn, started: false });
    // Different input under the same name: Step Functions says ExecutionAlreadyExists; still a duplicate.
    const other = await orchestrator.startExecution('deploy', 'api-1_0_0-abc123', { version: 'other' });
    expect(other.started).toBe(false);
    const listed = await orchestrator.listExecutions('deploy');
    expect(listed.map((e) => e.name)).toEqual(['api-1_0_0-abc123']);
  });

  it('describes an execution by name, and answers undefined for one that never ran', async () => {
    const arn = await machine('coconut-describe', {
      StartAt: 'Boom',
      States: { Boom: { Type: 'Fail', Error: 'Coconut.DeployFailed', Cause: 'api 1.0.0 on staging: deploy failed' } },
    });
    const orchestrator = new SfnOrchestrator(sfn, { deploy: arn });
    const { executionArn } = await orchestrator.startExecution('deploy', 'dep-fails', {});
    await statusOf(executionArn, ['FAILED']);
    const described = await orchestrator.describeExecution('deploy', 'dep-fails');
    expect(described).toMatchObject({ name: 'dep-fails', executionArn, status: 'FAILED', error: 'Coconut.DeployFailed' });
    expect(described?.cause).toContain('deploy failed');
    expect(await orchestrator.describeExecution('deploy', 'never-ran')).toBeUndefined();
    expect((await orchestrator.listExecutions('deploy', { status: 'FAILED' })).map((e) => e.name)).toEqual(['dep-fails']);
    expect(await orchestrator.listExecutions('deploy', { status: 'RUNNING' })).toEqual([]);
  });

  it('resumes a task through its token: sendTaskSuccess via SQS, output reaches the execution', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'coconut-approvals-ok' }));
    const arn = await tokenMachine('coconut-token-ok', QueueUrl as string);
    const orchestrator = new SfnOrchestrator(sfn, { deploy: arn });
    const { executionArn } = await orchestrator.startExecution('deploy', 'dep-token-ok', { deploymentId: 'dep-token-ok' });
    const message = await receiveToken(QueueUrl as string);
    expect(message.deploymentId).toBe('dep-token-ok');
    await orchestrator.sendTaskSuccess(message.token, { approvedBy: 'U1' });
    const done = await statusOf(executionArn, ['SUCCEEDED', 'FAILED']);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toEqual({ approvedBy: 'U1' });
    // The token is spent: using it again is an expired approval, not a crash.
    await expect(orchestrator.sendTaskSuccess(message.token, {})).rejects.toThrow(TaskTokenExpiredError);
  });

  it('fails a task through its token: sendTaskFailure ends the execution with that error', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'coconut-approvals-no' }));
    const arn = await tokenMachine('coconut-token-no', QueueUrl as string);
    const orchestrator = new SfnOrchestrator(sfn, { deploy: arn });
    const { executionArn } = await orchestrator.startExecution('deploy', 'dep-token-no', { deploymentId: 'dep-token-no' });
    const { token } = await receiveToken(QueueUrl as string);
    await orchestrator.sendTaskFailure(token, 'Coconut.Rejected', 'rejected by U2: not today');
    const done = await statusOf(executionArn, ['SUCCEEDED', 'FAILED']);
    expect(done).toMatchObject({ status: 'FAILED', error: 'Coconut.Rejected' });
  });

  it('turns a timed-out task and an unknown token into TaskTokenExpiredError', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'coconut-approvals-late' }));
    const arn = await tokenMachine('coconut-token-late', QueueUrl as string, 1);
    const orchestrator = new SfnOrchestrator(sfn, { deploy: arn });
    const { executionArn } = await orchestrator.startExecution('deploy', 'dep-token-late', { deploymentId: 'dep-token-late' });
    const { token } = await receiveToken(QueueUrl as string);
    const done = await statusOf(executionArn, ['SUCCEEDED', 'FAILED', 'TIMED_OUT']);
    expect(done.error ?? done.status).toMatch(/Timeout|TIMED_OUT/);
    await expect(orchestrator.sendTaskSuccess(token, {})).rejects.toThrow(TaskTokenExpiredError);
    await expect(orchestrator.sendTaskFailure('not-a-token', 'x', 'y')).rejects.toThrow(TaskTokenExpiredError);
  });

  it('names the state machine when a start fails for another reason', async () => {
    const orchestrator = new SfnOrchestrator(sfn, { deploy: 'arn:aws:states:us-east-1:123456789012:stateMachine:missing' });
    await expect(orchestrator.startExecution('deploy', 'dep-x', {})).rejects.toThrow(/stateMachine:missing/);
    await expect(new SfnOrchestrator(sfn, {}).startExecution('release', 'r', {})).rejects.toThrow(
      /no ARN configured for the release state machine \(COCONUT_RELEASE_STATE_MACHINE/,
    );
  });
});
