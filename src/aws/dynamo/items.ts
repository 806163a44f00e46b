/**
 * Records <-> table items, one pair per kind of record. The pipeline's writes and history import
 * (`coconut import`) both build their items here, so an imported record is stored exactly as the
 * pipeline would have stored it: same keys, index keys and expiry (test/unit/items.test.ts).
 */
import type { DeploymentRecord, EnvironmentState, StageRecord } from '../../core/model/deployment.ts';
import type {
  ApprovalRecord,
  BakeWatch,
  ChatThread,
  ChatThreadRecord,
  DeliveryRecord,
  HistoryItem,
  LockRecord,
  PinEvent,
} from '../../core/ports.ts';
import { TTL_ATTRIBUTE } from '../table.ts';
import {
  ALL_DEPLOYMENTS,
  ALL_ENVIRONMENT_STATES,
  ALL_PIN_EVENTS,
  approvalKey,
  approvalSortKey,
  approvalsIndex,
  bakeWatchKey,
  createdSortKey,
  deliveryKey,
  deploymentKey,
  environmentKey,
  environmentSortKey,
  type Key,
  lockKey,
  pinEventKey,
  pinEventSortKey,
  seenKey,
  serviceDeploymentsIndex,
  serviceStagesIndex,
  stageKey,
  TABLE_ATTRIBUTES,
  threadKey,
} from './keys.ts';

export type Item = Record<string, unknown>;

const DAY_SECONDS = 86400;
/** Approvals are kept for 90 days after they expire. */
export const APPROVAL_TTL_SECONDS = 90 * DAY_SECONDS;
/** A chat thread is kept for 90 days after it was recorded. */
export const THREAD_TTL_SECONDS = 90 * DAY_SECONDS;

/** The record an item holds: the item without the table's own attributes. */
export function recordOf<T>(item: Item): T;
export function recordOf<T>(item: Item | undefined): T | undefined;
export function recordOf<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  const copy: Item = { ...item };
  for (const k of TABLE_ATTRIBUTES) delete copy[k];
  return copy as T;
}

export function deploymentItem(record: DeploymentRecord): Item {
  const at = createdSortKey(record.createdAt, record.deploymentId);
  return {
    ...deploymentKey(record.deploymentId),
    type: 'deployment',
    gsi1pk: serviceDeploymentsIndex(record.service),
    gsi1sk: at,
    gsi2pk: ALL_DEPLOYMENTS,
    gsi2sk: at,
    ...record,
  };
}

/** A stage sorts by its deployment's creation time (createDeployment writes both at once). */
export function stageItem(stage: StageRecord, deploymentCreatedAt: string): Item {
  return {
    ...stageKey(stage.deploymentId, stage.environment),
    type: 'stage',
    gsi1pk: serviceStagesIndex(stage.service, stage.environment),
    gsi1sk: createdSortKey(deploymentCreatedAt, stage.deploymentId),
    ...stage,
  };
}

/** The index attributes of what runs where (the pipeline sets them in an update, import in a put). */
export function environmentIndex(service: string, environment: string): { gsi2pk: string; gsi2sk: string } {
  return { gsi2pk: ALL_ENVIRONMENT_STATES, gsi2sk: environmentSortKey(service, environment) };
}

export function environmentItem(state: EnvironmentState): Item {
  return {
    ...environmentKey(state.service, state.environment),
    ...environmentIndex(state.service, state.environment),
    ...state,
  };
}

export function lockItem(lock: LockRecord, nowSeconds: number): Item {
  return {
    ...lockKey(lock.key),
    type: 'lock',
    ...lock,
    // An idle lock record is garbage after a day; a held one lives while it is held.
    [TTL_ATTRIBUTE]: (lock.expiresAt ?? nowSeconds) + DAY_SECONDS,
  };
}

export function bakeWatchItem(watch: BakeWatch): Item {
  return {
    ...bakeWatchKey(watch.alarm, watch.deploymentId, watch.environment),
    type: 'bake-watch',
    ...watch,
    [TTL_ATTRIBUTE]: watch.expiresAt,
  };
}

export function approvalItem(approval: ApprovalRecord): Item {
  return {
    ...approvalKey(approval.approvalId),
    type: 'approval',
    gsi2pk: approvalsIndex(approval.status),
    gsi2sk: approvalSortKey(approval.requestedAt, approval.approvalId),
    ...approval,
    [TTL_ATTRIBUTE]: Math.floor(Date.parse(approval.expiresAt) / 1000) + APPROVAL_TTL_SECONDS,
  };
}

export function threadItem(thread: ChatThreadRecord, nowSeconds: number): Item {
  return {
    ...threadKey(thread.deploymentId),
    type: 'thread',
    deploymentId: thread.deploymentId,
    channel: thread.channel,
    ts: thread.ts,
    [TTL_ATTRIBUTE]: nowSeconds + THREAD_TTL_SECONDS,
  };
}

/** A line of pin history: in its service's partition (`coconut history`), and in gsi2 for the export. */
export function pinEventItem(event: PinEvent): Item {
  return {
    ...pinEventKey(event.service, event.environment, event.at, event.action),
    type: 'pinEvent',
    gsi2pk: ALL_PIN_EVENTS,
    gsi2sk: pinEventSortKey(event.service, event.environment, event.at, event.action),
    ...event,
  };
}

/** The thread itself, as chat adapters use it (without the deployment it belongs to). */
export function threadOf(item: Item | undefined): ChatThread | undefined {
  const record = recordOf<ChatThreadRecord>(item);
  return record ? { channel: record.channel, ts: record.ts } : undefined;
}

export function deliveryItem(record: DeliveryRecord): Item {
  return { ...deliveryKey(record.deliveryId), type: 'delivery', ...record, [TTL_ATTRIBUTE]: record.expiresAt };
}

export function seenItem(key: string, expiresAt: number): Item {
  return { ...seenKey(key), type: 'seen', [TTL_ATTRIBUTE]: expiresAt };
}

/** The primary key an item of history is stored under. */
export function historyKey(item: HistoryItem): Key {
  switch (item.kind) {
    case 'deployment':
      return deploymentKey(item.data.deploymentId);
    case 'stage':
      return stageKey(item.data.deploymentId, item.data.environment);
    case 'environment':
      return environmentKey(item.data.service, item.data.environment);
    case 'approval':
      return approvalKey(item.data.approvalId);
    case 'thread':
      return threadKey(item.data.deploymentId);
    case 'pin-event':
      return pinEventKey(item.data.service, item.data.environment, item.data.at, item.data.action);
  }
}

/**
 * The item an item of history is stored as: the same as the pipeline's own writes. A stage needs
 * its deployment's creation time (its own when the deployment is not stored).
 */
export function historyItemToItem(item: HistoryItem, context: { deploymentCreatedAt?: string; nowSeconds: number }): Item {
  switch (item.kind) {
    case 'deployment':
      return deploymentItem(item.data);
    case 'stage':
      return stageItem(item.data, context.deploymentCreatedAt ?? item.data.createdAt);
    case 'environment':
      return environmentItem(item.data);
    case 'approval':
      return approvalItem(item.data);
    case 'thread':
      return threadItem(item.data, context.nowSeconds);
    case 'pin-event':
      return pinEventItem(item.data);
  }
}

/** Table attributes a record from outside (a history file) carries: none may. */
export function tableAttributesIn(record: object): string[] {
  return Object.keys(record).filter((k) => TABLE_ATTRIBUTES.includes(k));
}
