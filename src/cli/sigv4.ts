/**
 * SigV4 signing of the CLI's requests to Coconut's HTTP API on AWS, for a stage deployed
 * without an `auth:` section: then every non-public route uses IAM authorization, and API
 * Gateway invokes the route only for a request signed with AWS credentials whose identity may
 * call execute-api:Invoke on it
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html).
 *
 * The signing is the AWS SDK's own (@smithy/signature-v4, service `execute-api`), and the
 * credentials come from the SDK's standard chain (fromNodeProviderChain: environment, SSO,
 * shared config/credentials files and AWS_PROFILE, process, web identity, ECS/EC2 metadata),
 * so whatever works for `aws` works here. Secrets never reach the output.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { CommandFailed } from './errors.ts';

/** An HTTP API's default endpoint: https://{api-id}.execute-api.{region}.amazonaws.com (.cn in China). */
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$/;

/** The region of an API Gateway default endpoint, or undefined for any other host. */
export function regionOfApiHost(hostname: string): string | undefined {
  return EXECUTE_API_HOST.exec(hostname)?.[1];
}

/** Is this URL an API Gateway endpoint on AWS (as opposed to the local runtime)? */
export function isAwsApiUrl(url: URL): boolean {
  return regionOfApiHost(url.hostname) !== undefined;
}

/** The region to sign for: the endpoint's, else AWS_REGION / AWS_DEFAULT_REGION (custom domains). */
export function signingRegion(url: URL, env: NodeJS.ProcessEnv = process.env): string {
  const region = regionOfApiHost(url.hostname) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new CommandFailed(
      `cannot tell the AWS region of ${url.origin} to sign requests for it: set AWS_REGION to the region Coconut is deployed in`,
    );
  }
  return region;
}

type CredentialChain = ReturnType<typeof fromNodeProviderChain>;
type Credentials = Awaited<ReturnType<CredentialChain>>;

let provider: CredentialChain | undefined;

/** The SDK's chain, made once per process (it caches what it resolved, and refreshes it when it expires). */
function credentialChain(): CredentialChain {
  provider ??= fromNodeProviderChain();
  return provider;
}

async function credentials(url: URL): Promise<Credentials> {
  try {
    return await credentialChain()();
  } catch (error) {
    const profile = process.env.AWS_PROFILE ? ` (AWS_PROFILE=${process.env.AWS_PROFILE})` : '';
    throw new CommandFailed(
      `${url.origin} uses AWS IAM authorization, and no AWS credentials were found to sign the request${profile}: ${(error as Error).message.split('\n')[0]}. ` +
        'Set AWS_PROFILE to a configured profile, run `aws configure` (access keys) or `aws sso login --profile NAME` (IAM Identity Center), ' +
        'or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); the identity needs execute-api:Invoke on the API. ' +
        'If the stage was deployed with an auth: section, set COCONUT_TOKEN to a JWT instead.',
    );
  }
}

/** RFC 3986 encoding, as SigV4 canonicalises query strings (and so what is sent matches what is signed). */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface SignedRequest {
  /** The URL to send: the query rewritten in the encoding that was signed. */
  url: string;
  /** Headers to send: what was passed in plus authorization, x-amz-date, x-amz-content-sha256 (and x-amz-security-token). */
  headers: Record<string, string>;
}

/**
 * Signs one request for API Gateway (service `execute-api`). The `host` header is signed as
 * fetch will send it (URL.host: the port only when it is not the default one) and not passed
 * back: fetch sets it itself.
 */
export async function signRequest(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<SignedRequest> {
  const region = signingRegion(url);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: await credentials(url), sha256: Sha256 });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    // The path as it goes on the wire (percent-encoded once); the signer encodes it again,
    // as SigV4 wants for every service but S3.
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
    ...(body === undefined ? {} : { body }),
  });
  const { host: _host, ...sendHeaders } = signed.headers;
  const search = Object.entries(query)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${rfc3986(k)}=${rfc3986(one)}`))
    .join('&');
  return { url: `${url.origin}${url.pathname}${search ? `?${search}` : ''}`, headers: sendHeaders };
}
