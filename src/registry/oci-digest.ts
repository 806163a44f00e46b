/**
 * The digest a tag points to, asked of an OCI registry (Docker Hub, GHCR) through the OCI
 * distribution API — no AWS here; the AWS wiring (pull secrets from Secrets Manager) lives in
 * src/aws/image-registry.ts.
 *
 * The rules followed, from the registries' own specifications:
 * - OCI distribution spec, "Pulling manifests" / "Checking if content exists": HEAD
 *   /v2/<name>/manifests/<reference> answers 200 for an existing manifest, 404 otherwise, and a
 *   client sends an Accept header listing the manifest media types it understands
 *   (https://github.com/opencontainers/distribution-spec/blob/main/spec.md).
 * - The same spec: Docker-Content-Digest is an OPTIONAL legacy header "clients SHOULD NOT depend
 *   on". When it is absent the digest is computed as the spec defines it: the algorithm and hex
 *   of the hash of the manifest's exact bytes (a GET of the same URL).
 * - Docker registry token authentication (https://docs.docker.com/reference/api/registry/auth/):
 *   a 401 answer carries `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`; the client
 *   GETs the realm with those as query parameters (HTTP Basic credentials when it has some,
 *   anonymous otherwise), receives {"token"} or {"access_token"}, and retries with
 *   `Authorization: Bearer <token>`. Docker Hub's realm is https://auth.docker.io/token with
 *   service registry.docker.io; GHCR's is https://ghcr.io/token.
 * - Docker Hub counts GET manifest requests as pulls, not HEAD requests
 *   (https://docs.docker.com/docker-hub/usage/pulls/): HEAD comes first.
 *
 * Credentials are only ever sent to the token realm of the registry's known auth hosts, over
 * https; a registry answering with another realm is refused. Endpoints are fixed per registry;
 * tests pass a loopback endpoint to the constructor (never from an event or the environment).
 */
import { createHash } from 'node:crypto';
import { DIGEST_PATTERN, isValidRepository, isValidTag } from '../core/model/oci.ts';

export type OciRegistry = 'ghcr' | 'dockerhub';

export interface RegistryEndpoint {
  /** Base URL of the registry API, without /v2. */
  base: string;
  /** Hosts the token realm may be on: credentials go there and nowhere else. */
  authHosts: string[];
}

export const REGISTRY_ENDPOINTS: Record<OciRegistry, RegistryEndpoint> = {
  dockerhub: { base: 'https://registry-1.docker.io', authHosts: ['auth.docker.io'] },
  ghcr: { base: 'https://ghcr.io', authHosts: ['ghcr.io'] },
};

/** Index and manifest types, OCI and Docker, so a multi-platform tag resolves to its index. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Why a digest could not be had: the reason reads after "could not resolve the digest of X: ". */
export class RegistryLookupError extends Error {
  override name = 'RegistryLookupError';
}

export interface OciDigestOptions {
  /** Test-only: loopback endpoints instead of the registries' own. */
  endpoints?: Partial<Record<OciRegistry, RegistryEndpoint>>;
  /** Per request; a webhook must still answer in time. */
  timeoutMs?: number;
}

/** Docker Hub's official images live under library/: "nginx" is "library/nginx". */
export function registryRepository(registry: OciRegistry, repository: string): string {
  return registry === 'dockerhub' && !repository.includes('/') ? `library/${repository}` : repository;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** A sha256 digest as the OCI distribution spec writes it (the only one signatures are stored under). */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Content addressing: the digest the bytes really have, to compare with the one a manifest names. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `Bearer realm="https://…",service="…",scope="repository:x:pull"` -> scheme and parameters. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[(p[1] as string).toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (m[1] as string).toLowerCase(), params };
}

export class OciDigestClient {
  private readonly endpoints: Record<OciRegistry, RegistryEndpoint>;
  private readonly timeoutMs: number;

  constructor(opts: OciDigestOptions = {}) {
    this.endpoints = { ...REGISTRY_ENDPOINTS, ...opts.endpoints };
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** The digest `tag` points to now. Throws RegistryLookupError saying why not. */
  async resolve(registry: OciRegistry, repository: string, tag: string, credentials?: RegistryCredentials): Promise<string> {
    if (!isValidRepository(repository)) throw new RegistryLookupError(`"${repository}" is not a repository name`);
    if (!isValidTag(tag)) throw new RegistryLookupError(`"${tag}" is not a tag`);
    const endpoint = this.endpoints[registry];
    const name = registryRepository(registry, repository);
    const url = `${endpoint.base}/v2/${name}/manifests/${tag}`;
    const host = new URL(endpoint.base).host;

    let authorization: string | undefined;
    let res = await this.request('HEAD', url, undefined, host);
    if (res.status === 401) {
      authorization = await this.authorize(parseChallenge(res.headers.get('www-authenticate')), endpoint, name, credentials);
      res = await this.request('HEAD', url, authorization, host);
    }
    this.check(res, name, tag, host, credentials);
    const header = res.headers.get('docker-content-digest');
    if (header && DIGEST_PATTERN.test(header)) return header;

    // No usable Docker-Content-Digest (optional in the OCI spec): hash the manifest bytes.
    const body = await this.request('GET', url, authorization, host);
    this.check(body, name, tag, host, credentials);
    const bytes = Buffer.from(await body.arrayBuffer());
    if (bytes.length === 0) throw new RegistryLookupError(`${host} answered an empty manifest for ${name}:${tag}`);
    return sha256Digest(bytes);
  }

  /**
   * The exact bytes of a manifest (by tag or digest) or a blob (by digest), OCI distribution spec
   * "Pulling manifests" / "Pulling blobs" / "Listing Referrers": GET /v2/<name>/manifests/<reference>,
   * /v2/<name>/blobs/<digest> or /v2/<name>/referrers/<digest>, with the same token authentication. Undefined when the registry
   * answers 404 (no such artifact); throws RegistryLookupError saying why for anything else.
   * The caller checks a blob's bytes against its digest (content addressing).
   */
  async fetchContent(
    registry: OciRegistry,
    repository: string,
    kind: 'manifests' | 'blobs' | 'referrers',
    reference: string,
    credentials?: RegistryCredentials,
    query = '',
  ): Promise<{ bytes: Buffer; mediaType?: string } | undefined> {
    // The name as written is checked here (fetchFrom checks the registry's form of it, and the reference).
    if (!isValidRepository(repository)) throw new RegistryLookupError(`"${repository}" is not a repository name`);
    return this.fetchFrom(
      this.endpoints[registry],
      registryRepository(registry, repository),
      kind,
      reference,
      credentials,
      query,
    );
  }

  /**
   * fetchContent on an endpoint known only at run time (an ECR registry,
   * https://<account>.dkr.ecr.<region>.amazonaws.com, with credentials from GetAuthorizationToken).
   */
  async fetchFrom(
    endpoint: RegistryEndpoint,
    name: string,
    kind: 'manifests' | 'blobs' | 'referrers',
    reference: string,
    credentials?: RegistryCredentials,
    query = '',
  ): Promise<{ bytes: Buffer; mediaType?: string } | undefined> {
    if (!isValidRepository(name)) throw new RegistryLookupError(`"${name}" is not a repository name`);
    if (!DIGEST_PATTERN.test(reference) && (kind !== 'manifests' || !isValidTag(reference))) {
      throw new RegistryLookupError(`"${reference}" is not a ${kind !== 'manifests' ? 'digest' : 'tag or digest'}`);
    }
    // "Listing Referrers" (OCI distribution spec 1.1): GET /v2/<name>/referrers/<digest>?artifactType=…
    const url = `${endpoint.base}/v2/${name}/${kind}/${reference}${query}`;
    const host = new URL(endpoint.base).host;
    let res = await this.request('GET', url, undefined, host);
    if (res.status === 401) {
      const authorization = await this.authorize(
        parseChallenge(res.headers.get('www-authenticate')),
        endpoint,
        name,
        credentials,
      );
      res = await this.request('GET', url, authorization, host);
    }
    if (res.status === 404) return undefined;
    this.check(res, name, reference, host, credentials);
    const mediaType = res.headers.get('content-type') ?? undefined;
    return { bytes: Buffer.from(await res.arrayBuffer()), ...(mediaType ? { mediaType } : {}) };
  }

  private check(res: Response, name: string, tag: string, host: string, credentials?: RegistryCredentials): void {
    if (res.ok) return;
    const as = credentials ? 'with the pull secret' : 'anonymously (no image.pullSecret)';
    switch (res.status) {
      case 404:
        throw new RegistryLookupError(`${host} has no manifest for ${name}:${tag} (HTTP 404: no such repository or tag)`);
      case 401:
      case 403:
        throw new RegistryLookupError(
          `${host} refused to show ${name}:${tag} ${as} (HTTP ${res.status}): a private image needs image.pullSecret naming a secret {"username","password"} that may pull it`,
        );
      case 429:
        throw new RegistryLookupError(`${host} rate-limited the lookup of ${name}:${tag} (HTTP 429); try again later`);
      default:
        throw new RegistryLookupError(`${host} answered HTTP ${res.status} for ${name}:${tag}`);
    }
  }

  /** Token authentication: the realm must be one of this registry's auth hosts, over https. */
  private async authorize(
    challenge: Challenge | undefined,
    endpoint: RegistryEndpoint,
    name: string,
    credentials?: RegistryCredentials,
  ): Promise<string> {
    const registryHost = new URL(endpoint.base).host;
    const basic = credentials
      ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
      : undefined;
    if (challenge?.scheme === 'basic') {
      if (!basic) throw new RegistryLookupError(`${registryHost} asks for credentials (Basic) and no image.pullSecret is set`);
      return basic;
    }
    const realm = challenge?.scheme === 'bearer' ? challenge.params.realm : undefined;
    if (!realm) throw new RegistryLookupError(`${registryHost} answered 401 without a Bearer challenge (WWW-Authenticate)`);
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new RegistryLookupError(`${registryHost} named a token realm that is not a URL`);
    }
    // https always, except a loopback test registry that is itself plain http.
    const plainAllowed = endpoint.base.startsWith('http://') && realmUrl.hostname === '127.0.0.1';
    if (!endpoint.authHosts.includes(realmUrl.hostname) || (realmUrl.protocol !== 'https:' && !plainAllowed)) {
      throw new RegistryLookupError(
        `${registryHost} named token realm ${realmUrl.origin}, which is not its auth service (${endpoint.authHosts.join(', ')}): no credentials sent`,
      );
    }
    if (challenge?.params.service) realmUrl.searchParams.set('service', challenge.params.service);
    realmUrl.searchParams.set('scope', challenge?.params.scope ?? `repository:${name}:pull`);
    const res = await this.request('GET', realmUrl.toString(), basic, realmUrl.host);
    if (!res.ok) {
      throw new RegistryLookupError(
        `the token service ${realmUrl.host} answered HTTP ${res.status}${
          res.status === 401 ? (credentials ? ": the pull secret's username/password were refused" : '') : ''
        }`,
      );
    }
    let token: unknown;
    try {
      const json = (await res.json()) as { token?: unknown; access_token?: unknown };
      token = json.token ?? json.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '')
      throw new RegistryLookupError(`the token service ${realmUrl.host} gave no token`);
    return `Bearer ${token}`;
  }

  private async request(method: 'HEAD' | 'GET', url: string, authorization: string | undefined, host: string): Promise<Response> {
    try {
      return await fetch(url, {
        method,
        headers: { accept: MANIFEST_ACCEPT, ...(authorization ? { authorization } : {}) },
        // A registry redirect (to a CDN) keeps the method; a token never follows it elsewhere.
        redirect: 'follow',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') throw new RegistryLookupError(`${host} did not answer within ${this.timeoutMs} ms`);
      throw new RegistryLookupError(`could not reach ${host} (${e.cause?.code ?? e.message})`);
    }
  }
}
