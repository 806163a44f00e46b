/**
 * The scan gate: before an environment's deployment starts (after its lock, before its
 * approval), the image's vulnerabilities are checked against the environment's `scan` policy.
 * Findings above `maxSeverity` (minus `ignore`) stop the deployment there: the stage is FAILED
 * naming the CVEs, later environments are SKIPPED, nothing was changed on the target.
 * When no scan could run, the image is refused the same way (stage FAILED saying why, nothing
 * changed): an unscanned image never passes as scanned. On AWS that is every image ECR cannot
 * scan — GHCR and Docker Hub images among them. The one exception is the local runtime without
 * trivy (not --strict): the stage is labelled a rehearsal (scan PLANNED), like a build whose
 * tool is missing, and goes on.
 */
import type { EnvironmentConfig } from '../config/schema.ts';
import { NotFoundError } from '../model/errors.ts';
import { ERRORS } from '../model/failure.ts';
import type { ScanFinding, Scanner, ScanReport } from '../ports.ts';
import { mergeRehearsal, type Outcome, recordFailed, type StageDeps, type StageRef } from './stage-steps.ts';

export type ScanPolicy = NonNullable<EnvironmentConfig['scan']>;

const RANK: Record<string, number> = { NONE: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };

/** INFORMATIONAL, UNDEFINED, UNKNOWN and anything unrecognised rank with NONE. */
export function severityRank(severity: string): number {
  return RANK[severity.toUpperCase()] ?? 0;
}

/** The findings that block: severity above maxSeverity and not ignored, worst first. */
export function blockingFindings(findings: ScanFinding[], policy: ScanPolicy): ScanFinding[] {
  const max = severityRank(policy.maxSeverity);
  const ignored = new Set(policy.ignore);
  const seen = new Set<string>();
  return findings
    .filter((f) => severityRank(f.severity) > max && !ignored.has(f.id))
    .filter((f) => {
      const key = `${f.id}#${f.package ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.id.localeCompare(b.id));
}

const LISTED = 10;

export function describeBlocking(blocking: ScanFinding[], policy: ScanPolicy, scanner: string): string {
  const listed = blocking
    .slice(0, LISTED)
    .map((f) => `${f.id} (${f.severity}${f.package ? `, ${f.package}${f.version ? ` ${f.version}` : ''}` : ''})`)
    .join(', ');
  const more = blocking.length > LISTED ? ` and ${blocking.length - LISTED} more` : '';
  return `image scan (${scanner}) found ${blocking.length} vulnerabilit${blocking.length === 1 ? 'y' : 'ies'} above ${policy.maxSeverity}: ${listed}${more}`;
}

export interface ScanGateResult {
  passed: boolean;
  performed: boolean;
  scanner: string;
  /** Ids of the blocking findings. */
  blocking: string[];
  outcome?: Outcome;
}

export async function runScanGate(
  deps: StageDeps & { scanner?: Scanner | undefined },
  ref: StageRef,
  policy: ScanPolicy,
): Promise<ScanGateResult> {
  const deployment = await deps.store.getDeployment(ref.deploymentId);
  if (!deployment) throw new NotFoundError(`deployment ${ref.deploymentId} has no record`);
  const image = deployment.image;
  const report: ScanReport = deps.scanner
    ? await deps.scanner.scanImage(image)
    : { performed: false, scanner: 'none', findings: [], note: 'no image scanner is configured' };

  if (!report.performed && !report.rehearsal) {
    const reason = `scan: is set for ${ref.environment}, but ${image.registry} image ${image.repository}:${image.tag} could not be scanned (${
      report.note ?? `scanner ${report.scanner} ran no scan`
    }); refused, an unscanned image is never deployed as scanned`;
    const outcome = await recordFailed(deps, ref, { Error: ERRORS.scanUnavailable, Cause: reason }, 'scan');
    return { passed: false, performed: false, scanner: report.scanner, blocking: [], outcome };
  }
  if (!report.performed) {
    const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
    const rehearsal = mergeRehearsal(stage?.rehearsal, { tools: report.missingTools ?? [], steps: ['scan'] });
    // PENDING -> PENDING with the label: the stage shows the scan as PLANNED, not performed.
    await deps.store.updateStage(
      ref.deploymentId,
      ref.environment,
      { state: stage?.state ?? 'PENDING', rehearsal },
      deps.clock.now(),
    );
    deps.log.warn(
      `SCAN NOT PERFORMED (rehearsal, PLANNED): ${image.repository}:${image.tag} for ${ref.environment}: ${report.note ?? 'no scanner'}`,
      { deploymentId: ref.deploymentId, environment: ref.environment },
    );
    return { passed: true, performed: false, scanner: report.scanner, blocking: [] };
  }

  const blocking = blockingFindings(report.findings, policy);
  if (blocking.length === 0) {
    deps.log.info(
      `scan gate passed: ${image.repository}:${image.tag} for ${ref.environment} (${report.findings.length} finding(s), none above ${policy.maxSeverity})`,
      { deploymentId: ref.deploymentId, environment: ref.environment },
    );
    return { passed: true, performed: true, scanner: report.scanner, blocking: [] };
  }
  const reason = describeBlocking(blocking, policy, report.scanner);
  const outcome = await recordFailed(deps, ref, { Error: ERRORS.scanBlocked, Cause: reason }, 'scan');
  return { passed: false, performed: true, scanner: report.scanner, blocking: blocking.map((f) => f.id), outcome };
}
