/**
 * Slack approvals through the real handlers (request-approval, slack-interactions,
 * pipeline-step), the real @slack/web-api client against the recording Slack server on
 * loopback, and the DynamoDB store on dynalite. The orchestrator stands in for Step Functions:
 * it accepts each task token once, as SendTaskSuccess/Failure do, and records every resume.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../../functions/api.ts';
import { createPipelineStepHandler } from '../../../functions/pipeline-step.ts';
import { createRequestApprovalHandler } from '../../../functions/request-approval.ts';
import { ANSWER_BUDGET_MS, createSlackInteractionsHandler } from '../../../functions/slack-interactions.ts';
import type { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import { createSlack, type SlackSettings } from '../../../src/aws/slack/setup.ts';
import { parseConfig } from '../../../src/core/config/load.ts';
import type { Ports } from '../../../src/core/handler-ports.ts';
import type { DeploymentRecord, StageRecord } from '../../../src/core/model/deployment.ts';
import { TaskTokenExpiredError } from '../../../src/core/model/errors.ts';
import type { PipelineStep } from '../../../src/core/pipeline/pipeline-steps.ts';
import type { ApprovalRecord, Orchestrator } from '../../../src/core/ports.ts';
import { lambdaContext } from '../../../src/local/engine.ts';
import type { LocalDynamo } from '../../../src/local/local-dynamodb.ts';
import { memoryLog } from '../../support/runtime.ts';
import {
  blockActions,
  blockText,
  buttons,
  type PostedMessage,
  type RecordingSlack,
  signedInteraction,
  startSlackServer,
} from '../../support/slack-server.ts';
import { dynaliteStore } from '../../support/stores.ts';

const BOT_TOKEN = 'xoxb-test-bot-token';
const SIGNING_SECRET = 'test-signing-secret-0123456789';

const CONFIG = `
services:
  - name: demo-api
    image: { registry: ecr, repository: demo-api }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - name: staging
        bake: 30s
        alarms: [demo-api-staging-health]
      - name: prod
        approval: { approvers: [U0LEAD, S0RELEASE], timeout: 1h, fourEyes: true, channel: '#approvals' }
        alarms: [demo-api-prod-health]
slack:
  channel: '#deploys'
  dashboardUrl: https://coconut.example
  users: { dev-dana: U0DANA, dev-erin: U0ERIN, 'https://idp.example.com#cognito-1': U0RELEASER }
`;

/** Step Functions' side of task tokens: each waiting token resumes at most once. */
class RecordingOrchestrator implements Orchestrator {
  readonly waiting = new Set<string>();
  readonly resumed: { token: string; kind: 'success' | 'failure'; detail: unknown }[] = [];
  /** A slow SendTaskSuccess (Step Functions under throttling, a cold SDK client). */
  successDelayMs = 0;
  async startExecution() {
    return { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:coconut-deploy:x', started: true };
  }
  async sendTaskSuccess(token: string, output: unknown) {
    if (this.successDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.successDelayMs));
    if (!this.waiting.delete(token)) throw new TaskTokenExpiredError('TaskTimedOut');
    this.resumed.push({ token, kind: 'success', detail: output });
  }
  async sendTaskFailure(token: string, error: string, cause: string) {
    if (!this.waiting.delete(token)) throw new TaskTokenExpiredError('TaskTimedOut');
    this.resumed.push({ token, kind: 'failure', detail: { error, cause } });
  }
}

// Fast backoff for tests; the shape (retries, timeouts, rate limits) is the production one.
const PROFILES: SlackSettings['profiles'] = {
  background: {
    retryConfig: { retries: 3, factor: 2, minTimeout: 20, maxTimeout: 80, randomize: false },
    timeoutMs: 300,
    budgetMs: 5000,
  },
  interactive: { retryConfig: { retries: 1, factor: 2, minTimeout: 20, maxTimeout: 40 }, timeoutMs: 300, budgetMs: 2000 },
};

let store: DynamoStore;
let dynamo: LocalDynamo;
let slack: RecordingSlack;
let orchestrator: RecordingOrchestrator;
let ports: Ports;
let nowMs = Date.now();
const log = memoryLog();
const provider = async () => ports;
const requestApproval = createRequestApprovalHandler(provider);
const interactions = createSlackInteractionsHandler(provider);
const pipelineStep = createPipelineStepHandler(provider);
const api = createApiHandler(provider);
let serial = 0;

beforeAll(async () => {
  ({ store, dynamo } = await dynaliteStore());
  slack = await startSlackServer({ token: BOT_TOKEN, groups: { S0RELEASE: ['U0DANA', 'U0RELEASER'] } });
  orchestrator = new RecordingOrchestrator();
  const config = parseConfig(CONFIG);
  const clock = { now: () => new Date(nowMs) };
  const adapter = createSlack(
    { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl, profiles: PROFILES },
    {
      store,
      config,
      clock,
      log,
      links: {
        dashboard: (id) => `https://coconut.example/#/deployments/${id}`,
        execution: (id) => `https://console.example/executions/${id}`,
      },
    },
  );
  ports = {
    config,
    store,
    orchestrator,
    alarms: { getStates: async () => [] },
    notifier: adapter.notifier,
    clock,
    log,
    userGroups: adapter.userGroups,
    slack: adapter.ports,
  };
});
afterAll(async () => {
  await slack?.stop();
  await dynamo?.stop();
});
beforeEach(() => {
  nowMs = Date.now();
});

function deployment(id: string, actor?: string): [DeploymentRecord, StageRecord[]] {
  const at = new Date(nowMs).toISOString();
  const record: DeploymentRecord = {
    deploymentId: id,
    service: 'demo-api',
    version: '1.2.0',
    image: { registry: 'ecr', repository: 'demo-api', tag: '1.2.0' },
    trigger: { kind: actor ? 'git-tag' : 'ecr-push', id: `e-${id}`, at, ...(actor ? { actor } : {}) },
    environments: ['staging', 'prod'],
    createdAt: at,
    kind: 'deploy',
  };
  return [
    record,
    record.environments.map((environment, order) => ({
      deploymentId: id,
      service: 'demo-api',
      environment,
      order,
      version: '1.2.0',
      state: 'PENDING' as const,
      createdAt: at,
      updatedAt: at,
    })),
  ];
}

interface Waiting {
  id: string;
  token: string;
  approval: ApprovalRecord;
  message: PostedMessage | undefined;
}

/** A deployment whose prod stage waits: what the state machine's RequestApproval state does. */
async function waitingApproval(opts: { actor?: string; enteredAgoMs?: number } = {}): Promise<Waiting> {
  const id = `demo-api-1-2-0-t${++serial}`;
  // By default a tag pushed by someone slack.users knows and who approves nothing: four eyes (on for prod) lets approvers decide.
  await store.createDeployment(...deployment(id, opts.actor ?? 'dev-erin'));
  const token = `AQCEAAAAKgAAAAMAAAAAAAAAA${serial}${'Tk'.repeat(900)}`; // tokens run to ~2 KB
  orchestrator.waiting.add(token);
  const result = (await requestApproval(
    {
      taskToken: token,
      deploymentId: id,
      service: 'demo-api',
      environment: 'prod',
      version: '1.2.0',
      timeoutSeconds: 3600,
      enteredAt: new Date(nowMs - (opts.enteredAgoMs ?? 0)).toISOString(),
    },
    lambdaContext('request-approval'),
  )) as { approvalId: string };
  const approval = (await store.getApproval(result.approvalId)) as ApprovalRecord;
  const message = approval.message ? slack.find(approval.message.channel, approval.message.ts) : undefined;
  return { id, token, approval, message };
}

function httpEvent(body: string, headers: Record<string, string>, base64 = false): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /slack/interactions',
    rawPath: '/slack/interactions',
    rawQueryString: '',
    headers,
    requestContext: {
      http: { method: 'POST', path: '/slack/interactions', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'Slackbot' },
      requestId: `r${serial}`,
      routeKey: 'POST /slack/interactions',
      stage: '$default',
    },
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  } as unknown as APIGatewayProxyEventV2;
}

async function post(req: { body: string; headers: Record<string, string> }, base64 = false) {
  return (await interactions(
    httpEvent(req.body, req.headers, base64),
    lambdaContext('slack-interactions'),
  )) as APIGatewayProxyStructuredResultV2;
}

function clickRequest(
  w: Waiting,
  user: string,
  action: 'approve' | 'reject',
  opts: { timestamp?: number; secret?: string } = {},
) {
  const message = w.approval.message ?? { channel: 'C0APPROVALS', ts: '1.000000' };
  return signedInteraction(
    opts.secret ?? SIGNING_SECRET,
    blockActions({ user, action, approvalId: w.approval.approvalId, channel: message.channel, messageTs: message.ts }),
    { timestamp: opts.timestamp ?? Math.floor(nowMs / 1000) },
  );
}

const resumesOf = (w: Waiting) => orchestrator.resumed.filter((r) => r.token === w.token);
const ephemeralsTo = (user: string) => slack.ephemerals.filter((e) => e.user === user);
const approvalOf = async (w: Waiting) => (await store.getApproval(w.approval.approvalId)) as ApprovalRecord;

describe('Slack approval requests (request-approval handler)', () => {
  it('posts the change to the environment channel, buttons carrying the approval id and never the token', async () => {
    const w = await waitingApproval({ actor: 'dev-dana' });
    expect(w.approval.message?.channel).toBe('C0APPROVALS'); // '#approvals' resolved to its id by Slack
    expect(w.message?.thread_ts).toBeUndefined();
    expect(buttons(w.message).map((b) => [b.action_id, b.value])).toEqual([
      ['coconut_approve', w.approval.approvalId],
      ['coconut_reject', w.approval.approvalId],
    ]);
    const text = blockText(w.message);
    expect(text).toContain('*Change*\n_(nothing yet)_ → `1.2.0`');
    expect(text).toContain('*Triggered by*\ngit-tag by <@U0DANA>');
    expect(text).toContain('<@U0LEAD>, <!subteam^S0RELEASE>');
    expect(text).toContain(`<https://coconut.example/#/deployments/${w.id}|Dashboard>`);
    expect(text).toContain(`<https://console.example/executions/${w.id}|Execution>`);
    expect(JSON.stringify(slack.calls)).not.toContain(w.token.slice(0, 30));
    expect((await store.getStage(w.id, 'prod'))?.approvalId).toBe(w.approval.approvalId);
  });

  it('a decision taken while the request is being posted stays, and the new message shows it', async () => {
    const original = ports.notifier;
    const decideNow = async (approval: ApprovalRecord) => {
      const event = {
        ...httpEvent('', {}),
        routeKey: 'POST /api/approvals/{id}/approve',
        pathParameters: { id: approval.approvalId },
        requestContext: { authorizer: { lambda: { coconutLocalOperator: true, user: 'ops' } } },
      } as unknown as APIGatewayProxyEventV2;
      expect(((await api(event, lambdaContext('api'))) as APIGatewayProxyStructuredResultV2).statusCode).toBe(200);
    };
    // The operator approves from the CLI after Slack received the message, before Coconut noted where it went.
    ports.notifier = {
      approvalRequested: async (a) => {
        const message = await original.approvalRequested(a);
        await decideNow(a);
        return message;
      },
      approvalDecided: (a) => original.approvalDecided(a),
      stageChanged: (st, d) => original.stageChanged(st, d),
    };
    try {
      const w = await waitingApproval();
      expect(await approvalOf(w)).toMatchObject({ status: 'APPROVED', decidedBy: 'ops', message: w.approval.message });
      expect(resumesOf(w)).toHaveLength(1);
      const posted = slack.find(w.approval.message?.channel ?? '', w.approval.message?.ts ?? '');
      expect(buttons(posted)).toEqual([]);
      expect(blockText(posted)).toContain(':white_check_mark: *Approved* by ops');
    } finally {
      ports.notifier = original;
    }
  });

  it('says the deployment no longer waits, without buttons, when the request arrives after the deadline', async () => {
    const w = await waitingApproval({ enteredAgoMs: 3601_000 });
    expect(w.approval).toMatchObject({ status: 'EXPIRED', decidedBy: 'timeout' });
    expect(buttons(w.message)).toEqual([]);
    expect(blockText(w.message)).toContain('arrived after its deadline');
    // And a click on an older copy of it changes nothing.
    expect((await post(clickRequest(w, 'U0LEAD', 'approve'))).statusCode).toBe(200);
    expect(resumesOf(w)).toEqual([]);
    expect(ephemeralsTo('U0LEAD').at(-1)?.text).toContain(`approval ${w.approval.approvalId} expired at`);
  });
});

describe('Slack interactions (POST /slack/interactions)', () => {
  it('approves on a signed click by a listed approver: resumes once, updates the message, answers 200', async () => {
    const w = await waitingApproval();
    const res = await post(clickRequest(w, 'U0LEAD', 'approve'));
    expect(res).toMatchObject({ statusCode: 200, body: '' });
    expect(resumesOf(w)).toEqual([
      { token: w.token, kind: 'success', detail: { approvalId: w.approval.approvalId, approvedBy: 'u0lead' } },
    ]);
    expect(await approvalOf(w)).toMatchObject({ status: 'APPROVED', decidedBy: 'u0lead', decidedById: 'U0LEAD' });
    const updated = slack.find(w.message?.channel ?? '', w.message?.ts ?? '');
    expect(updated?.history).toHaveLength(1);
    expect(buttons(updated)).toEqual([]);
    expect(blockText(updated)).toContain(':white_check_mark: *Approved* by <@U0LEAD>');
  });

  it('refuses an exact replay with a bare 401 and resumes nothing again', async () => {
    const w = await waitingApproval();
    const req = clickRequest(w, 'U0LEAD', 'reject');
    expect((await post(req)).statusCode).toBe(200);
    const calls = slack.calls.length;
    expect(await post(req)).toMatchObject({ statusCode: 401, body: '' });
    expect(resumesOf(w)).toHaveLength(1);
    expect(slack.calls.length).toBe(calls);
    expect(log.lines.some((l) => l.message.includes('replayed Slack interaction'))).toBe(true);
  });

  it('answers a second click and a second approver "already approved by X", resuming nothing twice', async () => {
    const w = await waitingApproval();
    expect((await post(clickRequest(w, 'U0LEAD', 'approve'))).statusCode).toBe(200);
    nowMs += 1000; // a new click is a new signed request
    expect((await post(clickRequest(w, 'U0LEAD', 'approve'))).statusCode).toBe(200);
    expect((await post(clickRequest(w, 'U0RELEASER', 'reject'))).statusCode).toBe(200);
    expect(ephemeralsTo('U0LEAD').at(-1)?.text).toMatch(/already approved by u0lead/);
    expect(ephemeralsTo('U0RELEASER').at(-1)?.text).toMatch(/already approved by u0lead/);
    expect(resumesOf(w)).toHaveLength(1);
    expect((await approvalOf(w)).status).toBe('APPROVED');
  });

  it('decides double clicks that arrive together exactly once', async () => {
    const w = await waitingApproval();
    const results = await Promise.all([
      post(clickRequest(w, 'U0LEAD', 'approve')),
      post(clickRequest(w, 'U0RELEASER', 'approve', { timestamp: Math.floor(nowMs / 1000) + 1 })),
    ]);
    expect(results.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(resumesOf(w)).toHaveLength(1);
    expect(slack.ephemerals.filter((e) => e.text?.includes(w.approval.approvalId))).toHaveLength(1);
  });

  it('refuses a tampered body, a stale timestamp, another secret and missing headers with a bare 401', async () => {
    const w = await waitingApproval();
    const good = clickRequest(w, 'U0INTRUDER', 'approve');
    const tampered = { ...good, body: good.body.replace('U0INTRUDER', 'U0LEAD') };
    const stale = clickRequest(w, 'U0LEAD', 'approve', { timestamp: Math.floor(nowMs / 1000) - 301 });
    const otherSecret = clickRequest(w, 'U0LEAD', 'approve', { secret: 'not-the-secret' });
    const { 'x-slack-signature': _s, ...unsigned } = clickRequest(w, 'U0LEAD', 'approve').headers;
    const calls = slack.calls.length;
    for (const req of [tampered, stale, otherSecret, { body: good.body, headers: unsigned }]) {
      expect(await post(req)).toMatchObject({ statusCode: 401, body: '' });
    }
    expect(slack.calls.length).toBe(calls);
    expect(resumesOf(w)).toEqual([]);
    expect((await approvalOf(w)).status).toBe('PENDING');
    expect((await store.getStage(w.id, 'prod'))?.state).toBe('AWAITING_APPROVAL');
    for (const reason of ['signature mismatch', 'stale timestamp', 'missing or unknown signature']) {
      expect(log.lines.some((l) => l.message === `refused a Slack interaction: ${reason}`)).toBe(true);
    }
  });

  it('verifies the raw body also when API Gateway hands it over base64-encoded', async () => {
    const w = await waitingApproval();
    expect((await post(clickRequest(w, 'U0LEAD', 'approve'), true)).statusCode).toBe(200);
    expect(resumesOf(w)).toHaveLength(1);
  });

  it('tells a non-approver why, only to them, and changes nothing', async () => {
    const w = await waitingApproval();
    const calls = slack.calls.filter((c) => c.method === 'chat.update').length;
    expect(await post(clickRequest(w, 'U0INTRUDER', 'approve'))).toMatchObject({ statusCode: 200, body: '' });
    expect(ephemeralsTo('U0INTRUDER').at(-1)).toEqual({
      channel: 'C0APPROVALS',
      user: 'U0INTRUDER',
      text: expect.stringContaining(
        'You cannot decide this: u0intruder is not an approver of demo-api on prod (approvers: U0LEAD, S0RELEASE)',
      ),
    });
    expect(resumesOf(w)).toEqual([]);
    expect((await approvalOf(w)).status).toBe('PENDING');
    expect(slack.calls.filter((c) => c.method === 'chat.update')).toHaveLength(calls);
  });

  it('lets a member of an approver user group decide, asking Slack for the members once a minute', async () => {
    const listCalls = () => slack.calls.filter((c) => c.method === 'usergroups.users.list').length;
    const before = listCalls();
    const first = await waitingApproval();
    expect((await post(clickRequest(first, 'U0RELEASER', 'reject'))).statusCode).toBe(200);
    expect(resumesOf(first)).toEqual([
      { token: first.token, kind: 'failure', detail: { error: 'Coconut.Rejected', cause: 'rejected by u0releaser' } },
    ]);
    const second = await waitingApproval();
    expect((await post(clickRequest(second, 'U0RELEASER', 'approve'))).statusCode).toBe(200);
    expect(resumesOf(second)).toHaveLength(1);
    expect(listCalls() - before).toBeLessThanOrEqual(1);
    expect(slack.calls.find((c) => c.method === 'usergroups.users.list')?.args).toEqual({ usergroup: 'S0RELEASE' });
  });

  it('four eyes: whoever triggered the deployment may not approve it; another approver may', async () => {
    const w = await waitingApproval({ actor: 'dev-dana' }); // slack.users maps dev-dana to U0DANA, a member of S0RELEASE
    expect((await post(clickRequest(w, 'U0DANA', 'approve'))).statusCode).toBe(200);
    expect(ephemeralsTo('U0DANA').at(-1)?.text).toContain('four eyes: u0dana triggered this deployment (as dev-dana)');
    expect(resumesOf(w)).toEqual([]);
    expect((await post(clickRequest(w, 'U0LEAD', 'approve', { timestamp: Math.floor(nowMs / 1000) + 1 }))).statusCode).toBe(200);
    expect(resumesOf(w)).toHaveLength(1);
  });

  it('refuses a click after the approval expired: the message says so, nothing resumes', async () => {
    const w = await waitingApproval();
    nowMs += 3601_000;
    expect((await post(clickRequest(w, 'U0LEAD', 'approve'))).statusCode).toBe(200);
    expect(ephemeralsTo('U0LEAD').at(-1)?.text).toContain(`approval ${w.approval.approvalId} expired at ${w.approval.expiresAt}`);
    expect(resumesOf(w)).toEqual([]);
    expect(await approvalOf(w)).toMatchObject({ status: 'EXPIRED', decidedBy: 'timeout' });
    const updated = slack.find(w.message?.channel ?? '', w.message?.ts ?? '');
    expect(buttons(updated)).toEqual([]);
    expect(blockText(updated)).toContain(':hourglass: *Expired*');
  });

  it('marks the approval expired when the state machine stopped waiting just before the click', async () => {
    const w = await waitingApproval();
    orchestrator.waiting.delete(w.token); // Step Functions: TaskTimedOut
    expect((await post(clickRequest(w, 'U0LEAD', 'approve'))).statusCode).toBe(200);
    expect(ephemeralsTo('U0LEAD').at(-1)?.text).toContain('no longer waits');
    expect(await approvalOf(w)).toMatchObject({
      status: 'EXPIRED',
      comment: 'u0lead decided after the deployment had stopped waiting',
    });
    expect(blockText(slack.find(w.message?.channel ?? '', w.message?.ts ?? ''))).toContain('*Expired*');
  });

  it('answers 400 for a signed body that is not an interaction, and ignores other interaction types', async () => {
    const ts = Math.floor(nowMs / 1000);
    const notJson = signedInteraction(SIGNING_SECRET, {}, { timestamp: ts });
    notJson.body = 'payload=%7Bnot-json';
    const { createHmac } = await import('node:crypto');
    notJson.headers['x-slack-signature'] =
      `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${ts}:${notJson.body}`).digest('hex')}`;
    expect(await post(notJson)).toMatchObject({ statusCode: 400, body: 'the "payload" field is not JSON' });
    const shortcut = signedInteraction(SIGNING_SECRET, { type: 'shortcut', user: { id: 'U0LEAD' } }, { timestamp: ts + 1 });
    expect(await post(shortcut)).toMatchObject({ statusCode: 200, body: '' });
  });

  it('applies the same approver rules to the dashboard (JWT) and says when a group cannot be checked', async () => {
    const w = await waitingApproval();
    // The JWT user's Slack id comes from slack.users (ISSUER#SUB), never from a claim.
    const dashboardEvent = (sub: string) =>
      ({
        ...httpEvent('', {}),
        routeKey: 'POST /api/approvals/{id}/approve',
        pathParameters: { id: w.approval.approvalId },
        requestContext: {
          authorizer: { jwt: { claims: { iss: 'https://idp.example.com', sub, email: 'r@example.com' } } },
        },
      }) as unknown as APIGatewayProxyEventV2;
    const { userGroups: _groups, ...withoutGroups } = ports;
    const noGroups = createApiHandler(async () => withoutGroups);
    const refused = (await noGroups(dashboardEvent('cognito-1'), lambdaContext('api'))) as APIGatewayProxyStructuredResultV2;
    expect(refused.statusCode).toBe(403);
    expect(JSON.parse(refused.body ?? '{}').error).toBe(
      'r@example.com is not an approver of demo-api on prod (approvers: U0LEAD, S0RELEASE); the members of S0RELEASE could not be checked right now, try again',
    );
    expect(resumesOf(w)).toEqual([]);
    const allowed = (await api(dashboardEvent('cognito-1'), lambdaContext('api'))) as APIGatewayProxyStructuredResultV2;
    expect(allowed.statusCode).toBe(200);
    expect(resumesOf(w)).toHaveLength(1);
    // The Slack message follows decisions taken elsewhere.
    expect(blockText(slack.find(w.message?.channel ?? '', w.message?.ts ?? ''))).toContain('*Approved* by <@U0RELEASER>');
  });

  it('answers 503 when Slack is not configured', async () => {
    const { slack: _slack, ...withoutSlack } = ports;
    const handler = createSlackInteractionsHandler(async () => withoutSlack);
    const res = (await handler(
      httpEvent('payload=%7B%7D', {}),
      lambdaContext('slack-interactions'),
    )) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(503);
  });
});

describe('Slack failures (500, timeouts, 429): retried with backoff; never fail or repeat a step', () => {
  const attempts = (method: string, from: number) => slack.calls.slice(from).filter((c) => c.method === method);

  it('posts the approval after two 500 answers', async () => {
    const from = slack.calls.length;
    slack.fail('chat.postMessage', { status: 500 }, { status: 500 });
    const w = await waitingApproval();
    expect(attempts('chat.postMessage', from).map((c) => c.outcome)).toEqual(['500', '500', 'ok']);
    expect(buttons(w.message)).toHaveLength(2);
  });

  it('posts the approval after a request that timed out', async () => {
    const from = slack.calls.length;
    slack.fail('chat.postMessage', { delayMs: 1000 });
    const w = await waitingApproval();
    expect(attempts('chat.postMessage', from).map((c) => c.outcome)).toEqual(['late', 'ok']);
    expect(buttons(w.message)).toHaveLength(2);
  });

  it('waits out a 429 rate limit (Retry-After) and posts', async () => {
    const from = slack.calls.length;
    slack.fail('chat.postMessage', { status: 429, retryAfter: 1 });
    const w = await waitingApproval();
    expect(attempts('chat.postMessage', from).map((c) => c.outcome)).toEqual(['429', 'ok']);
    // The approval points at the message Slack holds, with its buttons.
    expect(buttons(w.message)).toHaveLength(2);
  });

  it('Slack down for good: the request step still succeeds, the approval works from the API, once', async () => {
    slack.fail('chat.postMessage', ...Array.from({ length: 4 }, () => ({ status: 500 as const })));
    const w = await waitingApproval();
    expect(w.approval).toMatchObject({ status: 'PENDING' });
    expect(w.approval.message).toBeUndefined();
    expect(log.lines.some((l) => l.message === 'could not post the approval request; it is still in the inbox')).toBe(true);
    // The local operator (or the dashboard) decides it; Slack has nothing to update.
    const event = {
      ...httpEvent('', {}),
      routeKey: 'POST /api/approvals/{id}/approve',
      pathParameters: { id: w.approval.approvalId },
      requestContext: { authorizer: { lambda: { coconutLocalOperator: true, user: 'ops' } } },
    } as unknown as APIGatewayProxyEventV2;
    const res = (await api(event, lambdaContext('api'))) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(200);
    const again = (await api(event, lambdaContext('api'))) as APIGatewayProxyStructuredResultV2;
    expect(again.statusCode).toBe(409);
    expect(resumesOf(w)).toHaveLength(1);
  });

  it('Slack failing while a click waits: Slack still gets its 200, the decision is made once', async () => {
    const w = await waitingApproval();
    const from = slack.calls.length;
    slack.fail('chat.update', { status: 500 }, { status: 500 });
    const req = clickRequest(w, 'U0LEAD', 'approve');
    expect((await post(req)).statusCode).toBe(200);
    expect(attempts('chat.update', from).map((c) => c.outcome)).toEqual(['500', '500']); // one quick retry, then gave up
    expect(resumesOf(w)).toHaveLength(1);
    expect(log.lines.some((l) => l.message === 'could not update the approval message')).toBe(true);
    expect((await post(req)).statusCode).toBe(401);
    // A later decision elsewhere does not resume it again either.
    nowMs += 1000;
    await post(clickRequest(w, 'U0LEAD', 'approve'));
    expect(resumesOf(w)).toHaveLength(1);
  });

  it('leaves nothing running after it answers: a slow resume is finished when the answer is out', async () => {
    // Lambda freezes a function once it has answered; work left running then may never finish
    // (AWS Lambda developer guide, "Lambda execution environment lifecycle": after the function
    // responds, the environment is frozen until the next invocation). So every call the click
    // starts must have settled when the handler's promise resolves, even past Slack's budget.
    const w = await waitingApproval();
    let inFlight = 0;
    let settledAfterAnswer = 0;
    let answered = false;
    const track = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(obj, key, receiver) {
          const value = Reflect.get(obj, key, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            const result = value.apply(obj, args);
            if (!(result instanceof Promise)) return result;
            inFlight++;
            return result.finally(() => {
              inFlight--;
              if (answered) settledAfterAnswer++;
            });
          };
        },
      });
    const slackPorts = ports.slack as NonNullable<Ports['slack']>;
    const tracked: Ports = {
      ...ports,
      store: track(ports.store),
      orchestrator: track(ports.orchestrator),
      notifier: track(ports.notifier),
      ...(ports.userGroups ? { userGroups: track(ports.userGroups) } : {}),
      slack: {
        ...slackPorts,
        interactiveNotifier: track(slackPorts.interactiveNotifier),
        ephemeral: track(slackPorts).ephemeral,
      },
    };
    const handler = createSlackInteractionsHandler(async () => tracked);
    orchestrator.successDelayMs = ANSWER_BUDGET_MS + 300;
    try {
      const req = clickRequest(w, 'U0LEAD', 'approve');
      const res = (await handler(
        httpEvent(req.body, req.headers),
        lambdaContext('slack-interactions'),
      )) as APIGatewayProxyStructuredResultV2;
      answered = true;
      expect(res.statusCode).toBe(200);
      expect(inFlight).toBe(0);
      expect(resumesOf(w)).toHaveLength(1);
      expect(await approvalOf(w)).toMatchObject({ status: 'APPROVED' });
      expect(buttons(slack.find(w.message?.channel ?? '', w.message?.ts ?? ''))).toEqual([]);
      expect(log.lines.some((l) => /over the 2500 ms budget/.test(l.message))).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settledAfterAnswer).toBe(0);
    } finally {
      orchestrator.successDelayMs = 0;
    }
  });

  it('a rate limit on the click path is not waited out (Slack wants its answer in 3 s)', async () => {
    const w = await waitingApproval();
    const from = slack.calls.length;
    slack.fail('chat.update', { status: 429, retryAfter: 30 });
    expect((await post(clickRequest(w, 'U0LEAD', 'approve'))).statusCode).toBe(200);
    expect(attempts('chat.update', from).map((c) => c.outcome)).toEqual(['429']);
    expect(resumesOf(w)).toHaveLength(1);
  });
});

describe('One Slack thread per deployment (stage moves through pipeline-step)', () => {
  type Recorded = Extract<PipelineStep, { action: 'recordStage' }>['state'];
  const step = (id: string, environment: string, state: Recorded, extra: Record<string, unknown> = {}) =>
    pipelineStep(
      { action: 'recordStage', ref: { deploymentId: id, service: 'demo-api', version: '1.2.0', environment }, state, ...extra },
      lambdaContext('pipeline-step'),
    );

  it('posts a parent message in the thread channel, then one reply per step, with links', async () => {
    const id = `demo-api-thread-${++serial}`;
    await store.createDeployment(...deployment(id));
    for (const env of ['staging', 'prod']) {
      await store.setEnvironmentVersions('demo-api', env, { current: { version: '1.1.0', deploymentId: 'old' } }, new Date());
    }
    await step(id, 'staging', 'DEPLOYING');
    await step(id, 'staging', 'BAKING', { build: { Id: 'b1' } });
    await step(id, 'staging', 'SUCCEEDED');
    await step(id, 'prod', 'AWAITING_APPROVAL');
    const thread = await store.getChatThread(id);
    expect(thread?.channel).toBe('C0DEPLOYS');
    const parent = slack.find('C0DEPLOYS', thread?.ts ?? '');
    expect(blockText(parent)).toContain('deployment started');
    const replies = slack.replies('C0DEPLOYS', thread?.ts ?? '');
    expect(replies.map((r) => blockText(r).split('\n')[0])).toEqual([
      ':rocket: *staging*: deploying `1.2.0` (replacing `1.1.0`)',
      ':mag: *staging*: `1.2.0` deployed; baking for 30s while watching `demo-api-staging-health`',
      ':white_check_mark: *staging*: `1.2.0` deployed and passed its bake',
      ':double_vertical_bar: *prod*: waiting for approval to deploy `1.2.0` (now `1.1.0`) — approvers <@U0LEAD>, <!subteam^S0RELEASE>',
    ]);
    for (const reply of replies) expect(blockText(reply)).toContain(`<https://console.example/executions/${id}|Execution>`);
  });

  it('names the alarm when a stage rolls back', async () => {
    const id = `demo-api-thread-${++serial}`;
    await store.createDeployment(...deployment(id));
    await store.setEnvironmentVersions(
      'demo-api',
      'staging',
      { lastKnownGood: { version: '1.1.0', deploymentId: 'old' } },
      new Date(),
    );
    await step(id, 'staging', 'DEPLOYING');
    await step(id, 'staging', 'BAKING', { build: { Id: 'b2' } });
    await pipelineStep(
      {
        action: 'prepareRollback',
        ref: { deploymentId: id, service: 'demo-api', version: '1.2.0', environment: 'staging' },
        failure: { Error: 'Coconut.AlarmFired', Cause: 'demo-api-staging-health' },
        step: 'bake',
        buildEnv: [],
      },
      lambdaContext('pipeline-step'),
    );
    await step(id, 'staging', 'ROLLED_BACK', { build: { Id: 'b3' } });
    const thread = await store.getChatThread(id);
    const last = slack.replies('C0DEPLOYS', thread?.ts ?? '').map((r) => blockText(r).split('\n')[0]);
    expect(last.slice(-2)).toEqual([
      ':leftwards_arrow_with_hook: *staging*: rolling back to `1.1.0` — alarm *demo-api-staging-health* fired (alarm demo-api-staging-health fired during bake)',
      ':leftwards_arrow_with_hook: *staging*: rolled back to `1.1.0` after alarm *demo-api-staging-health* fired — alarm demo-api-staging-health fired during bake',
    ]);
  });

  it('keeps every reply under one parent when two notifications race to start the thread', async () => {
    const id = `demo-api-thread-${++serial}`;
    await store.createDeployment(...deployment(id));
    const view = await store.getDeployment(id);
    const stages = view?.stages ?? [];
    await Promise.all(stages.map((s) => ports.notifier.stageChanged({ ...s, state: 'DEPLOYING' }, view)));
    const thread = await store.getChatThread(id);
    expect(slack.replies('C0DEPLOYS', thread?.ts ?? '')).toHaveLength(2);
  });

  it('a Slack outage during a step is logged and the step still succeeds', async () => {
    const id = `demo-api-thread-${++serial}`;
    await store.createDeployment(...deployment(id));
    slack.fail('chat.postMessage', ...Array.from({ length: 4 }, () => ({ status: 500 as const })));
    await step(id, 'staging', 'DEPLOYING'); // resolves: a rejection fails this test
    expect((await store.getStage(id, 'staging'))?.state).toBe('DEPLOYING');
    expect(log.lines.some((l) => l.message === 'could not notify about a stage change')).toBe(true);
    await step(id, 'staging', 'BAKING', { build: { Id: 'b4' } }); // Slack is back: the thread starts now
    const thread = await store.getChatThread(id);
    // The thread is a top-level message Slack holds in the deploys channel; its one reply is the
    // step after the outage (the DEPLOYING one was logged, not retried forever).
    expect(slack.topLevel('C0DEPLOYS').map((m) => m.ts)).toContain(thread?.ts);
    expect(slack.replies('C0DEPLOYS', thread?.ts ?? '').map((r) => blockText(r).split('\n')[0])).toEqual([
      ':mag: *staging*: `1.2.0` deployed; baking for 30s while watching `demo-api-staging-health`',
    ]);
  });
});
