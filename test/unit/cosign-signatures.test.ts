/**
 * Fetching cosign signatures through the OCI client (src/registry/cosign-signatures.ts) from the
 * spec-following registry of test/support/oci-registry.ts. Where they live is sigstore/cosign's
 * specs/SIGNATURE_SPEC.md, "Tag-based Discovery" and "OCI Image Manifest V1"
 * (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md); blobs are content
 * addressed (OCI distribution spec, "Pulling blobs": the digest is the hash of the bytes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCosignSignatures, OciImageSignatures } from '../../src/registry/cosign-signatures.ts';
import { OciDigestClient } from '../../src/registry/oci-digest.ts';
import { cosignKeys, cosignSign } from '../support/cosign.ts';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';

const images: FakeImage[] = [];
let registry: FakeRegistry;
let client: OciDigestClient;
beforeAll(async () => {
  registry = await startFakeRegistry(images);
  const endpoint = { base: registry.url, authHosts: ['127.0.0.1'] };
  client = new OciDigestClient({ endpoints: { ghcr: endpoint, dockerhub: endpoint }, timeoutMs: 2000 });
});
afterAll(() => registry?.stop());
const keys = cosignKeys();

describe('fetchCosignSignatures', () => {
  it('reads the payload and signature of each simple signing layer under sha256-<hex>.sig', async () => {
    const image = fakeImage('octo/web', '2.0.0');
    images.push(image);
    const signed = cosignSign(registry, images, image, keys.privateKey);
    registry.requests.length = 0;
    const found = await fetchCosignSignatures(client, 'ghcr', 'octo/web', signed.digest);
    expect(found).toEqual([{ payload: Buffer.from(signed.payload), signature: signed.signature }]);
    const hex = signed.digest.slice('sha256:'.length);
    expect(registry.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual([
      `GET /v2/octo/web/manifests/sha256-${hex}.sig`,
      'GET /token',
      `GET /v2/octo/web/manifests/sha256-${hex}.sig`,
      expect.stringMatching(/^GET \/v2\/octo\/web\/blobs\/sha256:[0-9a-f]{64}$/),
      'GET /token',
      expect.stringMatching(/^GET \/v2\/octo\/web\/blobs\/sha256:[0-9a-f]{64}$/),
    ]);
    // Each request answers its own 401 challenge with a pull token, as the registry asks.
    expect(registry.requests.filter((r) => r.path.includes('/v2/')).map((r) => r.authorization?.split(' ')[0])).toEqual([
      undefined,
      'Bearer',
      undefined,
      'Bearer',
    ]);
  });

  it('finds nothing for an unsigned image (the registry answers 404 for the .sig tag)', async () => {
    const image = fakeImage('octo/web', '2.0.1');
    images.push(image);
    expect(await fetchCosignSignatures(client, 'ghcr', 'octo/web', registry.digestOf(image))).toEqual([]);
  });

  it('refuses a payload blob whose bytes are not the digest the manifest names', async () => {
    const image = fakeImage('octo/web', '2.0.2');
    images.push(image);
    const signed = cosignSign(registry, images, image, keys.privateKey);
    const manifest = JSON.parse(images.find((i) => i.tag === signed.tag)?.body ?? '{}') as { layers: { digest: string }[] };
    const layer = manifest.layers[0]?.digest as string;
    registry.blobs.set(`octo/web@${layer}`, Buffer.from('{"forged":true}'));
    await expect(fetchCosignSignatures(client, 'ghcr', 'octo/web', signed.digest)).rejects.toThrow(
      `the signature payload of ${signed.tag} does not match its digest (${layer}, got sha256:`,
    );
    registry.blobs.delete(`octo/web@${layer}`);
    await expect(fetchCosignSignatures(client, 'ghcr', 'octo/web', signed.digest)).rejects.toThrow(
      `the signature payload ${layer} of ${signed.tag} is missing (HTTP 404)`,
    );
  });

  it('OciImageSignatures (GHCR and Docker Hub) says it cannot read ECR or unreadable pull secrets, instead of passing', async () => {
    const signatures = new OciImageSignatures({ client });
    const digest = `sha256:${'e'.repeat(64)}`;
    await expect(signatures.cosignSignatures({ registry: 'ecr', repository: 'api', tag: '1.0.0', digest })).rejects.toThrow(
      'reading signatures from ECR needs ECR credentials (GetAuthorizationToken), which only the AWS runtime has',
    );
    await expect(
      signatures.cosignSignatures({ registry: 'ghcr', repository: 'octo/web', tag: '1.0.0', digest }, 'ghcr-pull'),
    ).rejects.toThrow('image.pullSecret ghcr-pull cannot be read by this runtime');
  });
});
