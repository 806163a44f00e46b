/**
 * Releases that carry no digest (Docker Hub pushes, git tags, GHCR events without one) are
 * resolved against the registry before planning, through the real handlers and the AWS wiring
 * (src/aws/image-registry.ts): the OCI distribution client against a spec-following registry on
 * 127.0.0.1 (test/support/oci-registry.ts), the pull secret read from Secrets Manager on
 * moto_server. When the digest cannot be had, the webhook answers 502 naming the image and why,
 * logs it, and starts nothing.
 *
 * What Docker Hub does with that answer: it records each delivery as successful or not in the
 * webhook's "View History", and documents no retry (https://docs.docker.com/docker-hub/repos/manage/webhooks/).
 * GitHub does not redeliver failed deliveries on its own either; a person can ("Redeliver"), and
 * a 5xx answer is not kept as the delivery's answer, so a redelivery resolves again
 * (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries).
 */

import { ECRClient } from '@aws-sdk/client-ecr';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcrRegistry } from '../../../src/aws/ecr-registry.ts';
import { AwsImageRegistry } from '../../../src/aws/image-registry.ts';
import { PullSecrets } from '../../../src/aws/pull-secrets.ts';
import { startManualDeployment } from '../../../src/core/triggers/manual-deploy.ts';
import type { DeploymentPlan } from '../../../src/core/triggers/plan.ts';
import { ghcrPublished, githubTagPush } from '../../../src/local/webhook-payloads.ts';
import { OciDigestClient } from '../../../src/registry/oci-digest.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { type FakeRegistry, fakeImage, startFakeRegistry } from '../../support/oci-registry.ts';
import { TOKEN, webhookHarness } from '../../support/webhooks.ts';

const CONFIG = `services:
  - name: hub-web
    image: { registry: dockerhub, repository: octo/web }
    target: { kind: helm }
    environments: [{ name: staging }]
  - name: hub-private
    image: { registry: dockerhub, repository: octo/private, pullSecret: registry/octo-pull }
    target: { kind: ecs, cluster: main }
    environments: [{ name: staging }]
  - name: ghcr-web
    image: { registry: ghcr, repository: octo/ghcr-web }
    target: { kind: copilot, app: shop, type: Backend Service, workspace: services/web }
    environments: [{ name: staging }]
  - name: tagged-web
    image: { registry: ghcr, repository: octo/tagged-web }
    source: { github: octo/tagged-web, onTag: deploy }
    target: { kind: helm }
    environments: [{ name: staging }]
`;

const WEB = fakeImage('octo/web', '1.2.3');
const PRIVATE = fakeImage('octo/private', '2.0.0', { private: { username: 'bot', password: 'pull-token-123' } });
const GHCR = fakeImage('octo/ghcr-web', '3.0.0');
const TAGGED = fakeImage('octo/tagged-web', '4.0.0');
const NEVER_DEPLOYED = fakeImage('octo/web', '1.3.0');

type Harness = Awaited<ReturnType<typeof webhookHarness>>;
let moto: Moto;
let reg: FakeRegistry;
let h: Harness;
let delivery = 0;

function awsRegistry(base: string) {
  const endpoint = { base, authHosts: ['127.0.0.1'] };
  return new AwsImageRegistry({
    ecr: new EcrRegistry(new ECRClient(moto.clientOptions)),
    // Test-only endpoints, passed in code: the client has no other way to change them.
    oci: new OciDigestClient({ endpoints: { dockerhub: endpoint, ghcr: endpoint }, timeoutMs: 2000 }),
    secrets: new PullSecrets(new SecretsManagerClient(moto.clientOptions)),
  });
}

beforeAll(async () => {
  moto = await startMoto();
  await new SecretsManagerClient(moto.clientOptions).send(
    new CreateSecretCommand({
      Name: 'registry/octo-pull',
      SecretString: JSON.stringify({ username: 'bot', password: 'pull-token-123' }),
    }),
  );
  reg = await startFakeRegistry([WEB, PRIVATE, GHCR, TAGGED, NEVER_DEPLOYED]);
  h = await webhookHarness({ config: CONFIG });
  h.ports.registry = awsRegistry(reg.url);
}, 60_000);
afterAll(async () => {
  await h?.stop();
  await reg?.stop();
  await moto?.stop();
});

const hubPush = (repository: string, tag: string) =>
  JSON.stringify({
    callback_url: `https://registry.hub.docker.com/u/${repository}/hook/x/`,
    push_data: { pushed_at: 1760000000 + ++delivery, pusher: 'octo', tag },
    repository: { repo_name: repository },
  });

const planOf = (name: string) => h.orchestrator.started.find((s) => s.name === name)?.input as DeploymentPlan;
const envOf = (plan: DeploymentPlan) => Object.fromEntries((plan.environments[0]?.buildEnv ?? []).map((v) => [v.Name, v.Value]));

describe('Digest resolution before planning (handlers, AWS wiring)', () => {
  it('a Docker Hub push (no digest in its payload) is planned with the digest the registry reports', async () => {
    const res = await h.dockerhub(hubPush('octo/web', '1.2.3'), TOKEN);
    expect(res.status).toBe(202);
    expect(res.body.outcomes).toEqual([expect.objectContaining({ status: 'started', service: 'hub-web' })]);
    const plan = planOf(res.body.outcomes[0].deploymentId);
    expect(plan.image).toEqual({ registry: 'dockerhub', repository: 'octo/web', tag: '1.2.3', digest: reg.digestOf(WEB) });
    expect(envOf(plan).COCONUT_IMAGE_DIGEST).toBe(reg.digestOf(WEB));
    expect((await h.store.getDeployment(plan.deploymentId))?.image.digest).toBe(reg.digestOf(WEB));
  });

  it('a private image is resolved with the pull secret read from Secrets Manager', async () => {
    const res = await h.dockerhub(hubPush('octo/private', '2.0.0'), TOKEN);
    expect(res.status).toBe(202);
    const plan = planOf(res.body.outcomes[0].deploymentId);
    expect(plan.image.digest).toBe(reg.digestOf(PRIVATE));
    const token = reg.requests.find((r) => r.path.startsWith('/token') && r.path.includes('octo%2Fprivate'));
    expect(token?.authorization).toBe(`Basic ${Buffer.from('bot:pull-token-123').toString('base64')}`);
    // The secret's value never reaches the plan or the log.
    expect(JSON.stringify(plan)).not.toContain('pull-token-123');
    expect(JSON.stringify(h.log.lines)).not.toContain('pull-token-123');
  });

  it('a GHCR event without a digest, and a git tag (onTag: deploy), are resolved too', async () => {
    const ghcr = ghcrPublished({ owner: 'octo', name: 'ghcr-web', tag: '3.0.0', sender: 'octo' });
    delete (ghcr.registry_package.package_version.container_metadata.tag as { digest?: string }).digest;
    const fromGhcr = await h.github('registry_package', ghcr, `7f0e5a1c-0000-4000-8000-${String(++delivery).padStart(12, '0')}`);
    expect(fromGhcr.status).toBe(202);
    expect(planOf(fromGhcr.body.outcomes[0].deploymentId).image.digest).toBe(reg.digestOf(GHCR));

    const tag = githubTagPush({ repository: 'octo/tagged-web', tag: '4.0.0', sender: 'octo' });
    const fromTag = await h.github('push', tag, `7f0e5a1c-0000-4000-8000-${String(++delivery).padStart(12, '0')}`);
    expect(fromTag.status).toBe(202);
    expect(fromTag.body.outcomes).toEqual([expect.objectContaining({ status: 'started', service: 'tagged-web' })]);
    expect(planOf(fromTag.body.outcomes[0].deploymentId).image.digest).toBe(reg.digestOf(TAGGED));
  });

  it('a manual deploy without --digest of a tag never deployed before (the API) is resolved too', async () => {
    const outcome = await startManualDeployment(h.ports, {
      service: 'hub-web',
      version: '1.3.0',
      actor: { id: 'U0OPS', name: 'ops', source: 'dashboard' },
    });
    expect(outcome.plan.image.digest).toBe(reg.digestOf(NEVER_DEPLOYED));
  });

  it('a tag the registry does not have: 502 naming the image and why, logged, nothing started or recorded', async () => {
    const calls = h.orchestrator.calls;
    const res = await h.dockerhub(hubPush('octo/web', '9.9.9'), TOKEN);
    expect(res.status).toBe(502);
    expect(res.body.error).toMatch(
      /^could not resolve the digest of dockerhub image octo\/web:9\.9\.9 \(the dockerhub-push event carried no digest\), so nothing was deployed: 127\.0\.0\.1:\d+ has no manifest for octo\/web:9\.9\.9 \(HTTP 404: no such repository or tag\)\. Coconut deploys images by digest/,
    );
    expect(h.orchestrator.calls).toBe(calls);
    expect((await h.store.listDeployments({ service: 'hub-web' })).map((d) => d.version)).not.toContain('9.9.9');
    expect(
      h.log.lines.some(
        (l) =>
          l.level === 'ERROR' &&
          l.message.startsWith('registry-webhook failed: could not resolve the digest of dockerhub image octo/web:9.9.9'),
      ),
    ).toBe(true);
  });

  it('the registry down: 502 saying it could not be reached, nothing started', async () => {
    const down = await startFakeRegistry([]);
    await down.stop();
    const other = await webhookHarness({ config: CONFIG });
    other.ports.registry = awsRegistry(down.url);
    try {
      const res = await other.dockerhub(hubPush('octo/web', '1.2.3'), TOKEN);
      expect(res.status).toBe(502);
      expect(res.body.error).toMatch(
        /^could not resolve the digest of dockerhub image octo\/web:1\.2\.3 .*: could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
      );
      expect(other.orchestrator.calls).toBe(0);
      expect(await other.store.listDeployments({})).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('a pull secret that does not exist is named in the answer', async () => {
    const other = await webhookHarness({ config: CONFIG.replace('registry/octo-pull', 'registry/missing') });
    other.ports.registry = awsRegistry(reg.url);
    try {
      const res = await other.dockerhub(hubPush('octo/private', '2.0.0'), TOKEN);
      expect(res.status).toBe(502);
      expect(res.body.error).toContain(
        'could not read pull secret registry/missing: it does not exist in this account and region',
      );
      expect(other.orchestrator.calls).toBe(0);
    } finally {
      await other.stop();
    }
  });
});
