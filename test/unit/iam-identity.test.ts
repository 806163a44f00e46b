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
import {
  approverNames,
  looksLikeArn,
  parseApproverArn,
  parseCallerArn,
  principalId,
  roleArnOf,
  sameIdentity,
} from '../../src/core/model/iam-identity.ts';
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

describe('IAM identities, function by function', () => {
  const B = '210987654321';
  const examples =
    'expected an IAM user ARN (arn:aws:iam::123456789012:user/alice), a role ARN meaning anyone who assumes it (arn:aws:iam::123456789012:role/deployers), or one session of a role (arn:aws:sts::123456789012:assumed-role/deployers/alice)';

  it('parses every caller form and writes each back as its stable id', () => {
    const forms = [
      [`arn:aws:iam::${A}:user/alice`, { kind: 'user', partition: 'aws', account: A, name: 'alice' }],
      [`arn:aws:iam::${A}:user/a/b/alice`, { kind: 'user', partition: 'aws', account: A, name: 'alice' }],
      [
        `arn:aws:sts::${A}:assumed-role/ops/alice@example.com`,
        { kind: 'role-session', partition: 'aws', account: A, role: 'ops', session: 'alice@example.com' },
      ],
      [`arn:aws-cn:sts::${A}:federated-user/bob`, { kind: 'federated-user', partition: 'aws-cn', account: A, name: 'bob' }],
      [`arn:aws-us-gov:iam::${A}:root`, { kind: 'root', partition: 'aws-us-gov', account: A }],
    ] as const;
    for (const [arn, principal] of forms) expect(parseCallerArn(arn), arn).toEqual(principal);
    expect(forms.map(([, p]) => principalId(p))).toEqual([
      `arn:aws:iam::${A}:user/alice`,
      `arn:aws:iam::${A}:user/alice`,
      `arn:aws:sts::${A}:assumed-role/ops/alice@example.com`,
      `arn:aws-cn:sts::${A}:federated-user/bob`,
      `arn:aws-us-gov:iam::${A}:root`,
    ]);
    expect(roleArnOf(forms[0][1])).toBeUndefined();
    expect(roleArnOf(forms[2][1])).toBe(`arn:aws:iam::${A}:role/ops`);
  });

  it('parses no caller from a role ARN, a session name of one character, a short account or trailing text', () => {
    for (const arn of [
      `arn:aws:iam::${A}:role/ops`,
      `arn:aws:sts::${A}:assumed-role/ops/a`,
      'arn:aws:iam::1234:user/alice',
      `arn:aws:iam::${A}:user/alice x`,
      `x arn:aws:iam::${A}:root`,
      `arn:aws:iam::${A}:root/x`,
      `arn:aws:sts::${A}:federated-user/bob/x`,
      `arn:azure:iam::${A}:user/alice`,
    ])
      expect(parseCallerArn(arn), arn).toBeUndefined();
  });

  it('tells an ARN from a Slack id by its prefix', () => {
    expect(looksLikeArn('arn:aws:iam::1:user/x')).toBe(true);
    expect(looksLikeArn('U0ARN')).toBe(false);
    expect(looksLikeArn('xarn:')).toBe(false);
  });

  it('parses the three approver forms, a role by its last path segment', () => {
    expect(parseApproverArn(`arn:aws:iam::${A}:user/ops/alice`)).toEqual({
      kind: 'user',
      partition: 'aws',
      account: A,
      name: 'alice',
    });
    expect(parseApproverArn(`arn:aws:iam::${A}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_X`)).toEqual({
      kind: 'role',
      partition: 'aws',
      account: A,
      role: 'AWSReservedSSO_X',
    });
    expect(parseApproverArn(`arn:aws:sts::${A}:assumed-role/ops/alice`)).toEqual({
      kind: 'role-session',
      partition: 'aws',
      account: A,
      role: 'ops',
      session: 'alice',
    });
  });

  it('says why an ARN cannot be an approver, with the forms that can', () => {
    expect(parseApproverArn(`arn:aws:iam::${A}:user/*`)).toEqual({
      error: `wildcards are not supported in approver ARNs; ${examples}`,
    });
    expect(parseApproverArn(`arn:aws:iam::${A}:group/admins`)).toEqual({
      error: `IAM groups cannot be approvers (a signed request does not say which groups its caller is in): name the users, or a role they assume; ${examples}`,
    });
    expect(parseApproverArn('arn:aws:iam::12345:role/ops')).toEqual({ error: `the account must be 12 digits; ${examples}` });
    expect(parseApproverArn('arn:aws:sts::12345:assumed-role/ops/alice')).toEqual({
      error: `the account must be 12 digits; ${examples}`,
    });
    expect(parseApproverArn(`arn:aws:iam::${A}:root`)).toEqual({ error: examples });
    expect(parseApproverArn(`arn:aws:sts::${A}:federated-user/bob`)).toEqual({ error: examples });
    expect(parseApproverArn('arn:aws:s3:::bucket')).toEqual({ error: examples });
    expect(parseApproverArn(`xarn:aws:iam::${A}:group/admins`)).toEqual({ error: examples });
    expect(parseApproverArn('xarn:aws:iam::12345:role/ops')).toEqual({ error: examples });
  });

  it('an approver names a caller of its own kind, partition and account, names compared without case, sessions exactly', () => {
    const approver = (arn: string) => parseApproverArn(arn) as Exclude<ReturnType<typeof parseApproverArn>, { error: string }>;
    const caller = (arn: string) => parseCallerArn(arn) as NonNullable<ReturnType<typeof parseCallerArn>>;
    const session = caller(`arn:aws:sts::${A}:assumed-role/Ops/alice`);
    expect(approverNames(approver(`arn:aws:sts::${A}:assumed-role/ops/alice`), session)).toBe(true);
    expect(approverNames(approver(`arn:aws:sts::${A}:assumed-role/ops/Alice`), session)).toBe(false);
    expect(approverNames(approver(`arn:aws:sts::${A}:assumed-role/dev/alice`), session)).toBe(false);
    expect(approverNames(approver(`arn:aws:sts::${A}:assumed-role/ops/alice`), caller(`arn:aws:iam::${A}:user/alice`))).toBe(
      false,
    );
    expect(approverNames(approver(`arn:aws:iam::${A}:role/OPS`), session)).toBe(true);
    expect(approverNames(approver(`arn:aws:iam::${A}:role/dev`), session)).toBe(false);
    expect(approverNames(approver(`arn:aws:iam::${A}:role/ops`), caller(`arn:aws:iam::${A}:user/ops`))).toBe(false);
    expect(approverNames(approver(`arn:aws:iam::${A}:user/ALICE`), caller(`arn:aws:iam::${A}:user/alice`))).toBe(true);
    expect(approverNames(approver(`arn:aws:iam::${A}:user/alice`), caller(`arn:aws:iam::${A}:user/bob`))).toBe(false);
    expect(approverNames(approver(`arn:aws:iam::${A}:user/alice`), caller(`arn:aws:sts::${A}:federated-user/alice`))).toBe(false);
    expect(approverNames(approver(`arn:aws:iam::${B}:user/alice`), caller(`arn:aws:iam::${A}:user/alice`))).toBe(false);
    expect(approverNames(approver(`arn:aws-cn:iam::${A}:user/alice`), caller(`arn:aws:iam::${A}:user/alice`))).toBe(false);
  });

  it('four eyes: the same caller only within one kind, partition and account', () => {
    expect(sameIdentity(`arn:aws:sts::${A}:federated-user/Bob`, `arn:aws:sts::${A}:federated-user/bob`)).toBe(true);
    expect(sameIdentity(`arn:aws:sts::${A}:federated-user/bob`, `arn:aws:sts::${A}:federated-user/carl`)).toBe(false);
    expect(sameIdentity(`arn:aws:sts::${A}:federated-user/bob`, `arn:aws:iam::${A}:user/bob`)).toBe(false);
    expect(sameIdentity(`arn:aws:iam::${A}:user/bob`, `arn:aws:iam::${B}:user/bob`)).toBe(false);
    expect(sameIdentity(`arn:aws:iam::${A}:user/bob`, `arn:aws-cn:iam::${A}:user/bob`)).toBe(false);
    expect(sameIdentity(`arn:aws:iam::${A}:user/bob`, `arn:aws:iam::${A}:user/carl`)).toBe(false);
    expect(sameIdentity(`arn:aws:iam::${A}:root`, `arn:aws:iam::${A}:root`)).toBe(true);
    expect(sameIdentity(`arn:aws:iam::${A}:root`, `arn:aws:iam::${B}:root`)).toBe(false);
    expect(sameIdentity(`arn:aws:iam::${A}:root`, `arn:aws:iam::${A}:user/bob`)).toBe(false);
    expect(sameIdentity(`arn:aws:sts::${A}:assumed-role/ops/bob`, `arn:aws:sts::${A}:assumed-role/dev/bob`)).toBe(false);
    expect(sameIdentity(`arn:aws:sts::${A}:assumed-role/ops/bob`, `arn:aws:sts::${B}:assumed-role/ops/bob`)).toBe(false);
    expect(sameIdentity(`arn:aws:iam::${A}:user/bob`, 'bob')).toBe(false);
    expect(sameIdentity('bob', 'Bob')).toBe(false);
  });
});
