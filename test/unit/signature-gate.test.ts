/**
 * The signed-image gate as a step (src/core/pipeline/signature-gate.ts runSignatureGate) on the real
 * Store adapter over dynalite, reading signatures through the OCI client (src/registry/) from the
 * spec-following registry of test/support/oci-registry.ts. Images are signed in the test with
 * throwaway P-256 keys exactly as cosign stores them (sigstore/cosign specs/SIGNATURE_SPEC.md,
 * https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md; see test/support/cosign.ts):
 * signed ones pass; unsigned, other-key, other-digest and tampered ones are stopped with the stage
 * FAILED naming the digest and why, and the later environments SKIPPED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { runSignatureGate } from '../../src/core/pipeline/signature-gate.ts';
import { type ImageSignatures, silentNotifier } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { OciImageSignatures } from '../../src/registry/cosign-signatures.ts';
import { OciDigestClient } from '../../src/registry/oci-digest.ts';
import { cosignKeys, cosignSign } from '../support/cosign.ts';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
let registry: FakeRegistry;
let signatures: ImageSignatures;
const images: FakeImage[] = [];
beforeAll(async () => {
  ({ store, dynamo } = await dynaliteStore());
  registry = await startFakeRegistry(images);
  const endpoint = { base: registry.url, authHosts: ['127.0.0.1'] };
  signatures = new OciImageSignatures({ client: new OciDigestClient({ endpoints: { ghcr: endpoint }, timeoutMs: 2000 }) });
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  await dynamo?.stop();
});

const NOW = new Date('2026-03-01T10:00:00Z');
const keys = cosignKeys();
const stranger = cosignKeys();
let ids = 0;

/** A pushed image (its own manifest bytes, so its own digest) and a deployment of it. */
async function deployment(opts: { digest?: boolean } = {}) {
  const n = ++ids;
  const image = fakeImage('org/api', `1.0.${n}`);
  images.push(image);
  const digest = registry.digestOf(image);
  const deploymentId = `sig-${n}`;
  const at = NOW.toISOString();
  await store.createDeployment(
    {
      deploymentId,
      service: 'api',
      version: image.tag,
      image: { registry: 'ghcr', repository: 'org/api', tag: image.tag, ...(opts.digest === false ? {} : { digest }) },
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
      version: image.tag,
      state: 'PENDING' as const,
      createdAt: at,
      updatedAt: at,
    })),
  );
  const ref = { deploymentId, service: 'api', version: image.tag, environment: 'staging' };
  const run = (key = keys.publicPem, ports: ImageSignatures | null = signatures) =>
    runSignatureGate(
      { store, clock: { now: () => NOW }, log: memoryLog(), notifier: silentNotifier, signatures: ports ?? undefined },
      ref,
      { cosign: { key } },
    );
  const stage = async (env = 'staging') => store.getStage(deploymentId, env);
  return { image, digest, run, stage, version: image.tag };
}

describe('Signed-image gate: the step (dynalite + an OCI registry)', () => {
  it('lets an image signed with the key through, touching no stage', async () => {
    const d = await deployment();
    cosignSign(registry, images, d.image, keys.privateKey);
    expect(await d.run()).toEqual({ passed: true, digest: d.digest });
    expect((await d.stage())?.state).toBe('PENDING');
    expect((await d.stage('prod'))?.state).toBe('PENDING');
  });

  it('stops an unsigned image, naming the digest and why; later environments are skipped', async () => {
    const d = await deployment();
    const reason = `ghcr image org/api@${d.digest} is not signed with the key in verify.cosign.key: it has no cosign signature`;
    expect(await d.run()).toEqual({
      passed: false,
      digest: d.digest,
      outcome: { error: 'Coconut.SignatureInvalid', cause: `api ${d.version} on staging: ${reason}` },
    });
    expect(await d.stage()).toMatchObject({ state: 'FAILED', reason });
    expect((await d.stage('prod'))?.state).toBe('SKIPPED');
  });

  it('stops an image signed with another key', async () => {
    const d = await deployment();
    cosignSign(registry, images, d.image, stranger.privateKey);
    const result = await d.run();
    expect(result.passed).toBe(false);
    expect((await d.stage())?.reason).toBe(
      `ghcr image org/api@${d.digest} is not signed with the key in verify.cosign.key: not made with the configured key (or its payload was altered)`,
    );
  });

  it("stops a valid signature whose payload names another digest (a signature moved from another image's .sig)", async () => {
    const d = await deployment();
    const other = `sha256:${'c'.repeat(64)}`;
    cosignSign(registry, images, d.image, keys.privateKey, { payloadDigest: other });
    await d.run();
    expect((await d.stage())?.reason).toBe(
      `ghcr image org/api@${d.digest} is not signed with the key in verify.cosign.key: signed with the key, but for another image (${other})`,
    );
  });

  it('stops a tampered payload (the stored blob is not the signed one)', async () => {
    const d = await deployment();
    const evil = JSON.stringify({
      critical: { image: { 'docker-manifest-digest': d.digest }, type: 'cosign container image signature' },
      optional: { approved: true },
    });
    cosignSign(registry, images, d.image, keys.privateKey, { payloadDigest: `sha256:${'d'.repeat(64)}`, storedPayload: evil });
    await d.run();
    expect((await d.stage())?.reason).toContain('not made with the configured key (or its payload was altered)');
  });

  it('refuses an image without a digest, a key that is no P-256 key, a runtime without a registry client, and a registry error', async () => {
    const noDigest = await deployment({ digest: false });
    await noDigest.run();
    expect((await noDigest.stage())?.reason).toBe(
      `verify: is set for api, but ghcr image org/api:${noDigest.version} has no known digest; signatures are checked on a digest, never a tag: refused`,
    );
    const badKey = await deployment();
    await badKey.run('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    expect((await badKey.stage())?.reason).toContain(
      `org/api@${badKey.digest} cannot be verified: verify.cosign.key is not a PEM public key`,
    );
    const noClient = await deployment();
    await noClient.run(keys.publicPem, null);
    expect((await noClient.stage())?.reason).toContain('this runtime has no registry client for ghcr signatures; refused');
    const down = await deployment();
    await down.run(keys.publicPem, {
      cosignSignatures: async () => Promise.reject(new Error('127.0.0.1 answered HTTP 503')),
      notationSignatures: async () => [],
    });
    expect((await down.stage())?.reason).toBe(
      `ghcr image org/api@${down.digest}: its signatures (${down.digest.replace(':', '-')}.sig) could not be fetched: 127.0.0.1 answered HTTP 503`,
    );
  });
});
