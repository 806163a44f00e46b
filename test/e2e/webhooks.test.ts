/**
 * Triggers end to end in the local runtime, through its HTTP server, with real ansible-playbook:
 * a signed GitHub tag push releases demo-api, the local registry stand-in announces the push,
 * and the deployment runs to SUCCEEDED; GHCR and Docker Hub pushes deploy their services.
 *
 * Whether docker works decides what a release's image build does, so the builds' PATH is set
 * by the test, never taken from the machine: without docker the build is a labelled rehearsal;
 * with a FAKE docker (test/support/tool-path.ts, not Docker) build-image.yml really runs, the
 * digest it exports travels with the announced push, and the deployment deploys that digest;
 * with docker on PATH but no engine behind it (`docker info` fails) it is a rehearsal again.
 * Every path runs on every machine: none is skipped because the machine has or lacks Docker.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';
import { dockerhubPush, ghcrPublished, githubTagPush, signedGithubRequest } from '../../src/local/webhook-payloads.ts';
import { freePort, startTestRuntime, TEST_SECRETS, type TestRuntime } from '../support/runtime.ts';
import { fakeDocker, pathWithout } from '../support/tool-path.ts';
import { fixture } from '../support/webhooks.ts';

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

describe('Triggers e2e (local runtime, real ansible-playbook, builds without docker on PATH)', () => {
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
      // The machine's PATH without docker, whether or not this machine has it.
      buildPath: pathWithout('docker'),
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

  it('releases a signed tag push: build rehearsed (no docker), registry stand-in announces it, deploy SUCCEEDED; once', async () => {
    const payload = githubTagPush({ repository: 'coconut-demo/demo-api', tag: '1.4.0', sender: 'octocat' });
    const request = await signedGithubRequest(TEST_SECRETS.githubWebhookSecret, 'push', payload, 'e2e-delivery-1');
    const first = await post('/webhooks/github', request);
    expect(first.status).toBe(202);
    expect(first.body.outcomes).toEqual([expect.objectContaining({ status: 'release-started', service: 'demo-api' })]);
    const releaseId = first.body.outcomes[0]!.releaseId;

    const release = await rt.engine.waitFor(releaseId);
    expect(release).toMatchObject({ machine: 'release', status: 'SUCCEEDED' });
    const lines = rt.log.lines.map((l) => l.message);
    expect(lines.some((l) => l.includes('REHEARSAL (PLANNED, nothing ran): docker not found on PATH'))).toBe(true);
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

describe('Triggers e2e: the image build when docker is on PATH (a FAKE docker executable), real ansible-playbook', () => {
  let rt: TestRuntime;
  let port = 0;
  const digest = `sha256:${'d'.repeat(64)}`;
  const docker = fakeDocker(digest);
  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-e2e-hooks-docker-'));
    port = await freePort();
    rt = await startTestRuntime({
      dataDir: dir,
      // The FAKE docker first, and no other docker behind it.
      buildPath: `${docker.bin}${path.delimiter}${pathWithout('docker')}`,
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      source: '{ github: coconut-demo/demo-api, onTag: build, context: examples/demo/demo-app }',
      extraYaml: `
  - name: ghcr-api
    image: { registry: ghcr, repository: coconut-demo/ghcr-api }
    source: { github: coconut-demo/ghcr-api, onTag: build, context: examples/demo/demo-app, dockerfile: examples/demo/demo-app/Dockerfile }
    target: { kind: ansible, inventory: ${inventory(dir, 'ghcr-api', port)} }
    environments: [{ name: staging, bake: 1s }]`,
    });
  });
  afterAll(() => rt?.stop());

  const tagPush = async (repository: string, tag: string) => {
    const request = await signedGithubRequest(
      TEST_SECRETS.githubWebhookSecret,
      'push',
      githubTagPush({ repository, tag, sender: 'octocat' }),
    );
    const res = await fetch(`${rt.url}/webhooks/github`, { method: 'POST', headers: request.headers, body: request.body });
    const body = (await res.json()) as Answer;
    expect(body.outcomes).toEqual([expect.objectContaining({ status: 'release-started' })]);
    return body.outcomes[0]!.releaseId;
  };
  const exported = (output: unknown) =>
    Object.fromEntries(
      ((output as { build?: { Exported?: { Name: string; Value: string }[] } }).build?.Exported ?? []).map((v) => [
        v.Name,
        v.Value,
      ]),
    );
  const deploymentOf = async (service: string, version: string) => {
    for (let i = 0; i < 300; i++) {
      const found = (await rt.ports.store.listDeployments({ service })).find((d) => d.version === version);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no deployment of ${service} ${version}`);
  };

  it('builds and pushes the tag with docker, and the push it announces deploys the digest the build exported', async () => {
    const releaseId = await tagPush('coconut-demo/ghcr-api', '2.5.0');
    const release = await rt.engine.waitFor(releaseId);
    expect(release).toMatchObject({ machine: 'release', status: 'SUCCEEDED' });
    expect(exported(release?.output)).toEqual({
      COCONUT_IMAGE_REF: 'ghcr.io/coconut-demo/ghcr-api:2.5.0',
      COCONUT_IMAGE_DIGEST: digest,
    });
    // docker ran: the engine check, then build, push and inspect of the tag's image.
    const calls = docker.calls();
    expect(calls.map((c) => c[0])).toEqual(['info', 'build', 'push', 'inspect']);
    expect(calls[1]).toEqual(expect.arrayContaining(['--file', 'examples/demo/demo-app/Dockerfile', 'examples/demo/demo-app']));
    expect(calls[1]).toEqual(expect.arrayContaining(['--tag', 'ghcr.io/coconut-demo/ghcr-api:2.5.0']));
    expect(calls[2]).toEqual(['push', 'ghcr.io/coconut-demo/ghcr-api:2.5.0']);
    const lines = rt.log.lines.map((l) => l.message);
    expect(lines.some((l) => l.includes('REHEARSAL'))).toBe(false);
    expect(lines).toContain('local registry stand-in: announcing the push of coconut-demo/ghcr-api:2.5.0 as ghcr would');

    const deployment = await deploymentOf('ghcr-api', '2.5.0');
    expect(deployment).toMatchObject({ trigger: { kind: 'ghcr-push' }, image: { digest } });
    expect((await rt.waitForStage(deployment.deploymentId, 'staging', ['SUCCEEDED', 'FAILED'], 300_000)).state).toBe('SUCCEEDED');
    expect(await version(port)).toBe('2.5.0');
  }, 420_000);

  it('with docker on PATH but no engine (`docker info` fails) the build is a labelled rehearsal: nothing built', async () => {
    docker.engine(false);
    const before = docker.calls().length;
    try {
      const release = await rt.engine.waitFor(await tagPush('coconut-demo/ghcr-api', '2.6.0'));
      expect(release).toMatchObject({ machine: 'release', status: 'SUCCEEDED' });
      expect(exported(release?.output)).toMatchObject({ COCONUT_REHEARSAL: 'true', COCONUT_FAILED_PROBES: 'docker info' });
      expect(docker.calls().slice(before)).toEqual([['info']]);
      const lines = rt.log.lines.map((l) => l.message);
      expect(lines.some((l) => l.includes('REHEARSAL (PLANNED, nothing ran): `docker info` failed'))).toBe(true);
    } finally {
      docker.engine(true);
    }
    const deployment = await deploymentOf('ghcr-api', '2.6.0');
    await rt.waitForStage(deployment.deploymentId, 'staging', ['SUCCEEDED', 'FAILED'], 300_000);
  }, 420_000);

  it('an ECR image build with docker but no registry host fails, saying which variable to set, and deploys nothing', async () => {
    const before = docker.calls().length;
    const release = await rt.engine.waitFor(await tagPush('coconut-demo/demo-api', '1.7.0'));
    expect(release).toMatchObject({ machine: 'release', status: 'FAILED', error: 'Coconut.BuildFailed' });
    // It stopped before building anything (docker info is the runner's readiness probe).
    expect(docker.calls().slice(before)).toEqual([['info']]);
    const logs = readdirSync(path.join(rt.dir, 'builds')).map((b) => path.join(rt.dir, 'builds', b, 'build.log'));
    expect(
      logs.some(
        (f) =>
          existsSync(f) &&
          readFileSync(f, 'utf8').includes(
            'COCONUT_ECR_REGISTRY is not set and cannot be derived (no CODEBUILD_BUILD_ARN/AWS_REGION)',
          ),
      ),
    ).toBe(true);
    await rt.idle();
    expect((await rt.ports.store.listDeployments({ service: 'demo-api' })).some((d) => d.version === '1.7.0')).toBe(false);
  }, 120_000);
});
