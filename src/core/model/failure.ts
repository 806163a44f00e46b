/**
 * Step Functions hands a caught error over as { Error, Cause }. These turn it into the one
 * sentence people read in history, Slack and the CLI.
 */
export interface StepFailure {
  Error: string;
  Cause?: string;
}

export const ERRORS = {
  alarmFired: 'Coconut.AlarmFired',
  rejected: 'Coconut.Rejected',
  missingTool: 'Coconut.MissingTool',
  rolledBack: 'Coconut.RolledBack',
  rollbackFailed: 'Coconut.RollbackFailed',
  deployFailed: 'Coconut.DeployFailed',
  approvalExpired: 'Coconut.ApprovalExpired',
  scanBlocked: 'Coconut.ScanBlocked',
  /** `scan:` is set but no scanner could scan the image: refused, never passed unscanned. */
  scanUnavailable: 'Coconut.ScanUnavailable',
  scanPending: 'Coconut.ScanPending',
  /** `verify:` is set and the image digest is unsigned, wrongly signed, or its signatures could not be read. */
  signatureInvalid: 'Coconut.SignatureInvalid',
  /** The target cannot take this deployment as configured (checked before anything changed). */
  targetInvalid: 'Coconut.TargetInvalid',
  /**
   * ECS rolled an ECS canary/linear rollout back itself (a deployment alarm, the circuit breaker, or
   * Coconut's ROLLBACK at a PAUSE hook). Cause: JSON { reason, alarms }.
   */
  ecsRolledBack: 'Coconut.EcsRolledBack',
  /** Not a failure: a hold before the lock (pin) was released; the state machine asks the gate again. */
  gateChanged: 'Coconut.GateChanged',
} as const;

export interface DescribedFailure {
  reason: string;
  alarm?: string;
  /** Nothing was changed on the target (e.g. the tool was missing): no rollback needed. */
  nothingChanged?: boolean;
}

export function describeFailure(failure: StepFailure | undefined, step: string): DescribedFailure {
  if (!failure) return { reason: `${step} failed` };
  const cause = failure.Cause ?? '';
  switch (failure.Error) {
    case ERRORS.alarmFired:
      return { reason: `alarm ${cause} fired during bake`, alarm: cause };
    case ERRORS.scanBlocked:
      return { reason: cause || 'the image scan found vulnerabilities above the allowed severity', nothingChanged: true };
    case ERRORS.scanUnavailable:
      return { reason: cause || 'the image could not be scanned, and this environment requires a scan', nothingChanged: true };
    case ERRORS.signatureInvalid:
      return { reason: cause || 'the image is not signed with the key this service requires', nothingChanged: true };
    case ERRORS.missingTool:
      return { reason: cause || 'a required tool is missing', nothingChanged: true };
    case ERRORS.targetInvalid:
      return { reason: `${step} refused: ${cause || 'the target is not set up for this deployment'}`, nothingChanged: true };
    case 'States.Timeout':
      return { reason: `${step} timed out` };
    case ERRORS.ecsRolledBack: {
      const parsed = parseEcsRollback(cause);
      return { reason: parsed.reason, ...(parsed.alarms[0] ? { alarm: parsed.alarms.join(', ') } : {}) };
    }
    default: {
      const build = parseBuildCause(cause);
      if (build)
        return { reason: `${step} build ${build.id} ${build.status.toLowerCase()}${build.detail ? `: ${build.detail}` : ''}` };
      return { reason: `${step} failed: ${failure.Error}${cause ? ` — ${cause.slice(0, 300)}` : ''}` };
    }
  }
}

function parseEcsRollback(cause: string): { reason: string; alarms: string[] } {
  try {
    const parsed = JSON.parse(cause) as { reason?: unknown; alarms?: unknown };
    const alarms = Array.isArray(parsed.alarms) ? parsed.alarms.filter((a): a is string => typeof a === 'string') : [];
    if (typeof parsed.reason === 'string') return { reason: parsed.reason, alarms };
  } catch {
    // not JSON: the cause is the reason
  }
  return { reason: cause ? `ECS rolled back: ${cause.slice(0, 300)}` : 'ECS rolled back', alarms: [] };
}

/** CodeBuild's .sync integration fails with the Build object as JSON in the Cause. */
function parseBuildCause(cause: string): { id: string; status: string; detail?: string } | undefined {
  if (!cause.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(cause) as { Build?: BuildLike } & BuildLike;
    const build = parsed.Build ?? parsed;
    if (!build.Id && !build.BuildStatus) return undefined;
    const failedPhase = build.Phases?.find((p) => p.PhaseStatus && p.PhaseStatus !== 'SUCCEEDED');
    const message = failedPhase?.Contexts?.map((c) => c.Message)
      .filter(Boolean)
      .join('; ');
    return {
      id: build.Id ?? 'unknown',
      status: build.BuildStatus ?? 'FAILED',
      ...(failedPhase ? { detail: `phase ${failedPhase.PhaseType}${message ? ` — ${message}` : ''}` } : {}),
    };
  } catch {
    return undefined;
  }
}

interface BuildLike {
  Id?: string;
  BuildStatus?: string;
  Phases?: { PhaseType?: string; PhaseStatus?: string; Contexts?: { Message?: string }[] }[];
}
