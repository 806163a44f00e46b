/**
 * IAM principals as approvers. The ARN forms are AWS's (IAM User Guide, "IAM identifiers":
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html); names are
 * unique per account whatever the path and "are not distinguished by case" (IAM API
 * CreateRole/CreateUser, RoleName/UserName); session names are the AssumeRole caller's choice
 * (STS API AssumeRole, RoleSessionName).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { configJsonSchema } from '../../src/core/config/schema.ts';
import { assertMayImport } from '../../src/core/history/history-transfer.ts';
import { parseCallerArn, principalId, roleArnOf, sameIdentity } from '../../src/core/model/iam-identity.ts';
import { type Actor, listsActor } from '../../src/core/pipeline/approvals.ts';

const A = '123456789012';

function iamActor(arn: string): Actor {
  const p = parseCallerArn(arn);
  if (!p) throw new Error(`not a caller ARN: ${arn}`);
  return { id: principalId(p), name: principalId(p), source: 'iam', iam: p };
}

describe('IAM callers', () => {
  it('keeps the role and the session name of an assumed role; drops the path of a user', () => {
    const session = parseCallerArn(`arn:aws:sts::${A}:assumed-role/AWSReservedSSO_Deployers_0123456789abcdef/alice@example.com`);
    expect(session).toEqual({
      kind: 'role-session',
      partition: 'aws',
      account: A,
      role: 'AWSReservedSSO_Deployers_0123456789abcdef',
      session: 'alice@example.com',
    });
    expect(roleArnOf(session as never)).toBe(`arn:aws:iam::${A}:role/AWSReservedSSO_Deployers_0123456789abcdef`);
    expect(principalId(parseCallerArn(`arn:aws:iam::${A}:user/division/ops/carol`) as never)).toBe(
      `arn:aws:iam::${A}:user/carol`,
    );
    expect(parseCallerArn(`arn:aws-cn:iam::${A}:root`)).toEqual({ kind: 'root', partition: 'aws-cn', account: A });
    expect(parseCallerArn(`arn:aws:iam::${A}:group/admins`)).toBeUndefined();
    expect(parseCallerArn('U0123ABCD')).toBeUndefined();
  });

  it('matches approver ARNs: a role means any of its sessions, a user by name (no path, no case), never across accounts', () => {
    const alice = iamActor(`arn:aws:sts::${A}:assumed-role/Deployers/alice`);
    expect(listsActor(`arn:aws:iam::${A}:role/deployers`, alice)).toBe(true);
    expect(listsActor(`arn:aws:iam::${A}:role/teams/Deployers`, alice)).toBe(true);
    expect(listsActor(`arn:aws:sts::${A}:assumed-role/Deployers/alice`, alice)).toBe(true);
    expect(listsActor(`arn:aws:sts::${A}:assumed-role/Deployers/bob`, alice)).toBe(false);
    expect(listsActor(`arn:aws:iam::999999999999:role/Deployers`, alice)).toBe(false);
    expect(listsActor(`arn:aws-us-gov:iam::${A}:role/Deployers`, alice)).toBe(false);
    expect(listsActor(`arn:aws:iam::${A}:user/alice`, alice)).toBe(false);
    const carol = iamActor(`arn:aws:iam::${A}:user/ops/Carol`);
    expect(listsActor(`arn:aws:iam::${A}:user/carol`, carol)).toBe(true);
    expect(listsActor(`arn:aws:iam::${A}:role/carol`, carol)).toBe(false);
  });

  it('an ARN approver never matches an id that only claims to be one, and a Slack id never matches an IAM caller', () => {
    const claimed: Actor = { id: `arn:aws:sts::${A}:assumed-role/Deployers/alice`, source: 'dashboard' };
    expect(listsActor(`arn:aws:iam::${A}:role/Deployers`, claimed)).toBe(false);
    expect(listsActor(`arn:aws:sts::${A}:assumed-role/Deployers/alice`, claimed)).toBe(false);
    expect(listsActor('U0BOSS', { id: 'U0BOSS', source: 'slack' })).toBe(true);
    expect(listsActor('U0BOSS', { ...iamActor(`arn:aws:iam::${A}:user/x`), id: 'U0BOSS' })).toBe(false);
  });

  it('four eyes tells sessions of one role apart by session name, and a user apart from nobody else', () => {
    const a = `arn:aws:sts::${A}:assumed-role/Deployers/alice`;
    expect(sameIdentity(a, `arn:aws:sts::${A}:assumed-role/deployers/alice`)).toBe(true);
    expect(sameIdentity(a, `arn:aws:sts::${A}:assumed-role/Deployers/bob`)).toBe(false);
    expect(sameIdentity(a, `arn:aws:sts::${A}:assumed-role/Deployers/Alice`)).toBe(false);
    expect(sameIdentity(`arn:aws:iam::${A}:user/Carol`, `arn:aws:iam::${A}:user/carol`)).toBe(true);
    expect(sameIdentity('U0BOSS', 'U0BOSS')).toBe(true);
    expect(sameIdentity('U0BOSS', a)).toBe(false);
  });
});

describe('coconut.yaml approvers', () => {
  const base = (approvers: string) => `
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm }
    environments:
      - { name: prod, approval: { approvers: ${approvers} } }
`;
  const error = (yaml: string) => {
    try {
      parseConfig(yaml);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected a config error');
  };

  it('accepts Slack ids and IAM user, role and role-session ARNs side by side', () => {
    const approvers = [
      'U0123ABCD',
      'S0123ABCD',
      `arn:aws:iam::${A}:user/alice`,
      `arn:aws:iam::${A}:role/deployers`,
      `arn:aws:iam::${A}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Deployers_0123456789abcdef`,
      `arn:aws:sts::${A}:assumed-role/deployers/alice`,
    ];
    const config = parseConfig(base(JSON.stringify(approvers)));
    expect(config.services[0]?.environments[0]?.approval?.approvers).toEqual(approvers);
  });

  it('says what is wrong with an ARN that cannot name an approver', () => {
    const at = 'services[0].environments[0].approval.approvers[0]';
    expect(error(base(`['arn:aws:iam::${A}:group/admins']`))).toContain(
      `${at}: "arn:aws:iam::${A}:group/admins": IAM groups cannot be approvers`,
    );
    expect(error(base(`['arn:aws:iam::1234:user/alice']`))).toContain('the account must be 12 digits');
    expect(error(base(`['arn:aws:iam::${A}:role/*']`))).toContain('wildcards are not supported');
    expect(error(base(`['arn:aws:s3:::bucket']`))).toContain('expected an IAM user ARN (arn:aws:iam::123456789012:user/alice)');
    expect(error(base('[alice@example.com]'))).toContain('or an IAM ARN like arn:aws:iam::123456789012:role/deployers');
  });

  it('an IAM approver of every gated environment may import history; another IAM caller may not', async () => {
    const config = parseConfig(base(`['arn:aws:iam::${A}:role/deployers', S0LEADS]`));
    await expect(
      assertMayImport({ config }, iamActor(`arn:aws:sts::${A}:assumed-role/deployers/alice`)),
    ).resolves.toBeUndefined();
    await expect(assertMayImport({ config }, iamActor(`arn:aws:iam::${A}:user/mallory`))).rejects.toThrow(
      'does not approve api/prod',
    );
  });

  it('`coconut schema` describes IAM ARN approvers', () => {
    const text = JSON.stringify(configJsonSchema());
    expect(text).toContain('arn:aws:iam::123456789012:role/deployers');
  });
});
