/**
 * The four-eyes verdict (src/core/pipeline/four-eyes.ts) on the identities it compares: Slack user ids, IAM caller
 * ARNs, sign-in identities (issuer#sub), and what coconut.yaml's slack.users maps to them. The flows through
 * the API and Slack are test/unit/four-eyes.test.ts; each case here answers a mutant that lived there
 * (reports/mutation/summary.md). IAM caller ARNs are an assumed role's session or a user, as STS
 * GetCallerIdentity returns them (AWS STS API Reference, GetCallerIdentity, "Arn").
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import type { Trigger } from '../../src/core/model/release.ts';
import { fourEyesVerdict, identityKind, mappedSlackId, triggerIdentities } from '../../src/core/pipeline/four-eyes.ts';

const ISSUER = 'https://login.example.com';
const ALICE_ARN = 'arn:aws:sts::123456789012:assumed-role/deployers/alice';
const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, namespace: api }
    environments: [{ name: prod }]
slack:
  users:
    octocat: U0ALICE
    '${ALICE_ARN}': U0ALICE
`);
const bare = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: helm, namespace: api }
    environments: [{ name: prod }]
`);
const at = '2026-03-01T10:00:00Z';
const trigger = (over: Partial<Trigger>): Trigger => ({ kind: 'manual', id: 't', at, ...over }) as Trigger;

describe('Four eyes: identities', () => {
  it('tells the kind of an identity', () => {
    expect(identityKind('U0ALICE')).toBe('slack');
    expect(identityKind(ALICE_ARN)).toBe('iam');
    expect(identityKind(`${ISSUER}#sub-1`)).toBe('oidc');
    expect(identityKind('octocat')).toBeUndefined();
  });

  it('maps through slack.users only what is there, and nothing without slack settings', () => {
    expect(mappedSlackId(config, 'octocat')).toBe('U0ALICE');
    expect(mappedSlackId(config, undefined)).toBeUndefined();
    expect(mappedSlackId(config, 'toString')).toBeUndefined();
    expect(mappedSlackId(bare, 'octocat')).toBeUndefined();
  });

  it('knows a trigger by its recorded identity, its mapped ids and a Slack actor; not by an unmapped login', () => {
    expect(triggerIdentities(config, undefined)).toEqual(new Set());
    expect(triggerIdentities(config, trigger({ actorId: ALICE_ARN }))).toEqual(new Set([ALICE_ARN, 'U0ALICE']));
    expect(triggerIdentities(config, trigger({ actorId: 'not-an-identity' }))).toEqual(new Set());
    expect(triggerIdentities(config, trigger({ actor: 'U0CAROL' }))).toEqual(new Set(['U0CAROL']));
    expect(triggerIdentities(config, trigger({ actor: 'hubot' }))).toEqual(new Set());
    expect(triggerIdentities(config, trigger({ kind: 'git-tag', actor: 'octocat' }))).toEqual(new Set(['U0ALICE']));
  });
});

describe('Four eyes: verdicts', () => {
  it('refuses the triggerer known by another identity of theirs (their Slack id given by Slack or by slack.users)', () => {
    const byArn = trigger({ actorId: ALICE_ARN });
    expect(fourEyesVerdict(config, byArn, { id: 'U0OTHER', slackId: 'U0ALICE', name: 'alice' })).toEqual({
      allowed: false,
      reason: `four eyes: alice triggered this deployment (as ${ALICE_ARN}) and may not approve it; another approver must`,
    });
    expect(fourEyesVerdict(config, trigger({ actor: 'U0ALICE' }), { id: ALICE_ARN })).toMatchObject({ allowed: false });
    expect(fourEyesVerdict(config, byArn, { id: 'arn:aws:sts::123456789012:assumed-role/deployers/bob' })).toEqual({
      allowed: true,
    });
  });

  it('cannot compare what has no identity, and says where the deployment came from', () => {
    const none = fourEyesVerdict(config, undefined, { id: 'U0BOB', name: 'bob' });
    expect(none).toEqual({
      allowed: false,
      reason:
        'four eyes: Coconut cannot tell who triggered this deployment (an unknown source (the deployment record is missing)), so it cannot show that bob is someone else; start the deployment with `coconut deploy` or the dashboard, which record who asked, and have another approver approve',
    });
    const ecr = fourEyesVerdict(config, trigger({ kind: 'ecr-push' }), { id: 'U0BOB' });
    expect(ecr).toMatchObject({
      reason: expect.stringContaining('(an ECR push (its event names no user)), so it cannot show that U0BOB'),
    });
  });

  it('refuses identities of kinds that cannot be compared, naming both kinds', () => {
    const oidc = trigger({ actorId: `${ISSUER}#dave`, actor: 'dave@example.com' });
    expect(fourEyesVerdict(config, oidc, { id: ALICE_ARN, name: 'alice' })).toEqual({
      allowed: false,
      reason:
        'four eyes: dave@example.com (who triggered this deployment) is known only by sign-in identity (issuer#sub), and alice only by IAM principal or Slack user id, so Coconut cannot tell them apart; map both to their Slack user ids in coconut.yaml slack.users',
    });
    expect(fourEyesVerdict(config, trigger({ actorId: `${ISSUER}#dave` }), { id: 'someone', name: 'x' })).toMatchObject({
      reason: expect.stringContaining(
        `four eyes: ${ISSUER}#dave (who triggered this deployment) is known only by sign-in identity (issuer#sub), and x only by identity,`,
      ),
    });
  });
});
