/**
 * Signatures of ECR images (src/aws/ecr-signatures.ts): the token comes from moto_server's real
 * ECR GetAuthorizationToken (base64 "AWS:<password>", proxyEndpoint, expiresAt — ECR API
 * reference); moto serves no OCI distribution API, so the registry side is the spec-following
 * registry of test/support/oci-registry.ts in ECR's authentication mode (HTTP Basic with that
 * token, `WWW-Authenticate: Basic`; ECR user guide "Private registry authentication"), on loopback
 * through the test-only endpoint override. Signatures are made as cosign and notation store them
 * (test/support/cosign.ts, test/support/notation.ts) and checked by the domain's verifiers.
 * Where moto cannot answer what a test needs (a foreign proxyEndpoint, a failing call), the ECR
 * client is aws-sdk-client-mock, said in the test's name.
 */
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcrImageSignatures } from '../../../src/aws/ecr-signatures.ts';
import { parseTrustedRoot, verifyKeylessBundles } from '../../../src/core/pipeline/cosign-keyless.ts';
import { verifyCosignSignatures } from '../../../src/core/pipeline/cosign-verify.ts';
import { parseNotationPolicy, verifyNotationSignatures } from '../../../src/core/pipeline/notation-verify.ts';
import type { ImageSignatures } from '../../../src/core/ports.ts';
import { OciDigestClient } from '../../../src/registry/oci-digest.ts';
import { cosignKeys, cosignSign } from '../../support/cosign.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { notationPki, notationSign } from '../../support/notation.ts';
import { type FakeImage, type FakeRegistry, fakeImage, startFakeRegistry } from '../../support/oci-registry.ts';
import { attachBundle, GITHUB_ISSUER, throwawaySigstore, WORKFLOW_IDENTITY } from '../../support/sigstore-keyless.ts';

let moto: Moto;
let registry: FakeRegistry;
const images: FakeImage[] = [];
const unused: ImageSignatures = {
  cosignSignatures: () => Promise.reject(new Error('not an ECR image')),
  notationSignatures: () => Promise.reject(new Error('not an ECR image')),
};
beforeAll(async () => {
  moto = await startMoto();
  registry = await startFakeRegistry(images);
}, 90_000);
afterAll(async () => {
  await registry?.stop();
  await moto?.stop();
});

describe('ECR signatures (token from moto_server, registry API on loopback)', () => {
  it('signs in with the GetAuthorizationToken credentials and reads cosign and Notation signatures', async () => {
    const ecr = new ECRClient(moto.clientOptions);
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    expect(token?.proxyEndpoint).toMatch(/^https:\/\/\d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com$/);
    const [username, password] = Buffer.from(token?.authorizationToken ?? '', 'base64')
      .toString()
      .split(':');
    registry.basicAuth = { username: username as string, password: password as string };
    registry.referrersApi = true;

    const image = fakeImage('team/api', '3.0.0');
    images.push(image);
    const keys = cosignKeys();
    cosignSign(registry, images, image, keys.privateKey);
    const pki = notationPki();
    await notationSign(registry, images, image, pki, { tagSchema: false });
    const digest = registry.digestOf(image);

    const signatures = new EcrImageSignatures({
      ecr,
      client: new OciDigestClient({ timeoutMs: 2000 }),
      others: unused,
      endpointOverride: registry.url,
    });
    const ref = { registry: 'ecr' as const, repository: 'team/api', tag: '3.0.0', digest };
    registry.requests.length = 0;
    const cosign = await signatures.cosignSignatures(ref);
    expect(verifyCosignSignatures(cosign, digest, keys.publicKey)).toEqual({ verified: true });
    const notation = await signatures.notationSignatures(ref);
    const policy = parseNotationPolicy({
      trustedRoots: pki.rootPem,
      identities: ['x509.subject: C=US, ST=WA, O=wabbit-networks.io'],
    });
    if ('error' in policy) throw new Error(policy.error);
    expect(await verifyNotationSignatures(notation, digest, policy, new Date())).toMatchObject({ verified: true });
    // Every authorized request carried the ECR credentials, and no token service was asked.
    const basic = `Basic ${token?.authorizationToken}`;
    expect(registry.requests.filter((r) => r.authorization).every((r) => r.authorization === basic)).toBe(true);
    expect(registry.requests.some((r) => r.path.startsWith('/token'))).toBe(false);
    expect(registry.requests.some((r) => r.path.startsWith('/v2/team/api/referrers/'))).toBe(true);
  });

  it('reads keyless cosign (a Sigstore bundle attached as an OCI referrer) of an ECR image with the same token', async () => {
    const ecr = new ECRClient(moto.clientOptions);
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    const [username, password] = Buffer.from(token?.authorizationToken ?? '', 'base64')
      .toString()
      .split(':');
    registry.basicAuth = { username: username as string, password: password as string };
    registry.referrersApi = true;
    const image = fakeImage('team/api', '3.0.2');
    images.push(image);
    const digest = registry.digestOf(image);
    const sigstore = await throwawaySigstore();
    attachBundle(registry, images, image, await sigstore.signImage(digest));
    const signatures = new EcrImageSignatures({
      ecr,
      client: new OciDigestClient({ timeoutMs: 2000 }),
      others: unused,
      endpointOverride: registry.url,
    });
    const stored = await signatures.sigstoreBundles({ registry: 'ecr', repository: 'team/api', tag: '3.0.2', digest });
    expect(stored.bundles).toHaveLength(1);
    const root = parseTrustedRoot(sigstore.trustedRoot);
    if ('error' in root) throw new Error(root.error);
    const policy = { identity: WORKFLOW_IDENTITY, issuer: GITHUB_ISSUER };
    expect(verifyKeylessBundles(stored.bundles, digest, policy, root.verifier)).toEqual({ verified: true });
    // The bundle of another image does not pass as this one's.
    const other = fakeImage('team/api', '3.0.3');
    images.push(other);
    const none = await signatures.sigstoreBundles({
      registry: 'ecr',
      repository: 'team/api',
      tag: '3.0.3',
      digest: registry.digestOf(other),
    });
    expect(none).toEqual({ bundles: [], legacy: [] });
  });

  it('an unsigned ECR image has no signatures; wrong credentials are an error, never "unsigned"', async () => {
    const unsigned = fakeImage('team/api', '3.0.1');
    images.push(unsigned);
    const ecr = new ECRClient(moto.clientOptions);
    const signatures = new EcrImageSignatures({
      ecr,
      client: new OciDigestClient({ timeoutMs: 2000 }),
      others: unused,
      endpointOverride: registry.url,
    });
    const ref = { registry: 'ecr' as const, repository: 'team/api', tag: '3.0.1', digest: registry.digestOf(unsigned) };
    expect(await signatures.notationSignatures(ref)).toEqual([]);
    expect(await signatures.cosignSignatures(ref)).toEqual([]);
    registry.basicAuth = { username: 'AWS', password: 'another' };
    await expect(signatures.notationSignatures(ref)).rejects.toThrow(
      `ECR refused to show team/api referrers ${ref.digest} (HTTP 401): the role needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on that repository`,
    );
  });

  it('refuses to send credentials to a proxyEndpoint that is not ECR (ECR client: aws-sdk-client-mock)', async () => {
    const ecr = new ECRClient({ region: 'us-east-1' });
    const mock = mockClient(ecr);
    mock.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [
        {
          authorizationToken: Buffer.from('AWS:secret').toString('base64'),
          proxyEndpoint: 'https://evil.example.com',
          expiresAt: new Date(Date.now() + 3_600_000),
        },
      ],
    });
    const signatures = new EcrImageSignatures({ ecr, client: new OciDigestClient({ timeoutMs: 2000 }), others: unused });
    const ref = { registry: 'ecr' as const, repository: 'team/api', tag: 'x', digest: `sha256:${'a'.repeat(64)}` };
    await expect(signatures.notationSignatures(ref)).rejects.toThrow(
      'ECR named registry endpoint https://evil.example.com, which is not an ECR host: no credentials sent',
    );
    mock
      .on(GetAuthorizationTokenCommand)
      .rejects(new Error('AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken'));
    const fresh = new EcrImageSignatures({ ecr, client: new OciDigestClient({ timeoutMs: 2000 }), others: unused });
    await expect(fresh.cosignSignatures(ref)).rejects.toThrow(
      'ECR GetAuthorizationToken failed: AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken',
    );
    mock.restore();
  });

  it('hands GHCR and Docker Hub images to the OCI port unchanged', async () => {
    const seen: string[] = [];
    const others: ImageSignatures = {
      cosignSignatures: async (image) => {
        seen.push(`cosign ${image.registry}`);
        return [];
      },
      notationSignatures: async (image) => {
        seen.push(`notation ${image.registry}`);
        return [];
      },
      sigstoreBundles: async (image) => {
        seen.push(`keyless ${image.registry}`);
        return { bundles: [], legacy: [] };
      },
    };
    const signatures = new EcrImageSignatures({ ecr: new ECRClient(moto.clientOptions), client: new OciDigestClient(), others });
    const ref = { registry: 'ghcr' as const, repository: 'octo/web', tag: '1', digest: `sha256:${'b'.repeat(64)}` };
    await signatures.cosignSignatures(ref);
    await signatures.notationSignatures({ ...ref, registry: 'dockerhub' });
    await signatures.sigstoreBundles({ ...ref, registry: 'ghcr' });
    expect(seen).toEqual(['cosign ghcr', 'notation dockerhub', 'keyless ghcr']);
  });
});
