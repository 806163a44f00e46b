/**
 * Reading Sigstore bundles of an image digest (src/registry/sigstore-bundles.ts) as sigstore/cosign
 * specs/BUNDLE_SPEC.md "Retrieval" describes, from the spec-following registry of
 * test/support/oci-registry.ts: the index a registry lists is not trusted — each manifest and blob
 * must match the digest that named it (OCI image spec, "Descriptors": content addressing), and a
 * manifest about another image is not this image's bundle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciDigestClient } from '../../src/registry/oci-digest.ts';
import { fetchSigstoreBundles } from '../../src/registry/sigstore-bundles.ts';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';
import { attachBundle } from '../support/sigstore-keyless.ts';

const images: FakeImage[] = [];
let registry: FakeRegistry;
let client: OciDigestClient;
beforeAll(async () => {
  registry = await startFakeRegistry(images);
  registry.referrersApi = true;
  client = new OciDigestClient({ endpoints: { ghcr: { base: registry.url, authHosts: ['127.0.0.1'] } }, timeoutMs: 2000 });
});
afterAll(() => registry?.stop());

let n = 0;
function pushed(): { image: FakeImage; digest: string } {
  const image = fakeImage('org/app', `3.0.${++n}`);
  images.push(image);
  return { image, digest: registry.digestOf(image) };
}
const fetch = (digest: string) => fetchSigstoreBundles(client, 'ghcr', 'org/app', digest);

describe('fetchSigstoreBundles (OCI referrers, content addressing)', () => {
  it('returns the bundle bytes attached to the digest, and nothing for an unsigned image', async () => {
    const { image, digest } = pushed();
    attachBundle(registry, images, image, '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
    const got = await fetch(digest);
    expect(got.bundles.map((b) => Buffer.from(b).toString())).toEqual([
      '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}',
    ]);
    expect(await fetch(pushed().digest)).toEqual({ bundles: [], legacy: [] });
  });

  it('refuses a bundle blob the registry altered (its bytes are not the ones the manifest names)', async () => {
    const { image, digest } = pushed();
    attachBundle(registry, images, image, '{"a":1}');
    const key = [...registry.blobs.keys()].find((k) => registry.blobs.get(k)?.toString() === '{"a":1}') as string;
    registry.blobs.set(key, Buffer.from('{"a":2}'));
    await expect(fetch(digest)).rejects.toThrow(/^the bundle sha256:[a-f0-9]{64} does not match its digest$/);
    registry.blobs.set(key, Buffer.from('{"a":1}'));
  });

  it("ignores a manifest whose subject is another image, even when listed under this one's referrers tag", async () => {
    const a = pushed();
    const b = pushed();
    registry.referrersApi = false;
    try {
      attachBundle(registry, images, a.image, '{"for":"a"}');
      // The tag schema index of b now lists a's bundle manifest (a registry or a writer got it wrong).
      const index = images.find((i) => i.tag === a.digest.replace(':', '-')) as FakeImage;
      images.push(fakeImage('org/app', b.digest.replace(':', '-'), { mediaType: index.mediaType, body: index.body }));
      expect((await fetch(b.digest)).bundles).toEqual([]);
      expect((await fetch(a.digest)).bundles).toHaveLength(1);
    } finally {
      registry.referrersApi = true;
    }
  });

  it('refuses a digest that is not one', async () => {
    await expect(fetch('sha256:nothex')).rejects.toThrow('"sha256:nothex" is not an image digest');
  });
});
