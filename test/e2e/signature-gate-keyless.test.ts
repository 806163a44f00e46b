/**
 * Keyless cosign in the local runtime, through deploy.asl.json's SignatureGate states: GHCR images
 * served by the spec-following registry of test/support/oci-registry.ts (with the OCI referrers API),
 * signed in the test as cosign v3 signs images — a Sigstore bundle attached as an OCI referrer
 * (sigstore/cosign specs/BUNDLE_SPEC.md) — by a throwaway Sigstore made with sigstore-js's own
 * @sigstore/mock (test/support/sigstore-keyless.ts). Its trusted_root.json is a path beside
 * coconut.yaml (verify.cosign.trustedRoot), as a team running its own Sigstore writes it.
 * Builds run without ansible-playbook on PATH (deploys are labelled rehearsals).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startRuntimeWithConfig } from '../support/runtime.ts';
import {
  attachBundle,
  GITHUB_ISSUER,
  type ThrowawaySigstore,
  throwawaySigstore,
  WORKFLOW_IDENTITY,
} from '../support/sigstore-keyless.ts';

const CONFIG = `services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: ansible, inventory: examples/demo/inventory.ini }
    environments:
      - { name: staging, bake: 0s }
      - { name: prod, bake: 0s }
    verify:
      cosign:
        identity: ${WORKFLOW_IDENTITY}
        issuer: ${GITHUB_ISSUER}
        trustedRoot: sigstore/trusted_root.json
`;

describe('Signed-image gate, keyless cosign (local runtime, OCI registry on loopback)', {
  timeout: REAL_DEPLOY_TEST_LIMIT_MS,
}, () => {
  const images: FakeImage[] = [];
  let registry: FakeRegistry;
  let sigstore: ThrowawaySigstore;
  let rt: Awaited<ReturnType<typeof startRuntimeWithConfig>>;
  beforeAll(async () => {
    registry = await startFakeRegistry(images);
    registry.referrersApi = true;
    sigstore = await throwawaySigstore();
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-keyless-'));
    mkdirSync(path.join(dir, 'sigstore'));
    writeFileSync(path.join(dir, 'sigstore/trusted_root.json'), JSON.stringify(sigstore.trustedRoot, null, 2));
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

  async function deploy(tag: string, sign?: (image: FakeImage, digest: string) => Promise<void>) {
    const image = fakeImage('octo/web', tag);
    images.push(image);
    const digest = registry.digestOf(image);
    await sign?.(image, digest);
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

  it('deploys an image signed by the expected workflow through every environment', async () => {
    const { stages } = await deploy('1.0.0', async (image, digest) => {
      attachBundle(registry, images, image, await sigstore.signImage(digest));
    });
    expect(stages.map((s) => s.state)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  it('stops an image signed by another workflow before it starts, naming the digest and the signer', async () => {
    const evil = 'https://github.com/evil/web/.github/workflows/release.yml@refs/heads/main';
    const { id, digest, stages } = await deploy('1.0.1', async (image, d) => {
      attachBundle(registry, images, image, await sigstore.signImage(d, { identity: evil }));
    });
    expect(stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    const who = `identity ${WORKFLOW_IDENTITY} (issuer ${GITHUB_ISSUER})`;
    expect(stages[0]?.reason).toBe(
      `ghcr image octo/web@${digest} is not signed keyless by ${who}: signed by ${evil} (issuer ${GITHUB_ISSUER}), expected ${who}`,
    );
    expect(rt.engine.get(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.SignatureInvalid' });
    expect((await rt.ports.store.getEnvironmentState('web', 'staging'))?.current?.version).not.toBe('1.0.1');
  });

  it('stops an unsigned image', async () => {
    const { digest, stages } = await deploy('1.0.2');
    expect(stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    expect(stages[0]?.reason).toContain(`octo/web@${digest} is not signed keyless by identity ${WORKFLOW_IDENTITY}`);
    expect(stages[0]?.reason).toContain('it has no Sigstore bundle');
  });
});
