/**
 * Deployment history as JSON lines: what `coconut export` writes and `coconut import` reads.
 *
 *   {"kind":"coconut-history","v":1,"exportedAt":"…","counts":{"deployment":2,"stage":4,…,"pin-event":3}}
 *   {"kind":"deployment","v":1,"data":{…DeploymentRecord}}
 *   {"kind":"stage","v":1,"data":{…StageRecord}}
 *   …
 *
 * History is deployments, their stages, what runs where, approvals, chat threads and pin events
 * (who pinned or unpinned an environment, when and why). Locks, bake watches, webhook
 * deliveries and replay keys are runtime state: never exported. So are the pins themselves
 * (PinRecord): a pin holds the task tokens of the deployments waiting at it, which mean nothing
 * in another store, and a hold arriving by import would stop the automatic deployments of a
 * store where no one pinned anything. The pin events tell the story instead; an environment
 * pinned when the file was written is not held after an import (pin it again with `coconut
 * pin`); `coconut import` names them (pinnedWhenExported, read from the whole file: a pin and
 * its unpin may go in different parts).
 * Approvals are exported without their task token (a credential, meaningless anywhere else),
 * marked `tokenRemoved`. Keys are written in sorted order so the same history always gives
 * the same bytes: import into an empty store, export again, and the lines are the same.
 *
 * Import checks every line before it writes anything, writes each record only where its key
 * is free (importing a file twice changes nothing), and never overwrites: a different record
 * under the same key is kept and reported as a conflict. What was still in flight when the
 * file was written cannot go on after an import, since nothing waits on it any more: a
 * PENDING approval becomes EXPIRED, a stage in flight is closed as nothing will finish it
 * (unfinished-stage.ts: INTERRUPTED, a rollback ROLLBACK_FAILED, PENDING SKIPPED), each with the reason, and the report lists them.
 */
import { z } from 'zod';
import type { CoconutConfig } from '../config/schema.ts';
import { type DeploymentRecord, type EnvironmentState, STAGE_STATES, type StageRecord } from '../model/deployment.ts';
import { ConflictError, ForbiddenError, InvalidInputError, TooLargeError } from '../model/errors.ts';
import { mapLimit } from '../model/map-limit.ts';
import { DIGEST_PATTERN, REPOSITORY_PATTERN, TAG_PATTERN } from '../model/oci.ts';
import { describeZodIssues, formatPath } from '../model/zod-issues.ts';
import { type Actor, type ApproverCheck, checkApprover, groupMembersOnce, unresolvedGroupsHint } from '../pipeline/approvals.ts';
import { closeUnfinishedStage } from '../pipeline/unfinished-stage.ts';
import type { ApprovalRecord, ChatThreadRecord, HistoryArchive, HistoryItem, Log, PinEvent, UserGroups } from '../ports.ts';
import { foreignImageReason } from '../triggers/image-policy.ts';

export const HISTORY_FORMAT = 'coconut-history';
export const HISTORY_VERSION = 1;
export const HISTORY_KINDS = ['deployment', 'stage', 'environment', 'approval', 'thread', 'pin-event'] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];
export type HistoryCounts = Record<HistoryKind, number>;

/** Writes (or reads) in flight at once during an import. */
const IMPORT_CONCURRENCY = 8;
/** Problems listed before a bad file is refused (the rest are likely the same mistake). */
const MAX_PROBLEMS = 20;

// ---------------------------------------------------------------------------------------------
// The records, checked field by field. Strict: an unknown field is refused, not dropped.

const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 time like 2024-05-01T12:00:00.000Z');
const text = z.string().max(20_000);
const id = z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'expected a deployment id (letters, digits, _ and -, at most 80)');
const name = (what: string) =>
  z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, `expected a ${what} name of lowercase letters, digits and "-"`);
const tag = z.string().regex(TAG_PATTERN, 'expected an image tag (letters, digits, . _ -, at most 128)');
const digest = z.string().regex(DIGEST_PATTERN, 'expected a digest like sha256:<64 hex digits>');

const imageSchema = z.strictObject({
  registry: z.enum(['ecr', 'ghcr', 'dockerhub']),
  repository: z.string().max(255).regex(REPOSITORY_PATTERN, 'expected a repository name like demo-api or team/demo-api'),
  tag,
  digest: digest.optional(),
});

const deploymentSchema = z.strictObject({
  deploymentId: id,
  service: name('service'),
  version: tag,
  image: imageSchema,
  trigger: z.strictObject({
    kind: z.enum(['ecr-push', 'ghcr-push', 'dockerhub-push', 'git-tag', 'manual', 'promote', 'rollback']),
    id: z.string().min(1).max(1024),
    actor: z.string().min(1).max(256).optional(),
    actorId: z.string().min(1).max(1024).optional(),
    at: time,
    from: name('environment').optional(),
  }),
  environments: z.array(name('environment')).min(1),
  createdAt: time,
  kind: z.enum(['deploy', 'rollback']),
});

const stageSchema = z.strictObject({
  deploymentId: id,
  service: name('service'),
  environment: name('environment'),
  order: z.number().int().min(0),
  version: tag,
  state: z.enum(STAGE_STATES),
  reason: text.optional(),
  previousVersion: tag.optional(),
  rolledBackTo: tag.optional(),
  alarm: z.string().min(1).max(255).optional(),
  preexistingAlarms: z.array(z.string().min(1).max(255)).optional(),
  approvalId: z.string().min(1).max(80).optional(),
  rehearsal: z.strictObject({ tools: z.array(z.string().max(256)), steps: z.array(z.string().max(256)) }).optional(),
  buildId: z.string().min(1).max(2048).optional(),
  rollout: z
    .strictObject({
      strategy: z.enum(['canary', 'linear']),
      step: z.number().int().min(1).max(100),
      of: z.number().int().min(1).max(100),
      percent: z.number().int().min(1).max(100),
      previousPercent: z.number().int().min(0).max(99),
    })
    .optional(),
  bakeEndsAt: time.optional(),
  kind: z.literal('rollback').optional(),
  promotedFrom: name('environment').optional(),
  createdAt: time,
  startedAt: time.optional(),
  deployedAt: time.optional(),
  finishedAt: time.optional(),
  updatedAt: time,
});

const versionRefSchema = z.strictObject({
  version: tag,
  digest: digest.optional(),
  deploymentId: id,
  revision: z.string().min(1).max(2048).optional(),
});

const environmentSchema = z.strictObject({
  service: name('service'),
  environment: name('environment'),
  current: versionRefSchema.optional(),
  lastKnownGood: versionRefSchema.optional(),
  lastDeploymentId: id.optional(),
  updatedAt: time,
});

const chatMessage = z.strictObject({ channel: z.string().min(1).max(256), ts: z.string().min(1).max(64) });

/** An approval as a file holds it: everything but the task token, and marked so. */
const approvalSchema = z.strictObject({
  approvalId: z.string().regex(/^apr-[0-9a-f]{10}$/, 'expected an approval id like apr-0123456789'),
  deploymentId: id,
  service: name('service'),
  environment: name('environment'),
  version: tag,
  fromVersion: tag.optional(),
  step: z
    .string()
    .regex(/^(canary|linear) \d{1,3}%$/)
    .optional(),
  requestedBy: z.string().min(1).max(256),
  requestedAt: time,
  expiresAt: time,
  status: z.enum(['PENDING', 'APPROVED', 'REJECTED', 'EXPIRED']),
  decidedBy: z.string().min(1).max(256).optional(),
  // An IAM ARN or ISSUER#SUB can be long (a sub alone may be 255 characters: OpenID Connect Core §2).
  decidedById: z.string().min(1).max(1024).optional(),
  decidedAt: time.optional(),
  comment: text.optional(),
  message: chatMessage.optional(),
  tokenRemoved: z.literal(true, { message: 'expected true: exported approvals never carry their task token' }),
  purpose: z.literal('freeze').optional(),
});

const threadSchema = z.strictObject({ deploymentId: id, ...chatMessage.shape });

/** What people wrote (pins.ts keeps at most 500 characters; room left for older records). */
const pinEventSchema = z.strictObject({
  service: name('service'),
  environment: name('environment'),
  action: z.enum(['pin', 'unpin']),
  version: tag.optional(),
  by: z.string().min(1).max(256),
  byId: z.string().min(1).max(1024).optional(),
  at: time,
  reason: text.optional(),
  released: z.array(id).optional(),
});

type Flat<T> = { [K in keyof T]: T[K] };
export type ExportedApproval = Flat<Omit<ApprovalRecord, 'taskToken' | 'tokenRemoved'> & { tokenRemoved: true }>;

// The schemas must describe exactly the records the store holds: a field added to a record
// type without its schema (or the other way round) fails the type check here.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const exact = <_ extends true>() => undefined;
exact<Same<z.output<typeof deploymentSchema>, DeploymentRecord>>();
exact<Same<z.output<typeof stageSchema>, StageRecord>>();
exact<Same<z.output<typeof environmentSchema>, EnvironmentState>>();
exact<Same<z.output<typeof approvalSchema>, ExportedApproval>>();
exact<Same<z.output<typeof threadSchema>, ChatThreadRecord>>();
exact<Same<z.output<typeof pinEventSchema>, PinEvent>>();

const versionField = z.literal(HISTORY_VERSION, {
  message: `expected ${HISTORY_VERSION}: this Coconut reads history format version ${HISTORY_VERSION}`,
});
const line = <K extends HistoryKind, S extends z.ZodType>(kind: K, data: S) =>
  z.strictObject({ kind: z.literal(kind), v: versionField, data });
const lineSchemas = {
  deployment: line('deployment', deploymentSchema),
  stage: line('stage', stageSchema),
  environment: line('environment', environmentSchema),
  approval: line('approval', approvalSchema),
  thread: line('thread', threadSchema),
  'pin-event': line('pin-event', pinEventSchema),
} as const;

/**
 * Kinds added to format v1 later, with the version of Coconut that first wrote them: a file
 * written before has no count for them and is read as holding none. That keeps v at 1, since
 * every file ever written still reads the same; an older Coconut refuses a newer file by naming
 * the count it does not know (counts.pin-event), never importing part of it.
 */
const LATER_KINDS: readonly HistoryKind[] = ['pin-event'];
const count = z.number().int().min(0);
const countsSchema = z.strictObject(
  Object.fromEntries(HISTORY_KINDS.map((k) => [k, LATER_KINDS.includes(k) ? count.default(0) : count])) as Record<
    HistoryKind,
    z.ZodNumber | z.ZodDefault<z.ZodNumber>
  >,
);
const headerSchema = z.strictObject({
  kind: z.literal(HISTORY_FORMAT),
  v: versionField,
  exportedAt: time,
  counts: countsSchema,
});
export type HistoryHeader = z.output<typeof headerSchema>;

// ---------------------------------------------------------------------------------------------
// Export

/** A stored record the format cannot hold (a field this version does not know): refused, not trimmed. */
export class UnexportableRecordError extends ConflictError {
  override name = 'UnexportableRecordError';
}

/** The history is bigger than one answer may be; page it instead. */
export class ExportTooLargeError extends TooLargeError {
  override name = 'ExportTooLargeError';
}

/** JSON with object keys in sorted order, so equal records are equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The record as a file holds it (approvals lose their task token). */
function fileData(item: HistoryItem): unknown {
  if (item.kind !== 'approval') return item.data;
  const { taskToken: _credential, ...rest } = item.data;
  return { ...rest, tokenRemoved: true };
}

export function keyOf(item: HistoryItem): string {
  switch (item.kind) {
    case 'deployment':
    case 'thread':
      return item.data.deploymentId;
    case 'stage':
      return `${item.data.deploymentId}/${item.data.environment}`;
    case 'environment':
      return `${item.data.service}/${item.data.environment}`;
    case 'approval':
      return item.data.approvalId;
    case 'pin-event':
      return `${item.data.service}/${item.data.environment}/${item.data.at}/${item.data.action}`;
  }
}

/** One line of the file (without its newline); refuses a record the format cannot hold. */
export function historyLine(item: HistoryItem): string {
  const candidate = { kind: item.kind, v: HISTORY_VERSION, data: fileData(item) };
  const result = lineSchemas[item.kind].safeParse(candidate);
  if (!result.success) {
    throw new UnexportableRecordError(
      `the stored ${item.kind} ${keyOf(item)} does not fit history format v${HISTORY_VERSION} (${describeZodIssues(result.error, '(line)', 3)}); nothing was exported`,
    );
  }
  return canonicalJson(candidate);
}

export function headerLine(exportedAt: string, counts: HistoryCounts): string {
  return JSON.stringify({ kind: HISTORY_FORMAT, v: HISTORY_VERSION, exportedAt, counts });
}

export function emptyCounts(): HistoryCounts {
  return { deployment: 0, stage: 0, environment: 0, approval: 0, thread: 0, 'pin-event': 0 };
}

export interface ExportPage {
  lines: string[];
  counts: HistoryCounts;
  /** Where the next page starts; absent on the last. */
  cursor?: string;
}

/** One page of lines (no header): what `GET /api/export?limit=N&cursor=C` answers. */
export async function exportPage(store: HistoryArchive, page: { cursor?: string; limit: number }): Promise<ExportPage> {
  const { items, cursor } = await store.readHistory(page);
  const counts = emptyCounts();
  for (const item of items) counts[item.kind]++;
  return { lines: items.map(historyLine), counts, ...(cursor ? { cursor } : {}) };
}

/**
 * The whole file: header, then every line, each ending in a newline. `maxBytes` stops early
 * with ExportTooLargeError (a Lambda answer holds at most 6 MB).
 */
export async function exportHistory(
  store: HistoryArchive,
  opts: { exportedAt: string; pageSize?: number; maxBytes?: number },
): Promise<string> {
  const lines: string[] = [];
  const counts = emptyCounts();
  let bytes = 0;
  let cursor: string | undefined;
  do {
    const page = await exportPage(store, { ...(cursor ? { cursor } : {}), limit: opts.pageSize ?? 200 });
    for (const l of page.lines) bytes += Buffer.byteLength(l) + 1;
    if (opts.maxBytes !== undefined && bytes > opts.maxBytes) {
      throw new ExportTooLargeError(
        `the history is over ${Math.floor(opts.maxBytes / 1024 / 1024)} MB, more than one answer holds: ask for pages (?limit=N, then ?cursor=… from the x-coconut-next-cursor header), as \`coconut export\` does`,
      );
    }
    lines.push(...page.lines);
    for (const k of HISTORY_KINDS) counts[k] += page.counts[k];
    cursor = page.cursor;
  } while (cursor);
  return `${[headerLine(opts.exportedAt, counts), ...lines].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading a file

export interface FileProblem {
  line: number;
  /** Path of the field inside the line, e.g. data.state. */
  field?: string;
  message: string;
}

/** A file that cannot be imported; nothing was written. */
export class HistoryFormatError extends InvalidInputError {
  override name = 'HistoryFormatError';
  readonly problems: FileProblem[];
  constructor(problems: FileProblem[]) {
    const shown = problems.map((p) => `line ${p.line}: ${p.field ? `${p.field}: ` : ''}${p.message}`);
    super(
      `${problems.length === 1 ? shown[0] : `${problems.length}${problems.length >= MAX_PROBLEMS ? '+' : ''} problems:\n  ${shown.join('\n  ')}`}\nnothing was imported`,
    );
    this.problems = problems;
  }
}

export interface HistoryEntry {
  /** Line number in the file (1 is the header). */
  line: number;
  item: HistoryItem;
}

export interface ParsedHistory {
  header: HistoryHeader;
  entries: HistoryEntry[];
}

/**
 * Checks a whole file: the header first, every line against its record's schema, no record
 * twice, and the header's counts (a cut-off file is refused). `lineOffset` is added to the
 * line numbers in messages (a file sent in parts).
 */
export function parseHistory(fileText: string, opts: { lineOffset?: number } = {}): ParsedHistory {
  const offset = opts.lineOffset ?? 0;
  const problems: FileProblem[] = [];
  const problem = (p: FileProblem) => problems.push({ ...p, line: p.line + offset });
  const rows = fileText.replace(/^\uFEFF/, '').split('\n');
  let header: HistoryHeader | undefined;
  let headerLineNo = 1;
  const entries: HistoryEntry[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < rows.length && problems.length < MAX_PROBLEMS; i++) {
    const raw = (rows[i] as string).replace(/\r$/, '');
    if (!raw.trim()) continue;
    const lineNo = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problem({ line: lineNo, message: `not a JSON object (${(error as Error).message})` });
      continue;
    }
    if (!header) {
      const parsed = headerSchema.safeParse(value);
      if (!parsed.success) {
        const isHeader = (value as { kind?: unknown })?.kind === HISTORY_FORMAT;
        for (const issue of parsed.error.issues.slice(0, 3)) {
          problem({
            line: lineNo,
            ...(isHeader ? { field: formatPath(issue.path) } : {}),
            message: isHeader
              ? issue.message
              : `expected the header {"kind":"${HISTORY_FORMAT}","v":${HISTORY_VERSION},"exportedAt":…,"counts":{…}} first: is this a file from \`coconut export\`?`,
          });
          if (!isHeader) break;
        }
        break; // without a header the rest cannot be read with confidence
      }
      header = parsed.data;
      headerLineNo = lineNo;
      continue;
    }
    const kind = (value as { kind?: unknown })?.kind;
    if (!HISTORY_KINDS.includes(kind as HistoryKind)) {
      problem({
        line: lineNo,
        field: 'kind',
        message: `expected one of ${HISTORY_KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
      });
      continue;
    }
    const parsed = lineSchemas[kind as HistoryKind].safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues.slice(0, 3)) {
        problem({ line: lineNo, field: formatPath(issue.path) || '(line)', message: issue.message });
      }
      continue;
    }
    const item = toItem(parsed.data as { kind: HistoryKind; data: unknown });
    const key = `${item.kind} ${keyOf(item)}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problem({ line: lineNo, message: `the same ${key} as line ${first + offset}` });
      continue;
    }
    seen.set(key, lineNo);
    entries.push({ line: lineNo + offset, item });
  }
  if (!header && problems.length === 0)
    problem({ line: 1, message: 'the file is empty: expected a history file from `coconut export`' });
  if (header && problems.length === 0) {
    const found = emptyCounts();
    for (const e of entries) found[e.item.kind]++;
    const wrong = HISTORY_KINDS.filter((k) => found[k] !== header?.counts[k]);
    if (wrong.length) {
      problem({
        line: headerLineNo,
        field: 'counts',
        message: `the header counts ${wrong.map((k) => `${header?.counts[k]} ${k}`).join(', ')} but the file holds ${wrong
          .map((k) => `${found[k]}`)
          .join(', ')}: is it cut off or edited?`,
      });
    }
  }
  if (problems.length) throw new HistoryFormatError(problems);
  return { header: header as HistoryHeader, entries };
}

/**
 * Checks a parsed file against coconut.yaml before anything is written: every record belongs
 * to a configured service, every deployment names that service's image (registry, repository,
 * a tag its tagPattern allows) and every version an environment records as running or known
 * good is such a tag. A rollback deploys what the history names, so a line naming another
 * image would otherwise send it to an environment without any approval. Lines of a service
 * coconut.yaml no longer has are refused too: nothing could check them, and a service added
 * later under that name would inherit them.
 */
export function checkHistoryImages(config: CoconutConfig, parsed: ParsedHistory): void {
  const problems: FileProblem[] = [];
  const services = new Map(config.services.map((s) => [s.name, s]));
  const configured = config.services.map((s) => s.name).join(', ');
  for (const { line, item } of parsed.entries) {
    if (problems.length >= MAX_PROBLEMS) break;
    if (item.kind === 'thread') continue;
    const service = services.get(item.data.service);
    if (!service) {
      problems.push({
        line,
        field: 'data.service',
        message: `no service named "${item.data.service}" in coconut.yaml (configured: ${configured}): its history cannot be checked against its image; add the service or leave its lines out`,
      });
      continue;
    }
    if (item.kind === 'deployment') {
      const reason = foreignImageReason(service, item.data.image);
      if (reason) problems.push({ line, field: 'data.image', message: reason });
      else if (item.data.version !== item.data.image.tag) {
        problems.push({
          line,
          field: 'data.version',
          message: `version "${item.data.version}" is not the image's tag "${item.data.image.tag}"`,
        });
      }
    }
    // A pin event's version is only what the environment ran when pinned, for people to read:
    // nothing deploys it, so it needs no image check (its service is checked above).
    if (item.kind === 'environment') {
      for (const field of ['current', 'lastKnownGood'] as const) {
        const ref = item.data[field];
        if (!ref) continue;
        const reason = foreignImageReason(service, { ...service.image, tag: ref.version });
        if (reason) problems.push({ line, field: `data.${field}.version`, message: reason });
      }
    }
  }
  if (problems.length) throw new HistoryFormatError(problems);
}

/** A parsed line as a store item; approvals get an empty token, marked removed. */
function toItem(line: { kind: HistoryKind; data: unknown }): HistoryItem {
  if (line.kind === 'approval') return { kind: 'approval', data: { ...(line.data as ExportedApproval), taskToken: '' } };
  return { kind: line.kind, data: line.data } as HistoryItem;
}

// ---------------------------------------------------------------------------------------------
// Import

/**
 * What an item becomes in a store where nothing runs it: a PENDING approval has no execution
 * waiting on its token any more; a stage in flight has no execution to finish it.
 */
export function asImported(item: HistoryItem, exportedAt: string): { item: HistoryItem; change?: string } {
  if (item.kind === 'approval' && item.data.status === 'PENDING') {
    return {
      item: {
        kind: 'approval',
        data: {
          ...item.data,
          status: 'EXPIRED',
          decidedBy: 'import',
          decidedAt: exportedAt,
          comment: `pending when exported at ${exportedAt}; imported without its task token, so no deployment waits on it`,
        },
      },
      change: 'PENDING -> EXPIRED',
    };
  }
  if (item.kind === 'stage') {
    const from = item.data.state;
    const why = `its deployment was in flight when exported at ${exportedAt}, and nothing runs it after an import`;
    const closing = closeUnfinishedStage(from, { kind: 'interrupted', why }, new Date(exportedAt));
    if (closing) {
      const data: StageRecord = { ...item.data, ...closing, updatedAt: exportedAt };
      return { item: { kind: 'stage', data }, change: `${from} -> ${closing.state}` };
    }
  }
  return { item };
}

export interface PinnedWhenExported {
  /** The line of the environment's last pin event in the file: a pin. */
  line: number;
  service: string;
  environment: string;
  version?: string;
}

/**
 * The environments the file shows pinned (their last pin event is a pin): an import writes the
 * story, not the pin (see the header comment), so these are not held unless pinned again.
 */
export function pinnedWhenExported(parsed: ParsedHistory): PinnedWhenExported[] {
  const last = new Map<string, HistoryEntry & { item: { kind: 'pin-event' } }>();
  for (const entry of parsed.entries) {
    if (entry.item.kind !== 'pin-event') continue;
    const key = `${entry.item.data.service}/${entry.item.data.environment}`;
    const seen = last.get(key);
    if (!seen || seen.item.data.at <= entry.item.data.at) last.set(key, entry as HistoryEntry & { item: { kind: 'pin-event' } });
  }
  return [...last.values()]
    .filter((e) => e.item.data.action === 'pin')
    .sort((a, b) => a.line - b.line)
    .map(({ line, item: { data } }) => ({
      line,
      service: data.service,
      environment: data.environment,
      ...(data.version ? { version: data.version } : {}),
    }));
}

export interface ImportConflict {
  line: number;
  kind: HistoryKind;
  key: string;
  /** Top-level fields that differ between the stored record and the file's. */
  fields: string[];
}

export interface ImportReport {
  dryRun: boolean;
  exportedAt: string;
  /** Records in the file. */
  records: number;
  /** Written (in a dry run: would be written). */
  imported: { count: number; lines: string };
  /** The same record is stored already: nothing to do. */
  alreadyPresent: { count: number; lines: string };
  /** A different record is stored under the same key: kept, the file's line skipped. */
  conflicts: { count: number; items: ImportConflict[] };
  /** In flight when exported, imported as ended (see asImported). */
  converted: { line: number; kind: HistoryKind; key: string; change: string }[];
}

/** "2-5, 9, 11-12" */
export function lineRanges(lines: number[]): string {
  const sorted = [...lines].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** The line numbers of lineRanges() output. */
export function expandRanges(ranges: string): number[] {
  return ranges
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)
    .flatMap((r) => {
      const [a, b = a] = r.split('-').map(Number) as [number, number?];
      return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
}

function differingFields(a: unknown, b: unknown): string[] {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => canonicalJson(x[k]) !== canonicalJson(y[k])).sort();
}

/**
 * Imports a checked file. Deployments go first (their stages sort by the deployment's
 * time); every write is conditional, so a second import, or one racing another, changes
 * nothing that is stored.
 */
export async function importHistory(
  store: HistoryArchive,
  parsed: ParsedHistory,
  opts: { dryRun?: boolean } = {},
): Promise<ImportReport> {
  const dryRun = Boolean(opts.dryRun);
  const imported: number[] = [];
  const present: number[] = [];
  const conflicts: ImportConflict[] = [];
  const converted: ImportReport['converted'] = [];
  const one = async (entry: HistoryEntry) => {
    const { item, change } = asImported(entry.item, parsed.header.exportedAt);
    let existing: HistoryItem | undefined;
    if (dryRun) existing = await store.getHistoryItem(item);
    else {
      const result = await store.putHistoryItem(item);
      if (!result.written) existing = result.existing;
    }
    const key = keyOf(item);
    if (!existing) {
      imported.push(entry.line);
      if (change) converted.push({ line: entry.line, kind: item.kind, key, change });
      return;
    }
    // The same record as in the file, or as an earlier import of it stored it.
    const stored = canonicalJson(fileData(existing));
    if (stored === canonicalJson(fileData(entry.item)) || stored === canonicalJson(fileData(item))) present.push(entry.line);
    else {
      conflicts.push({ line: entry.line, kind: item.kind, key, fields: differingFields(fileData(existing), fileData(item)) });
    }
  };
  const deployments = parsed.entries.filter((e) => e.item.kind === 'deployment');
  const rest = parsed.entries.filter((e) => e.item.kind !== 'deployment');
  await mapLimit(deployments, IMPORT_CONCURRENCY, one);
  await mapLimit(rest, IMPORT_CONCURRENCY, one);
  conflicts.sort((a, b) => a.line - b.line);
  converted.sort((a, b) => a.line - b.line);
  return {
    dryRun,
    exportedAt: parsed.header.exportedAt,
    records: parsed.entries.length,
    imported: { count: imported.length, lines: lineRanges(imported) },
    alreadyPresent: { count: present.length, lines: lineRanges(present) },
    conflicts: { count: conflicts.length, items: conflicts },
    converted,
  };
}

/**
 * Importing writes approval decisions, so on AWS only someone who may approve every gated
 * environment in coconut.yaml may import (the local operator always may). Without any gate,
 * every signed-in user may, as every signed-in user may deploy.
 */
export async function assertMayImport(
  deps: { config: CoconutConfig; userGroups?: UserGroups; log?: Log },
  actor: Actor,
): Promise<void> {
  if (actor.source === 'local') return;
  const members = groupMembersOnce(deps.userGroups);
  const missing: string[] = [];
  const unresolved: ApproverCheck['unresolved'] = [];
  for (const service of deps.config.services) {
    for (const env of service.environments) {
      const approvers = env.approval?.approvers;
      if (!approvers) continue;
      const check = await checkApprover(approvers, actor, members);
      if (!check.approves) missing.push(`${service.name}/${env.name}`);
      unresolved.push(...check.unresolved);
    }
  }
  const byGroup = new Map(unresolved.map((u) => [u.group, u.error]));
  for (const [group, error] of byGroup) deps.log?.warn(`could not resolve the members of user group ${group}`, { error });
  if (missing.length) {
    throw new ForbiddenError(
      `importing history writes approval and pin records, so it needs an approver of every gated environment; ${actor.name ?? actor.id} does not approve ${missing.join(', ')}${unresolvedGroupsHint(unresolved)}`,
    );
  }
}
