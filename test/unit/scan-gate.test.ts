/** The scan gate's policy and the local trivy scanner (fake trivy executable). */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { configWarnings } from '../../src/core/config/warnings.ts';
import { blockingFindings, describeBlocking } from '../../src/core/pipeline/scan-gate.ts';
import { imageReference, TrivyScanner } from '../../src/local/trivy-scanner.ts';

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

describe('Function: configWarnings (scan on images ECR cannot scan)', () => {
  const config = (registry: string, scan: boolean) =>
    parseConfig(`
services:
  - name: web
    image: { registry: ${registry}, repository: octo/web }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - name: staging
      - name: prod
${scan ? '        scan: { maxSeverity: HIGH }' : ''}
`);
  it('warns at validate time that a GHCR or Docker Hub image with scan: will be refused on AWS', () => {
    for (const registry of ['ghcr', 'dockerhub']) {
      const warnings = configWarnings(config(registry, true));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        new RegExp(`^web: scan: is set for prod, but its image is in ${registry}, and on AWS Coconut scans only ECR images`),
      );
      expect(warnings[0]).toContain('Push the image to ECR, or remove scan: from that environment.');
    }
  });
  it('says nothing for ECR images or without scan:', () => {
    expect(configWarnings(config('ecr', true))).toEqual([]);
    expect(configWarnings(config('ghcr', false))).toEqual([]);
  });
});
