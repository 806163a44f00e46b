/**
 * A stand-in for API Gateway's IAM authorization of an HTTP API, on 127.0.0.1, in front of a
 * handler. The rules it enforces are AWS's, not ours:
 * - "When IAM authorization is enabled, clients must use Signature Version 4 (SigV4) to sign
 *   their requests with AWS credentials. API Gateway invokes your API route only if the client
 *   has execute-api permission for the route."
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
 * - The signature is checked by recomputing it with the AWS SDK's own signer
 *   (@smithy/signature-v4, service execute-api) from the request AS RECEIVED (method, Host
 *   header, raw path, raw query, the headers named in SignedHeaders, the body) with the secret
 *   of the access key the Authorization header names, at its X-Amz-Date; the payload hash is
 *   recomputed from the body, never taken from the client's x-amz-content-sha256. A request
 *   older or newer than 5 minutes is refused ("a request must reach AWS within five minutes of
 *   the time stamp in the request": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html).
 * - A refusal is 403 {"message": …} before the handler runs, as API Gateway answers.
 * - The handler gets an APIGatewayProxyEventV2WithIAMAuthorizer (@types/aws-lambda): the
 *   caller in requestContext.authorizer.iam (accessKey, accountId, callerId, userArn, userId…).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readBody, routeMatcher, send, sendJson, toHttpEvent } from '../../src/local/http-event.ts';

/** An IAM identity with an access key, as STS would describe it. */
export interface TestIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The caller ARN (GetCallerIdentity's Arn): user, or assumed-role session. */
  arn: string;
  /** GetCallerIdentity's UserId: AIDA… for a user, AROA…:SESSION for a role session. */
  userId: string;
}

export interface GatewayLog {
  method: string;
  path: string;
  status: number;
  /** Why a request was refused before the handler. */
  refused?: string;
  caller?: string;
}

type Handler = (event: APIGatewayProxyEventV2WithIAMAuthorizer) => Promise<APIGatewayProxyStructuredResultV2>;

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z-]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;
/** Headers the signer makes itself from the date, the credentials and the body. */
const GENERATED = new Set(['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token']);

function amzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

/** Checks the SigV4 signature of a received request; the caller, or why it is refused. */
export async function verifySigV4(
  req: IncomingMessage,
  body: Buffer,
  identities: TestIdentity[],
  region: string,
  now = new Date(),
): Promise<{ identity: TestIdentity } | { refused: string }> {
  const header = req.headers.authorization;
  if (!header) return { refused: 'Forbidden (no Authorization header: the request is not signed)' };
  const m = AUTH.exec(header);
  if (!m) return { refused: 'Forbidden (Authorization is not a SigV4 header)' };
  const [, keyId, day, scopeRegion, service, signedList] = m as unknown as string[];
  const identity = identities.find((i) => i.accessKeyId === keyId);
  if (!identity) return { refused: 'The security token included in the request is invalid.' };
  if (service !== 'execute-api' || scopeRegion !== region)
    return { refused: `Credential should be scoped to a valid region and service execute-api (got ${scopeRegion}/${service})` };
  const date = amzDate(String(req.headers['x-amz-date'] ?? ''));
  const dateDay = date?.toISOString().slice(0, 10).replace(/-/g, '');
  if (!date || dateDay !== day) return { refused: 'Date in Credential scope does not match X-Amz-Date' };
  if (Math.abs(now.getTime() - date.getTime()) > 5 * 60_000) return { refused: 'Signature expired' };
  if ((req.headers['x-amz-security-token'] ?? undefined) !== identity.sessionToken)
    return { refused: 'The security token included in the request is invalid.' };
  const signed = (signedList as string).split(';');
  if (!signed.includes('host')) return { refused: 'host must be a signed header' };
  const headers: Record<string, string> = {};
  for (const name of signed) {
    if (GENERATED.has(name)) continue;
    const value = req.headers[name];
    if (value === undefined) return { refused: `signed header ${name} is missing` };
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(q < 0 ? '' : raw.slice(q + 1))) {
    const seen = query[k];
    query[k] = seen === undefined ? v : Array.isArray(seen) ? [...seen, v] : [seen, v];
  }
  const [hostname, port] = (headers.host as string).split(':');
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials: {
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
    },
    sha256: Sha256,
  });
  const expected = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: hostname as string,
      ...(port ? { port: Number(port) } : {}),
      path: q < 0 ? raw : raw.slice(0, q),
      query,
      headers,
      ...(body.length ? { body: body.toString('utf8') } : {}),
    },
    { signingDate: date },
  );
  if (expected.headers.authorization !== header) {
    return {
      refused:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return { identity };
}

export interface IamGateway {
  url: string;
  log: GatewayLog[];
  close(): Promise<void>;
}

export async function startIamGateway(opts: {
  routes: string[];
  handler: Handler;
  identities: TestIdentity[];
  region: string;
  accountId?: string;
}): Promise<IamGateway> {
  const matchers = opts.routes.map((route) => ({ route, ...routeMatcher(route) }));
  const log: GatewayLog[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = await readBody(req, 6 * 1024 * 1024);
      const entry: GatewayLog = { method: req.method ?? 'GET', path: url.pathname, status: 0 };
      log.push(entry);
      const verdict = await verifySigV4(req, body, opts.identities, opts.region);
      if ('refused' in verdict) {
        entry.status = 403;
        entry.refused = verdict.refused;
        sendJson(res, 403, { message: verdict.refused });
        return;
      }
      const found = matchers
        .filter((m) => m.method === req.method)
        .map((m) => ({ route: m.route, params: m.test(url.pathname) }))
        .find((m) => m.params !== undefined);
      if (!found) {
        entry.status = 404;
        sendJson(res, 404, { message: 'Not Found' });
        return;
      }
      const event = toHttpEvent(
        req,
        url,
        body,
        found.route,
        found.params ?? {},
      ) as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
      const { identity } = verdict;
      const accountId = opts.accountId ?? (identity.arn.split(':')[4] as string);
      event.requestContext.accountId = accountId;
      event.requestContext.authorizer = {
        iam: {
          accessKey: identity.accessKeyId,
          accountId,
          callerId: identity.userId,
          cognitoIdentity: null,
          principalOrgId: '',
          userArn: identity.arn,
          userId: identity.userId,
        },
      };
      entry.caller = identity.arn;
      const result = await opts.handler(event);
      entry.status = result.statusCode ?? 200;
      send(res, result);
    })().catch((error) => {
      sendJson(res, 500, { message: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
