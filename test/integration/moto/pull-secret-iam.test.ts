/**
 * The IAM statement infra/permissions.ts grants for image.pullSecret (capability pullSecrets).
 * - Its action, under IAM enforcement on moto_server (INITIAL_NO_AUTH_ACTION_COUNT: after the
 *   set-up requests every request is checked against the caller's policies): PullSecrets.read
 *   works under a policy granting exactly that action, and is refused (with a message saying
 *   what to do) under one that grants another. moto checks actions only: it authorizes every
 *   Secrets Manager request against the resource "*" (moto/core/authorization.py), so the
 *   policies here name "*" and the resource is checked below.
 * - Its resource pattern `arn:…:secret:<name>-??????`: a secret's ARN ends in "-" and six random
 *   characters (Secrets Manager user guide, "Finding a secret from a partial ARN"), and in IAM
 *   "?" matches any single character and "*" any combination (IAM user guide, "IAM JSON policy
 *   elements: Resource", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 *   moto cannot evaluate "?" (moto/iam/access_control.py `_match` only translates "*"; a "?"
 *   answers HTTP 500), so the pattern is checked here against the ARNs moto really gave the
 *   secrets, with the documented semantics: it matches the named secret and not one whose name
 *   merely starts the same.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statementsFor } from '../../../infra/permissions.ts';
import { PullSecrets } from '../../../src/aws/pull-secrets.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { installSstGlobals, Out, resolveDeep } from '../../support/sst-recorder.ts';

let moto: Moto;
let restore: () => void;
beforeAll(async () => {
  // Set-up requests before enforcement: 2 secrets, then 2 x (user, policy, access key).
  moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '8' } });
  ({ restore } = installSstGlobals('test'));
}, 60_000);
afterAll(async () => {
  restore?.();
  await moto?.stop();
});

/** IAM's Query API as moto serves it (no IAM client in this project); unsigned while set-up lasts. */
async function iam(params: Record<string, string>): Promise<string> {
  const res = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: new URLSearchParams({ Version: '2010-05-08', ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`IAM ${params.Action}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

describe('IAM: the pullSecrets statement (moto_server with IAM enforcement)', () => {
  it('grants GetSecretValue (enforced by moto) on the named secret only (IAM wildcard rules against real ARNs)', async () => {
    const admin = new SecretsManagerClient(moto.clientOptions);
    const value = JSON.stringify({ username: 'bot', password: 'pull-token-123' });
    const named = await admin.send(new CreateSecretCommand({ Name: 'registry/octo-pull', SecretString: value }));
    const longer = await admin.send(new CreateSecretCommand({ Name: 'registry/octo-pull-other', SecretString: value }));

    const refs = {
      region: new Out(() => 'us-east-1'),
      account: new Out(() => '123456789012'),
      tableArn: new Out(() => 'arn:aws:dynamodb:us-east-1:123456789012:table/t'),
      machines: {},
      ecrRepositories: [],
      buildProjectPrefix: 'coconut-test',
      pullSecrets: ['registry/octo-pull'],
    };
    const statements = resolveDeep(statementsFor(['pullSecrets'], refs as never)) as { actions: string[]; resources: string[] }[];
    expect(statements).toEqual([
      {
        actions: ['secretsmanager:GetSecretValue'],
        resources: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:registry/octo-pull-??????'],
      },
    ]);
    expect(statementsFor(['pullSecrets'], { ...refs, pullSecrets: [] } as never)).toEqual([]);

    // The pattern against the real ARNs, with IAM's documented wildcards.
    const iamMatches = (pattern: string, arn: string) =>
      new RegExp(
        `^${pattern
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replaceAll('*', '.*')
          .replaceAll('?', '.')}$`,
      ).test(arn);
    expect(named.ARN).toMatch(/:secret:registry\/octo-pull-[A-Za-z0-9]{6}$/);
    expect(iamMatches(statements[0]?.resources[0] as string, named.ARN as string)).toBe(true);
    expect(iamMatches(statements[0]?.resources[0] as string, longer.ARN as string)).toBe(false);

    // The action, enforced (moto evaluates the resource as "*", see above).
    const user = async (name: string, actions: string[]) => {
      const document = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
      });
      await iam({ Action: 'CreateUser', UserName: name });
      await iam({ Action: 'PutUserPolicy', UserName: name, PolicyName: 'pull', PolicyDocument: document });
      const key = await iam({ Action: 'CreateAccessKey', UserName: name });
      const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(key)?.[1] as string;
      const secretAccessKey = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(key)?.[1] as string;
      return new PullSecrets(
        new SecretsManagerClient({ ...moto.clientOptions, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 }),
      );
    };
    const granted = await user('webhook', statements[0]?.actions ?? []);
    const other = await user('elsewhere', ['secretsmanager:DescribeSecret']);
    expect(await granted.read('registry/octo-pull')).toEqual({ username: 'bot', password: 'pull-token-123' });
    await expect(other.read('registry/octo-pull')).rejects.toThrow(
      'could not read pull secret registry/octo-pull: Coconut may not read it',
    );
  });
});
