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
import { TOKEN_HEADER } from '../src/local/request-guard.ts';
import { startRuntime } from '../src/local/runtime.ts';
import { githubTagPush, signedGithubRequest } from '../src/local/webhook-payloads.ts';
import { fixtureSource } from '../test/support/fixture-source.ts';
import { type Bench, ecrPushEntry, type Figure, noopSource, quietLog } from './harness.ts';

const SECRET = 'bench-webhook-secret';

const BUSY_SERVICES = 100;

/**
 * `busy`: 100 other services deploy during the measurement (builds that take 3 s each), so the
 * ingress shares the process with the engine, the store and the build runner.
 */
async function signedTagPushLoad(busy: boolean): Promise<Figure[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-bench-hooks-'));
  const others = busy
    ? Array.from(
        { length: BUSY_SERVICES },
        (_, i) => `  - name: busy-${i}
    image: { registry: ecr, repository: busy-${i} }
    target: { kind: ansible, inventory: none.yml }
    environments: [{ name: prod, bake: 0 }]
`,
      ).join('')
    : '';
  writeFileSync(
    path.join(dir, 'coconut.yaml'),
    `services:
  - name: svc
    image: { registry: ecr, repository: svc }
    source: { github: bench-org/svc, onTag: deploy }
    target: { kind: ansible, inventory: none.yml }
    environments: [{ name: prod, bake: 0 }]
${others}`,
  );
  const rt = await startRuntime({
    configPath: path.join(dir, 'coconut.yaml'),
    port: 0,
    dataDir: dir,
    sourceDir: busy
      ? fixtureSource({ 'ansible-deploy': ['sleep 3', 'export COCONUT_DEPLOYED_VERSION="$COCONUT_VERSION"'] })
      : noopSource(),
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
    if (busy) {
      // Deployments of the other services start now and run during the measurement.
      const entries = Array.from({ length: BUSY_SERVICES }, (_, i) => ecrPushEntry(`busy-${i}`, '1.0.0'));
      for (let k = 0; k < entries.length; k += 10) {
        await fetch(`${rt.url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [TOKEN_HEADER]: rt.operatorToken },
          body: JSON.stringify({ Entries: entries.slice(k, k + 10) }),
        }).then((r) => r.arrayBuffer());
      }
    }
    const result = await autocannon({
      url: `${rt.url}/webhooks/github`,
      method: 'POST',
      headers: request.headers,
      body: request.body,
      connections: 10,
      duration: 10,
    });
    const finishedDuring = rt.engine.list().filter((e) => e.status === 'SUCCEEDED').length - 1;
    await rt.idle();
    const started = rt.engine.list().length - executions - (busy ? BUSY_SERVICES : 0);
    process.stdout.write(
      `  ${busy ? `while ${BUSY_SERVICES} deployments run (${finishedDuring} finished during the 10 s): ` : ''}${result.requests.total} requests, ${result['2xx']} answered 2xx, ${result.non2xx} other, ${result.errors} errors; ${started} executions started by the load\n`,
    );
    const label = busy ? 'signed deduplicated tag push while 100 deployments run' : 'signed deduplicated tag push';
    return [
      {
        name: `${label}: requests/s (10 s, 10 connections)`,
        value: Math.round(result.requests.average),
        unit: 'req/s',
        ...(busy ? {} : { target: '>= 3000' }),
        better: 'higher',
      },
      {
        name: `${label}: p99 latency`,
        value: result.latency.p99,
        unit: 'ms',
        ...(busy ? {} : { target: '< 25' }),
        better: 'lower',
      },
    ];
  } finally {
    await rt.stop();
  }
}

export const webhooksBench: Bench = {
  name: 'webhooks (local server ingress)',
  run: async () => [...(await signedTagPushLoad(false)), ...(await signedTagPushLoad(true))],
};
