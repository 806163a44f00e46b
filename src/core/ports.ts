/**
 * The ports through which the domain talks to the world. AWS adapters live in src/aws,
 * local stand-ins in src/local; the domain never imports either.
 */
import type {
  DeploymentRecord,
  DeploymentView,
  EnvironmentState,
  ImageRef,
  StageRecord,
  StageUpdate,
  VersionRef,
} from './model/deployment.ts';

export type StateMachineName = 'deploy' | 'release';

export interface StartResult {
  executionArn: string;
  /** False when an execution of that name already exists: a duplicate, nothing new started. */
  started: boolean;
}

export interface Orchestrator {
  startExecution(machine: StateMachineName, name: string, input: unknown): Promise<StartResult>;
  /** Resumes a waiting task. Throws TaskTokenExpiredError when the token is no longer waited on. */
  sendTaskSuccess(token: string, output: unknown): Promise<void>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<void>;
  /**
   * What an execution did so far, as normalized events (Step Functions' GetExecutionHistory
   * on AWS, the engine's event log locally); undefined when no execution has that name.
   * Optional so that test doubles need not implement it; the API answers 501 without it.
   */
  history?(executionName: string): Promise<ExecutionHistory | undefined>;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'INTERRUPTED';

/** One step of an execution, the same shape whichever engine ran it. */
export interface HistoryEvent {
  type:
    | 'ExecutionStarted'
    | 'ExecutionSucceeded'
    | 'ExecutionFailed'
    | 'ExecutionAborted'
    | 'ExecutionTimedOut'
    | 'IterationStarted'
    | 'IterationSucceeded'
    | 'IterationFailed'
    | 'StateEntered'
    | 'StateExited'
    | 'StateFailed'
    | 'StateRetried';
  /** ISO time. */
  at: string;
  state?: string;
  /** Map iteration: the environment's position in the plan. */
  iteration?: number;
  error?: string;
  /** A one-line summary; never the raw payload (it may hold build details). */
  cause?: string;
}

export interface ExecutionHistory {
  name: string;
  status: ExecutionStatus;
  startedAt?: string;
  stoppedAt?: string;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
}

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmStatus {
  name: string;
  /** UNKNOWN when no alarm of that name exists. */
  state: AlarmStateValue | 'UNKNOWN';
  reason?: string;
  updatedAt?: string;
}

export interface Alarms {
  getStates(names: string[]): Promise<AlarmStatus[]>;
}

/** One vulnerability an image scan found. */
export interface ScanFinding {
  /** CVE-… or GHSA-… id. */
  id: string;
  /** As the scanner reports it: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, UNKNOWN. */
  severity: string;
  package?: string;
  version?: string;
}

export interface ScanReport {
  /**
   * False when no scan ran. The gate then refuses the image (an unscanned image never passes
   * as scanned), unless `rehearsal` is set.
   */
  performed: boolean;
  /**
   * Set only by the local runtime when its scanner tool is missing (and not --strict): the stage
   * is labelled a rehearsal (scan PLANNED, nothing scanned), like a build whose tool is missing.
   */
  rehearsal?: boolean;
  /** Which scanner answered: "ecr", "trivy", or "none". */
  scanner: string;
  findings: ScanFinding[];
  /** Why the scan was not performed, or what the scanner said. */
  note?: string;
  /** Tools that were missing when the scan was not performed. */
  missingTools?: string[];
}

/**
 * Image scanning for the scan gate: ECR scan findings on AWS, trivy locally. Throws an error
 * named Coconut.ScanPending while a scan is still running (the state machine retries).
 */
export interface Scanner {
  scanImage(image: ImageRef): Promise<ScanReport>;
}

/**
 * Where images live: the digest a tag points to now, asked of the registry that holds it —
 * ECR's API on AWS, the OCI distribution API for GHCR and Docker Hub (with the service's
 * image.pullSecret, a secret {"username","password"}, when one is named).
 */
export interface ImageRegistry {
  /** Throws an error whose message says why the digest could not be had. */
  resolveDigest(image: Pick<ImageRef, 'registry' | 'repository' | 'tag'>, pullSecret?: string): Promise<string>;
}

/** One cosign signature as stored in a registry (src/core/pipeline/cosign-verify.ts reads it). */
export interface StoredCosignSignature {
  payload: Uint8Array;
  signature: string | undefined;
  /** Keyless signatures of cosign before v3: the layer's dev.sigstore.cosign/* annotations. */
  certificate?: string | undefined;
  chain?: string | undefined;
  rekorBundle?: string | undefined;
}

/**
 * The signatures stored beside an image: cosign's `sha256-<hex>.sig` artifact in the image's own
 * repository, fetched through the OCI distribution API (src/registry/). Returns [] when the
 * registry has no such artifact (an unsigned image); throws an error saying why when the
 * registry could not be asked.
 */
export interface ImageSignatures {
  cosignSignatures(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredCosignSignature[]>;
  /** Notation signatures: OCI referrers of the digest (src/registry/notation-signatures.ts). */
  notationSignatures(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredNotationSignature[]>;
  /**
   * Keyless cosign: the Sigstore bundles attached to the digest as OCI referrers (or the referrers
   * tag schema), or, when there is none, the older keyless signatures of the `.sig` tag (certificate
   * in its annotations). Absent on a runtime that cannot read them.
   */
  sigstoreBundles?(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredSigstoreBundles>;
  /** The Sigstore public-good trusted root (TUF), for keyless cosign without verify.cosign.trustedRoot. */
  publicGoodTrustedRoot?(): Promise<unknown>;
}

/** What a registry holds for keyless cosign (src/core/pipeline/cosign-keyless.ts reads it). */
export interface StoredSigstoreBundles {
  /** Each bundle's exact JSON bytes (checked against the digest its manifest names). */
  bundles: Uint8Array[];
  /**
   * When there is no bundle: the layers of the `.sig` tag that carry a Fulcio certificate
   * annotation, the keyless signatures of cosign before v3 (specs/SIGNATURE_SPEC.md).
   */
  legacy: LegacyKeylessSignature[];
}

/** A keyless signature as cosign before v3 stored it: a `.sig` layer and its annotations. */
export interface LegacyKeylessSignature {
  /** The simple signing payload (its sha256 was checked when fetched). */
  payload: Uint8Array;
  /** dev.cosignproject.cosign/signature: base64 of the signature over the payload. */
  signature: string | undefined;
  /** dev.sigstore.cosign/certificate: the Fulcio certificate, PEM. */
  certificate: string;
  /** dev.sigstore.cosign/chain: its chain, PEM. */
  chain: string | undefined;
  /** dev.sigstore.cosign/bundle: the Rekor entry, {SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}. */
  rekorBundle: string | undefined;
}

/** One Notation signature as stored in a registry (src/core/pipeline/notation-verify.ts reads it). */
export interface StoredNotationSignature {
  manifestDigest: string;
  mediaType: string;
  envelope: Uint8Array;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export interface LockRecord {
  key: string;
  owner?: string;
  /** Epoch seconds after which a held lock counts as abandoned. */
  expiresAt?: number;
  /** The task token the owner was (or is being) woken with; absent when it took a free lock itself. */
  ownerToken?: string;
  /** Who handed the lock to the owner: a retried release of that deployment re-sends the wake-up. */
  grantedBy?: string;
  /** Deployments waiting for this lock, served oldest first (see src/core/pipeline/locks.ts). */
  waiters: Record<string, LockWaiter>;
  /** Optimistic concurrency: every write must name the version it read. */
  version: number;
}

export interface LockWaiter {
  /** When the deployment was queued (its execution's start ~ the push): the queue order. */
  createdAt: string;
  /** The waiting AcquireLock task's token: SendTaskSuccess on it wakes the waiter. */
  token: string;
  /** How long the waiter may hold the lock once it is handed over. */
  holdSeconds: number;
  /** Epoch seconds when it queued (diagnostics). */
  since: number;
}

export interface BakeWatch {
  alarm: string;
  deploymentId: string;
  environment: string;
  taskToken: string;
  /** Epoch seconds; the watch is useless after the bake ends. */
  expiresAt: number;
}

export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED' | 'EXPIRED';

export interface ApprovalRecord {
  approvalId: string;
  deploymentId: string;
  service: string;
  environment: string;
  version: string;
  fromVersion?: string;
  /** The rollout step this approval lets start ("canary 50%"); absent for the environment's own approval. */
  step?: string;
  taskToken: string;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  status: ApprovalStatus;
  /** Display name of who decided (or "timeout"). */
  decidedBy?: string;
  /**
   * Identity of who decided: their Slack user id (U…/W…) when they have one (from Slack, or a
   * dashboard user slack.users maps), else an IAM principal ARN or a dashboard user's ISSUER#SUB.
   */
  decidedById?: string;
  decidedAt?: string;
  comment?: string;
  /** Where the request was posted (chat adapters fill these in). */
  message?: { channel: string; ts: string };
  /**
   * Set on approvals brought in by `coconut import`: the task token (a credential, meaningless
   * elsewhere) was not exported, and `taskToken` is empty.
   */
  tokenRemoved?: boolean;
  /**
   * "freeze": not an approval gate but a deployment held by a freeze window; approving it
   * (with a comment) is the break glass that lets it through (src/core/pipeline/freeze-gate.ts).
   */
  purpose?: 'freeze';
}

/**
 * The answer given to a verified webhook delivery, kept so that a redelivery of the same id
 * gets the same answer and starts nothing.
 */
export interface DeliveryRecord {
  /** Source-qualified id, e.g. "github:<X-GitHub-Delivery>". */
  deliveryId: string;
  statusCode: number;
  body: unknown;
  receivedAt: string;
  /** Epoch seconds after which the record may be forgotten. */
  expiresAt: number;
}

/*
 * The store, in the roles the use cases ask for: each use case's deps name only the roles it
 * uses (a lock step cannot touch approvals), and an adapter implements them all as `Store`.
 */

/** Starting a deployment: its record and its stages, written once. */
export interface NewDeployments {
  /** Writes the deployment and its stages; false when it already exists (nothing changed). */
  createDeployment(record: DeploymentRecord, stages: StageRecord[]): Promise<boolean>;
}

/** Reading deployments and their stages. */
export interface DeploymentReader {
  getDeployment(deploymentId: string): Promise<DeploymentView | undefined>;
  listDeployments(query: { service?: string; limit?: number }): Promise<DeploymentView[]>;
  /** Stages of one service, newest first; optionally one environment. */
  listStages(query: { service: string; environment?: string; limit?: number }): Promise<StageRecord[]>;
}

/** A deployment's stage as the pipeline moves it along. */
export interface StageProgress {
  getStage(deploymentId: string, environment: string): Promise<StageRecord | undefined>;
  /**
   * Moves a stage to a new state, only from the states the model allows (or the same state:
   * a retried step). Throws InvalidTransitionError otherwise, NotFoundError when missing.
   */
  updateStage(deploymentId: string, environment: string, update: StageUpdate, now: Date): Promise<StageRecord>;
}

/** What runs where: the current and last known-good version of each service and environment. */
export interface EnvironmentVersions {
  getEnvironmentState(service: string, environment: string): Promise<EnvironmentState | undefined>;
  listEnvironmentStates(): Promise<EnvironmentState[]>;
  setEnvironmentVersions(
    service: string,
    environment: string,
    versions: { current?: VersionRef; lastKnownGood?: VersionRef },
    now: Date,
  ): Promise<void>;
}

/** The environment locks (src/core/pipeline/locks.ts). */
export interface LockTable {
  getLock(key: string): Promise<LockRecord | undefined>;
  /** Writes the lock if its stored version is still `lock.version - 1` (0: absent). */
  putLock(lock: LockRecord): Promise<boolean>;
}

/** Bakes waiting on alarms (src/core/pipeline/bake.ts). */
export interface BakeWatches {
  putBakeWatch(watch: BakeWatch): Promise<void>;
  listBakeWatches(alarm: string): Promise<BakeWatch[]>;
  /** With `onlyToken`: only while the watch still holds that token (a newer wait may have replaced it). */
  deleteBakeWatch(alarm: string, deploymentId: string, environment: string, onlyToken?: string): Promise<void>;
}

/** Approval requests and their decisions. */
export interface ApprovalRecords {
  putApproval(approval: ApprovalRecord): Promise<void>;
  getApproval(approvalId: string): Promise<ApprovalRecord | undefined>;
  listApprovals(query: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]>;
  /**
   * Records a decision only while the approval is PENDING. Returns the stored approval and
   * whether this call decided it (false: someone decided first).
   */
  decideApproval(approvalId: string, decision: ApprovalDecision): Promise<{ decided: boolean; approval: ApprovalRecord }>;
  /**
   * Records where the request was posted, changing nothing else (a decision may have landed
   * meanwhile). Returns the approval as stored now.
   */
  setApprovalMessage(approvalId: string, message: NonNullable<ApprovalRecord['message']>): Promise<ApprovalRecord>;
}

/** The chat thread of each deployment. */
export interface ChatThreads {
  /** The chat thread of a deployment, if one was started. */
  getChatThread(deploymentId: string): Promise<ChatThread | undefined>;
  /** Records the thread unless one exists; returns the stored one (the first writer wins). */
  putChatThread(deploymentId: string, thread: ChatThread): Promise<ChatThread>;
}

/** Answers given to webhook deliveries, so that a redelivery gets the same answer. */
export interface WebhookDeliveries {
  getDelivery(deliveryId: string): Promise<DeliveryRecord | undefined>;
  /** Writes the answer unless one is already stored for that id; returns the stored one in that case. */
  putDelivery(record: DeliveryRecord): Promise<{ stored: boolean; record: DeliveryRecord }>;
}

/** Keys seen recently (replayed requests). */
export interface ReplayGuard {
  /**
   * Remembers `key` until `expiresAt` (epoch seconds). False when it is already remembered: a
   * replayed webhook. Shared by every Lambda container, unlike an in-memory set.
   */
  rememberOnce(key: string, expiresAt: number): Promise<boolean>;
}

/**
 * A pin: an environment held at a version (`coconut pin`), runtime state, not config. Automatic
 * deployments (pushes, tags, webhooks) that reach it wait on their task tokens, kept here, until
 * `coconut unpin` wakes them (src/core/pipeline/pins.ts).
 */
export interface PinRecord {
  service: string;
  environment: string;
  /** The version the environment is held at (shown); absent when it never ran one. */
  version?: string;
  reason: string;
  /** Who pinned, for people to read. */
  pinnedBy: string;
  /** Who pinned, as a stable identity (as approvals record it); absent for the local operator. */
  pinnedById?: string;
  pinnedAt: string;
  /** Deployments waiting at the pin, by deployment id. */
  waiters: Record<string, PinWaiter>;
  /** Optimistic concurrency: every write names the revision it read (1: the first). */
  revision: number;
}

export interface PinWaiter {
  version: string;
  /** The waiting hold's task token: unpin settles it (the gate then looks again). */
  token: string;
  since: string;
}

/** One line of an environment's pin history: who pinned or unpinned it, when and why. */
export interface PinEvent {
  service: string;
  environment: string;
  action: 'pin' | 'unpin';
  version?: string;
  by: string;
  byId?: string;
  at: string;
  /** The pin's reason, or the unpin's comment. */
  reason?: string;
  /** Unpin: the deployments it released. */
  released?: string[];
}

/** Pins and their history (src/core/pipeline/pins.ts). */
export interface Pins {
  getPin(service: string, environment: string): Promise<PinRecord | undefined>;
  /** Every pin, of one service or of all. */
  listPins(service?: string): Promise<PinRecord[]>;
  /** Writes the pin if its stored revision is still `pin.revision - 1` (0: absent). */
  putPin(pin: PinRecord): Promise<boolean>;
  /** Deletes the pin if its stored revision is `revision`. */
  deletePin(service: string, environment: string, revision: number): Promise<boolean>;
  addPinEvent(event: PinEvent): Promise<void>;
  /** Newest first. */
  listPinEvents(query: { service: string; environment?: string; limit?: number }): Promise<PinEvent[]>;
}

/** Deployment history for `coconut export` and `coconut import` (src/core/history/history-transfer.ts). */
export interface HistoryArchive {
  /**
   * History for `coconut export` (an admin operation), one page at a time, in an order that
   * depends only on the data: deployments oldest first, each followed by its stages (in
   * promotion order) and its chat thread; then what runs where; then approvals oldest first;
   * then pin events oldest first. `limit` caps the deployments (approvals, pin events) of one
   * page. Runtime state (locks, bake watches, webhook deliveries, replay keys, and the pins
   * themselves, which hold task tokens of waiting deployments) is not history and is never listed.
   */
  readHistory(page: { cursor?: string; limit: number }): Promise<HistoryPage>;
  /** The stored item with the same key as `item` (deployment id, environment, approval id...). */
  getHistoryItem(item: HistoryItem): Promise<HistoryItem | undefined>;
  /** Writes an item of history unless one with its key exists; then returns that one, unchanged. */
  putHistoryItem(item: HistoryItem): Promise<{ written: true } | { written: false; existing: HistoryItem }>;
}

/** Every role: what an adapter implements (DynamoDB: src/aws/dynamo/store.ts) and the handlers' ports hold. */
export interface Store
  extends NewDeployments,
    DeploymentReader,
    StageProgress,
    EnvironmentVersions,
    LockTable,
    BakeWatches,
    ApprovalRecords,
    ChatThreads,
    WebhookDeliveries,
    ReplayGuard,
    HistoryArchive,
    Pins {}

/** The chat thread of one deployment, as history holds it. */
export interface ChatThreadRecord extends ChatThread {
  deploymentId: string;
}

/** One record of deployment history (export and import: src/core/history/history-transfer.ts). */
export type HistoryItem =
  | { kind: 'deployment'; data: DeploymentRecord }
  | { kind: 'stage'; data: StageRecord }
  | { kind: 'environment'; data: EnvironmentState }
  | { kind: 'approval'; data: ApprovalRecord }
  | { kind: 'thread'; data: ChatThreadRecord }
  | { kind: 'pin-event'; data: PinEvent };

export interface HistoryPage {
  items: HistoryItem[];
  /** Where the next page starts; absent on the last page. Opaque to callers. */
  cursor?: string;
}

export interface ApprovalDecision {
  status: Exclude<ApprovalStatus, 'PENDING'>;
  decidedBy: string;
  decidedById?: string;
  decidedAt: string;
  comment?: string;
}

/** Where a deployment's chat thread lives: Slack channel id and the parent message's ts. */
export interface ChatThread {
  channel: string;
  ts: string;
}

/** Resolves chat user groups (Slack S… ids) to the user ids of their members. */
export interface UserGroups {
  members(groupId: string): Promise<string[]>;
}

/**
 * Tells people what happens: a chat workspace (Slack) on AWS, the console and the local
 * inbox locally. Failures to notify never fail a deployment; adapters log and move on.
 */
export interface Notifier {
  /** A new approval is waiting; returns where it was posted, if anywhere. */
  approvalRequested(approval: ApprovalRecord): Promise<ApprovalRecord['message'] | undefined>;
  /** An approval was decided or expired. */
  approvalDecided(approval: ApprovalRecord): Promise<void>;
  /** A stage moved to a new state. */
  /** `deployment` when the caller already has it; otherwise the notifier reads it if it needs it. */
  stageChanged(stage: StageRecord, deployment?: DeploymentRecord): Promise<void>;
}

export const silentNotifier: Notifier = {
  approvalRequested: async () => undefined,
  approvalDecided: async () => {},
  stageChanged: async () => {},
};

/** Replace the image of one container of an ECS service, by digest, and wait for it to settle. */
export interface EcsDeployRequest {
  cluster: string;
  service: string;
  /** Container whose image changes; undefined: the only one, or the one named like the service. */
  container?: string;
  region?: string;
  /** Repository path the container's image must belong to (coconut.yaml image.repository). */
  repository: string;
  digest: string;
  /** CloudWatch alarms ECS watches during the deployment (rollback on alarm). */
  alarms: string[];
  /** Epoch milliseconds: stop waiting before this and report the deployment as still running. */
  deadline: number;
}

export interface EcsRollbackRequest extends Omit<EcsDeployRequest, 'digest'> {
  /** Task definition ARN recorded when the known-good version was deployed. */
  taskDefinitionArn: string;
}

export interface EcsDeployOutcome {
  /** COMPLETED: settled on the requested task definition; IN_PROGRESS: the deadline came first. */
  state: 'COMPLETED' | 'IN_PROGRESS';
  taskDefinitionArn: string;
  /** Set when nothing ran because the runtime has no ECS endpoint (local rehearsal). */
  rehearsal?: { missing: string[] };
}

/**
 * The native ECS target: AWS through @aws-sdk/client-ecs (src/aws/ecs-target.ts); locally the
 * same adapter against an emulator endpoint, or a labelled rehearsal without one.
 */
export interface EcsTarget {
  deploy(request: EcsDeployRequest): Promise<EcsDeployOutcome>;
  rollback(request: EcsRollbackRequest): Promise<EcsDeployOutcome>;
}
