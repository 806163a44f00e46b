/**
 * The signed-image gate with keyless cosign (verify.cosign: { identity, issuer, trustedRoot }) as a
 * step on the real Store adapter over dynalite, reading Sigstore bundles through the OCI client
 * (src/registry/sigstore-bundles.ts) from the spec-following registry of test/support/oci-registry.ts.
 * Bundles are made and attached as cosign v3 does (sigstore/cosign specs/BUNDLE_SPEC.md; see
 * test/support/sigstore-keyless.ts), signed by a throwaway Sigstore built with sigstore-js's own
 * @sigstore/mock; verification is sigstore-js's @sigstore/verify. Both registry kinds of BUNDLE_SPEC
 * "Retrieval" are exercised: with the OCI 1.1 referrers API, and without it (referrers tag schema).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { runSignatureGate } from '../../src/core/pipeline/signature-gate.ts';
import { type ImageSignatures, silentNotifier } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { OciImageSignatures } from '../../src/registry/cosign-signatures.ts';
import { OciDigestClient } from '../../src/registry/oci-digest.ts';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';
import { memoryLog } from '../support/runtime.ts';
import {
  attachBundle,
  attachLegacy,
  GITHUB_ISSUER,
  type ThrowawaySigstore,
  throwawaySigstore,
  WORKFLOW_IDENTITY,
} from '../support/sigstore-keyless.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
let registry: FakeRegistry;
let signatures: ImageSignatures;
let sigstore: ThrowawaySigstore;
let trustedRoot: string;
const images: FakeImage[] = [];
beforeAll(async () => {
  ({ store, dynamo } = await dynaliteStore());
  registry = await startFakeRegistry(images);
  const endpoint = { base: registry.url, authHosts: ['127.0.0.1'] };
  signatures = new OciImageSignatures({
    client: new OciDigestClient({ endpoints: { ghcr: endpoint }, timeoutMs: 2000 }),
    publicGoodTrustedRoot: () => Promise.reject(new Error('no network in tests')),
  });
  sigstore = await throwawaySigstore();
  trustedRoot = JSON.stringify(sigstore.trustedRoot);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  await dynamo?.stop();
});

const NOW = new Date('2026-03-01T10:00:00Z');
const POLICY = { identity: WORKFLOW_IDENTITY, issuer: GITHUB_ISSUER };
let ids = 0;

async function deployment() {
  const n = ++ids;
  const image = fakeImage('org/api', `2.0.${n}`);
  images.push(image);
  const digest = registry.digestOf(image);
  const deploymentId = `keyless-${n}`;
  const at = NOW.toISOString();
  await store.createDeployment(
    {
      deploymentId,
      service: 'api',
      version: image.tag,
      image: { registry: 'ghcr', repository: 'org/api', tag: image.tag, digest },
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
  const run = (cosign: Record<string, string | undefined> = { ...POLICY, trustedRoot }) =>
    runSignatureGate({ store, clock: { now: () => NOW }, log: memoryLog(), notifier: silentNotifier, signatures }, ref, {
      cosign,
    });
  const stage = async (env = 'staging') => store.getStage(deploymentId, env);
  return { image, digest, run, stage, name: `ghcr image org/api@${digest}` };
}

const who = `identity ${WORKFLOW_IDENTITY} (issuer ${GITHUB_ISSUER})`;

describe.each([
  ['with the OCI referrers API', true],
  ['without it (referrers tag schema sha256-<hex>)', false],
])('Signed-image gate, keyless cosign, registry %s', (_label, referrersApi) => {
  beforeAll(() => {
    registry.referrersApi = referrersApi;
  });

  it('lets an image signed by the expected identity and issuer through', async () => {
    const d = await deployment();
    attachBundle(registry, images, d.image, await sigstore.signImage(d.digest));
    expect(await d.run()).toEqual({ passed: true, digest: d.digest });
    expect((await d.stage())?.state).toBe('PENDING');
    // Each path once: a request without a token is asked again with one.
    const asked = [...new Set(registry.requests.map((r) => r.path).filter((p) => p.includes(d.digest.slice(7))))];
    expect(asked[0]).toBe(`/v2/org/api/referrers/${d.digest}`);
    // A 404 from the referrers API sends the client to the tag schema (BUNDLE_SPEC.md "Retrieval").
    if (!referrersApi) expect(asked[1]).toBe(`/v2/org/api/manifests/${d.digest.replace(':', '-')}`);
  });

  it('stops an image signed by another identity, naming the digest, the signer and the expected identity', async () => {
    const d = await deployment();
    const evil = 'https://github.com/evil/api/.github/workflows/release.yml@refs/heads/main';
    attachBundle(registry, images, d.image, await sigstore.signImage(d.digest, { identity: evil }));
    const result = await d.run();
    const reason = `${d.name} is not signed keyless by ${who}: signed by ${evil} (issuer ${GITHUB_ISSUER}), expected ${who}`;
    expect(result).toEqual({
      passed: false,
      digest: d.digest,
      outcome: { error: 'Coconut.SignatureInvalid', cause: `api ${d.image.tag} on staging: ${reason}` },
    });
    expect(await d.stage()).toMatchObject({ state: 'FAILED', reason });
    expect((await d.stage('prod'))?.state).toBe('SKIPPED');
  });

  it('stops an unsigned image', async () => {
    const d = await deployment();
    await d.run();
    expect((await d.stage())?.reason).toBe(
      `${d.name} is not signed keyless by ${who}: it has no Sigstore bundle (no keyless cosign signature)`,
    );
  });

  it('stops a bundle moved from another image (the registry lists it, the statement names another digest)', async () => {
    const d = await deployment();
    const other = `sha256:${'e'.repeat(64)}`;
    attachBundle(registry, images, d.image, await sigstore.signImage(other));
    await d.run();
    expect((await d.stage())?.reason).toBe(
      `${d.name} is not signed keyless by ${who}: signed with the right identity, but for another image (${other})`,
    );
  });

  it('stops a bundle whose issuer is another, and one signed by a Sigstore the trusted root does not name', async () => {
    const d = await deployment();
    attachBundle(registry, images, d.image, await sigstore.signImage(d.digest, { issuer: 'https://gitlab.com' }));
    const stranger = await throwawaySigstore();
    attachBundle(registry, images, d.image, await stranger.signImage(d.digest));
    await d.run();
    const reason = (await d.stage())?.reason ?? '';
    expect(reason).toContain(`bundle 1: signed by ${WORKFLOW_IDENTITY} (issuer https://gitlab.com), expected ${who}`);
    expect(reason).toMatch(/bundle 2: the bundle does not verify against the trusted root \(CERTIFICATE_ERROR/);
  });
});

/**
 * cosign before v3 (and v2 without --new-bundle-format) stores keyless signatures in the `.sig` tag:
 * the layer's annotations carry the Fulcio certificate, its chain and the Rekor entry
 * (sigstore/cosign specs/SIGNATURE_SPEC.md; test/support/sigstore-keyless.ts attachLegacy). With no
 * bundle attached, those are verified instead (src/core/pipeline/cosign-keyless-legacy.ts).
 */
describe('Signed-image gate, keyless cosign before v3 (certificate and Rekor entry in the .sig annotations)', () => {
  it('lets an image signed by the expected identity through', async () => {
    const d = await deployment();
    attachLegacy(registry, images, d.image, await sigstore.signImageLegacy(d.digest));
    expect(await d.run()).toEqual({ passed: true, digest: d.digest });
  });

  it('stops another identity, a signature for another digest, a tampered payload and one without its Rekor entry', async () => {
    const evil = 'https://github.com/evil/api/.github/workflows/release.yml@refs/heads/main';
    const other = await deployment();
    attachLegacy(registry, images, other.image, await sigstore.signImageLegacy(other.digest, { identity: evil }));
    await other.run();
    expect((await other.stage())?.reason).toBe(
      `${other.name} is not signed keyless by ${who}: signed by ${evil} (issuer ${GITHUB_ISSUER}), expected ${who}`,
    );

    const moved = await deployment();
    const elsewhere = `sha256:${'f'.repeat(64)}`;
    attachLegacy(registry, images, moved.image, await sigstore.signImageLegacy(moved.digest, { payloadDigest: elsewhere }));
    await moved.run();
    expect((await moved.stage())?.reason).toBe(
      `${moved.name} is not signed keyless by ${who}: signed with the right identity, but for another image (${elsewhere})`,
    );

    const tampered = await deployment();
    const sig = await sigstore.signImageLegacy(tampered.digest);
    attachLegacy(registry, images, tampered.image, {
      ...sig,
      payload: sig.payload.replace('"optional":null', '"optional":{"x":1}'),
    });
    await tampered.run();
    expect((await tampered.stage())?.reason).toMatch(
      /is not signed keyless by .*: the signature does not verify against the trusted root/,
    );

    const unlogged = await deployment();
    attachLegacy(registry, images, unlogged.image, { ...(await sigstore.signImageLegacy(unlogged.digest)), rekorBundle: '' });
    await unlogged.run();
    expect((await unlogged.stage())?.reason).toBe(
      `${unlogged.name} is not signed keyless by ${who}: the layer has no dev.sigstore.cosign/bundle annotation (no transparency-log entry; cosign requires one)`,
    );
  });
});

describe('Signed-image gate, keyless cosign: what cannot be verified is refused, saying why', () => {
  it('the public-good root that cannot be had, a trusted root that is not one, and a runtime without a bundle reader', async () => {
    const offline = await deployment();
    await offline.run({ ...POLICY });
    expect((await offline.stage())?.reason).toBe(`${offline.name} cannot be verified: no network in tests`);
    const badRoot = await deployment();
    await badRoot.run({ ...POLICY, trustedRoot: '{"mediaType":"x"}' });
    expect((await badRoot.stage())?.reason).toBe(
      `${badRoot.name} cannot be verified: verify.cosign.trustedRoot: the trusted root names no certificate authority or no transparency log`,
    );
    const noReader = await deployment();
    await runSignatureGate(
      {
        store,
        clock: { now: () => NOW },
        log: memoryLog(),
        notifier: silentNotifier,
        signatures: { cosignSignatures: async () => [], notationSignatures: async () => [] },
      },
      { deploymentId: `keyless-${ids}`, service: 'api', version: noReader.image.tag, environment: 'staging' },
      { cosign: { ...POLICY, trustedRoot } },
    );
    expect((await noReader.stage())?.reason).toContain('this runtime has no registry client for ghcr Sigstore bundles; refused');
  });

  it('regexps are matched as cosign matches them', async () => {
    const d = await deployment();
    attachBundle(registry, images, d.image, await sigstore.signImage(d.digest));
    expect(
      await d.run({
        identityRegexp: '^https://github\\.com/octo/web/',
        issuerRegexp: '^https://token\\.actions\\.',
        trustedRoot,
      }),
    ).toEqual({ passed: true, digest: d.digest });
  });
});
