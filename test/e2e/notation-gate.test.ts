/**
 * The signed-image gate with Notation in the local runtime, through deploy.asl.json's
 * SignatureGate states: GHCR images served by the spec-following registry of
 * test/support/oci-registry.ts, signed in the test as `notation sign` stores signatures (OCI
 * referrers; Notary Project specs signature-specification.md and signature-envelope-jws.md,
 * https://github.com/notaryproject/specifications/tree/main/specs) with throwaway PKIs made by
 * openssl (test/support/notation.ts). One service trusts its own CA and an x509.subject identity,
 * one an AWS Signer signing profile (notary.x509.signingAuthority). The roots are files beside
 * coconut.yaml, as a user writes them. Builds run without ansible-playbook on PATH (rehearsals).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NotationSignOptions, notationPki, notationSign } from '../support/notation.ts';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startRuntimeWithConfig } from '../support/runtime.ts';

const PROFILE = 'arn:aws:signer:us-west-2:111122223333:/signing-profiles/coconut_release';
const CONFIG = `services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: ansible, inventory: examples/demo/inventory.ini }
    environments:
      - { name: staging, bake: 0s }
      - { name: prod, bake: 0s }
    verify:
      notation:
        trustedRoots: notation-root.pem
        identities: ["x509.subject: C=US, ST=WA, O=wabbit-networks.io"]
  - name: api
    image: { registry: ghcr, repository: octo/api }
    target: { kind: ansible, inventory: examples/demo/inventory.ini }
    environments:
      - { name: staging, bake: 0s }
    verify:
      notation:
        trustedRoots: aws-signer-root.pem
        signingProfileArn: ${PROFILE}
`;

describe('Signed-image gate with Notation (local runtime, OCI registry on loopback)', {
  timeout: REAL_DEPLOY_TEST_LIMIT_MS,
}, () => {
  const images: FakeImage[] = [];
  const pki = notationPki();
  const stranger = notationPki();
  const aws = notationPki({ curve: 'P-384', subject: '/C=US/ST=WA/L=Seattle/O=AWS Signer/OU=111122223333/CN=coconut_release' });
  let registry: FakeRegistry;
  let rt: Awaited<ReturnType<typeof startRuntimeWithConfig>>;
  beforeAll(async () => {
    registry = await startFakeRegistry(images);
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-notation-'));
    writeFileSync(path.join(dir, 'notation-root.pem'), pki.rootPem);
    writeFileSync(path.join(dir, 'aws-signer-root.pem'), aws.rootPem);
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

  async function deploy(service: string, tag: string, sign?: (image: FakeImage) => Promise<unknown>) {
    const image = fakeImage(`octo/${service}`, tag);
    images.push(image);
    await sign?.(image);
    const digest = registry.digestOf(image);
    const res = await rt.fetch('/api/deployments', { method: 'POST', body: JSON.stringify({ service, version: tag, digest }) });
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
  const signWith =
    (o: NotationSignOptions = {}, by = pki) =>
    (image: FakeImage) =>
      notationSign(registry, images, image, by, o);

  it('deploys an image signed by the trusted identity (JWS, then COSE) through every environment', async () => {
    const { stages } = await deploy('web', '1.0.0', signWith());
    expect(stages.map((s) => s.state)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    // notation sign --signature-format cose: the same verdict from a COSE_Sign1 envelope.
    const cose = await deploy('web', '0.9.0', signWith({ format: 'cose' }));
    expect(cose.stages.map((s) => s.state)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  it('stops an unsigned image before it starts, naming the digest: staging FAILED, prod SKIPPED', async () => {
    const { id, digest, stages } = await deploy('web', '1.0.1');
    expect(stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    expect(stages[0]?.reason).toBe(
      `ghcr image octo/web@${digest} is not signed as verify.notation requires: it has no Notation signature`,
    );
    expect(rt.engine.get(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.SignatureInvalid' });
    expect((await rt.ports.store.getEnvironmentState('web', 'staging'))?.current?.version).not.toBe('1.0.1');
  });

  it('stops an image signed under an untrusted root, a tampered one, and one signed for another digest', async () => {
    const foreign = await deploy('web', '1.0.2', signWith({}, stranger));
    expect(foreign.stages[0]?.reason).toContain(`octo/web@${foreign.digest} is not signed as verify.notation requires`);
    expect(foreign.stages[0]?.reason).toContain('does not lead to a certificate of verify.notation.trustedRoots');
    const tampered = await deploy('web', '1.0.3', signWith({ tamper: true }));
    expect(tampered.stages[0]?.reason).toContain('its signature does not verify with its signing certificate');
    const other = registry.digestOf(images[0] as FakeImage);
    const moved = await deploy('web', '1.0.4', signWith({ payloadDigest: other }));
    expect(moved.stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    expect(moved.stages[0]?.reason).toContain(`it signs another image (${other})`);
  });

  it('AWS Signer: deploys an image signed by the signing profile, stops one signed by another profile', async () => {
    const ok = await deploy('api', '2.0.0', signWith({ awsProfileVersion: `${PROFILE}/IrwHQeF7XW` }, aws));
    expect(ok.stages.map((s) => s.state)).toEqual(['SUCCEEDED']);
    const other = await deploy('api', '2.0.1', signWith({ awsProfileVersion: `${PROFILE}_test/IrwHQeF7XW` }, aws));
    expect(other.stages[0]?.reason).toBe(
      `ghcr image octo/api@${other.digest} is not signed as AWS Signer profile ${PROFILE} requires: it is signed by signing profile ${PROFILE}_test/IrwHQeF7XW, not ${PROFILE}`,
    );
  });
});
