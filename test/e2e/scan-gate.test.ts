/**
 * The scan gate in the local runtime, through deploy.asl.json's ScanGate states: a fake trivy
 * executable reports a CRITICAL CVE for one tag; without trivy the scan is a labelled
 * rehearsal. Builds run without ansible-playbook on PATH (deploys are rehearsals too).
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

describe('Scan gate (local runtime, fake trivy executable)', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'coconut-fake-trivy-'));
    writeFileSync(
      path.join(bin, 'trivy'),
      `#!/bin/sh
for last; do :; done
case "$last" in
  *:6.6.6) echo '{"Results":[{"Target":"app","Vulnerabilities":[{"VulnerabilityID":"CVE-2026-6666","PkgName":"openssl","InstalledVersion":"3.0.0","Severity":"CRITICAL"}]}]}' ;;
  *) echo '{"Results":[]}' ;;
esac
`,
    );
    chmodSync(path.join(bin, 'trivy'), 0o755);
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      stagingScan: '{ maxSeverity: HIGH }',
      buildPath: bin,
      probes: false,
    });
  });
  afterAll(() => rt?.stop());

  it('stops a version with a CRITICAL CVE before it starts: staging FAILED naming it, prod SKIPPED, lock released', async () => {
    const id = startedId(await rt.push('6.6.6'));
    const staging = await rt.waitForStage(id, 'staging', ['FAILED', 'SUCCEEDED', 'ROLLED_BACK']);
    expect(staging.state).toBe('FAILED');
    expect(staging.reason).toBe('image scan (trivy) found 1 vulnerability above HIGH: CVE-2026-6666 (CRITICAL, openssl 3.0.0)');
    await rt.idle();
    const deployment = await rt.ports.store.getDeployment(id);
    expect(deployment?.stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    expect(rt.engine.get(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.ScanBlocked' });
    expect((await rt.ports.store.getLock('demo-api#staging'))?.owner).toBeUndefined();
    expect(await rt.ports.store.getEnvironmentState('demo-api', 'staging')).toBeUndefined();
  });

  it('lets a clean version through the gate', async () => {
    const id = startedId(await rt.push('7.0.0'));
    const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED']);
    expect(prod.state).toBe('SUCCEEDED');
    const staging = await rt.ports.store.getStage(id, 'staging');
    // The scan ran (no scan rehearsal); the deploy was a rehearsal (no ansible-playbook on PATH).
    expect(staging?.rehearsal).toEqual({ tools: ['ansible-playbook'], steps: ['deploy'] });
  });
});

describe('Scan gate (local runtime, no trivy on PATH)', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      stagingScan: '{ maxSeverity: HIGH }',
      buildPath: mkdtempSync(path.join(tmpdir(), 'coconut-empty-path-')),
      probes: false,
    });
  });
  afterAll(() => rt?.stop());

  it('records the scan as a labelled rehearsal (not performed) and deploys on', async () => {
    const id = startedId(await rt.push('8.0.0'));
    await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED']);
    const staging = await rt.ports.store.getStage(id, 'staging');
    expect(staging?.state).toBe('SUCCEEDED');
    expect(staging?.rehearsal).toEqual({ tools: ['trivy', 'ansible-playbook'], steps: ['scan', 'deploy'] });
    expect(rt.log.lines.some((l) => l.message.startsWith('SCAN NOT PERFORMED (rehearsal, PLANNED): demo-api:8.0.0'))).toBe(true);
  });
});
