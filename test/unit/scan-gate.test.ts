/** The scan gate's policy, the local trivy scanner (fake trivy executable), and the execution-ended handler. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutionEndedHandler } from '../../functions/execution-ended.ts';
import type { DynamoStore } from '../../src/aws/dynamo-store.ts';
import { blockingFindings, describeBlocking } from '../../src/core/scan-gate.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { imageReference, TrivyScanner } from '../../src/local/trivy-scanner.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

describe('Function: blockingFindings', () => {
  const findings = [
    { id: 'CVE-2026-1', severity: 'CRITICAL', package: 'openssl' },
    { id: 'CVE-2026-2', severity: 'HIGH' },
    { id: 'CVE-2026-3', severity: 'MEDIUM' },
    { id: 'CVE-2026-4', severity: 'INFORMATIONAL' },
    { id: 'CVE-2026-1', severity: 'CRITICAL', package: 'openssl' },
  ];
  it('blocks findings above maxSeverity, minus the ignored ones, worst first, once each', () => {
    expect(blockingFindings(findings, { maxSeverity: 'HIGH', ignore: [] }).map((f) => f.id)).toEqual(['CVE-2026-1']);
    expect(blockingFindings(findings, { maxSeverity: 'LOW', ignore: ['CVE-2026-1'] }).map((f) => f.id)).toEqual([
      'CVE-2026-2',
      'CVE-2026-3',
    ]);
    expect(blockingFindings(findings, { maxSeverity: 'NONE', ignore: [] })).toHaveLength(3);
    expect(blockingFindings(findings, { maxSeverity: 'CRITICAL', ignore: [] })).toEqual([]);
  });
  it('names the CVEs in the reason, at most ten of them', () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ id: `CVE-2026-${100 + i}`, severity: 'HIGH' }));
    expect(describeBlocking(many, { maxSeverity: 'MEDIUM', ignore: [] }, 'trivy')).toMatch(
      /^image scan \(trivy\) found 12 vulnerabilities above MEDIUM: CVE-2026-100 \(HIGH\), .* and 2 more$/,
    );
  });
});

describe('Class: TrivyScanner', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'coconut-trivy-'));
    // The image reference arrives as the last argument; its tag decides what the fake reports.
    writeFileSync(
      path.join(dir, 'trivy'),
      `#!/bin/sh
for last; do :; done
case "$last" in
  *:1.0.0-vuln) echo '{"Results":[{"Target":"app","Vulnerabilities":[{"VulnerabilityID":"CVE-2026-7","PkgName":"libfoo","InstalledVersion":"1.2","Severity":"CRITICAL"}]}]}' ;;
  *:broken) echo 'no such image' >&2; exit 1 ;;
  *) echo '{"Results":[{"Target":"app","Vulnerabilities":null}]}' ;;
esac
`,
    );
    chmodSync(path.join(dir, 'trivy'), 0o755);
  });

  it('reports findings from trivy --format json (fake trivy executable)', async () => {
    const scanner = new TrivyScanner({ envPath: dir });
    expect(await scanner.scanImage({ registry: 'ecr', repository: 'demo-api', tag: '1.0.0-vuln' })).toEqual({
      performed: true,
      scanner: 'trivy',
      findings: [{ id: 'CVE-2026-7', severity: 'CRITICAL', package: 'libfoo', version: '1.2' }],
    });
    expect((await scanner.scanImage({ registry: 'ecr', repository: 'demo-api', tag: '1.0.0' })).findings).toEqual([]);
    await expect(scanner.scanImage({ registry: 'ecr', repository: 'demo-api', tag: 'broken' })).rejects.toThrow(
      /trivy demo-api:broken failed \(exit 1\): no such image/,
    );
  });

  it('says the scan was not performed when trivy is not on PATH', async () => {
    const report = await new TrivyScanner({ envPath: path.join(dir, 'empty') }).scanImage({
      registry: 'ecr',
      repository: 'demo-api',
      tag: '1.0.0',
    });
    expect(report).toMatchObject({ performed: false, missingTools: ['trivy'], note: expect.stringContaining('not scanned') });
  });

  it('builds the reference from validated parts only', () => {
    expect(imageReference({ registry: 'ghcr', repository: 'org/app', tag: 'v1' })).toBe('ghcr.io/org/app:v1');
    expect(() => imageReference({ registry: 'ecr', repository: 'app', tag: '1;rm -rf /' })).toThrow(/invalid tag/);
  });
});

describe('Function: execution-ended handler', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo.stop());

  it('repairs the stages and lock of an aborted deploy execution; refuses other events', async () => {
    const at = new Date().toISOString();
    await store.createDeployment(
      {
        deploymentId: 'dep-abort',
        service: 'api',
        version: '1.0.0',
        image: { registry: 'ecr', repository: 'api', tag: '1.0.0' },
        trigger: { kind: 'ecr-push', id: 'e', at },
        environments: ['staging', 'prod'],
        createdAt: at,
        kind: 'deploy',
      },
      ['staging', 'prod'].map((environment, order) => ({
        deploymentId: 'dep-abort',
        service: 'api',
        environment,
        order,
        version: '1.0.0',
        state: 'PENDING' as const,
        createdAt: at,
        updatedAt: at,
      })),
    );
    await store.updateStage('dep-abort', 'staging', { state: 'DEPLOYING' }, new Date());
    const ports = async () => ({ store, clock: { now: () => new Date() }, log: memoryLog() }) as never;
    const handler = createExecutionEndedHandler(ports);
    const event = {
      id: 'evt-1',
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:coconut-prod-deploy:dep-abort',
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:coconut-prod-deploy',
        name: 'dep-abort',
        status: 'ABORTED',
        error: null,
        cause: null,
      },
    };
    const result = await handler(event as never, {} as never);
    expect(result.repaired).toContain('staging: DEPLOYING -> FAILED');
    expect((await store.getDeployment('dep-abort'))?.stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    await expect(handler({ ...event, source: 'aws.ecr' } as never, {} as never)).rejects.toThrow(
      /not a valid Step Functions Execution Status Change event: source/,
    );
  });
});
