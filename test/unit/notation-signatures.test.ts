/**
 * Finding Notation signatures through the OCI client (src/registry/notation-signatures.ts) in the
 * spec-following registry of test/support/oci-registry.ts, both ways the OCI distribution spec 1.1
 * allows (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers):
 * the referrers API (GET /v2/<name>/referrers/<digest>?artifactType=…) and, where the registry has
 * no such API (404), the "Referrers Tag Schema" index under `sha256-<hex>`. Signature manifests
 * follow the Notary Project's signature-specification.md "Storage" (test/support/notation.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciImageSignatures } from '../../src/registry/cosign-signatures.ts';
import { OciDigestClient } from '../../src/registry/oci-digest.ts';
import { notationPki, notationSign } from '../support/notation.ts';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';

const images: FakeImage[] = [];
let registry: FakeRegistry;
let signatures: OciImageSignatures;
const pki = notationPki();
beforeAll(async () => {
  registry = await startFakeRegistry(images);
  const endpoint = { base: registry.url, authHosts: ['127.0.0.1'] };
  signatures = new OciImageSignatures({ client: new OciDigestClient({ endpoints: { ghcr: endpoint }, timeoutMs: 2000 }) });
});
afterAll(() => registry?.stop());

const ref = (image: FakeImage) => ({
  registry: 'ghcr' as const,
  repository: image.repository,
  tag: image.tag,
  digest: registry.digestOf(image),
});

describe('Notation signatures as OCI referrers', () => {
  it('reads them through the Referrers Tag Schema when the registry has no referrers API (404)', async () => {
    registry.referrersApi = false;
    const image = fakeImage('octo/web', '1.0.0');
    images.push(image);
    const signed = await notationSign(registry, images, image, pki);
    registry.requests.length = 0;
    const found = await signatures.notationSignatures(ref(image));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ manifestDigest: signed.signatureDigest, mediaType: 'application/jose+json' });
    const hex = signed.digest.slice('sha256:'.length);
    expect(registry.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`).filter((p) => !p.endsWith('/token'))).toEqual([
      `GET /v2/octo/web/referrers/sha256:${hex}`,
      // Each fetch: anonymous first, 401, a token, again (Docker token authentication).
      `GET /v2/octo/web/manifests/sha256-${hex}`,
      `GET /v2/octo/web/manifests/sha256-${hex}`,
      `GET /v2/octo/web/manifests/${signed.signatureDigest}`,
      `GET /v2/octo/web/manifests/${signed.signatureDigest}`,
      expect.stringMatching(/^GET \/v2\/octo\/web\/blobs\/sha256:[0-9a-f]{64}$/),
      expect.stringMatching(/^GET \/v2\/octo\/web\/blobs\/sha256:[0-9a-f]{64}$/),
    ]);
  });

  it('reads them through the referrers API, asking for the Notary artifact type', async () => {
    registry.referrersApi = true;
    const image = fakeImage('octo/web', '1.0.1');
    images.push(image);
    const signed = await notationSign(registry, images, image, pki, { tagSchema: false });
    // Another artifact type in the same list (an SBOM) is not a signature.
    registry.referrers.get(`octo/web@${signed.digest}`)?.push({ artifactType: 'application/spdx+json', digest: signed.digest });
    registry.requests.length = 0;
    const found = await signatures.notationSignatures(ref(image));
    expect(found.map((s) => s.manifestDigest)).toEqual([signed.signatureDigest]);
    expect(registry.requests.find((r) => r.path.includes('/referrers/'))?.path).toBe(
      `/v2/octo/web/referrers/${signed.digest}?artifactType=application%2Fvnd.cncf.notary.signature`,
    );
  });

  it('answers [] for an unsigned image, and refuses a listed signature whose bytes do not match its digest', async () => {
    registry.referrersApi = false;
    const unsigned = fakeImage('octo/web', '1.0.2');
    images.push(unsigned);
    expect(await signatures.notationSignatures(ref(unsigned))).toEqual([]);

    const image = fakeImage('octo/web', '1.0.3');
    images.push(image);
    const signed = await notationSign(registry, images, image, pki);
    const blobKey = [...registry.blobs.keys()].find((k) => {
      const manifest = images.find((i) => registry.digestOf(i) === signed.signatureDigest);
      return manifest && k === `octo/web@${(JSON.parse(manifest.body) as { layers: [{ digest: string }] }).layers[0].digest}`;
    }) as string;
    registry.blobs.set(blobKey, Buffer.from('{"payload":"tampered"}'));
    await expect(signatures.notationSignatures(ref(image))).rejects.toThrow(
      /^the envelope of signature manifest sha256:[0-9a-f]{64} does not match its digest/,
    );
  });

  it('skips a listed manifest whose subject is another image (a stale index): it is not a signature of this one', async () => {
    registry.referrersApi = false;
    const a = fakeImage('octo/web', '1.0.4');
    const b = fakeImage('octo/web', '1.0.5');
    images.push(a, b);
    await notationSign(registry, images, a, pki);
    // b's tag-schema index lists a's signature manifest.
    const aIndex = images.find((i) => i.tag === registry.digestOf(a).replace(':', '-')) as FakeImage;
    images.push(
      fakeImage('octo/web', registry.digestOf(b).replace(':', '-'), { mediaType: aIndex.mediaType, body: aIndex.body }),
    );
    expect(await signatures.notationSignatures(ref(b))).toEqual([]);
  });
});
