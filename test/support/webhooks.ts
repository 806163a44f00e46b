/**
 * Webhook handlers on a real store (dynalite, through the DynamoStore adapter) with an
 * orchestrator that only counts: it answers StartExecution the way Step Functions does (a name
 * seen before starts nothing) and records every execution that really started.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HttpResult } from '../../functions/commons/http.ts';
import { createGithubWebhookHandler } from '../../functions/github-webhook.ts';
import { createRegistryWebhookHandler } from '../../functions/registry-webhook.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { Ports, WebhookSecrets } from '../../src/core/handler-ports.ts';
import { type Orchestrator, silentNotifier, systemClock } from '../../src/core/ports.ts';
import { lambdaContext } from '../../src/local/engine.ts';
import { memoryLog } from './runtime.ts';
import { dynaliteStore } from './stores.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
}

export const SECRET = 'a-test-webhook-secret';
export const TOKEN = 'a-test-dockerhub-token';

export interface Started {
  machine: string;
  name: string;
  input: unknown;
}

export function countingOrchestrator(): Orchestrator & { started: Started[]; calls: number } {
  const names = new Set<string>();
  const o = {
    started: [] as Started[],
    calls: 0,
    async startExecution(machine: 'deploy' | 'release', name: string, input: unknown) {
      o.calls++;
      const executionArn = `arn:aws:states:test:000000000000:execution:coconut-${machine}:${name}`;
      if (names.has(name)) return { executionArn, started: false };
      names.add(name);
      o.started.push({ machine, name, input });
      return { executionArn, started: true };
    },
    async sendTaskSuccess() {},
    async sendTaskFailure() {},
  };
  return o;
}

export interface RequestOptions {
  headers?: Record<string, string | undefined>;
  path?: string;
  pathParameters?: Record<string, string>;
}

export function httpEvent(body: string | undefined, routeKey: string, opts: RequestOptions = {}): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = v;
  return {
    version: '2.0',
    routeKey,
    rawPath: opts.path ?? routeKey.split(' ')[1] ?? '/',
    rawQueryString: '',
    headers,
    ...(opts.pathParameters ? { pathParameters: opts.pathParameters } : {}),
    requestContext: {
      http: { method: 'POST', path: opts.path ?? '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: '' },
    },
    body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

export async function githubHeaders(
  body: string,
  event: string,
  delivery: string,
  /** null: no signature header at all. */
  secret: string | null = SECRET,
): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': delivery,
    // Signed here with node:crypto as GitHub documents it, independently of the handler's library.
    ...(secret ? { 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } : {}),
  };
}

export const HANDLER_CONFIG = `services:
  - name: demo-api
    image: { registry: ecr, repository: demo-api, tagPattern: '^v?\\d+\\.\\d+\\.\\d+$' }
    source: { github: Codertocat/Hello-World, onTag: build, context: examples/demo/demo-app }
    target: { kind: ansible, inventory: inventory.yml }
    environments: [{ name: staging }]
  - name: tagged-api
    image: { registry: ghcr, repository: codertocat/tagged-api, tagPattern: '^v?\\d+\\.\\d+\\.\\d+$|^simple-tag$' }
    source: { github: codertocat/hello-world, onTag: deploy }
    target: { kind: ansible, inventory: inventory.yml }
    environments: [{ name: staging }]
  - name: ghcr-api
    image: { registry: ghcr, repository: codertocat/hello-world-npm, tagPattern: '^v?\\d+\\.\\d+\\.\\d+$' }
    target: { kind: ansible, inventory: inventory.yml }
    environments: [{ name: staging }]
  - name: hub-api
    image: { registry: dockerhub, repository: svendowideit/testhook, tagPattern: '^latest$|^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: ansible, inventory: inventory.yml }
    environments: [{ name: staging }]
`;

export async function webhookHarness(opts: { secrets?: WebhookSecrets; config?: string } = {}) {
  const { store, dynamo } = await dynaliteStore();
  const orchestrator = countingOrchestrator();
  const log = memoryLog();
  const ports: Ports = {
    config: parseConfig(opts.config ?? HANDLER_CONFIG),
    store,
    orchestrator,
    alarms: { getStates: async () => [] },
    notifier: silentNotifier,
    clock: systemClock,
    log,
    secrets: opts.secrets ?? { githubWebhookSecret: SECRET, dockerhubToken: TOKEN },
  };
  const provider = async () => ports;
  const github = createGithubWebhookHandler(provider);
  const registry = createRegistryWebhookHandler(provider);
  const call = async (handler: typeof github, event: APIGatewayProxyEventV2) => {
    const result = (await handler(event, lambdaContext('test'))) as HttpResult;
    return { status: result.statusCode ?? 200, body: JSON.parse(result.body ?? 'null'), headers: result.headers ?? {} };
  };
  return {
    store,
    orchestrator,
    log,
    ports,
    /** A GitHub delivery; signed with SECRET unless `secret` is null. */
    github: async (event: string, payload: unknown, delivery: string, o: { secret?: string | null; raw?: string } = {}) => {
      const body = o.raw ?? JSON.stringify(payload);
      const headers = await githubHeaders(body, event, delivery, o.secret === undefined ? SECRET : o.secret);
      return call(github, httpEvent(body, 'POST /webhooks/github', { headers }));
    },
    githubRaw: (body: string | undefined, headers: Record<string, string | undefined>) =>
      call(github, httpEvent(body, 'POST /webhooks/github', { headers })),
    dockerhub: (body: string | undefined, token: string, headers: Record<string, string | undefined> = {}) =>
      call(
        registry,
        httpEvent(body, 'POST /webhooks/dockerhub/{token}', {
          headers: { 'content-type': 'application/json', ...headers },
          pathParameters: { token },
        }),
      ),
    stop: () => dynamo.stop(),
  };
}

/** Sets package_version.container_metadata.tag of a `package` / `registry_package` fixture. */
export function withContainerTag(
  payload: Record<string, unknown>,
  key: 'package' | 'registry_package',
  tag: { name: string; digest: string },
): Record<string, unknown> {
  const pkg = payload[key] as { package_version: { container_metadata: { tag: unknown } } };
  pkg.package_version.container_metadata.tag = tag;
  return payload;
}
