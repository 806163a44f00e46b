/**
 * GitHub webhook deliveries (already signature-checked) -> what Coconut should do with them:
 * a tag to release (`push` of refs/tags/..., `create` with ref_type tag), a container image
 * published to GHCR (`package` / `registry_package`), a `ping`, or nothing (with the reason).
 * Every value that may later reach a build is checked here against strict patterns; a value
 * that does not match is an InvalidInputError naming the field and the expected format (400).
 */
import { z } from 'zod';
import { InvalidInputError } from '../model/errors.ts';
import { DIGEST_PATTERN, REPOSITORY_MAX_LENGTH, REPOSITORY_PATTERN, TAG_PATTERN } from '../model/oci.ts';
import type { ReleaseEvent, Trigger } from '../model/release.ts';
import { describeZodIssues } from '../model/zod-issues.ts';

/** owner/name as GitHub allows them (owner: 1-39 alphanumerics or "-"; name: 1-100 of A-Z a-z 0-9 . _ -). */
export const GITHUB_REPOSITORY_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;
/** X-GitHub-Delivery is a GUID; anything short and plain is accepted, nothing else. */
export const DELIVERY_ID_PATTERN = /^[A-Za-z0-9-]{1,100}$/;
/** GitHub logins (bots end in "[bot]"). */
const LOGIN_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;
const SHA_PATTERN = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;
const ZERO_SHA = /^0+$/;
/** Longer refs are not names anyone gives a release; 255 also bounds what we echo back. */
export const REF_MAX_LENGTH = 255;

/** A git tag to release, from a `push` or `create` delivery. */
export interface TagPush {
  /** repository.full_name, e.g. "octo-org/demo-api". */
  repository: string;
  tag: string;
  /** The tagged commit when the event tells it (`push` does, `create` does not). */
  sha?: string;
  trigger: Trigger;
}

export type GithubOutcome =
  | { kind: 'ping'; hookId?: number }
  | { kind: 'tag'; push: TagPush }
  | { kind: 'registry'; release: ReleaseEvent }
  | { kind: 'ignored'; reason: string };

export const HANDLED_EVENTS = ['push', 'create', 'package', 'registry_package', 'ping'] as const;

const loose = z.looseObject;
const repositorySchema = loose({ full_name: z.string() });
const senderSchema = loose({ login: z.string() }).optional();

const pushSchema = loose({
  ref: z.string(),
  after: z.string().optional(),
  deleted: z.boolean().optional(),
  repository: repositorySchema,
  sender: senderSchema,
});

const createSchema = loose({
  ref: z.string(),
  ref_type: z.string(),
  repository: repositorySchema,
  sender: senderSchema,
});

const containerMetadata = loose({
  tag: loose({ name: z.string().nullish(), digest: z.string().nullish() }).nullish(),
}).nullish();

const packageSchema = loose({
  name: z.string(),
  package_type: z.string().nullish(),
  ecosystem: z.string().nullish(),
  owner: loose({ login: z.string() }),
  package_version: loose({ container_metadata: containerMetadata }).nullish(),
});

const packageEventSchema = loose({
  action: z.string(),
  package: packageSchema.optional(),
  registry_package: packageSchema.optional(),
  sender: senderSchema,
});

const pingSchema = loose({ hook_id: z.number().optional() });

function parse<S extends z.ZodType>(schema: S, payload: unknown, event: string): z.output<S> {
  const result = schema.safeParse(payload);
  if (!result.success) {
    throw new InvalidInputError(`not a valid GitHub ${event} event: ${describeZodIssues(result.error, '(body)', 1)}`);
  }
  return result.data;
}

/** Shows a bad value without echoing kilobytes of it back. */
export function preview(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function checkRepository(fullName: string): string {
  if (!GITHUB_REPOSITORY_PATTERN.test(fullName)) {
    throw new InvalidInputError(
      `repository.full_name ${preview(fullName)} is not a GitHub repository name (expected owner/name, e.g. octo-org/demo-api)`,
    );
  }
  return fullName;
}

function checkTag(tag: string, field: string): string {
  if (!TAG_PATTERN.test(tag)) {
    throw new InvalidInputError(
      `${field}: tag ${preview(tag)} cannot be an image tag (expected 1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)`,
    );
  }
  return tag;
}

function actorOf(sender: { login: string } | undefined): string | undefined {
  if (!sender) return undefined;
  if (!LOGIN_PATTERN.test(sender.login)) {
    throw new InvalidInputError(`sender.login ${preview(sender.login)} is not a GitHub login`);
  }
  return sender.login;
}

function checkRef(ref: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (ref.length === 0 || ref.length > REF_MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(ref)) {
    throw new InvalidInputError(`ref must be 1-${REF_MAX_LENGTH} printable characters, got ${ref.length} characters`);
  }
  return ref;
}

/**
 * One verified delivery -> outcome. `event` is the X-GitHub-Event header, `deliveryId` the
 * X-GitHub-Delivery header (already checked against DELIVERY_ID_PATTERN), `at` the receive time.
 */
export function normalizeGithubEvent(event: string, payload: unknown, deliveryId: string, at: Date): GithubOutcome {
  const trigger = (kind: Trigger['kind'], actor: string | undefined): Trigger => ({
    kind,
    id: deliveryId,
    ...(actor ? { actor } : {}),
    at: at.toISOString(),
  });
  switch (event) {
    case 'ping': {
      const ping = parse(pingSchema, payload, 'ping');
      return { kind: 'ping', ...(ping.hook_id !== undefined ? { hookId: ping.hook_id } : {}) };
    }
    case 'push': {
      const push = parse(pushSchema, payload, 'push');
      const ref = checkRef(push.ref);
      if (push.deleted === true) return { kind: 'ignored', reason: `${preview(ref)} was deleted: nothing to release` };
      if (ref.startsWith('refs/heads/')) {
        return { kind: 'ignored', reason: `push to branch ${preview(ref.slice(11))}: only tags start releases` };
      }
      if (!ref.startsWith('refs/tags/')) return { kind: 'ignored', reason: `ref ${preview(ref)} is not a tag` };
      const tag = checkTag(ref.slice('refs/tags/'.length), 'ref');
      const repository = checkRepository(push.repository.full_name);
      let sha: string | undefined;
      if (push.after !== undefined) {
        if (!SHA_PATTERN.test(push.after)) {
          throw new InvalidInputError(`after ${preview(push.after)} is not a commit id (expected 40 or 64 lowercase hex digits)`);
        }
        if (!ZERO_SHA.test(push.after)) sha = push.after;
      }
      const actor = actorOf(push.sender);
      return { kind: 'tag', push: { repository, tag, ...(sha ? { sha } : {}), trigger: trigger('git-tag', actor) } };
    }
    case 'create': {
      const create = parse(createSchema, payload, 'create');
      const ref = checkRef(create.ref);
      if (create.ref_type !== 'tag') {
        return { kind: 'ignored', reason: `created a ${preview(create.ref_type)}, not a tag: only tags start releases` };
      }
      const tag = checkTag(ref, 'ref');
      const repository = checkRepository(create.repository.full_name);
      return { kind: 'tag', push: { repository, tag, trigger: trigger('git-tag', actorOf(create.sender)) } };
    }
    case 'package':
    case 'registry_package': {
      const body = parse(packageEventSchema, payload, event);
      const pkg = event === 'package' ? body.package : body.registry_package;
      if (!pkg) throw new InvalidInputError(`not a valid GitHub ${event} event: ${event}: expected an object`);
      if (body.action !== 'published') return { kind: 'ignored', reason: `package ${preview(body.action)}, not published` };
      const type = `${pkg.package_type ?? ''} ${pkg.ecosystem ?? ''}`.toLowerCase();
      if (!/\b(container|docker)\b/.test(type)) {
        return { kind: 'ignored', reason: `package ${preview(pkg.name)} is not a container image (${type.trim() || 'no type'})` };
      }
      const tagInfo = pkg.package_version?.container_metadata?.tag;
      const tagName = tagInfo?.name ?? '';
      if (!tagName) {
        // Multi-platform pushes publish each platform manifest untagged, besides the tagged index.
        return { kind: 'ignored', reason: `package ${preview(pkg.name)} version has no tag: nothing to deploy` };
      }
      const tag = checkTag(tagName, `${event}.package_version.container_metadata.tag.name`);
      // GHCR references are ghcr.io/<owner>/<name>, lowercased.
      const repository = `${pkg.owner.login}/${pkg.name}`.toLowerCase();
      if (repository.length > REPOSITORY_MAX_LENGTH || !REPOSITORY_PATTERN.test(repository)) {
        throw new InvalidInputError(
          `${event}.name ${preview(pkg.name)} does not make an image repository (expected lowercase path components like owner/demo-api)`,
        );
      }
      const digest = tagInfo?.digest || undefined;
      if (digest !== undefined && !DIGEST_PATTERN.test(digest)) {
        throw new InvalidInputError(
          `${event}.package_version.container_metadata.tag.digest ${preview(digest)} is not a digest (expected sha256:<64 hex>)`,
        );
      }
      return {
        kind: 'registry',
        release: {
          registry: 'ghcr',
          repository,
          tag,
          ...(digest ? { digest } : {}),
          trigger: trigger('ghcr-push', actorOf(body.sender)),
        },
      };
    }
    default:
      return {
        kind: 'ignored',
        reason: `event ${preview(event)} is not one Coconut acts on (it handles ${HANDLED_EVENTS.join(', ')})`,
      };
  }
}
