/** Records of every kind that history holds, with every optional field somewhere, for export/import tests. */
import type { DeploymentRecord, EnvironmentState, StageRecord } from '../../src/core/model/deployment.ts';
import type { ApprovalRecord, ChatThreadRecord, PinEvent } from '../../src/core/ports.ts';

export const DIGEST = `sha256:${'ab'.repeat(32)}`;

export function deploymentRecord(id: string, createdAt: string, extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    deploymentId: id,
    service: 'demo-api',
    version: '1.0.0',
    image: { registry: 'ecr', repository: 'demo-api', tag: '1.0.0', digest: DIGEST },
    trigger: { kind: 'ecr-push', id: `evt-${id}`, at: createdAt },
    environments: ['staging', 'prod'],
    createdAt,
    kind: 'deploy',
    ...extra,
  };
}

export function stageRecord(
  deployment: DeploymentRecord,
  environment: string,
  state: StageRecord['state'],
  extra: Partial<StageRecord> = {},
): StageRecord {
  return {
    deploymentId: deployment.deploymentId,
    service: deployment.service,
    environment,
    order: deployment.environments.indexOf(environment),
    version: deployment.version,
    state,
    createdAt: deployment.createdAt,
    updatedAt: deployment.createdAt,
    ...extra,
  };
}

export function environmentState(environment: string, version: string, deploymentId: string): EnvironmentState {
  return {
    service: 'demo-api',
    environment,
    current: { version, digest: DIGEST, deploymentId, revision: '3' },
    lastKnownGood: { version, deploymentId },
    lastDeploymentId: deploymentId,
    updatedAt: '2024-05-01T10:05:00.000Z',
  };
}

export function approvalRecord(
  approvalId: string,
  deploymentId: string,
  status: ApprovalRecord['status'],
  extra: Partial<ApprovalRecord> = {},
): ApprovalRecord {
  return {
    approvalId,
    deploymentId,
    service: 'demo-api',
    environment: 'prod',
    version: '1.0.0',
    fromVersion: '0.9.0',
    taskToken: `AQCEAAAAKgAAAAMAAAAA-secret-token-of-${approvalId}`,
    requestedBy: 'ecr-push',
    requestedAt: '2024-05-01T10:01:00.000Z',
    expiresAt: '2024-05-01T11:01:00.000Z',
    status,
    ...(status === 'PENDING' ? {} : { decidedBy: 'Ada', decidedById: 'U0APPROVER', decidedAt: '2024-05-01T10:02:00.000Z' }),
    ...extra,
  };
}

export function threadRecord(deploymentId: string): ChatThreadRecord {
  return { deploymentId, channel: 'C0DEPLOYS', ts: '1714557660.000100' };
}

/** A pin (with version, identity and reason) or an unpin (with a comment and what it released). */
export function pinEvent(action: PinEvent['action'], at: string, extra: Partial<PinEvent> = {}): PinEvent {
  return {
    service: 'demo-api',
    environment: 'prod',
    action,
    version: '1.0.0',
    by: 'Ada',
    byId: 'U0APPROVER',
    at,
    reason: action === 'pin' ? 'hold for the audit' : 'audit done',
    ...(action === 'unpin' ? { released: ['demo-api-1_1_0-0123456789ab'] } : {}),
    ...extra,
  };
}
