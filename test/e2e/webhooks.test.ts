/**
 * Triggers end to end in the local runtime, through its HTTP server, with real ansible-playbook:
 * a signed GitHub tag push releases demo-api (the image build is a labelled rehearsal: this
 * machine has no Docker engine), the local registry stand-in announces the push, and the
 * deployment runs to SUCCEEDED; GHCR and Docker Hub pushes deploy their services.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';
import { dockerhubPush, ghcrPublished, githubTagPush, signedGithubRequest } from '../../src/local/webhook-payloads.ts';
import { freePort, startTestRuntime, TEST_SECRETS, type TestRuntime } from '../support/runtime.ts';
import { fixture } from '../support/webhooks.ts';

function dockerEngineWorks(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

/** An inventory like the demo's, for one more service on its own port and folder. */
function inventory(dir: string, name: string, port: number): string {
  const file = path.join(dir, `${name}-inventory.yml`);
  const text = readFileSync(path.join(PROJECT_ROOT, 'examples/demo/ansible/inventory.yml'), 'utf8')
    .replace(/ {4}prod:\n(?: {6}.*\n)+/, '')
    .replace('demo-staging:', `${name}-staging:`)
    .replace('app_deploy_port: 4601', `app_deploy_port: ${port}`)
    .replace('/targets/staging', `/targets/${name}-staging`);
  writeFileSync(file, text);
  return file;
}

interface Answer {
  outcomes: { status: string; service?: string; deploymentId: string; releaseId: string }[];
  reason?: string;
  error?: string;
}

const service = (name: string, registry: string, repository: string, inventoryFile: string) => `
  - name: ${name}
    image: { registry: ${registry}, repository: ${repository} }
    target: { kind: ansible, inventory: ${inventoryFile} }
    environments: [{ name: staging, bake: 1s }]`;

async function version(port: number): Promise<string | undefined> {
  try {
    return ((await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string }).version;
  } catch {
    return undefined;
  }
}

describe.skipIf(dockerEngineWorks())('Triggers e2e (local runtime, real ansible-playbook, no Docker engine)', () => {
  let rt: TestRuntime;
  const ports = { ghcr: 0, hub: 0 };
  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-e2e-hooks-'));
    ports.ghcr = await freePort();
    ports.hub = await freePort();
    rt = await startTestRuntime({
      dataDir: dir,
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      source: '{ github: coconut-demo/demo-api, onTag: build, context: examples/demo/demo-app }',
      extraYaml: [
        service('ghcr-api', 'ghcr', 'coconut-demo/ghcr-api', inventory(dir, 'ghcr-api', ports.ghcr)),
        service('hub-api', 'dockerhub', 'coconut/hub-api', inventory(dir, 'hub-api', ports.hub)),
      ].join(''),
    });
  });
  afterAll(() => rt?.stop());
  // Real Ansible on a shared 2-core machine: generous time limits, never a speed assertion.

  const post = async (route: string, request: { headers: Record<string, string>; body: string }) => {
    const res = await fetch(`${rt.url}${route}`, { method: 'POST', headers: request.headers, body: request.body });
    return {
      status: res.status,
      body: (await res.json()) as Answer,
      replayed: res.headers.get('x-coconut-delivery'),
    };
  };

  it('releases a signed tag push: build rehearsed, registry stand-in announces it, deploy SUCCEEDED; once', async () => {
    const payload = githubTagPush({ repository: 'coconut-demo/demo-api', tag: '1.4.0', sender: 'octocat' });
    const request = await signedGithubRequest(TEST_SECRETS.githubWebhookSecret, 'push', payload, 'e2e-delivery-1');
    const first = await post('/webhooks/github', request);
    expect(first.status).toBe(202);
    expect(first.body.outcomes).toEqual([expect.objectContaining({ status: 'release-started', service: 'demo-api' })]);
    const releaseId = first.body.outcomes[0]!.releaseId;

    const release = await rt.engine.waitFor(releaseId);
    expect(release).toMatchObject({ machine: 'release', status: 'SUCCEEDED' });
    const lines = rt.log.lines.map((l) => l.message);
    expect(lines.some((l) => /REHEARSAL \(PLANNED, nothing ran\): (`docker info` failed|docker not found on PATH)/.test(l))).toBe(
      true,
    );
    expect(lines).toContain(
      'local registry stand-in: announcing the push of demo-api:1.4.0 as ecr would (the image build was a REHEARSAL: no image was built or pushed)',
    );

    const deployment = (await rt.ports.store.listDeployments({ service: 'demo-api' })).find((d) => d.version === '1.4.0');
    expect(deployment?.trigger.kind).toBe('ecr-push');
    const prod = await rt.waitForStage(deployment!.deploymentId, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK'], 300_000);
    expect(prod.state).toBe('SUCCEEDED');
    expect(await rt.appVersion('prod')).toBe('1.4.0');
    const status = (await (await rt.fetch('/api/status')).json()) as {
      services: { service: string; environments: { current?: { version: string } }[] }[];
    };
    expect(status.services.find((s) => s.service === 'demo-api')?.environments.map((e) => e.current?.version)).toEqual([
      '1.4.0',
      '1.4.0',
    ]);

    // GitHub redelivers the same delivery: the same answer, nothing new runs.
    const executions = rt.engine.list().length;
    const again = await post('/webhooks/github', request);
    expect(again).toMatchObject({ status: 202, body: first.body, replayed: 'replayed' });
    // ...and the `create` delivery of the same tag starts nothing either.
    const create = { ...fixture('github/create-tag'), ref: '1.4.0', repository: payload.repository };
    const created = await post('/webhooks/github', await signedGithubRequest(TEST_SECRETS.githubWebhookSecret, 'create', create));
    expect(created.body.outcomes).toEqual([expect.objectContaining({ status: 'release-duplicate' })]);
    await rt.idle();
    expect(rt.engine.list()).toHaveLength(executions);
  }, 420_000);

  it('deploys a GHCR push (signed registry_package) and a Docker Hub push (token URL) to their services', async () => {
    const ghcr = ghcrPublished({ owner: 'coconut-demo', name: 'ghcr-api', tag: '2.1.0', sender: 'octocat' });
    const fromGhcr = await post(
      '/webhooks/github',
      await signedGithubRequest(TEST_SECRETS.githubWebhookSecret, 'registry_package', ghcr),
    );
    expect(fromGhcr.body.outcomes).toEqual([expect.objectContaining({ status: 'started', service: 'ghcr-api' })]);
    const hub = dockerhubPush({ repository: 'coconut/hub-api', tag: '3.2.1', pusher: 'someone' });
    const fromHub = await post(`/webhooks/dockerhub/${TEST_SECRETS.dockerhubToken}`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(hub),
    });
    expect(fromHub.body.outcomes).toEqual([expect.objectContaining({ status: 'started', service: 'hub-api' })]);
    for (const outcome of [fromGhcr.body.outcomes[0]!, fromHub.body.outcomes[0]!]) {
      expect((await rt.waitForStage(outcome.deploymentId, 'staging', ['SUCCEEDED', 'FAILED'], 300_000)).state).toBe('SUCCEEDED');
    }
    expect(await version(ports.ghcr)).toBe('2.1.0');
    expect(await version(ports.hub)).toBe('3.2.1');
  }, 420_000);

  it('starts nothing for a bad signature, a bad tag, an unknown repository or an oversized body', async () => {
    await rt.idle();
    const before = rt.engine.list().length;
    const payload = githubTagPush({ repository: 'coconut-demo/demo-api', tag: '1.5.0', sender: 'octocat' });
    const forged = await signedGithubRequest('not-the-secret', 'push', payload);
    expect(await post('/webhooks/github', forged)).toMatchObject({ status: 401, body: { error: 'invalid signature' } });
    const badTag = githubTagPush({ repository: 'coconut-demo/demo-api', tag: 'v1;rm -rf /', sender: 'octocat' });
    const bad = await post('/webhooks/github', await signedGithubRequest(TEST_SECRETS.githubWebhookSecret, 'push', badTag));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('cannot be an image tag');
    const other = githubTagPush({ repository: 'someone/else', tag: '1.5.0', sender: 'octocat' });
    const unknown = await post('/webhooks/github', await signedGithubRequest(TEST_SECRETS.githubWebhookSecret, 'push', other));
    expect(unknown).toMatchObject({ status: 202, body: { outcomes: [] } });
    expect(unknown.body.reason).toContain('no service in coconut.yaml has source.github "someone/else"');
    const huge = JSON.stringify({ ...payload, padding: 'x'.repeat(2 * 1024 * 1024) });
    const res = await fetch(`${rt.url}/webhooks/github`, {
      method: 'POST',
      headers: (await signedGithubRequest(TEST_SECRETS.githubWebhookSecret, 'push', payload)).headers,
      body: huge,
    });
    expect(res.status).toBe(413);
    await rt.idle();
    expect(rt.engine.list()).toHaveLength(before);
  }, 120_000);
});
