/**
 * A registry on 127.0.0.1 that follows the rules a client meets at Docker Hub and GHCR, written
 * from their specifications (not from Coconut's client):
 * - OCI distribution spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md),
 *   "Pulling manifests": GET/HEAD /v2/<name>/manifests/<reference> answers 200 with the
 *   manifest's Content-Type (HEAD: headers only), 404 with a MANIFEST_UNKNOWN error body when the
 *   tag or repository does not exist. A manifest whose media type the client's Accept header does
 *   not list is not served (the registry cannot convert an index to a single manifest).
 * - Docker-Content-Digest: the sha256 of the manifest's exact bytes (a legacy header the spec
 *   calls OPTIONAL; `omitDigestHeader` leaves it out, as a registry may).
 * - Token authentication (https://docs.docker.com/reference/api/registry/auth/): every
 *   manifest request without a valid Bearer token answers 401 with
 *   `WWW-Authenticate: Bearer realm="<token URL>",service="registry.test",scope="repository:<name>:pull"`;
 *   GET <realm>?service=&scope= answers {"token"} — anonymously for public repositories, only with
 *   the right HTTP Basic credentials for private ones (401 otherwise).
 * It records every request (method, path, headers) so tests can check what was sent where.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeImage {
  repository: string;
  tag: string;
  mediaType: string;
  /** Exact manifest bytes; the digest is their sha256. */
  body: string;
  private?: { username: string; password: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  accept?: string;
}

export interface FakeRegistry {
  url: string;
  /** Host the WWW-Authenticate realm points to (127.0.0.1). */
  host: string;
  requests: RecordedRequest[];
  digestOf(image: FakeImage): string;
  /** Realm to announce instead of this server's /token (to test a foreign realm). */
  realm?: string;
  omitDigestHeader: boolean;
  /**
   * Blobs by repository and digest, served at GET/HEAD /v2/<name>/blobs/<digest> (OCI distribution
   * spec, "Pulling blobs"), behind the same token authentication; 404 BLOB_UNKNOWN otherwise.
   */
  blobs: Map<string, Buffer>;
  /** Stores bytes as a blob of `repository`; returns their digest (sha256 of the bytes). */
  putBlob(repository: string, bytes: Buffer | string): string;
  /**
   * Whether GET /v2/<name>/referrers/<digest> is served (OCI distribution spec v1.1, "Listing
   * Referrers"): an image index of the manifests whose `subject` is that digest, each descriptor
   * with the manifest's artifactType, filtered by ?artifactType= (with OCI-Filters-Applied). When
   * false the registry answers 404, as one without the API does, and clients use the referrers tag
   * schema (`sha256-<hex>`). Default false.
   */
  referrersApi: boolean;
  /**
   * ECR's way (ECR user guide, "Private registry authentication"): every /v2 request needs HTTP
   * Basic credentials (AWS:<password> from GetAuthorizationToken); without them 401 with
   * `WWW-Authenticate: Basic realm="<url>/",service="ecr.amazonaws.com"`. No token endpoint.
   */
  basicAuth?: { username: string; password: string } | undefined;
  /** Referrer descriptors served besides those computed from stored manifests' `subject` (key `<repository>@<digest>`). */
  referrers: Map<string, Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

/** The fields of a manifest the referrers API reads. */
interface ReferrerManifest {
  subject?: { digest?: string };
  artifactType?: string;
  config?: { mediaType?: string };
  annotations?: Record<string, string>;
}

export const INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

export function fakeImage(repository: string, tag: string, o: Partial<FakeImage> = {}): FakeImage {
  const mediaType = o.mediaType ?? INDEX;
  const body =
    o.body ??
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: [
        {
          mediaType: DOCKER_MANIFEST,
          digest: `sha256:${createHash('sha256').update(`${repository}:${tag}`).digest('hex')}`,
          size: 528,
        },
      ],
    });
  return { repository, tag, mediaType, body, ...(o.private ? { private: o.private } : {}) };
}

export async function startFakeRegistry(images: FakeImage[]): Promise<FakeRegistry> {
  const tokens = new Map<string, string>(); // token -> repository it grants
  const digestOf = (image: FakeImage) => `sha256:${createHash('sha256').update(image.body).digest('hex')}`;
  let server: Server;
  const registry: FakeRegistry = {
    url: '',
    host: '127.0.0.1',
    requests: [],
    digestOf,
    omitDigestHeader: false,
    blobs: new Map(),
    referrersApi: false,
    referrers: new Map(),
    putBlob: (repository, bytes) => {
      const buffer = Buffer.from(bytes);
      const digest = `sha256:${createHash('sha256').update(buffer).digest('hex')}`;
      registry.blobs.set(`${repository}@${digest}`, buffer);
      return digest;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const header = (req: IncomingMessage, name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', registry.url);
    const authorization = header(req, 'authorization');
    const accept = header(req, 'accept');
    registry.requests.push({
      method: req.method ?? '',
      path: `${url.pathname}${url.search}`,
      ...(authorization ? { authorization } : {}),
      ...(accept ? { accept } : {}),
    });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(req.method === 'HEAD' ? undefined : text);
    };

    if (url.pathname === '/token') {
      const scope = /^repository:(.+):pull$/.exec(url.searchParams.get('scope') ?? '');
      const repository = scope?.[1];
      if (!repository || url.searchParams.get('service') !== 'registry.test')
        return json(400, { details: 'bad scope or service' });
      const secret = images.find((i) => i.repository === repository && i.private)?.private;
      if (secret) {
        const expected = `Basic ${Buffer.from(`${secret.username}:${secret.password}`).toString('base64')}`;
        if (authorization !== expected) return json(401, { details: 'incorrect username or password' });
      }
      const token = randomBytes(16).toString('hex');
      tokens.set(token, repository);
      return json(200, { token, expires_in: 300 });
    }

    if (registry.basicAuth && url.pathname.startsWith('/v2/')) {
      const { username, password } = registry.basicAuth;
      if (authorization !== `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`) {
        return json(
          401,
          { errors: [{ code: 'DENIED', message: 'Not Authorized' }] },
          {
            'www-authenticate': `Basic realm="${registry.url}/",service="ecr.amazonaws.com"`,
          },
        );
      }
    }
    const basicGranted = (name: string) => (registry.basicAuth ? name : undefined);
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(url.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return json(404, { errors: [{ code: 'NOT_FOUND' }] });
    const [, name, kind, reference] = m as unknown as [string, string, string, string];
    // A registry without the API has no such route: 404 before any authentication.
    if (kind === 'referrers' && !registry.referrersApi)
      return json(404, { errors: [{ code: 'NOT_FOUND', message: 'referrers API not supported' }] });
    const granted = basicGranted(name) ?? (authorization?.startsWith('Bearer ') ? tokens.get(authorization.slice(7)) : undefined);
    if (granted !== name) {
      const realm = registry.realm ?? `${registry.url}/token`;
      return json(
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        { 'www-authenticate': `Bearer realm="${realm}",service="registry.test",scope="repository:${name}:pull"` },
      );
    }
    if (kind === 'referrers') {
      if (!registry.referrersApi) return json(404, { errors: [{ code: 'NOT_FOUND', message: 'referrers API not supported' }] });
      const wanted = url.searchParams.get('artifactType');
      const manifests = images
        .filter((i) => i.repository === name)
        .map((i) => ({ image: i, manifest: JSON.parse(i.body) as ReferrerManifest }))
        .filter(({ manifest }) => manifest.subject?.digest === reference)
        .map(({ image, manifest }) => ({
          mediaType: image.mediaType,
          digest: digestOf(image),
          size: Buffer.byteLength(image.body),
          artifactType: manifest.artifactType ?? manifest.config?.mediaType,
          ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
        }))
        .concat(
          ((registry.referrers.get(`${name}@${reference}`) ?? []) as never[]).filter(
            (d: { digest?: unknown }) => !images.some((i) => i.repository === name && digestOf(i) === d.digest),
          ),
        )
        .filter((d) => !wanted || d.artifactType === wanted);
      const text = JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests });
      res.writeHead(200, {
        'content-type': INDEX,
        'content-length': Buffer.byteLength(text),
        ...(wanted ? { 'oci-filters-applied': 'artifactType' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    if (kind === 'blobs') {
      const blob = registry.blobs.get(`${name}@${reference}`);
      if (!blob) return json(404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] });
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': blob.length,
        'docker-content-digest': reference,
      });
      res.end(req.method === 'HEAD' ? undefined : blob);
      return;
    }
    // By tag, or by digest (the spec's <reference> is either).
    const image = images.find((i) => i.repository === name && (i.tag === reference || digestOf(i) === reference));
    const accepted = (accept ?? '').split(',').map((t) => t.trim().split(';')[0]);
    if (!image || !accepted.includes(image.mediaType)) {
      return json(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: reference } }] });
    }
    res.writeHead(200, {
      'content-type': image.mediaType,
      'content-length': Buffer.byteLength(image.body),
      ...(registry.omitDigestHeader ? {} : { 'docker-content-digest': digestOf(image) }),
    });
    res.end(req.method === 'HEAD' ? undefined : image.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return registry;
}
