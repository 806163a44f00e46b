/**
 * The OCI distribution client against a registry on 127.0.0.1 that follows the distribution
 * spec and Docker's token authentication (test/support/oci-registry.ts): the 401 challenge, the
 * token, HEAD with the manifest types in Accept, Docker-Content-Digest or the hash of the bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciDigestClient, parseChallenge, registryRepository } from '../../src/registry/oci-digest.ts';
import { DOCKER_MANIFEST, type FakeRegistry, fakeImage, startFakeRegistry } from '../support/oci-registry.ts';

const PUBLIC = fakeImage('octo/web', '1.2.3');
const SINGLE = fakeImage('octo/web', '1.2.4', { mediaType: DOCKER_MANIFEST, body: '{"schemaVersion":2,"layers":[]}' });
const OFFICIAL = fakeImage('library/nginx', '1.27');
const PRIVATE = fakeImage('octo/secret', '2.0.0', { private: { username: 'bot', password: 'pull-token-123' } });

let reg: FakeRegistry;
let client: OciDigestClient;
beforeAll(async () => {
  reg = await startFakeRegistry([PUBLIC, SINGLE, OFFICIAL, PRIVATE]);
  const endpoint = { base: reg.url, authHosts: ['127.0.0.1'] };
  client = new OciDigestClient({ endpoints: { dockerhub: endpoint, ghcr: endpoint }, timeoutMs: 2000 });
});
afterAll(() => reg?.stop());

describe('Class: OciDigestClient', () => {
  it('answers the 401 challenge with an anonymous token, then HEADs the manifest with the index and manifest types', async () => {
    reg.requests.length = 0;
    expect(await client.resolve('dockerhub', 'octo/web', '1.2.3')).toBe(reg.digestOf(PUBLIC));
    expect(reg.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'HEAD /v2/octo/web/manifests/1.2.3',
      'GET /token?service=registry.test&scope=repository%3Aocto%2Fweb%3Apull',
      'HEAD /v2/octo/web/manifests/1.2.3',
    ]);
    expect(reg.requests[1]?.authorization).toBeUndefined(); // anonymous: no pull secret
    expect(reg.requests[2]?.authorization).toMatch(/^Bearer [0-9a-f]{32}$/);
    const accept = reg.requests[2]?.accept ?? '';
    for (const type of [
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.v2+json',
    ])
      expect(accept).toContain(type);
  });

  it('resolves a single-platform Docker manifest, and official images under library/', async () => {
    expect(await client.resolve('ghcr', 'octo/web', '1.2.4')).toBe(reg.digestOf(SINGLE));
    expect(registryRepository('dockerhub', 'nginx')).toBe('library/nginx');
    expect(registryRepository('ghcr', 'nginx')).toBe('nginx');
    expect(await client.resolve('dockerhub', 'nginx', '1.27')).toBe(reg.digestOf(OFFICIAL));
  });

  it('hashes the manifest bytes when the registry sends no Docker-Content-Digest (it is optional in the spec)', async () => {
    reg.omitDigestHeader = true;
    reg.requests.length = 0;
    try {
      expect(await client.resolve('dockerhub', 'octo/web', '1.2.3')).toBe(reg.digestOf(PUBLIC));
      expect(reg.requests.map((r) => r.method)).toEqual(['HEAD', 'GET', 'HEAD', 'GET']);
    } finally {
      reg.omitDigestHeader = false;
    }
  });

  it('sends the pull secret as Basic credentials to the token service of a private repository', async () => {
    reg.requests.length = 0;
    const digest = await client.resolve('dockerhub', 'octo/secret', '2.0.0', { username: 'bot', password: 'pull-token-123' });
    expect(digest).toBe(reg.digestOf(PRIVATE));
    expect(reg.requests[1]?.authorization).toBe(`Basic ${Buffer.from('bot:pull-token-123').toString('base64')}`);
    // Only the token service sees the credentials; the registry sees the token.
    expect(reg.requests.filter((r) => r.path.startsWith('/v2/')).every((r) => !r.authorization?.startsWith('Basic'))).toBe(true);
  });

  it('says why when it cannot: no such tag, private without or with wrong credentials, registry down', async () => {
    await expect(client.resolve('dockerhub', 'octo/web', '9.9.9')).rejects.toThrow(
      /has no manifest for octo\/web:9\.9\.9 \(HTTP 404: no such repository or tag\)$/,
    );
    await expect(client.resolve('dockerhub', 'octo/secret', '2.0.0')).rejects.toThrow(
      /token service 127\.0\.0\.1:\d+ answered HTTP 401$/,
    );
    await expect(client.resolve('dockerhub', 'octo/secret', '2.0.0', { username: 'bot', password: 'wrong' })).rejects.toThrow(
      /answered HTTP 401: the pull secret's username\/password were refused$/,
    );
    const down = await startFakeRegistry([]);
    await down.stop();
    const offline = new OciDigestClient({ endpoints: { dockerhub: { base: down.url, authHosts: ['127.0.0.1'] } } });
    await expect(offline.resolve('dockerhub', 'octo/web', '1.2.3')).rejects.toThrow(
      /^could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/,
    );
  });

  it('never sends credentials to a token realm that is not the registry auth service', async () => {
    reg.realm = 'http://127.0.0.2:9/token';
    reg.requests.length = 0;
    try {
      await expect(
        client.resolve('dockerhub', 'octo/secret', '2.0.0', { username: 'bot', password: 'pull-token-123' }),
      ).rejects.toThrow(
        /named token realm http:\/\/127\.0\.0\.2:9, which is not its auth service \(127\.0\.0\.1\): no credentials sent/,
      );
      expect(reg.requests.some((r) => r.authorization?.startsWith('Basic'))).toBe(false);
    } finally {
      delete reg.realm;
    }
    // Docker Hub's and GHCR's own endpoints: https, their auth hosts only.
    const real = new OciDigestClient();
    expect((real as unknown as { endpoints: unknown }).endpoints).toEqual({
      dockerhub: { base: 'https://registry-1.docker.io', authHosts: ['auth.docker.io'] },
      ghcr: { base: 'https://ghcr.io', authHosts: ['ghcr.io'] },
    });
  });

  it('parses WWW-Authenticate challenges as registries send them', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' },
    });
    expect(parseChallenge('Basic realm="GitHub Package Registry"')).toEqual({
      scheme: 'basic',
      params: { realm: 'GitHub Package Registry' },
    });
    expect(parseChallenge(null)).toBeUndefined();
  });
});
