/**
 * IAM authorization end to end: the CLI signs its requests with SigV4 (AWS SDK signer, standard
 * credential chain), a stand-in for API Gateway's IAM authorization checks the signature with
 * the SDK's own signer (test/support/iam-gateway.ts, rules cited there) and hands the API
 * handler an APIGatewayProxyEventV2WithIAMAuthorizer; the handler maps the IAM caller to an
 * actor, lets IAM-ARN approvers approve, and refuses others and (four eyes) the triggerer.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API_ROUTES, createApiHandler } from '../../functions/api.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { Ports } from '../../src/core/handler-ports.ts';
import { requestApproval } from '../../src/core/pipeline/approvals.ts';
import { silentNotifier, systemClock } from '../../src/core/ports.ts';
import type { DeploymentPlan } from '../../src/core/triggers/plan.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { type IamGateway, startIamGateway, type TestIdentity } from '../support/iam-gateway.ts';
import { dynaliteStore } from '../support/stores.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

// Callers as STS GetCallerIdentity describes them: two people in one role (told apart by the
// session name), an IAM user with a path and another case, and a stranger.
const alice: TestIdentity = {
  accessKeyId: 'ASIAALICE00000000001',
  secretAccessKey: 'alice-secret-key-0000000000000000000000',
  sessionToken: 'alice-session-token',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployers/alice`,
  userId: 'AROADEPLOYERS0000001:alice',
};
const bob: TestIdentity = {
  accessKeyId: 'ASIABOB0000000000001',
  secretAccessKey: 'bob-secret-key-000000000000000000000000',
  sessionToken: 'bob-session-token',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployers/bob`,
  userId: 'AROADEPLOYERS0000001:bob',
};
const carol: TestIdentity = {
  accessKeyId: 'AKIACAROL00000000001',
  secretAccessKey: 'carol-secret-key-00000000000000000000000',
  arn: `arn:aws:iam::${ACCOUNT}:user/ops/Carol`,
  userId: 'AIDACAROL00000000001',
};
const mallory: TestIdentity = {
  accessKeyId: 'AKIAMALLORY000000001',
  secretAccessKey: 'mallory-secret-key-000000000000000000000',
  arn: `arn:aws:iam::${ACCOUNT}:user/mallory`,
  userId: 'AIDAMALLORY000000001',
};

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/api }
    environments:
      - name: prod
        bake: 5m
        approval:
          approvers: ['arn:aws:iam::${ACCOUNT}:role/deployers', 'arn:aws:iam::${ACCOUNT}:user/carol', U0BOSS]
          fourEyes: true
slack:
  users:
    # A dashboard user (ISSUER#SUB) and an IAM session mapped to Slack ids, so four eyes can compare them.
    'https://idp.example.com#sub-boss': U0BOSS
    'arn:aws:sts::${ACCOUNT}:assumed-role/Deployers/bob': U0BOB
`);

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs the real `coconut` command with only the environment given (no inherited AWS settings). */
function coconut(
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = mkdtempSync(path.join(tmpdir(), 'coconut-home-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/coconut.mjs'), ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          // No shared files, no instance metadata: only what the test gives counts.
          AWS_CONFIG_FILE: path.join(home, 'none-config'),
          AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
          ...env,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function as(who: TestIdentity): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: who.accessKeyId,
    AWS_SECRET_ACCESS_KEY: who.secretAccessKey,
    ...(who.sessionToken ? { AWS_SESSION_TOKEN: who.sessionToken } : {}),
    AWS_REGION: REGION,
  };
}

/** An HTTP API event with IAM authorization, shaped as @types/aws-lambda describes it. */
function iamEvent(routeKey: string, who: TestIdentity, body: unknown, pathParameters?: Record<string, string>) {
  const event: APIGatewayProxyEventV2WithIAMAuthorizer = {
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1] ?? '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'abc123',
      domainName: `abc123.execute-api.${REGION}.amazonaws.com`,
      domainPrefix: 'abc123',
      http: {
        method: routeKey.split(' ')[0] as string,
        path: routeKey.split(' ')[1] as string,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'test',
      },
      requestId: 'r1',
      routeKey,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      authorizer: {
        iam: {
          accessKey: who.accessKeyId,
          accountId: ACCOUNT,
          callerId: who.userId,
          cognitoIdentity: null,
          principalOrgId: '',
          userArn: who.arn,
          userId: who.userId,
        },
      },
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
  return event;
}

describe('IAM (SigV4) callers: the CLI signs, the API knows who they are', () => {
  let dynamo: LocalDynamo;
  let ports: Ports;
  let gateway: IamGateway;
  let started: { name: string; input: DeploymentPlan }[];
  let resumed: string[];
  let handler: ReturnType<typeof createApiHandler>;

  beforeAll(async () => {
    const made = await dynaliteStore();
    dynamo = made.dynamo;
    ports = {
      config,
      store: made.store,
      orchestrator: {
        startExecution: async (_machine, name, input) => {
          const again = started.some((s) => s.name === name);
          if (!again) started.push({ name, input: input as DeploymentPlan });
          return { executionArn: `arn:x:${name}`, started: !again };
        },
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
    gateway = await startIamGateway({
      routes: Object.keys(API_ROUTES),
      handler: async (event) => (await handler(event as unknown as APIGatewayProxyEventV2, {} as never)) as never,
      identities: [alice, bob, carol, mallory],
      region: REGION,
    });
  });
  beforeEach(() => {
    started = [];
    resumed = [];
  });
  afterAll(async () => {
    await gateway?.close();
    await dynamo?.stop();
  });

  async function pendingApprovalFor(deploymentId: string, token: string): Promise<string> {
    const approval = await requestApproval(ports, {
      taskToken: token,
      deploymentId,
      service: 'api',
      environment: 'prod',
      version: '1.0.0',
      timeoutSeconds: 3600,
    });
    return approval.approvalId;
  }

  it('refuses a request that is not signed, or whose body changed after signing (the stand-in checks for real)', async () => {
    const unsigned = await fetch(`${gateway.url}/api/status`);
    expect(unsigned.status).toBe(403);
    // A signed request replayed with another body: the signature covers the payload.
    const { signRequest } = await import('../../src/cli/sigv4.ts');
    const saved = { ...process.env };
    Object.assign(process.env, as(alice));
    try {
      const url = new URL(`${gateway.url}/api/deployments`);
      const body = JSON.stringify({ service: 'api', version: '1.0.0' });
      const signed = await signRequest('POST', url, { 'content-type': 'application/json' }, body);
      const ok = await fetch(signed.url, { method: 'POST', headers: signed.headers, body: body.replace('1.0.0', '6.6.6') });
      expect(ok.status).toBe(403);
      expect(await ok.json()).toMatchObject({ message: expect.stringContaining('signature we calculated does not match') });
      // A query that needs encoding (space, +, *, parentheses, repeated keys) is sent as it was signed.
      const odd = new URL(`${gateway.url}/api/deployments?service=${encodeURIComponent('a b*(c)+d')}&limit=5&x=1&x=2`);
      const get = await signRequest('GET', odd, {}, undefined);
      const res = await fetch(get.url, { headers: get.headers });
      expect(gateway.log.at(-1)).toMatchObject({ path: '/api/deployments', status: 200, caller: alice.arn });
      expect(res.status).toBe(200);
    } finally {
      process.env = saved;
    }
    expect(started).toEqual([]);
  });

  it('`coconut status` and `coconut deploy` sign with the credentials of the standard chain; the deployment records the IAM identity', async () => {
    const status = await coconut(['status', '--json'], { ...as(alice), COCONUT_URL: gateway.url, COCONUT_AUTH: 'iam' });
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    const last = gateway.log.at(-1);
    expect(last).toMatchObject({ method: 'GET', path: '/api/status', status: 200, caller: alice.arn });

    const history = await coconut(['history', 'api', '--env', 'prod', '--limit', '5', '--json'], {
      ...as(alice),
      COCONUT_URL: gateway.url,
      COCONUT_AUTH: 'iam',
    });
    expect(history.stderr).toBe('');
    expect(gateway.log.at(-1)).toMatchObject({ method: 'GET', path: '/api/history/api', status: 200 });

    const deploy = await coconut(['deploy', 'api', '1.0.0', '--json'], {
      ...as(alice),
      COCONUT_URL: gateway.url,
      COCONUT_AUTH: 'iam',
    });
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    const answer = JSON.parse(deploy.stdout) as { deployment: { trigger: Record<string, string> } };
    expect(answer.deployment.trigger).toMatchObject({
      kind: 'manual',
      actor: alice.arn,
      actorId: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployers/alice`,
    });
    expect(started).toHaveLength(1);
  });

  it('`coconut approve`: a stranger is refused, the triggerer is refused (four eyes), another session of the approver role approves', async () => {
    const env = { COCONUT_URL: gateway.url, COCONUT_AUTH: 'iam' };
    const deploy = await coconut(['deploy', 'api', '1.0.0', '--json'], { ...as(alice), ...env });
    expect(deploy.code).toBe(0);
    const deploymentId = (JSON.parse(deploy.stdout) as { deployment: { deploymentId: string } }).deployment.deploymentId;
    const id = await pendingApprovalFor(deploymentId, 'token-approve-1');

    const stranger = await coconut(['approve', id], { ...as(mallory), ...env });
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain(`${mallory.arn} is not an approver of api on prod`);

    const self = await coconut(['approve', id], { ...as(alice), ...env });
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('four eyes');
    expect(resumed).toEqual([]);

    const other = await coconut(['approve', id, '--json'], { ...as(bob), ...env });
    expect(other.stderr).toBe('');
    expect(other.code).toBe(0);
    expect(JSON.parse(other.stdout)).toMatchObject({
      approval: { status: 'APPROVED', decidedBy: bob.arn, decidedById: bob.arn },
    });
    expect(resumed).toEqual(['token-approve-1']);
  });

  it('without credentials the CLI says what is missing and how to set it, and sends nothing', async () => {
    const before = gateway.log.length;
    const res = await coconut(['status'], { COCONUT_URL: gateway.url, COCONUT_AUTH: 'iam', AWS_REGION: REGION });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no AWS credentials were found');
    expect(res.stderr).toMatch(/AWS_PROFILE/);
    expect(res.stderr).toMatch(/aws configure/);
    expect(res.stderr).toMatch(/aws sso login/);
    expect(gateway.log.length).toBe(before);
  });

  it('a signed request AWS refuses (unknown key) is explained: execute-api:Invoke, the clock, get-caller-identity', async () => {
    const stranger = { ...mallory, accessKeyId: 'AKIAUNKNOWN000000001' };
    const res = await coconut(['status'], { ...as(stranger), COCONUT_URL: gateway.url, COCONUT_AUTH: 'iam' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('AWS refused the signed request (HTTP 403 from GET /api/status: The security token included');
    expect(res.stderr).toContain('execute-api:Invoke');
    expect(res.stderr).not.toContain(stranger.secretAccessKey);
  });

  it('signs for a deployed stage (--stage reads .sst/outputs.json) without COCONUT_AUTH; sends the bearer token instead when COCONUT_TOKEN is set', async () => {
    const project = mkdtempSync(path.join(tmpdir(), 'coconut-stage-'));
    mkdirSync(path.join(project, '.sst'));
    writeFileSync(path.join(project, '.sst', 'outputs.json'), JSON.stringify({ apiUrl: gateway.url }));
    const signed = await coconut(['status', '--stage', 'prod', '--json'], as(bob), project);
    expect(signed.stderr).toBe('');
    expect(gateway.log.at(-1)).toMatchObject({ path: '/api/status', status: 200, caller: bob.arn });
    const bearer = await coconut(['status', '--stage', 'prod'], { ...as(bob), COCONUT_TOKEN: 'a.jwt.token' }, project);
    expect(bearer.code).toBe(1);
    expect(gateway.log.at(-1)).toMatchObject({ status: 403, refused: expect.stringContaining('not a SigV4 header') });
  });

  it('signs for an execute-api URL by default, in its region, and keeps the bearer flow when COCONUT_TOKEN is set', async () => {
    const { authMode } = await import('../../src/cli/client.ts');
    const { regionOfApiHost } = await import('../../src/cli/sigv4.ts');
    const saved = { ...process.env };
    try {
      delete process.env.COCONUT_AUTH;
      delete process.env.COCONUT_TOKEN;
      expect(authMode(new URL('https://abc123.execute-api.eu-central-1.amazonaws.com/api/status'))).toBe('iam');
      expect(regionOfApiHost('abc123.execute-api.eu-central-1.amazonaws.com')).toBe('eu-central-1');
      expect(authMode(new URL('http://127.0.0.1:4500/api/status'))).toBe('none');
      process.env.COCONUT_TOKEN = 'a.jwt.token';
      expect(authMode(new URL('https://abc123.execute-api.eu-central-1.amazonaws.com/api/status'))).toBe('jwt');
    } finally {
      process.env = saved;
    }
  });

  describe('the API handler with an IAM-authorizer event', () => {
    async function call(event: APIGatewayProxyEventV2WithIAMAuthorizer) {
      const res = (await handler(event as unknown as APIGatewayProxyEventV2, {} as never)) as {
        statusCode: number;
        body: string;
      };
      return { statusCode: res.statusCode, body: JSON.parse(res.body) };
    }

    it('an IAM user approver matches whatever the user path and the name case (IAM names are case-insensitive)', async () => {
      const made = await call(
        iamEvent('POST /api/deployments', alice, { service: 'api', version: '1.0.1', requestId: 'req-carol-01' }),
      );
      expect(made.statusCode).toBe(201);
      const id = await pendingApprovalFor(made.body.deployment.deploymentId, 'token-carol-1');
      const res = await call(iamEvent('POST /api/approvals/{id}/approve', carol, {}, { id }));
      expect(res.statusCode).toBe(200);
      expect(res.body.approval).toMatchObject({ status: 'APPROVED', decidedById: `arn:aws:iam::${ACCOUNT}:user/Carol` });
    });

    it('a rollback needs an approver: an IAM stranger is refused, a session of the approver role may', async () => {
      const refused = await call(iamEvent('POST /api/rollbacks', mallory, { service: 'api', environment: 'prod' }));
      expect(refused.statusCode).toBe(403);
      expect(refused.body.error).toContain('may not roll it back');
      // bob is an approver; there is nothing good to roll back to, which is a 409, not a 403.
      const allowed = await call(iamEvent('POST /api/rollbacks', bob, { service: 'api', environment: 'prod' }));
      expect(allowed.statusCode).toBe(409);
    });

    it('four eyes compares identities, not e-mails: a JWT user who deployed may not approve it', async () => {
      const jwt = (routeKey: string, body: unknown, pathParameters?: Record<string, string>) => {
        const event = iamEvent(routeKey, mallory, body, pathParameters) as unknown as APIGatewayProxyEventV2;
        (event.requestContext as unknown as { authorizer: unknown }).authorizer = {
          jwt: { claims: { iss: 'https://idp.example.com', sub: 'sub-boss', email: 'boss@example.com' }, scopes: null },
        };
        return event as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
      };
      const made = await call(jwt('POST /api/deployments', { service: 'api', version: '1.0.2', requestId: 'req-boss-001' }));
      expect(made.statusCode).toBe(201);
      expect(made.body.deployment.trigger).toMatchObject({
        actor: 'boss@example.com',
        actorId: 'https://idp.example.com#sub-boss',
      });
      const id = await pendingApprovalFor(made.body.deployment.deploymentId, 'token-boss-1');
      const self = await call(jwt('POST /api/approvals/{id}/approve', {}, { id }));
      expect(self.statusCode).toBe(403);
      expect(self.body.error).toContain('four eyes');
      const other = await call(iamEvent('POST /api/approvals/{id}/approve', bob, {}, { id }));
      expect(other.statusCode).toBe(200);
    });

    it('an ARN of an unknown form is refused, not half understood', async () => {
      const odd = { ...mallory, arn: `arn:aws:sts::${ACCOUNT}:something-new/x` };
      const res = await call(iamEvent('GET /api/status', odd, undefined));
      expect(res.statusCode).toBe(200); // reading needs no actor
      const decide = await call(iamEvent('POST /api/approvals/{id}/approve', odd, {}, { id: 'apr-0000000000' }));
      expect(decide.statusCode).toBe(403);
      expect(decide.body.error).toContain('cannot tell who the caller');
    });
  });
});
