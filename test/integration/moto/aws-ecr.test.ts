/**
 * EcrRegistry against moto_server's ECR: digests behind tags, and scan findings through the
 * scan gate (moto answers DescribeImageScanFindings after a StartImageScan, and serves custom
 * findings configured through its /moto-api/static/ecr/scan-finding-results endpoint).
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../../src/aws/clients.ts';
import { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import { EcrRegistry } from '../../../src/aws/ecr-registry.ts';
import { tableDefinition } from '../../../src/aws/table.ts';
import type { ImageRef } from '../../../src/core/model/deployment.ts';
import { NotFoundError } from '../../../src/core/model/errors.ts';
import { runPipelineStep } from '../../../src/core/pipeline/pipeline-steps.ts';
import { type Clock, silentNotifier } from '../../../src/core/ports.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { memoryLog } from '../../support/runtime.ts';

let moto: Moto;
let ecr: ECRClient;
let registry: EcrRegistry;
beforeAll(async () => {
  moto = await startMoto();
  ecr = new ECRClient(moto.clientOptions);
  registry = new EcrRegistry(ecr);
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/api' }));
});
afterAll(() => moto?.stop());

async function pushImage(tag: string, layer: string): Promise<string> {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7023, digest: `sha256:${'c'.repeat(64)}` },
    layers: [
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 32654, digest: `sha256:${layer.repeat(64)}` },
    ],
  });
  const res = await ecr.send(new PutImageCommand({ repositoryName: 'team/api', imageTag: tag, imageManifest: manifest }));
  return res.image?.imageId?.imageDigest as string;
}

async function setFindings(tag: string, findings: { name: string; severity: string; pkg?: string }[], status = 'COMPLETE') {
  const res = await fetch(`${moto.endpoint}/moto-api/static/ecr/scan-finding-results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      region: 'us-east-1',
      results: [
        {
          registryId: '123456789012',
          repositoryName: 'team/api',
          imageId: { imageTag: tag },
          imageScanStatus: { status, description: status },
          imageScanFindings: {
            findings: findings.map((f) => ({
              name: f.name,
              severity: f.severity,
              attributes: f.pkg ? [{ key: 'package_name', value: f.pkg }] : [],
            })),
          },
        },
      ],
    }),
  });
  expect(res.ok).toBe(true);
}

const image = (tag: string): ImageRef => ({ registry: 'ecr', repository: 'team/api', tag });

/** moto serves findings only for an image that was scanned: the first look starts its scan. */
async function scanned(tag: string): Promise<void> {
  await expect(registry.scanImage(image(tag))).rejects.toMatchObject({
    name: 'Coconut.ScanPending',
    message: expect.stringContaining('started one'),
  });
}

describe('Class: EcrRegistry (moto_server)', () => {
  it('resolves the digest a tag points to, and says which tag is missing', async () => {
    const digest = await pushImage('1.0.0', 'a');
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(await registry.resolveDigest('team/api', '1.0.0')).toBe(digest);
    await expect(registry.resolveDigest('team/api', '9.9.9')).rejects.toThrow(
      new NotFoundError('ECR repository team/api has no image tagged 9.9.9 (ImageNotFoundException)'),
    );
    await expect(registry.resolveDigest('nope', '1.0.0')).rejects.toThrow(/ECR repository nope .*RepositoryNotFoundException/);
  });

  it('starts a scan when none exists (Coconut.ScanPending), then reads its findings', async () => {
    await pushImage('1.1.0', 'b');
    await expect(registry.scanImage(image('1.1.0'))).rejects.toMatchObject({ name: 'Coconut.ScanPending' });
    const report = await registry.scanImage(image('1.1.0'));
    expect(report).toMatchObject({ performed: true, scanner: 'ecr' });
    // moto's default finding for a completed scan.
    expect(report.findings).toEqual([{ id: 'CVE-9999-9999', severity: 'HIGH', package: 'moto_fake', version: '9.9.9' }]);
  });

  it('reports a scan still in progress as pending, and an unsupported image as not performed', async () => {
    await pushImage('1.2.0', 'd');
    await scanned('1.2.0');
    await setFindings('1.2.0', [], 'IN_PROGRESS');
    await expect(registry.scanImage(image('1.2.0'))).rejects.toMatchObject({
      name: 'Coconut.ScanPending',
      message: 'the scan of ECR image team/api:1.2.0 is IN_PROGRESS; retrying',
    });
    await pushImage('1.3.0', 'e');
    await scanned('1.3.0');
    await setFindings('1.3.0', [], 'UNSUPPORTED_IMAGE');
    await expect(registry.scanImage(image('1.3.0'))).resolves.toMatchObject({ performed: false });
    expect(await registry.scanImage({ registry: 'ghcr', repository: 'team/api', tag: '1.0.0' })).toMatchObject({
      performed: false,
      note: expect.stringContaining('covers only images in ECR repositories, and this one is in ghcr'),
    });
  });

  it('stops a deployment at the scan gate: stage FAILED naming the CVEs, later environments SKIPPED', async () => {
    await new DynamoDBClient(moto.clientOptions).send(new CreateTableCommand(tableDefinition('coconut-scan')));
    const store = new DynamoStore(documentClient(moto.clientOptions), 'coconut-scan');
    await pushImage('2.0.0', 'f');
    await scanned('2.0.0');
    await setFindings('2.0.0', [
      { name: 'CVE-2026-0001', severity: 'CRITICAL', pkg: 'openssl' },
      { name: 'CVE-2026-0002', severity: 'MEDIUM', pkg: 'zlib' },
      { name: 'CVE-2026-0003', severity: 'CRITICAL', pkg: 'glibc' },
    ]);
    const at = new Date().toISOString();
    await store.createDeployment(
      {
        deploymentId: 'dep-scan',
        service: 'api',
        version: '2.0.0',
        image: image('2.0.0'),
        trigger: { kind: 'ecr-push', id: 'e', at },
        environments: ['staging', 'prod'],
        createdAt: at,
        kind: 'deploy',
      },
      ['staging', 'prod'].map((environment, order) => ({
        deploymentId: 'dep-scan',
        service: 'api',
        environment,
        order,
        version: '2.0.0',
        state: 'PENDING' as const,
        createdAt: at,
        updatedAt: at,
      })),
    );
    const clock: Clock = { now: () => new Date() };
    const deps = {
      store,
      clock,
      log: memoryLog(),
      notifier: silentNotifier,
      alarms: { getStates: async () => [] },
      orchestrator: undefined as never,
      scanner: registry,
    };
    const ref = { deploymentId: 'dep-scan', service: 'api', version: '2.0.0', environment: 'staging' };
    const result = await runPipelineStep(
      { action: 'scanGate', ref, scan: { maxSeverity: 'HIGH', ignore: ['CVE-2026-0003'] } },
      deps as never,
    );
    expect(result).toMatchObject({
      passed: false,
      performed: true,
      scanner: 'ecr',
      blocking: ['CVE-2026-0001'],
      outcome: { error: 'Coconut.ScanBlocked' },
    });
    const view = await store.getDeployment('dep-scan');
    expect(view?.stages.map((s) => [s.environment, s.state])).toEqual([
      ['staging', 'FAILED'],
      ['prod', 'SKIPPED'],
    ]);
    expect(view?.stages[0]?.reason).toBe('image scan (ecr) found 1 vulnerability above HIGH: CVE-2026-0001 (CRITICAL, openssl)');
  });
});

describe('Scan gate on AWS: an image ECR cannot scan is refused, never passed as scanned', () => {
  // ECR image scanning (basic and enhanced) scans images in ECR repositories only: AWS ECR user
  // guide, "Scan images for software vulnerabilities in Amazon ECR". A GHCR or Docker Hub image
  // therefore has no scan on AWS, and an environment with `scan:` must not deploy it.
  async function gate(deploymentId: string, ref: ImageRef) {
    await new DynamoDBClient(moto.clientOptions)
      .send(new CreateTableCommand(tableDefinition('coconut-unscanned')))
      .catch((error: Error) => {
        if (error.name !== 'ResourceInUseException') throw error;
      });
    const store = new DynamoStore(documentClient(moto.clientOptions), 'coconut-unscanned');
    const at = new Date().toISOString();
    await store.createDeployment(
      {
        deploymentId,
        service: 'api',
        version: ref.tag,
        image: ref,
        trigger: { kind: 'ghcr-push', id: 'e', at },
        environments: ['staging', 'prod'],
        createdAt: at,
        kind: 'deploy',
      },
      ['staging', 'prod'].map((environment, order) => ({
        deploymentId,
        service: 'api',
        environment,
        order,
        version: ref.tag,
        state: 'PENDING' as const,
        createdAt: at,
        updatedAt: at,
      })),
    );
    const deps = {
      store,
      clock: { now: () => new Date() },
      log: memoryLog(),
      notifier: silentNotifier,
      alarms: { getStates: async () => [] },
      orchestrator: undefined as never,
      scanner: registry,
    };
    const stageRef = { deploymentId, service: 'api', version: ref.tag, environment: 'staging' };
    const result = await runPipelineStep(
      { action: 'scanGate', ref: stageRef, scan: { maxSeverity: 'HIGH', ignore: [] } },
      deps as never,
    );
    return { result, view: await store.getDeployment(deploymentId) };
  }

  it('a GHCR image with scan: set stops at the gate (Coconut.ScanUnavailable), the stage says why', async () => {
    const { result, view } = await gate('dep-ghcr', { registry: 'ghcr', repository: 'octo/api', tag: '3.0.0' });
    expect(result).toMatchObject({
      passed: false,
      performed: false,
      scanner: 'ecr',
      outcome: { error: 'Coconut.ScanUnavailable' },
    });
    expect(view?.stages.map((s) => [s.environment, s.state])).toEqual([
      ['staging', 'FAILED'],
      ['prod', 'SKIPPED'],
    ]);
    expect(view?.stages[0]?.reason).toMatch(
      /^scan: is set for staging, but ghcr image octo\/api:3\.0\.0 could not be scanned \(Coconut scans on AWS with ECR image scanning, which covers only images in ECR repositories/,
    );
    expect(view?.stages[0]?.rehearsal).toBeUndefined();
  });

  it('a Docker Hub image, and an ECR image ECR reports UNSUPPORTED_IMAGE for, are refused too', async () => {
    const hub = await gate('dep-hub', { registry: 'dockerhub', repository: 'octo/api', tag: '3.0.0' });
    expect(hub.result).toMatchObject({ passed: false, outcome: { error: 'Coconut.ScanUnavailable' } });
    const unsupported = await gate('dep-unsupported', image('1.3.0'));
    expect(unsupported.result).toMatchObject({ passed: false, outcome: { error: 'Coconut.ScanUnavailable' } });
    expect(unsupported.view?.stages[0]?.reason).toContain('ECR could not scan ECR image team/api:1.3.0: UNSUPPORTED_IMAGE');
  });
});
