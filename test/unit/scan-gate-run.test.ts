/**
 * The scan gate as a step (src/core/pipeline/scan-gate.ts runScanGate) on the real Store adapter over dynalite:
 * an image that could not be scanned is refused (stage FAILED, later stages SKIPPED), a rehearsal is
 * labelled PLANNED and goes on, clean findings pass, blocking ones fail naming the CVEs worst first.
 * The policy functions are test/unit/scan-gate.test.ts; the flow with trivy is test/e2e/scan-gate.test.ts.
 * This file is fast enough for `npm run mutate`; its cases answer mutants that lived
 * (reports/mutation/summary.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { NotFoundError } from '../../src/core/model/errors.ts';
import { describeBlocking, runScanGate } from '../../src/core/pipeline/scan-gate.ts';
import { type ScanReport, silentNotifier } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
beforeAll(async () => ({ store, dynamo } = await dynaliteStore()), 60_000);
afterAll(() => dynamo?.stop());

const NOW = new Date('2026-03-01T10:00:00Z');
const policy = { maxSeverity: 'MEDIUM' as const, ignore: ['CVE-2026-9'] };
let ids = 0;

async function deployment() {
  const deploymentId = `dep-${++ids}`;
  const at = NOW.toISOString();
  await store.createDeployment(
    {
      deploymentId,
      service: 'api',
      version: '1.0.0',
      image: { registry: 'ghcr', repository: 'org/api', tag: '1.0.0' },
      trigger: { kind: 'ecr-push', id: 'e', at },
      environments: ['staging', 'prod'],
      createdAt: at,
      kind: 'deploy',
    },
    ['staging', 'prod'].map((environment, order) => ({
      deploymentId,
      service: 'api',
      environment,
      order,
      version: '1.0.0',
      state: 'PENDING' as const,
      createdAt: at,
      updatedAt: at,
    })),
  );
  const log = memoryLog();
  const ref = { deploymentId, service: 'api', version: '1.0.0', environment: 'staging' };
  const run = (report: ScanReport | undefined) =>
    runScanGate(
      {
        store,
        clock: { now: () => NOW },
        log,
        notifier: silentNotifier,
        scanner: report && { scanImage: async () => report },
      },
      ref,
      policy,
    );
  const stage = async (env = 'staging') => store.getStage(deploymentId, env);
  return { deploymentId, log, run, stage };
}

describe('Scan gate: the step (dynalite)', () => {
  it('refuses when no scanner is configured, failing the stage and skipping the later ones', async () => {
    const d = await deployment();
    const result = await d.run(undefined);
    const reason =
      'scan: is set for staging, but ghcr image org/api:1.0.0 could not be scanned (no image scanner is configured); refused, an unscanned image is never deployed as scanned';
    expect(result).toEqual({
      passed: false,
      performed: false,
      scanner: 'none',
      blocking: [],
      outcome: { error: 'Coconut.ScanUnavailable', cause: `api 1.0.0 on staging: ${reason}` },
    });
    expect(await d.stage()).toMatchObject({ state: 'FAILED', reason });
    expect((await d.stage('prod'))?.state).toBe('SKIPPED');
  });

  it('refuses a scan that did not run, with the scanner note or its name', async () => {
    const noted = await deployment();
    const a = await noted.run({ performed: false, scanner: 'ecr', findings: [], note: 'ECR cannot scan GHCR images' });
    expect(a).toMatchObject({ passed: false, performed: false, scanner: 'ecr', blocking: [] });
    expect(a.outcome?.cause).toContain('could not be scanned (ECR cannot scan GHCR images); refused');
    const bare = await deployment();
    const b = await bare.run({ performed: false, scanner: 'ecr', findings: [] });
    expect(b.outcome?.cause).toContain('could not be scanned (scanner ecr ran no scan); refused');
  });

  it('labels a local rehearsal PLANNED and lets the deployment go on', async () => {
    const d = await deployment();
    const result = await d.run({
      performed: false,
      rehearsal: true,
      scanner: 'trivy',
      findings: [],
      missingTools: ['trivy'],
      note: 'trivy is not installed',
    });
    expect(result).toEqual({ passed: true, performed: false, scanner: 'trivy', blocking: [] });
    expect(await d.stage()).toMatchObject({ state: 'PENDING', rehearsal: { tools: ['trivy'], steps: ['scan'] } });
    expect(d.log.lines).toContainEqual({
      level: 'WARN',
      message: 'SCAN NOT PERFORMED (rehearsal, PLANNED): org/api:1.0.0 for staging: trivy is not installed',
    });
    const bare = await deployment();
    await bare.run({ performed: false, rehearsal: true, scanner: 'trivy', findings: [] });
    expect(await bare.stage()).toMatchObject({ state: 'PENDING', rehearsal: { tools: [], steps: ['scan'] } });
    expect(bare.log.lines[0]?.message).toMatch(/: no scanner$/);
  });

  it('passes findings at or below the policy, and ignored ones', async () => {
    const d = await deployment();
    const findings = [
      { id: 'CVE-2026-1', severity: 'MEDIUM' },
      { id: 'CVE-2026-9', severity: 'CRITICAL' },
    ];
    expect(await d.run({ performed: true, scanner: 'trivy', findings })).toEqual({
      passed: true,
      performed: true,
      scanner: 'trivy',
      blocking: [],
    });
    expect((await d.stage())?.state).toBe('PENDING');
    expect(d.log.lines).toEqual([
      { level: 'INFO', message: 'scan gate passed: org/api:1.0.0 for staging (2 finding(s), none above MEDIUM)' },
    ]);
  });

  it('fails on findings above the policy, worst first, each once', async () => {
    const d = await deployment();
    const findings = [
      { id: 'CVE-2026-3', severity: 'HIGH', package: 'zlib', version: '1.2' },
      { id: 'CVE-2026-2', severity: 'CRITICAL', package: 'openssl' },
      { id: 'CVE-2026-4', severity: 'HIGH' },
      { id: 'CVE-2026-3', severity: 'HIGH', package: 'zlib', version: '1.2' },
      { id: 'CVE-2026-3', severity: 'HIGH', package: 'curl' },
    ];
    const result = await d.run({ performed: true, scanner: 'trivy', findings });
    expect(result.passed).toBe(false);
    expect(result.performed).toBe(true);
    expect(result.blocking).toEqual(['CVE-2026-2', 'CVE-2026-3', 'CVE-2026-3', 'CVE-2026-4']);
    const reason =
      'image scan (trivy) found 4 vulnerabilities above MEDIUM: CVE-2026-2 (CRITICAL, openssl), CVE-2026-3 (HIGH, zlib 1.2), CVE-2026-3 (HIGH, curl), CVE-2026-4 (HIGH)';
    expect(result.outcome).toEqual({ error: 'Coconut.ScanBlocked', cause: `api 1.0.0 on staging: ${reason}` });
    expect(await d.stage()).toMatchObject({ state: 'FAILED', reason });
    expect((await d.stage('prod'))?.state).toBe('SKIPPED');
  });

  it('says "vulnerability" for one, lists ten and counts the rest only past ten', () => {
    const one = [{ id: 'CVE-1', severity: 'HIGH' }];
    expect(describeBlocking(one, policy, 'ecr')).toBe('image scan (ecr) found 1 vulnerability above MEDIUM: CVE-1 (HIGH)');
    const ten = Array.from({ length: 10 }, (_, i) => ({ id: `CVE-${i}`, severity: 'HIGH' }));
    expect(describeBlocking(ten, policy, 'ecr')).not.toContain('more');
    expect(describeBlocking([...ten, { id: 'CVE-X', severity: 'HIGH' }], policy, 'ecr')).toMatch(/CVE-9 \(HIGH\) and 1 more$/);
  });

  it('names a deployment with no record', async () => {
    const run = runScanGate(
      { store, clock: { now: () => NOW }, log: memoryLog(), notifier: silentNotifier },
      { deploymentId: 'dep-none', service: 'api', version: '1', environment: 'prod' },
      policy,
    );
    await expect(run).rejects.toThrow(NotFoundError);
    await expect(run).rejects.toThrow('deployment dep-none has no record');
  });

  it('a rehearsed scan labels the stage in whatever state it is in, and names an environment the deployment does not have', async () => {
    const d = await deployment();
    await store.updateStage(d.deploymentId, 'staging', { state: 'AWAITING_APPROVAL' }, NOW);
    const rehearsed = { performed: false, rehearsal: true, scanner: 'trivy', findings: [], missingTools: ['trivy'] };
    expect((await d.run(rehearsed)).passed).toBe(true);
    expect(await d.stage()).toMatchObject({ state: 'AWAITING_APPROVAL', rehearsal: { tools: ['trivy'], steps: ['scan'] } });
    const elsewhere = runScanGate(
      {
        store,
        clock: { now: () => NOW },
        log: memoryLog(),
        notifier: silentNotifier,
        scanner: { scanImage: async () => rehearsed },
      },
      { deploymentId: d.deploymentId, service: 'api', version: '1.0.0', environment: 'qa' },
      policy,
    );
    await expect(elsewhere).rejects.toThrow(NotFoundError);
  });

  it('its log lines name the deployment and environment (the JSON log fields, src/aws/json-log.ts)', async () => {
    const d = await deployment();
    const lines: { message: string; extra?: Record<string, unknown> }[] = [];
    const log = {
      ...memoryLog(),
      info: (message: string, extra?: Record<string, unknown>) => void lines.push({ message, extra }),
    };
    const deps = { store, clock: { now: () => NOW }, log: { ...log, warn: log.info }, notifier: silentNotifier };
    const ref = { deploymentId: d.deploymentId, service: 'api', version: '1.0.0', environment: 'staging' };
    const fields = { deploymentId: d.deploymentId, environment: 'staging' };
    await runScanGate(
      { ...deps, scanner: { scanImage: async () => ({ performed: true, scanner: 'trivy', findings: [] }) } },
      ref,
      policy,
    );
    await runScanGate(
      { ...deps, scanner: { scanImage: async () => ({ performed: false, rehearsal: true, scanner: 'trivy', findings: [] }) } },
      ref,
      policy,
    );
    expect(lines.map((l) => l.extra)).toEqual([fields, fields]);
  });
});
