/**
 * Webhook ingress of the local server: a signed tag push, the same delivery over and over (as a
 * GitHub redelivery storm would be), under autocannon for 10 s on loopback. Every request goes
 * through the real server, API Gateway event, middy stack and HMAC check; the delivery answer
 * comes from the dedup cache/store, so nothing new starts. Figures: requests/s and p99 latency.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startRuntime } from '../src/local/runtime.ts';
import { githubTagPush, signedGithubRequest } from '../src/local/webhook-payloads.ts';
import { type Bench, type Figure, noopSource, quietLog } from './harness.ts';

const SECRET = 'bench-webhook-secret';

async function signedTagPushLoad(): Promise<Figure[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-bench-hooks-'));
  writeFileSync(
    path.join(dir, 'coconut.yaml'),
    `services:
  - name: svc
    image: { registry: ecr, repository: svc }
    source: { github: bench-org/svc, onTag: deploy }
    target: { kind: ansible, inventory: none.yml }
    environments: [{ name: prod, bake: 0 }]
`,
  );
  const rt = await startRuntime({
    configPath: path.join(dir, 'coconut.yaml'),
    port: 0,
    dataDir: dir,
    sourceDir: noopSource(),
    log: quietLog,
    probes: false,
    secrets: { githubWebhookSecret: SECRET },
  });
  try {
    const request = await signedGithubRequest(
      SECRET,
      'push',
      githubTagPush({ repository: 'bench-org/svc', tag: '1.0.0', sender: 'bench' }),
      'bench-delivery-1',
    );
    // The first delivery starts the one deployment; the load is its redelivery.
    const first = await fetch(`${rt.url}/webhooks/github`, { method: 'POST', headers: request.headers, body: request.body });
    if (first.status !== 202) throw new Error(`the first delivery was answered ${first.status}: ${await first.text()}`);
    await rt.idle();
    const executions = rt.engine.list().length;
    const result = await autocannon({
      url: `${rt.url}/webhooks/github`,
      method: 'POST',
      headers: request.headers,
      body: request.body,
      connections: 10,
      duration: 10,
    });
    await rt.idle();
    const started = rt.engine.list().length - executions;
    process.stdout.write(
      `  ${result.requests.total} requests, ${result['2xx']} answered 2xx, ${result.non2xx} other, ${result.errors} errors; ${started} executions started by the load\n`,
    );
    return [
      {
        name: 'signed deduplicated tag push: requests/s (10 s, 10 connections)',
        value: Math.round(result.requests.average),
        unit: 'req/s',
        target: '>= 3000',
        better: 'higher',
      },
      {
        name: 'signed deduplicated tag push: p99 latency',
        value: result.latency.p99,
        unit: 'ms',
        target: '< 25',
        better: 'lower',
      },
    ];
  } finally {
    await rt.stop();
  }
}

export const webhooksBench: Bench = {
  name: 'webhooks (local server ingress)',
  run: signedTagPushLoad,
};
