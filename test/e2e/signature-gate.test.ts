/**
 * The signed-image gate in the local runtime, through deploy.asl.json's SignatureGate states:
 * GHCR images served by the spec-following registry of test/support/oci-registry.ts, signed in the
 * test with throwaway P-256 keys the way `cosign sign --key` stores them (sigstore/cosign
 * specs/SIGNATURE_SPEC.md, https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md;
 * test/support/cosign.ts). The key is a path beside coconut.yaml (cosign.pub), as a user writes it.
 * Builds run without ansible-playbook on PATH (deploys are labelled rehearsals).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosignKeys, cosignSign } from '../support/cosign.ts';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startRuntimeWithConfig } from '../support/runtime.ts';

const CONFIG = `services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: ansible, inventory: examples/demo/inventory.ini }
    environments:
      - { name: staging, bake: 0s }
      - { name: prod, bake: 0s }
    verify:
      cosign: { key: cosign.pub }
`;

describe('Signed-image gate (local runtime, OCI registry on loopback)', { timeout: REAL_DEPLOY_TEST_LIMIT_MS }, () => {
  const images: FakeImage[] = [];
  const keys = cosignKeys();
  const stranger = cosignKeys();
  let registry: FakeRegistry;
  let rt: Awaited<ReturnType<typeof startRuntimeWithConfig>>;
  beforeAll(async () => {
    registry = await startFakeRegistry(images);
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-signed-'));
    writeFileSync(path.join(dir, 'cosign.pub'), keys.publicPem);
    rt = await startRuntimeWithConfig(CONFIG, {
      dataDir: dir,
      buildPath: mkdtempSync(path.join(tmpdir(), 'coconut-empty-path-')),
      registryEndpoints: { ghcr: { base: registry.url, authHosts: ['127.0.0.1'] } },
    });
  }, 120_000);
  afterAll(async () => {
    await rt?.stop();
    await registry?.stop();
  });

  async function deploy(tag: string, sign?: (image: FakeImage) => void) {
    const image = fakeImage('octo/web', tag);
    images.push(image);
    sign?.(image);
    const digest = registry.digestOf(image);
    const res = await rt.fetch('/api/deployments', {
      method: 'POST',
      body: JSON.stringify({ service: 'web', version: tag, digest }),
    });
    expect(res.status).toBe(201);
    const { deployment } = (await res.json()) as { deployment: { deploymentId: string } };
    const id = deployment.deploymentId;
    const done = await rt.until('the deployment to end', async () => {
      const d = await rt.ports.store.getDeployment(id);
      return d?.stages.every((s) => !['PENDING', 'DEPLOYING', 'BAKING', 'AWAITING_APPROVAL'].includes(s.state)) ? d : undefined;
    });
    await rt.idle();
    return { id, digest, stages: done.stages };
  }

  it('deploys a signed image through every environment', async () => {
    const { stages } = await deploy('1.0.0', (image) => cosignSign(registry, images, image, keys.privateKey));
    expect(stages.map((s) => s.state)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  it('stops an unsigned image before it starts, naming the digest: staging FAILED, prod SKIPPED, nothing deployed', async () => {
    const { id, digest, stages } = await deploy('1.0.1');
    expect(stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    expect(stages[0]?.reason).toBe(
      `ghcr image octo/web@${digest} is not signed with the key in verify.cosign.key: it has no cosign signature`,
    );
    expect(rt.engine.get(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.SignatureInvalid' });
    expect((await rt.ports.store.getLock('web#staging'))?.owner).toBeUndefined();
    expect((await rt.ports.store.getEnvironmentState('web', 'staging'))?.current?.version).not.toBe('1.0.1');
  });

  it('stops an image signed with another key, and a signature for another digest', async () => {
    const foreign = await deploy('1.0.2', (image) => cosignSign(registry, images, image, stranger.privateKey));
    expect(foreign.stages[0]?.reason).toContain('not made with the configured key');
    const moved = await deploy('1.0.3', (image) =>
      cosignSign(registry, images, image, keys.privateKey, { payloadDigest: registry.digestOf(images[0] as FakeImage) }),
    );
    expect(moved.stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    expect(moved.stages[0]?.reason).toContain(
      `signed with the key, but for another image (${registry.digestOf(images[0] as FakeImage)})`,
    );
  });
});
