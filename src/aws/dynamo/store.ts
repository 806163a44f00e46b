/**
 * The Store port on DynamoDB (lib-dynamodb). Used on AWS, against dynalite locally and against
 * moto in tests: one implementation everywhere. Every state change is a conditional write, so
 * racing steps, retried Lambdas and double clicks cannot corrupt a record.
 *
 * Thin: each role of the port (src/core/ports.ts) is implemented in its own file of this folder,
 * on the key layout of ./keys.ts and the item mapping of ./items.ts.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeploymentRecord, StageRecord, StageUpdate, VersionRef } from '../../core/model/deployment.ts';
import type {
  ApprovalDecision,
  ApprovalRecord,
  ApprovalStatus,
  BakeWatch,
  ChatThread,
  DeliveryRecord,
  HistoryItem,
  LockRecord,
  PinEvent,
  PinRecord,
  Store,
} from '../../core/ports.ts';
import { DynamoApprovals } from './approvals.ts';
import { DynamoBakeWatches } from './bake-watches.ts';
import { DynamoChatThreads } from './chat-threads.ts';
import { DynamoDeliveries } from './deliveries.ts';
import { DynamoDeployments } from './deployments.ts';
import { DynamoEnvironments } from './environments.ts';
import { DynamoHistoryImport } from './history-import.ts';
import { DynamoHistoryPages } from './history-paging.ts';
import { DynamoLocks } from './locks.ts';
import { DynamoPins } from './pins.ts';
import { TableAccess } from './table-access.ts';

export class DynamoStore implements Store {
  private readonly deployments: DynamoDeployments;
  private readonly environments: DynamoEnvironments;
  private readonly locks: DynamoLocks;
  private readonly bakeWatches: DynamoBakeWatches;
  private readonly approvals: DynamoApprovals;
  private readonly threads: DynamoChatThreads;
  private readonly deliveries: DynamoDeliveries;
  private readonly historyPages: DynamoHistoryPages;
  private readonly historyImport: DynamoHistoryImport;
  private readonly pins: DynamoPins;

  constructor(db: DynamoDBDocumentClient, tableName: string) {
    const table = new TableAccess(db, tableName);
    this.deployments = new DynamoDeployments(table);
    this.environments = new DynamoEnvironments(table);
    this.locks = new DynamoLocks(table);
    this.bakeWatches = new DynamoBakeWatches(table);
    this.approvals = new DynamoApprovals(table);
    this.threads = new DynamoChatThreads(table);
    this.deliveries = new DynamoDeliveries(table);
    this.historyPages = new DynamoHistoryPages(table);
    this.historyImport = new DynamoHistoryImport(table);
    this.pins = new DynamoPins(table);
  }

  createDeployment(record: DeploymentRecord, stages: StageRecord[]) {
    return this.deployments.createDeployment(record, stages);
  }
  getDeployment(deploymentId: string) {
    return this.deployments.getDeployment(deploymentId);
  }
  listDeployments(query: { service?: string; limit?: number }) {
    return this.deployments.listDeployments(query);
  }
  listStages(query: { service: string; environment?: string; limit?: number }) {
    return this.deployments.listStages(query);
  }
  getStage(deploymentId: string, environment: string) {
    return this.deployments.getStage(deploymentId, environment);
  }
  updateStage(deploymentId: string, environment: string, update: StageUpdate, now: Date) {
    return this.deployments.updateStage(deploymentId, environment, update, now);
  }

  getEnvironmentState(service: string, environment: string) {
    return this.environments.getEnvironmentState(service, environment);
  }
  listEnvironmentStates() {
    return this.environments.listEnvironmentStates();
  }
  setEnvironmentVersions(
    service: string,
    environment: string,
    versions: { current?: VersionRef; lastKnownGood?: VersionRef },
    now: Date,
  ) {
    return this.environments.setEnvironmentVersions(service, environment, versions, now);
  }

  getLock(key: string) {
    return this.locks.getLock(key);
  }
  putLock(lock: LockRecord) {
    return this.locks.putLock(lock);
  }

  putBakeWatch(watch: BakeWatch) {
    return this.bakeWatches.putBakeWatch(watch);
  }
  listBakeWatches(alarm: string) {
    return this.bakeWatches.listBakeWatches(alarm);
  }
  deleteBakeWatch(alarm: string, deploymentId: string, environment: string, onlyToken?: string) {
    return this.bakeWatches.deleteBakeWatch(alarm, deploymentId, environment, onlyToken);
  }

  putApproval(approval: ApprovalRecord) {
    return this.approvals.putApproval(approval);
  }
  getApproval(approvalId: string) {
    return this.approvals.getApproval(approvalId);
  }
  listApprovals(query: { status?: ApprovalStatus; limit?: number }) {
    return this.approvals.listApprovals(query);
  }
  decideApproval(approvalId: string, decision: ApprovalDecision) {
    return this.approvals.decideApproval(approvalId, decision);
  }
  setApprovalMessage(approvalId: string, message: NonNullable<ApprovalRecord['message']>) {
    return this.approvals.setApprovalMessage(approvalId, message);
  }

  getChatThread(deploymentId: string) {
    return this.threads.getChatThread(deploymentId);
  }
  putChatThread(deploymentId: string, thread: ChatThread) {
    return this.threads.putChatThread(deploymentId, thread);
  }

  getDelivery(deliveryId: string) {
    return this.deliveries.getDelivery(deliveryId);
  }
  putDelivery(record: DeliveryRecord) {
    return this.deliveries.putDelivery(record);
  }
  rememberOnce(key: string, expiresAt: number) {
    return this.deliveries.rememberOnce(key, expiresAt);
  }

  readHistory(page: { cursor?: string; limit: number }) {
    return this.historyPages.readHistory(page);
  }
  getHistoryItem(item: HistoryItem) {
    return this.historyImport.getHistoryItem(item);
  }
  putHistoryItem(item: HistoryItem) {
    return this.historyImport.putHistoryItem(item);
  }

  getPin(service: string, environment: string) {
    return this.pins.getPin(service, environment);
  }
  listPins(service?: string) {
    return this.pins.listPins(service);
  }
  putPin(pin: PinRecord) {
    return this.pins.putPin(pin);
  }
  deletePin(service: string, environment: string, revision: number) {
    return this.pins.deletePin(service, environment, revision);
  }
  addPinEvent(event: PinEvent) {
    return this.pins.addPinEvent(event);
  }
  listPinEvents(query: { service: string; environment?: string; limit?: number }) {
    return this.pins.listPinEvents(query);
  }
}
