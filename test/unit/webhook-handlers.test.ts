/**
 * The webhook handlers with a real store (DynamoStore on dynalite) and an orchestrator that
 * counts started executions: what is verified, what is rejected, what starts, and that a
 * delivery seen before gets the same answer and starts nothing.
 */
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, githubHeaders, SECRET, TOKEN, webhookHarness, withContainerTag } from '../support/webhooks.ts';

type Harness = Awaited<ReturnType<typeof webhookHarness>>;
let n = 0;
const delivery = () => `7f0e5a1c-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const tagPush = (tag: string) => ({ ...fixture('github/push-tag'), ref: `refs/tags/${tag}` });

describe('Handler: github-webhook', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await webhookHarness();
  });
  afterAll(() => h?.stop());

  it('answers ping with pong and starts nothing', async () => {
    const res = await h.github('ping', fixture('github/ping'), delivery());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ event: 'ping', message: 'pong', hookId: 109948940 });
    expect(h.orchestrator.calls).toBe(0);
  });

  it('starts one release (onTag: build) and one deployment (onTag: deploy) for a signed tag push, once', async () => {
    const id = delivery();
    const first = await h.github('push', tagPush('1.2.3'), id);
    expect(first.status).toBe(202);
    expect(first.body.outcomes).toEqual([
      expect.objectContaining({ status: 'release-started', service: 'demo-api' }),
      expect.objectContaining({ status: 'started', service: 'tagged-api' }),
    ]);
    expect(h.orchestrator.started.map((s) => `${s.machine}:${s.name}`)).toEqual([
      expect.stringMatching(/^release:release-demo-api-1_2_3-[0-9a-f]{12}$/),
      expect.stringMatching(/^deploy:tagged-api-1_2_3-[0-9a-f]{12}$/),
    ]);
    const release = h.orchestrator.started[0]?.input as { image: unknown; buildEnv: { Name: string; Value: string }[] };
    expect(release.image).toEqual({ registry: 'ecr', repository: 'demo-api', tag: '1.2.3' });
    expect(Object.fromEntries(release.buildEnv.map((v) => [v.Name, v.Value]))).toMatchObject({
      COCONUT_IMAGE_TAG: '1.2.3',
      COCONUT_GIT_REPOSITORY: 'Codertocat/Hello-World',
      COCONUT_GIT_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      COCONUT_BUILD_CONTEXT: 'examples/demo/demo-app',
    });
    const deployment = await h.store.getDeployment(h.orchestrator.started[1]!.name);
    expect(deployment?.trigger).toMatchObject({ kind: 'git-tag', id, actor: 'Codertocat' });
    expect(deployment?.image).toEqual({ registry: 'ghcr', repository: 'codertocat/tagged-api', tag: '1.2.3' });

    // The same delivery again (GitHub's "Redeliver"): the same answer, not even a StartExecution call.
    const calls = h.orchestrator.calls;
    const again = await h.github('push', tagPush('1.2.3'), id);
    expect(again.status).toBe(first.status);
    expect(again.body).toEqual(first.body);
    expect(again.headers['x-coconut-delivery']).toBe('replayed');
    expect(h.orchestrator.calls).toBe(calls);

    // The `create` delivery GitHub sends for the same tag: a different id, and still nothing new.
    const create = await h.github('create', { ...fixture('github/create-tag'), ref: '1.2.3' }, delivery());
    expect(create.status).toBe(202);
    expect(create.body.outcomes.map((o: { status: string }) => o.status)).toEqual(['release-duplicate', 'duplicate']);
    expect(create.body.reason).toContain('already exists');
    expect(h.orchestrator.started).toHaveLength(2);
  });

  it('keeps the answer in the store, so another instance (a cold Lambda) answers the same', async () => {
    const id = delivery();
    const first = await h.github('push', tagPush('1.2.4'), id);
    expect(await h.store.getDelivery(`github:${id}`)).toMatchObject({ statusCode: 202, body: first.body });
    const other = await webhookHarness();
    try {
      await other.store.putDelivery({ ...(await h.store.getDelivery(`github:${id}`))! });
      const again = await other.github('push', tagPush('1.2.4'), id);
      expect(again.body).toEqual(first.body);
      expect(other.orchestrator.calls).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it.each([
    ['a tampered body', async (body: string) => ({ body: body.replace('1.3.0', '6.6.6'), sig: await sign(SECRET, body) })],
    ['a wrong secret', async (body: string) => ({ body, sig: await sign('not-the-secret', body) })],
    ['no signature header', async (body: string) => ({ body, sig: undefined })],
    ['a sha1 signature', async (body: string) => ({ body, sig: `sha1=${(await sign(SECRET, body)).slice(7, 47)}` })],
  ])('answers 401 with a bare message and starts nothing for %s', async (_name, forge) => {
    const calls = h.orchestrator.calls;
    const id = delivery();
    const { body, sig } = await forge(JSON.stringify(tagPush('1.3.0')));
    const res = await h.githubRaw(body, { ...(await githubHeaders(body, 'push', id, null)), 'x-hub-signature-256': sig });
    expect(res).toMatchObject({ status: 401, body: { error: 'invalid signature' } });
    expect(h.orchestrator.calls).toBe(calls);
    // An unsigned request cannot take a delivery id: the genuine delivery is still processed.
    expect(await h.store.getDelivery(`github:${id}`)).toBeUndefined();
    expect((await h.github('push', tagPush('1.3.0'), id)).status).toBe(202);
  });

  it('checks the signature before parsing: unsigned garbage is 401, signed garbage 400', async () => {
    const raw = '{"ref": ';
    expect((await h.github('push', undefined, delivery(), { raw, secret: null })).status).toBe(401);
    expect(await h.github('push', undefined, delivery(), { raw })).toMatchObject({
      status: 400,
      body: { error: 'body is not valid JSON' },
    });
  });

  it('answers 415 for a form-encoded delivery and 413 for an oversized one, before the signature', async () => {
    const body = JSON.stringify(tagPush('1.3.1'));
    const headers = await githubHeaders(body, 'push', delivery());
    const form = await h.githubRaw(`payload=${encodeURIComponent(body)}`, {
      ...headers,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
    expect(form.body.error).toContain('expected content-type application/json');
    const big = JSON.stringify({ ...tagPush('1.3.1'), padding: 'x'.repeat(1024 * 1024) });
    const large = await h.githubRaw(big, await githubHeaders(big, 'push', delivery()));
    expect(large.status).toBe(413);
    expect(large.body.error).toMatch(/^body of \d+ bytes is over the limit of 1048576 bytes$/);
  });

  it('rejects bad tags with 400 naming the field, and remembers that answer too', async () => {
    const calls = h.orchestrator.calls;
    const id = delivery();
    const bad = await h.github('push', tagPush('v1;rm -rf /'), id);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('ref: tag "v1;rm -rf /" cannot be an image tag');
    const long = await h.github('push', tagPush('a'.repeat(500)), delivery());
    expect(long).toMatchObject({ status: 400, body: { error: 'ref must be 1-255 printable characters, got 510 characters' } });
    expect((await h.github('push', tagPush('v1;rm -rf /'), id)).body).toEqual(bad.body);
    expect(h.orchestrator.calls).toBe(calls);
  });

  it('answers 202 with the reason for branches, deleted tags, unknown repositories and other events', async () => {
    const calls = h.orchestrator.calls;
    const cases: [string, unknown, string][] = [
      ['push', fixture('github/push-branch'), 'push to branch "master": only tags start releases'],
      ['push', fixture('github/push-tag-deleted'), '"refs/tags/simple-tag" was deleted: nothing to release'],
      [
        'push',
        { ...tagPush('1.2.3'), repository: { full_name: 'someone/else' } },
        'no service in coconut.yaml has source.github "someone/else" (configured: Codertocat/Hello-World, codertocat/hello-world)',
      ],
      ['issues', { action: 'opened' }, 'event "issues" is not one Coconut acts on'],
      ['push', tagPush('not-semver'), 'tag "not-semver" does not match demo-api\'s tagPattern'],
    ];
    for (const [event, payload, reason] of cases) {
      const res = await h.github(event, payload, delivery());
      expect(res.status, reason).toBe(202);
      expect(res.body.reason).toContain(reason);
    }
    expect(h.orchestrator.calls).toBe(calls);
  });

  it('deploys a tagged GHCR image to the service using that repository; an onTag: deploy service ignores it', async () => {
    const digest = `sha256:${'cd'.repeat(32)}`;
    const event = withContainerTag(fixture('github/registry-package-published'), 'registry_package', { name: '2.0.0', digest });
    const res = await h.github('registry_package', event, delivery());
    expect(res.status).toBe(202);
    expect(res.body.outcomes).toEqual([expect.objectContaining({ status: 'started', service: 'ghcr-api' })]);
    const id = res.body.outcomes[0].deploymentId as string;
    expect((await h.store.getDeployment(id))?.image).toEqual({
      registry: 'ghcr',
      repository: 'codertocat/hello-world-npm',
      tag: '2.0.0',
      digest,
    });
    // `package` and `registry_package` both arrive for one push: the second starts nothing.
    const pkg = withContainerTag(fixture('github/package-published'), 'package', { name: '2.0.0', digest });
    const dup = await h.github('package', pkg, delivery());
    expect(dup.body.outcomes).toEqual([expect.objectContaining({ status: 'duplicate', service: 'ghcr-api' })]);

    (event.registry_package as { name: string }).name = 'tagged-api';
    const tagged = await h.github('registry_package', event, delivery());
    expect(tagged.body.reason).toBe(
      'tagged-api releases on git tags of codertocat/hello-world (source.onTag: deploy); registry pushes do not deploy it',
    );
  });

  it('answers 400 for a delivery without X-GitHub-Delivery or X-GitHub-Event', async () => {
    const body = JSON.stringify(fixture('github/ping'));
    const headers = await githubHeaders(body, 'ping', 'x');
    expect((await h.githubRaw(body, { ...headers, 'x-github-delivery': undefined })).body.error).toBe(
      'header x-github-delivery is missing or not a delivery id (GUID)',
    );
    expect((await h.githubRaw(body, { ...headers, 'x-github-event': 'Push; rm' })).status).toBe(400);
  });

  it('answers 503 when no secret is configured, and never accepts an unsigned delivery then', async () => {
    const bare = await webhookHarness({ secrets: {} });
    try {
      const res = await bare.github('push', tagPush('1.2.3'), delivery(), { secret: null });
      expect(res).toMatchObject({ status: 503, body: { error: 'webhook secret not configured' } });
      expect((await bare.dockerhub(JSON.stringify(fixture('dockerhub/push')), 'anything')).status).toBe(503);
      expect(bare.orchestrator.calls).toBe(0);
    } finally {
      await bare.stop();
    }
  });

  it('never writes the secret or the signature to the log', async () => {
    await h.github('push', tagPush('9.9.9'), delivery(), { secret: 'wrong' });
    const text = JSON.stringify(h.log.lines);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('sha256=');
  });
});

describe('Handler: registry-webhook (Docker Hub)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await webhookHarness();
  });
  afterAll(() => h?.stop());
  const push = (tag: string, repo = 'svendowideit/testhook') => {
    const body = fixture('dockerhub/push') as { push_data: Record<string, unknown>; repository: Record<string, unknown> };
    return JSON.stringify({
      ...body,
      push_data: { ...body.push_data, tag },
      repository: { ...body.repository, repo_name: repo },
    });
  };

  it('deploys the service using the pushed repository when the path token is right; a repeat starts nothing', async () => {
    const res = await h.dockerhub(JSON.stringify(fixture('dockerhub/push')), TOKEN);
    expect(res.status).toBe(202);
    expect(res.body.outcomes).toEqual([expect.objectContaining({ status: 'started', service: 'hub-api' })]);
    expect((await h.dockerhub(JSON.stringify(fixture('dockerhub/push')), TOKEN)).body.outcomes).toEqual([
      expect.objectContaining({ status: 'duplicate', service: 'hub-api' }),
    ]);
    expect(h.orchestrator.started).toHaveLength(1);
    const deployment = await h.store.getDeployment(h.orchestrator.started[0]!.name);
    expect(deployment?.trigger).toMatchObject({ kind: 'dockerhub-push', actor: 'trustedbuilder' });
  });

  it('answers 401 for a wrong or missing token, whatever the body', async () => {
    for (const token of ['wrong', '', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      expect(await h.dockerhub(push('1.0.0'), token)).toMatchObject({ status: 401, body: { error: 'invalid signature' } });
    }
    expect((await h.dockerhub('not json', 'wrong')).status).toBe(401);
    expect(h.orchestrator.started).toHaveLength(1);
  });

  it('validates before matching: 400 for a bad tag or repository or JSON, 202 with a reason for unknown ones', async () => {
    expect((await h.dockerhub(push('v1;rm -rf /'), TOKEN)).body.error).toContain('push_data.tag "v1;rm -rf /"');
    expect((await h.dockerhub(push('1.0.0', 'Bad Repo'), TOKEN)).status).toBe(400);
    expect(await h.dockerhub('{', TOKEN)).toMatchObject({ status: 400, body: { error: 'body is not valid JSON' } });
    expect((await h.dockerhub(push('1.0.0'), TOKEN, { 'content-type': 'text/plain' })).status).toBe(415);
    const unknown = await h.dockerhub(push('1.0.0', 'someone/other'), TOKEN);
    expect(unknown.status).toBe(202);
    expect(unknown.body.reason).toContain('no service in coconut.yaml uses dockerhub repository "someone/other"');
    const pattern = await h.dockerhub(push('nightly'), TOKEN);
    expect(pattern.body.reason).toContain('tag "nightly" does not match hub-api\'s tagPattern');
    expect(h.orchestrator.started).toHaveLength(1);
  });
});

describe('Both webhook routes: one middleware stack (functions/commons/webhook.ts webhookRoute)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await webhookHarness();
  });
  afterAll(() => h?.stop());

  const big = JSON.stringify({ padding: 'x'.repeat(1024 * 1024) });
  // Each route with a wrong secret: what is answered before authenticity shows the order.
  const routes = {
    github: (body: string, headers: Record<string, string>) =>
      h.githubRaw(body, {
        'x-github-event': 'push',
        'x-github-delivery': delivery(),
        'x-hub-signature-256': 'sha256=00',
        ...headers,
      }),
    dockerhub: (body: string, headers: Record<string, string>) => h.dockerhub(body, 'wrong', headers),
  };

  for (const [name, call] of Object.entries(routes)) {
    it(`${name}: content type (415) and size (413) before authenticity (401), authenticity before JSON, header names in any case`, async () => {
      expect((await call('{}', { 'content-type': 'text/plain' })).status).toBe(415);
      expect((await call(big, { 'content-type': 'application/json' })).status).toBe(413);
      expect(await call('{"not json', { 'Content-Type': 'application/json' })).toMatchObject({
        status: 401,
        body: { error: 'invalid signature' },
      });
      expect(h.orchestrator.calls).toBe(0);
    });
  }
});
