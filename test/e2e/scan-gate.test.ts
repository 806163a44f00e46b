/**
 * The scan gate in the local runtime, through deploy.asl.json's ScanGate states: a fake trivy
 * executable reports a CRITICAL CVE for one tag; without trivy the scan is a labelled
 * rehearsal. Builds run without ansible-playbook on PATH (deploys are rehearsals too).
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcrRegistry } from '../../src/aws/ecr-registry.ts';
import { ghcrPublished, signedGithubRequest } from '../../src/local/webhook-payloads.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, TEST_SECRETS, type TestRuntime } from '../support/runtime.ts';

describe('Scan gate (local runtime, fake trivy executable)', { timeout: REAL_DEPLOY_TEST_LIMIT_MS }, () => {
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

describe('Scan gate (local runtime, no trivy on PATH)', { timeout: REAL_DEPLOY_TEST_LIMIT_MS }, () => {
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

describe('Scan gate with the scanner Coconut has on AWS (ECR scanning) and a GHCR image', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      probes: false,
      buildPath: mkdtempSync(path.join(tmpdir(), 'coconut-empty-path-')),
      extraYaml: `  - name: ghcr-api
    image: { registry: ghcr, repository: octo/ghcr-api }
    target: { kind: ansible, inventory: inventory.yml }
    environments:
      - name: staging
        bake: 1s
        scan: { maxSeverity: HIGH }
      - name: prod
        bake: 1s
`,
    });
    // The AWS adapter itself: for an image outside ECR it answers without calling AWS.
    rt.ports.scanner = new EcrRegistry(
      new ECRClient({ region: 'us-east-1', credentials: { accessKeyId: 'none', secretAccessKey: 'none' } }),
    );
  });
  afterAll(() => rt?.stop());

  it('refuses the unscanned image at the gate: staging FAILED saying why, Deploy never entered, prod SKIPPED', async () => {
    const payload = ghcrPublished({ owner: 'octo', name: 'ghcr-api', tag: '1.0.0', sender: 'octo' });
    const request = await signedGithubRequest(TEST_SECRETS.githubWebhookSecret, 'registry_package', payload);
    const res = await fetch(`${rt.url}/webhooks/github`, { method: 'POST', headers: request.headers, body: request.body });
    const answer = (await res.json()) as { outcomes: { status: string; deploymentId: string }[] };
    expect(answer.outcomes).toEqual([expect.objectContaining({ status: 'started' })]);
    const id = answer.outcomes[0]?.deploymentId as string;
    const staging = await rt.waitForStage(id, 'staging', ['FAILED', 'SUCCEEDED', 'ROLLED_BACK']);
    expect(staging.state).toBe('FAILED');
    expect(staging.reason).toMatch(/^scan: is set for staging, but ghcr image octo\/ghcr-api:1\.0\.0 could not be scanned/);
    expect(staging.rehearsal).toBeUndefined();
    await rt.idle();
    expect(rt.engine.get(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.ScanUnavailable' });
    const entered = ((await rt.engine.history(id))?.events ?? []).filter((e) => e.type === 'StateEntered').map((e) => e.state);
    expect(entered).toContain('ScanGate');
    expect(entered.filter((s) => s?.startsWith('Deploy') || s === 'RecordDeploying')).toEqual([]);
    expect((await rt.ports.store.getStage(id, 'prod'))?.state).toBe('SKIPPED');
  });
});
