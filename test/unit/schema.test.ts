/**
 * The checks of coconut.yaml's schema that are code rather than declarations
 * (src/core/config/schema.ts): durations and their bounds, regular expressions, names that
 * hold "{environment}", SSH host keys, approvers, slack.users keys, duplicate names. Each
 * refusal is checked by its path and its whole message, as `coconut validate` prints them.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '../../src/core/config/load.ts';
import {
  configJsonSchema,
  configSchema,
  duration,
  environmentSchema,
  imageSchema,
  slackSchema,
  targetSchema,
} from '../../src/core/config/schema.ts';
import type { ConfigError } from '../../src/core/model/errors.ts';
import { buildPlan } from '../../src/core/triggers/plan.ts';
import { cosignKeys } from '../support/cosign.ts';

/** [path, message] of each issue, or [] when the value is valid. */
function issues(schema: z.ZodType, value: unknown): [string, string][] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => [i.path.join('.'), i.message]);
}

describe('duration', () => {
  it('reads units and numbers of seconds, inside the bounds given', () => {
    const bake = duration(0, 86400);
    expect(bake.parse('1h30m')).toBe(5400);
    expect(bake.parse(0)).toBe(0);
    expect(bake.parse('24h')).toBe(86400);
    expect(issues(bake, '24h1s')).toEqual([['', 'expected a duration between 0s and 86400s, got 86401s']]);
    expect(issues(duration(10, 3600), 9)).toEqual([['', 'expected a duration between 10s and 3600s, got 9s']]);
    expect(duration(10, 3600).parse(10)).toBe(10);
    expect(issues(bake, 'soon')).toEqual([['', 'expected a duration like "30s", "5m", "1h" or a number of seconds, got "soon"']]);
    expect(issues(bake, 1.5)).toEqual([['', 'expected a duration like "30s", "5m", "1h" or a number of seconds, got 1.5']]);
  });

  it('tells editors what a duration looks like', () => {
    expect(z.toJSONSchema(duration(), { io: 'input' })).toMatchObject({
      description: 'A duration: "30s", "5m", "1h30m", "2d", or a number of seconds.',
    });
  });

  it('defaults to between 0 and 7 days', () => {
    expect(duration().parse('7d')).toBe(7 * 86400);
    expect(issues(duration(), '7d1s')).toEqual([['', 'expected a duration between 0s and 604800s, got 604801s']]);
  });
});

describe('image and source', () => {
  it('takes any valid regular expression as tag pattern, and says when one is not', () => {
    expect(imageSchema.parse({ registry: 'ecr', repository: 'api', tagPattern: '^release-.*$' }).tagPattern).toBe('^release-.*$');
    expect(issues(imageSchema, { registry: 'ecr', repository: 'api', tagPattern: '^v(' })).toEqual([
      ['tagPattern', 'expected a valid regular expression'],
    ]);
  });
});

describe('targets', () => {
  it('accepts "{environment}" inside names, checking the name it makes', () => {
    expect(targetSchema.parse({ kind: 'helm', namespace: 'web-{environment}', release: '{environment}-web' })).toMatchObject({
      namespace: 'web-{environment}',
      release: '{environment}-web',
    });
    expect(issues(targetSchema, { kind: 'helm', namespace: 'Web-{environment}' })).toEqual([
      ['namespace', 'expected a Kubernetes namespace name ("{environment}" is replaced by the environment name)'],
    ]);
    // A braced word other than {environment} is not replaced, so it is refused as it stands.
    expect(issues(targetSchema, { kind: 'ecs', cluster: 'main-{env}' })).toEqual([
      ['cluster', 'expected an ECS cluster name or ARN ("{environment}" is replaced by the environment name)'],
    ]);
    expect(targetSchema.parse({ kind: 'ecs', cluster: '{environment}-{environment}' })).toMatchObject({
      cluster: '{environment}-{environment}',
    });
  });

  it('ansible: host keys come from exactly one of a secret or a file, and an SSH key needs them', () => {
    const ansible = { kind: 'ansible', inventory: 'inv.ini' };
    expect(
      targetSchema.parse({ ...ansible, sshKey: 'ops/ssh', knownHosts: { secret: 'ops/{environment}-hosts' } }),
    ).toMatchObject({
      knownHosts: { secret: 'ops/{environment}-hosts' },
    });
    expect(targetSchema.parse({ ...ansible, sshKey: 'ops/ssh', knownHosts: { file: 'known_hosts' } })).toMatchObject({
      knownHosts: { file: 'known_hosts' },
    });
    const exactlyOne =
      'expected exactly one of knownHosts.secret (a Secrets Manager secret name) or knownHosts.file (a known_hosts file in the repository)';
    expect(issues(targetSchema, { ...ansible, knownHosts: {} })).toEqual([['knownHosts', exactlyOne]]);
    expect(issues(targetSchema, { ...ansible, knownHosts: { secret: 's', file: 'f' } })).toEqual([['knownHosts', exactlyOne]]);
    expect(issues(targetSchema, { ...ansible, sshKey: 'ops/ssh' })).toEqual([
      [
        'knownHosts',
        'sshKey needs knownHosts: host keys are always checked strictly and a build knows no hosts of its own; name a secret ({ secret: NAME }) or a file ({ file: PATH }) holding the known_hosts lines',
      ],
    ]);
    // Without an SSH key (the inventory names its own), no host keys are required.
    expect(issues(targetSchema, ansible)).toEqual([]);
  });
});

describe('approvers', () => {
  const approvers = (...list: string[]) => issues(environmentSchema, { name: 'prod', approval: { approvers: list } });

  it('takes Slack user and group ids and IAM user, role and session ARNs', () => {
    expect(
      approvers(
        'U0123ABCD',
        'W0123',
        'S0DEPLOYERS',
        'arn:aws:iam::123456789012:user/alice',
        'arn:aws:iam::123456789012:role/deployers',
        'arn:aws:sts::123456789012:assumed-role/deployers/alice',
      ),
    ).toEqual([]);
  });

  it('says what an approver should look like, quoting the one given', () => {
    expect(approvers('alice')).toEqual([
      [
        'approval.approvers.0',
        'expected a Slack user id (U…/W…) or user group id (S…), like U0123ABCD, or an IAM ARN like arn:aws:iam::123456789012:role/deployers; got "alice"',
      ],
    ]);
    expect(approvers('U1', 'arn:aws:iam::123456789012:group/admins')).toEqual([
      [
        'approval.approvers.1',
        expect.stringMatching(/^"arn:aws:iam::123456789012:group\/admins": IAM groups cannot be approvers/),
      ],
    ]);
  });
});

describe('slack.users', () => {
  const users = (map: Record<string, string>) => issues(slackSchema, { users: map });

  it('takes logins, dashboard users as ISSUER#SUB and IAM callers', () => {
    expect(
      users({
        octocat: 'U01',
        'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC#8c1f0e2a': 'U02',
        'arn:aws:iam::123456789012:user/alice': 'U03',
        'arn:aws:sts::123456789012:assumed-role/deployers/alice': 'W04',
      }),
    ).toEqual([]);
  });

  it('refuses, at its key, an issuer without "#sub" or over http, and an IAM role or group', () => {
    const issuer =
      'a dashboard user is ISSUER#SUB: the https issuer and the sub claim joined by "#" (e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf#8c1f0e2a-…)';
    const caller =
      'expected the ARN of a caller as API Gateway reports it: an IAM user (arn:aws:iam::123456789012:user/alice) or a role session (arn:aws:sts::123456789012:assumed-role/deployers/alice), not a role or group';
    // Only a key that starts with http(s):// is taken for an issuer; the whole key must be ISSUER#SUB.
    expect(users({ 'team https://example.com': 'U01' })).toEqual([]);
    expect(users({ 'http://x/https://login#sub': 'U01', 'https://login.example.com#sub extra': 'U02' })).toEqual([
      ['users.http://x/https://login#sub', issuer],
      ['users.https://login.example.com#sub extra', issuer],
    ]);
    expect(
      users({
        'https://login.example.com': 'U01',
        'http://login.example.com#sub': 'U02',
        'https://login.example.com#': 'U03',
        'arn:aws:iam::123456789012:role/deployers': 'U04',
        ok: 'U05',
      }),
    ).toEqual([
      ['users.https://login.example.com', issuer],
      ['users.http://login.example.com#sub', issuer],
      ['users.https://login.example.com#', issuer],
      ['users.arn:aws:iam::123456789012:role/deployers', caller],
    ]);
  });
});

describe('configSchema: names used twice', () => {
  const service = (name: string, envs: string[]) => ({
    name,
    image: { registry: 'ecr', repository: name },
    target: { kind: 'ecs', cluster: 'main' },
    environments: envs.map((e) => ({ name: e })),
  });

  it('names the second use and where the first was, for services and for environments of one service', () => {
    expect(
      issues(configSchema, {
        services: [service('api', ['staging', 'prod']), service('web', ['prod', 'prod', 'qa', 'prod']), service('api', ['prod'])],
      }),
    ).toEqual([
      ['services.1.environments.1.name', 'duplicate environment "prod" in service "web"'],
      ['services.1.environments.3.name', 'duplicate environment "prod" in service "web"'],
      ['services.2.name', 'duplicate service name "api" (first used at services[0])'],
    ]);
    // The same environment name in two services is what environments are for.
    expect(issues(configSchema, { services: [service('api', ['prod']), service('web', ['prod'])] })).toEqual([]);
  });
});

describe('configJsonSchema', () => {
  it('describes the file as written: durations as text or numbers, defaults optional', () => {
    const schema = configJsonSchema() as { required?: string[]; properties: Record<string, { default?: unknown }> };
    expect(schema.required).toEqual(['services']);
    expect(schema.properties.version?.default).toBe(1);
    const text = JSON.stringify(schema);
    // The input side of a duration: a string or a number, not the parsed number alone.
    expect(text).toContain('"description":"A duration: \\"30s\\", \\"5m\\", \\"1h30m\\", \\"2d\\", or a number of seconds."');
    expect(text).toContain(
      '"bake":{"description":"How long to watch the alarms after deploying before the environment counts as good.","type":["string","number"]}',
    );
  });
});

describe('issues the refinements raise', () => {
  it('are zod custom issues, as callers that tell issues apart by code expect', () => {
    const codes = (schema: z.ZodType, value: unknown) => {
      const result = schema.safeParse(value);
      return result.success ? [] : result.error.issues.map((i) => i.code);
    };
    const service = (name: string, envs: string[]) => ({
      name,
      image: { registry: 'ecr', repository: name },
      target: { kind: 'ecs', cluster: 'main' },
      environments: envs.map((e) => ({ name: e })),
    });
    expect(codes(duration(0, 10), 'soon')).toEqual(['custom']);
    expect(codes(duration(0, 10), 11)).toEqual(['custom']);
    expect(codes(targetSchema, { kind: 'ansible', inventory: 'i', knownHosts: {} })).toEqual(['custom']);
    expect(codes(targetSchema, { kind: 'ansible', inventory: 'i', sshKey: 'k' })).toEqual(['custom']);
    expect(
      codes(environmentSchema, { name: 'p', approval: { approvers: ['alice', 'arn:aws:iam::123456789012:group/g'] } }),
    ).toEqual(['custom', 'custom']);
    expect(codes(slackSchema, { users: { 'https://login.example.com': 'U1' } })).toEqual(['custom']);
    expect(codes(configSchema, { services: [service('a', ['p', 'p']), service('a', ['p'])] })).toEqual(['custom', 'custom']);
  });
});

const PEM = cosignKeys().publicPem;
const indent = (text: string, by: string) => text.trim().split('\n').join(`\n${by}`);

const withVerify = (verify: string) => `
services:
  - name: api
    image: { registry: ghcr, repository: org/api, pullSecret: ghcr-pull }
    target: { kind: helm }
    environments:
      - { name: staging }
      - { name: prod }
    verify:
      ${verify}
`;

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, 'conf.yaml');
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected the config to be rejected');
}

describe('Config: verify (signed-image gate)', () => {
  it('takes a cosign public key written in the file, and every environment of the plan carries it', () => {
    const config = parseConfig(withVerify(`cosign:\n        key: |\n          ${indent(PEM, '          ')}`));
    const service = config.services[0];
    if (!service) throw new Error('no service');
    expect(service.verify).toEqual({ cosign: { key: PEM } });
    const plan = buildPlan(service, {
      registry: 'ghcr',
      repository: 'org/api',
      tag: '1.0.0',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(plan.environments.map((e) => e.verify)).toEqual([
      { cosign: { key: PEM }, pullSecret: 'ghcr-pull' },
      { cosign: { key: PEM }, pullSecret: 'ghcr-pull' },
    ]);
  });

  it('refuses an empty verify, and cosign beside notation (one signature kind per service)', () => {
    expect(errorOf(withVerify('{}')).issues[0]?.message).toBe(
      'expected cosign: { key: ... } (the public key the image must be signed with), cosign: { identity, issuer } (keyless) or notation: { trustedRoots, identities | signingProfileArn }',
    );
    const both = errorOf(
      withVerify(
        '{ cosign: { identity: "https://github.com/org/api/.github/workflows/release.yml@refs/heads/main", issuer: "https://token.actions.githubusercontent.com" }, notation: { trustedRoots: "roots.pem", signingProfileArn: "arn:aws:signer:eu-west-1:123456789012:/signing-profiles/release" } }',
      ),
    );
    expect(both.issues.map((i) => i.message)).toContain(
      'expected cosign: or notation:, not both (one signature kind per service)',
    );
  });

  it('refuses a key that is neither PEM nor a relative path', () => {
    const error = errorOf(withVerify('cosign: { key: "../keys/cosign.pub" }'));
    expect(error.issues[0]?.message).toContain(
      'expected a PEM public key ("-----BEGIN PUBLIC KEY-----...", what `cosign generate-key-pair` writes',
    );
  });
});
