/**
 * Where each kind of record lives in Coconut's one table (the layout is drawn in ../table.ts):
 * its primary key, and the index partitions and sort keys that list it. Every read and write,
 * the pipeline's and history import's alike, takes its keys from here.
 */
import type { ApprovalStatus } from '../../core/ports.ts';
import { TTL_ATTRIBUTE } from '../table.ts';

export interface Key {
  pk: string;
  sk: string;
}

/** The table's own attributes: never part of a record, stripped on the way out. */
export const TABLE_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'type', TTL_ATTRIBUTE];

export const deploymentKey = (deploymentId: string): Key => ({ pk: `DEP#${deploymentId}`, sk: 'META' });
/** The partition holding a deployment and its stages (one query reads them all). */
export const deploymentPartition = (deploymentId: string): string => `DEP#${deploymentId}`;
export const STAGE_PREFIX = 'ENV#';
export const stageKey = (deploymentId: string, environment: string): Key => ({
  pk: deploymentPartition(deploymentId),
  sk: `${STAGE_PREFIX}${environment}`,
});
/**
 * Deployments and their stages sort by the deployment's creation time, then its id (unique):
 * stages carry their deployment's time, not their own.
 */
export const createdSortKey = (createdAt: string, deploymentId: string): string => `${createdAt}#${deploymentId}`;
/** gsi1: the deployments of one service. */
export const serviceDeploymentsIndex = (service: string): string => `SVC#${service}`;
/** gsi1: the stages of one service on one environment. */
export const serviceStagesIndex = (service: string, environment: string): string => `SVCENV#${service}#${environment}`;
/** gsi2: every deployment. */
export const ALL_DEPLOYMENTS = 'ALL#DEPLOYMENTS';

export const environmentKey = (service: string, environment: string): Key => ({
  pk: `SVC#${service}`,
  sk: `ENV#${environment}`,
});
/** gsi2: what runs where, every service and environment. */
export const ALL_ENVIRONMENT_STATES = 'ALL#ENVSTATES';
export const environmentSortKey = (service: string, environment: string): string => `${service}#${environment}`;

export const lockKey = (key: string): Key => ({ pk: `LOCK#${key}`, sk: 'LOCK' });

/** The watches of one alarm share its partition: one query finds every bake it ends. */
export const alarmPartition = (alarm: string): string => `ALARM#${alarm}`;
export const BAKE_WATCH_PREFIX = 'BAKE#';
export const bakeWatchKey = (alarm: string, deploymentId: string, environment: string): Key => ({
  pk: alarmPartition(alarm),
  sk: `${BAKE_WATCH_PREFIX}${deploymentId}#${environment}`,
});

export const approvalKey = (approvalId: string): Key => ({ pk: `APR#${approvalId}`, sk: 'META' });
/** gsi2: the approvals of one status (a decision moves the approval to its new status's partition). */
export const approvalsIndex = (status: ApprovalStatus): string => `APPROVALS#${status}`;
export const approvalSortKey = (requestedAt: string, approvalId: string): string => `${requestedAt}#${approvalId}`;
export const APPROVAL_STATUSES: ApprovalStatus[] = ['PENDING', 'APPROVED', 'REJECTED', 'EXPIRED'];

export const threadKey = (deploymentId: string): Key => ({ pk: `THREAD#${deploymentId}`, sk: 'THREAD' });

export const deliveryKey = (deliveryId: string): Key => ({ pk: `DELIVERY#${deliveryId}`, sk: 'META' });

export const seenKey = (key: string): Key => ({ pk: `SEEN#${key}`, sk: 'SEEN' });

/** Every pin in one partition (there are few; `coconut status` reads them all at once). */
export const PINS_PARTITION = 'PINS';
export const pinKey = (service: string, environment: string): Key => ({ pk: PINS_PARTITION, sk: `${service}#${environment}` });
/** The pin history of one service, oldest first by time. */
export const pinEventsPartition = (service: string): string => `PINLOG#${service}`;
export const pinEventKey = (service: string, environment: string, at: string, action: string): Key => ({
  pk: pinEventsPartition(service),
  sk: `${at}#${environment}#${action}`,
});
/** gsi2: every pin event, oldest first (what `coconut export` lists after the approvals). */
export const ALL_PIN_EVENTS = 'ALL#PINEVENTS';
export const pinEventSortKey = (service: string, environment: string, at: string, action: string): string =>
  `${at}#${service}#${environment}#${action}`;
