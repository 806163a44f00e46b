/**
 * Four eyes, attacked: through the API handler (JWT authorizer events shaped as
 * @types/aws-lambda APIGatewayEventRequestContextJWTAuthorizer describes them), the ECR push
 * handler (the event shape of AWS's "Amazon ECR events and EventBridge") and the Slack path's
 * decideApproval, on dynalite. What counts as a user's stable identity comes from OpenID
 * Connect Core 1.0 §2 (`sub`: "Locally unique and never reassigned identifier within the
 * Issuer"), and why a claim like `custom:slack_user_id` or `email` cannot be trusted from the
 * Cognito API reference (UserPoolClientType.WriteAttributes: a user's access token "authorizes
 * them to set or modify their own attribute value for any attribute in this list", which by
 * default holds the standard attributes, email included).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../functions/api.ts';
import { createEcrPushHandler } from '../../functions/ecr-push.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { configWarnings } from '../../src/core/config/warnings.ts';
import type { Ports } from '../../src/core/handler-ports.ts';
import type { Trigger } from '../../src/core/model/release.ts';
import { decideApproval, requestApproval } from '../../src/core/pipeline/approvals.ts';
import { fourEyesVerdict } from '../../src/core/pipeline/four-eyes.ts';
import { silentNotifier, systemClock } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { ecrPush } from '../support/fixtures.ts';
import { dynaliteStore } from '../support/stores.ts';

const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/api }
    environments:
      - name: prod
        bake: 5m
        approval: { approvers: [U0ALICE, U0BOB], fourEyes: true }
slack:
  users:
    '${ISSUER}#alice-sub': U0ALICE
    '${ISSUER}#bob-sub': U0BOB
    octocat: U0ALICE
auth: { issuer: '${ISSUER}', audience: [client-1] }
`);

const warnings: string[] = [];
const quiet = {
  debug() {},
  info() {},
  warn(message: string) {
    warnings.push(message);
  },
  error() {},
};

interface Claims {
  sub: string;
  email?: string;
  'custom:slack_user_id'?: string;
}

function jwtEvent(routeKey: string, claims: Claims, body: unknown, pathParameters?: Record<string, string>) {
  return {
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1] ?? '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      http: { method: routeKey.split(' ')[0] },
      authorizer: { jwt: { claims: { iss: ISSUER, aud: 'client-1', ...claims }, scopes: null } },
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

describe('four eyes compares stable identities and refuses what it cannot tell apart', () => {
  let dynamo: LocalDynamo;
  let ports: Ports;
  let handler: ReturnType<typeof createApiHandler>;
  let resumed: string[];
  let n = 0;

  beforeAll(async () => {
    const made = await dynaliteStore();
    dynamo = made.dynamo;
    ports = {
      config,
      store: made.store,
      orchestrator: {
        startExecution: async (_machine, name) => ({ executionArn: `arn:x:${name}`, started: true }),
        sendTaskSuccess: async (token) => {
          resumed.push(token);
        },
        sendTaskFailure: async () => {},
      },
      alarms: { getStates: async (names) => names.map((name) => ({ name, state: 'OK' as const })) },
      notifier: silentNotifier,
      clock: systemClock,
      log: quiet,
    };
    handler = createApiHandler(async () => ports);
  });
  beforeEach(() => {
    resumed = [];
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  async function call(event: APIGatewayProxyEventV2) {
    const res = (await handler(event, {} as never)) as { statusCode: number; body: string };
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes.
    return { statusCode: res.statusCode, body: JSON.parse(res.body) as any };
  }

  /** A manual deployment by this JWT user, waiting for approval on prod: its approval id. */
  async function deployedBy(claims: Claims): Promise<{ approvalId: string; trigger: Trigger }> {
    n += 1;
    const made = await call(
      jwtEvent('POST /api/deployments', claims, { service: 'api', version: `1.0.${n}`, requestId: `request-${n}-0000` }),
    );
    expect(made.statusCode).toBe(201);
    const approval = await requestApproval(ports, {
      taskToken: `token-${n}`,
      deploymentId: made.body.deployment.deploymentId,
      service: 'api',
      environment: 'prod',
      version: `1.0.${n}`,
      timeoutSeconds: 3600,
    });
    return { approvalId: approval.approvalId, trigger: made.body.deployment.trigger };
  }

  const approve = (claims: Claims, id: string) => call(jwtEvent('POST /api/approvals/{id}/approve', claims, {}, { id }));

  it('the same sub that deployed may not approve, from the dashboard or from Slack; someone else may', async () => {
    const { approvalId, trigger } = await deployedBy({ sub: 'alice-sub', email: 'alice@example.com' });
    expect(trigger).toMatchObject({ kind: 'manual', actor: 'alice@example.com', actorId: `${ISSUER}#alice-sub` });
    const self = await approve({ sub: 'alice-sub', email: 'alice@example.com' }, approvalId);
    expect(self.statusCode).toBe(403);
    expect(self.body.error).toContain('four eyes: alice@example.com triggered this deployment');
    // The Slack user slack.users maps her sub to is the same person.
    await expect(
      decideApproval(ports, { approvalId, decision: 'approve', actor: { id: 'U0ALICE', name: 'alice', source: 'slack' } }),
    ).rejects.toThrow(/four eyes: alice triggered this deployment/);
    const other = await approve({ sub: 'bob-sub', email: 'bob@example.com' }, approvalId);
    expect(other.statusCode).toBe(200);
    expect(other.body.approval).toMatchObject({ status: 'APPROVED', decidedBy: 'bob@example.com', decidedById: 'U0BOB' });
    expect(resumed).toEqual([`token-${n}`]);
  });

  it('changing the e-mail claim (or any editable claim) changes no identity', async () => {
    const { approvalId } = await deployedBy({ sub: 'alice-sub', email: 'alice@example.com' });
    // Alice sets her e-mail to Bob's and her custom Slack attribute to Bob's Slack id.
    const disguised = await approve({ sub: 'alice-sub', email: 'bob@example.com', 'custom:slack_user_id': 'U0BOB' }, approvalId);
    expect(disguised.statusCode).toBe(403);
    expect(disguised.body.error).toContain('four eyes');
    expect(resumed).toEqual([]);
  });

  it('a custom:slack_user_id claim makes nobody an approver: only slack.users does', async () => {
    const { approvalId } = await deployedBy({ sub: 'alice-sub' });
    const mallory = await approve(
      { sub: 'mallory-sub', email: 'mallory@example.com', 'custom:slack_user_id': 'U0BOB' },
      approvalId,
    );
    expect(mallory.statusCode).toBe(403);
    expect(mallory.body.error).toContain('mallory@example.com is not an approver');
    expect(mallory.body.error).toContain(`you signed in as ${ISSUER}#mallory-sub, which coconut.yaml slack.users does not map`);
    expect(resumed).toEqual([]);
  });

  it('a push whose event names no user (ECR) cannot be approved under four eyes, and the refusal says why', async () => {
    const pushed = (await createEcrPushHandler(async () => ports)(
      ecrPush({ 'repository-name': 'api', 'image-tag': '2.0.0' }) as never,
      {} as never,
    )) as { outcomes?: { deploymentId?: string }[] } & Record<string, unknown>;
    const deploymentId = JSON.stringify(pushed).match(/"deploymentId":"([^"]+)"/)?.[1];
    expect(deploymentId, JSON.stringify(pushed)).toBeDefined();
    const { approvalId } = await requestApproval(ports, {
      taskToken: 'token-ecr',
      deploymentId: deploymentId as string,
      service: 'api',
      environment: 'prod',
      version: '2.0.0',
      timeoutSeconds: 3600,
    });
    // Said when the wait starts, not only at the first click.
    expect(warnings.join('\n')).toContain(`four eyes on api/prod: nobody can approve ${approvalId}`);
    await expect(
      decideApproval(ports, { approvalId, decision: 'approve', actor: { id: 'U0BOB', name: 'bob', source: 'slack' } }),
    ).rejects.toThrow(
      'four eyes: Coconut cannot tell who triggered this deployment (an ECR push (its event names no user)), so it cannot show that bob is someone else; start the deployment with `coconut deploy`',
    );
    const res = await approve({ sub: 'bob-sub' }, approvalId);
    expect(res.statusCode).toBe(403);
    expect(res.body.error).toContain('Coconut cannot tell who triggered this deployment');
    // Rejecting is always allowed.
    const rejected = await call(jwtEvent('POST /api/approvals/{id}/reject', { sub: 'bob-sub' }, {}, { id: approvalId }));
    expect(rejected.statusCode).toBe(200);
    expect(configWarnings(config).join('\n')).toContain('fourEyes is on for api/prod, whose images come from ECR');
  });

  it('a trigger known only by a sign-in identity slack.users does not map cannot be told from a Slack approver', async () => {
    // Dave may deploy (every signed-in user may) but has no Slack id in coconut.yaml: were he
    // U0BOB in Slack, approving there would be approving his own deployment.
    const { approvalId } = await deployedBy({ sub: 'dave-sub', email: 'dave@example.com' });
    await expect(
      decideApproval(ports, { approvalId, decision: 'approve', actor: { id: 'U0BOB', name: 'bob', source: 'slack' } }),
    ).rejects.toThrow(
      /four eyes: dave@example.com \(who triggered this deployment\) is known only by sign-in identity \(issuer#sub\), and bob only by Slack user id, so Coconut cannot tell them apart/,
    );
    // Another dashboard user is comparable (same kind, different sub): allowed.
    expect((await approve({ sub: 'bob-sub' }, approvalId)).statusCode).toBe(200);
  });

  it('a git tag pushed by a GitHub login counts through slack.users; an unmapped login is refused, naming the mapping', () => {
    const tag = (actor: string): Trigger => ({ kind: 'git-tag', id: 'delivery-1', actor, at: new Date().toISOString() });
    expect(fourEyesVerdict(config, tag('octocat'), { id: 'U0ALICE', name: 'alice' })).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('four eyes: alice triggered this deployment (as octocat)'),
    });
    expect(fourEyesVerdict(config, tag('octocat'), { id: 'U0BOB' })).toEqual({ allowed: true });
    expect(fourEyesVerdict(config, tag('hubot'), { id: 'U0BOB', name: 'bob' })).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('(a git tag push, by hubot, whom slack.users does not map)'),
    });
    expect(fourEyesVerdict(config, tag('hubot'), { id: 'U0BOB' })).toMatchObject({
      reason: expect.stringContaining('map "hubot" to its Slack user id in coconut.yaml slack.users'),
    });
  });

  it('refuses a slack.users key that could never match, saying what a key must be', () => {
    const withKey = (key: string) => () =>
      parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, chart: charts/api }
    environments: [{ name: prod }]
slack:
  users: { '${key}': U0ALICE }
`);
    expect(withKey(`${ISSUER}/alice-sub`)).toThrow(/slack\.users\.https:.*: a dashboard user is ISSUER#SUB/);
    expect(withKey('arn:aws:iam::123456789012:role/deployers')).toThrow(/expected the ARN of a caller .* not a role or group/);
    expect(withKey(`${ISSUER}#alice-sub`)).not.toThrow();
  });
});
