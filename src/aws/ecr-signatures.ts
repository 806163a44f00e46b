/**
 * Signatures of ECR images (cosign `.sig` tags and Notation referrers), read through ECR's OCI
 * distribution API like any registry, with ECR's own credentials:
 * - ECR user guide, "Private registry authentication" / API GetAuthorizationToken: the answer's
 *   authorizationData[0].authorizationToken is base64 of `AWS:<password>`, valid 12 hours
 *   (expiresAt), for the registry at proxyEndpoint (https://<account>.dkr.ecr.<region>.amazonaws.com);
 *   the registry API takes it as HTTP Basic credentials (its 401 challenge is `Basic`).
 * - ECR supports the OCI 1.1 referrers API (GET /v2/<name>/referrers/<digest>), where ECR managed
 *   signing and `notation sign` with AWS Signer store Notation signatures; the tag-schema fallback
 *   is read as for any registry (src/registry/notation-signatures.ts).
 * The Lambda's role needs ecr:GetAuthorizationToken (resource *) and ecr:BatchGetImage /
 * ecr:GetDownloadUrlForLayer on the repositories (infra/). Credentials go only to an ECR host:
 * a proxyEndpoint that is not `https://<12 digits>.dkr.ecr.<region>.amazonaws.com[.cn]` is refused.
 * GHCR and Docker Hub images are handed to the OCI port unchanged.
 */
import { type ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { ImageRef } from '../core/model/deployment.ts';
import type { ImageSignatures, StoredCosignSignature, StoredNotationSignature, StoredSigstoreBundles } from '../core/ports.ts';
import { fetchCosignSignaturesWith } from '../registry/cosign-signatures.ts';
import { type ContentFetcher, fetchNotationSignatures } from '../registry/notation-signatures.ts';
import {
  type OciDigestClient,
  type RegistryCredentials,
  type RegistryEndpoint,
  RegistryLookupError,
} from '../registry/oci-digest.ts';
import { fetchSigstoreBundlesWith } from '../registry/sigstore-bundles.ts';

const ECR_ENDPOINT = /^https:\/\/\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
/** Asked again this long before ECR says the token expires. */
const REFRESH_MARGIN_MS = 10 * 60_000;

interface Access {
  endpoint: RegistryEndpoint;
  credentials: RegistryCredentials;
  expiresAt: number;
}

export interface EcrSignatureOptions {
  ecr: ECRClient;
  client: OciDigestClient;
  /** GHCR and Docker Hub. */
  others: ImageSignatures;
  /** Test-only: a loopback registry instead of the proxyEndpoint ECR names (never from an event). */
  endpointOverride?: string;
  now?: () => number;
}

export class EcrImageSignatures implements ImageSignatures {
  private access: Access | undefined;
  private readonly opts: EcrSignatureOptions;
  constructor(opts: EcrSignatureOptions) {
    this.opts = opts;
  }

  async cosignSignatures(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredCosignSignature[]> {
    if (image.registry !== 'ecr') return this.opts.others.cosignSignatures(image, pullSecret);
    return fetchCosignSignaturesWith(await this.fetcher(image.repository), image.digest);
  }

  async notationSignatures(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredNotationSignature[]> {
    if (image.registry !== 'ecr') return this.opts.others.notationSignatures(image, pullSecret);
    return fetchNotationSignatures(await this.fetcher(image.repository), image.digest);
  }

  /** Keyless cosign: Sigstore bundles (or older keyless `.sig` layers) of ECR images through the same token. */
  async sigstoreBundles(image: ImageRef & { digest: string }, pullSecret?: string): Promise<StoredSigstoreBundles> {
    if (image.registry !== 'ecr') {
      if (!this.opts.others.sigstoreBundles) throw new RegistryLookupError('this runtime reads no Sigstore bundles');
      return this.opts.others.sigstoreBundles(image, pullSecret);
    }
    return fetchSigstoreBundlesWith(await this.fetcher(image.repository), image.digest);
  }

  publicGoodTrustedRoot(): Promise<unknown> {
    if (!this.opts.others.publicGoodTrustedRoot) return Promise.reject(new Error('this runtime has no Sigstore trusted root'));
    return this.opts.others.publicGoodTrustedRoot();
  }

  private async fetcher(repository: string): Promise<ContentFetcher> {
    const access = await this.token();
    return async (kind, reference, query) => {
      try {
        return await this.opts.client.fetchFrom(access.endpoint, repository, kind, reference, access.credentials, query);
      } catch (error) {
        // The pull-secret advice of the OCI client does not apply: ECR's answer is about IAM.
        const status = /\(HTTP (401|403)\)/.exec((error as Error).message)?.[1];
        if (!status) throw error;
        throw new RegistryLookupError(
          `ECR refused to show ${repository} ${kind} ${reference} (HTTP ${status}): the role needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on that repository`,
        );
      }
    };
  }

  private async token(): Promise<Access> {
    const now = (this.opts.now ?? Date.now)();
    if (this.access && this.access.expiresAt - REFRESH_MARGIN_MS > now) return this.access;
    let data: { authorizationToken?: string; proxyEndpoint?: string; expiresAt?: Date } | undefined;
    try {
      data = (await this.opts.ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    } catch (error) {
      throw new RegistryLookupError(`ECR GetAuthorizationToken failed: ${(error as Error).message}`, { cause: error });
    }
    const decoded = data?.authorizationToken ? Buffer.from(data.authorizationToken, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon <= 0 || !data?.proxyEndpoint) {
      throw new RegistryLookupError(
        'ECR GetAuthorizationToken answered no token and endpoint (expected base64 "AWS:<password>")',
      );
    }
    const proxy = data.proxyEndpoint.replace(/\/+$/, '');
    if (!this.opts.endpointOverride && !ECR_ENDPOINT.test(proxy)) {
      throw new RegistryLookupError(`ECR named registry endpoint ${proxy}, which is not an ECR host: no credentials sent`);
    }
    const base = this.opts.endpointOverride ?? proxy;
    this.access = {
      endpoint: { base, authHosts: [new URL(base).hostname] },
      credentials: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) },
      expiresAt: data.expiresAt ? data.expiresAt.getTime() : now + 3_600_000,
    };
    return this.access;
  }
}
