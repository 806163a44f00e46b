/**
 * Four eyes: whoever triggered a deployment may not approve it. People are compared by stable
 * identities only, never by display names or e-mails (a user can change those):
 *   - a Slack user id (U…/W…), from a signed Slack request;
 *   - an OpenID Connect identity `ISSUER#SUB` (the `iss` and `sub` claims of a token API
 *     Gateway's JWT authorizer verified: the subject "MUST NOT be reassigned" within its issuer,
 *     OpenID Connect Core 1.0 §2, https://openid.net/specs/openid-connect-core-1_0.html#IDToken);
 *   - an IAM principal id (iam-identity.ts `principalId`), from a SigV4 request API Gateway verified.
 * A GitHub login or registry user name (what a webhook says pushed) is no identity of its own:
 * it counts through what `slack.users` in coconut.yaml maps it to, and so may any identity above.
 *
 * Two identities can only be told apart when they are of the same kind: when the one who
 * triggered and the one approving have no kind in common, Coconut cannot show they are two
 * people, and the approval is refused with the reason and the mapping that would fix it.
 */
import type { CoconutConfig } from '../config/schema.ts';
import { parseCallerArn, sameIdentity } from '../model/iam-identity.ts';
import type { Trigger } from '../model/release.ts';

export type IdentityKind = 'slack' | 'oidc' | 'iam';

const SLACK_USER_ID = /^[UW][A-Z0-9]{1,20}$/;
const OIDC_IDENTITY = /^https:\/\/[^#\s]+#\S+$/;

/** The identity of a JWT user: issuer and subject, both from the verified token. */
export function oidcIdentity(issuer: string, subject: string): string {
  return `${issuer}#${subject}`;
}

export function identityKind(id: string): IdentityKind | undefined {
  if (SLACK_USER_ID.test(id)) return 'slack';
  if (parseCallerArn(id)) return 'iam';
  if (OIDC_IDENTITY.test(id)) return 'oidc';
  return undefined;
}

const KIND_NAMES: Record<IdentityKind, string> = {
  slack: 'Slack user id',
  oidc: 'sign-in identity (issuer#sub)',
  iam: 'IAM principal',
};

/** What `slack.users` maps this key to (a Slack user id), if anything. */
export function mappedSlackId(config: CoconutConfig, key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  const users = config.slack?.users ?? {};
  return Object.hasOwn(users, key) ? users[key] : undefined;
}

/** Someone deciding: their own identity and the Slack id coconut.yaml (or Slack) gives them. */
export interface Decider {
  id: string;
  slackId?: string;
}

function identitiesOf(config: CoconutConfig, who: Decider): Set<string> {
  const ids = new Set<string>([who.id]);
  for (const id of [who.slackId, mappedSlackId(config, who.id)]) if (id) ids.add(id);
  return ids;
}

/**
 * Everything the trigger is known as: its recorded identity (`actorId`, set when a person
 * started it through the API), what `slack.users` maps its identity or its actor (a GitHub
 * login, a registry user) to, and its actor itself when that already is a Slack user id.
 * Only identities are kept: an unmapped login or e-mail is nobody Coconut can compare.
 */
export function triggerIdentities(config: CoconutConfig, trigger: Trigger | undefined): Set<string> {
  const ids = new Set<string>();
  if (!trigger) return ids;
  if (trigger.actorId && identityKind(trigger.actorId)) ids.add(trigger.actorId);
  for (const key of [trigger.actorId, trigger.actor]) {
    const mapped = mappedSlackId(config, key);
    if (mapped) ids.add(mapped);
  }
  if (trigger.actor && SLACK_USER_ID.test(trigger.actor)) ids.add(trigger.actor);
  return ids;
}

const TRIGGER_SOURCES: Record<Trigger['kind'], string> = {
  'ecr-push': 'an ECR push (its event names no user)',
  'ghcr-push': 'a GHCR package push',
  'dockerhub-push': 'a Docker Hub push',
  'git-tag': 'a git tag push',
  manual: 'a deployment started through the API',
  promote: 'a promotion started through the API',
  rollback: 'a rollback started through the API',
};

export type FourEyesVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * May this person approve a deployment with this trigger under four eyes? Refused when they
 * are the one who triggered it, and when Coconut cannot tell whether they are.
 */
export function fourEyesVerdict(
  config: CoconutConfig,
  trigger: Trigger | undefined,
  approver: Decider & { name?: string },
): FourEyesVerdict {
  const who = approver.name ?? approver.id;
  const theirs = triggerIdentities(config, trigger);
  const mine = identitiesOf(config, approver);
  const triggeredAs = trigger?.actor ?? trigger?.actorId;
  for (const t of theirs) {
    for (const m of mine) {
      if (sameIdentity(t, m)) {
        return {
          allowed: false,
          reason: `four eyes: ${who} triggered this deployment (as ${triggeredAs ?? t}) and may not approve it; another approver must`,
        };
      }
    }
  }
  const kinds = (ids: Set<string>) => new Set([...ids].map(identityKind).filter((k): k is IdentityKind => k !== undefined));
  const theirKinds = kinds(theirs);
  const myKinds = kinds(mine);
  if ([...theirKinds].some((k) => myKinds.has(k))) return { allowed: true };
  if (theirKinds.size === 0) {
    const source = trigger ? TRIGGER_SOURCES[trigger.kind] : 'an unknown source (the deployment record is missing)';
    const fix = triggeredAs
      ? `map ${JSON.stringify(triggeredAs)} to its Slack user id in coconut.yaml slack.users`
      : 'start the deployment with `coconut deploy` or the dashboard, which record who asked';
    return {
      allowed: false,
      reason: `four eyes: Coconut cannot tell who triggered this deployment (${source}${triggeredAs ? `, by ${triggeredAs}, whom slack.users does not map` : ''}), so it cannot show that ${who} is someone else; ${fix}, and have another approver approve`,
    };
  }
  const theirNames = [...theirKinds].map((k) => KIND_NAMES[k]).join(' or ');
  const myNames = [...myKinds].map((k) => KIND_NAMES[k]).join(' or ') || 'identity';
  return {
    allowed: false,
    reason: `four eyes: ${triggeredAs ?? 'the trigger'} (who triggered this deployment) is known only by ${theirNames}, and ${who} only by ${myNames}, so Coconut cannot tell them apart; map both to their Slack user ids in coconut.yaml slack.users`,
  };
}
