/**
 * Property-based fuzzing (fast-check) of both webhook handlers, on a real store: no input
 * crashes them (no 5xx, no throw), and an execution starts only for a request that is signed
 * (or carries the token) AND whose values are valid AND that matches a configured service.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG_PATTERN } from '../../src/core/model/oci.ts';
import { fixture, githubHeaders, TOKEN, webhookHarness } from '../support/webhooks.ts';

type Harness = Awaited<ReturnType<typeof webhookHarness>>;
let n = 0;
const delivery = () => `fuzz-${++n}`;
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });

const ref = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `refs/tags/${s}`),
  fc.stringMatching(/^refs\/tags\/v?\d{1,3}\.\d{1,3}\.\d{1,3}$/),
  fc.constantFrom('refs/tags/v1;rm -rf /', 'refs/tags/$(id)', 'refs/heads/main', `refs/tags/${'9'.repeat(200)}`),
);
const repositoryName = fc.oneof(
  fc.constantFrom('Codertocat/Hello-World', 'codertocat/hello-world', 'someone/else', '../etc', 'a/b/c'),
  fc.string({ maxLength: 120 }),
);
const sender = fc.option(fc.record({ login: fc.oneof(fc.constantFrom('Codertocat', 'dependabot[bot]'), fc.string()) }), {
  nil: undefined,
});
const pushLike = fc.record(
  {
    ref,
    after: fc.oneof(hex(40), hex(64), fc.string({ maxLength: 80 })),
    deleted: fc.boolean(),
    ref_type: fc.constantFrom('tag', 'branch', 'repository'),
    repository: fc.oneof(fc.record({ full_name: repositoryName }), fc.anything()),
    sender,
  },
  { requiredKeys: ['ref', 'repository'] },
);
const tagName = fc.oneof(fc.constantFrom('', '2.0.0', 'v1;rm -rf /', 'latest'), fc.string({ maxLength: 140 }));
const packageLike = fc.record({
  action: fc.constantFrom('published', 'updated'),
  registry_package: fc.record({
    name: fc.oneof(fc.constantFrom('hello-world-npm', 'tagged-api', 'UPPER'), fc.string({ maxLength: 80 })),
    ecosystem: fc.constantFrom('CONTAINER', 'docker', 'npm'),
    owner: fc.record({ login: fc.constantFrom('Codertocat', 'someone') }),
    package_version: fc.record({
      container_metadata: fc.record({
        tag: fc.record({
          name: tagName,
          digest: fc.oneof(
            hex(64).map((h) => `sha256:${h}`),
            fc.string({ maxLength: 80 }),
          ),
        }),
      }),
    }),
  }),
  sender,
});
const body = fc.oneof(
  fc.string({ maxLength: 2000 }),
  fc.json(),
  pushLike.map((p) => JSON.stringify(p)),
  packageLike.map((p) => JSON.stringify(p)),
  fc.constant(JSON.stringify(fixture('github/push-tag'))),
);
const eventName = fc.oneof(
  fc.constantFrom('push', 'create', 'package', 'registry_package', 'ping', 'issues'),
  fc.string({ maxLength: 70 }),
);

/** Every started execution carries only validated values. */
function assertStartedValid(h: Harness, from: number) {
  for (const s of h.orchestrator.started.slice(from)) {
    const input = s.input as { version: string; image: { tag: string; repository: string }; service: string };
    expect(input.version).toMatch(TAG_PATTERN);
    expect(input.image.tag).toMatch(TAG_PATTERN);
    expect(['demo-api', 'tagged-api', 'ghcr-api', 'hub-api']).toContain(input.service);
  }
}

describe('Property: github-webhook under arbitrary input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await webhookHarness();
  });
  afterAll(() => h?.stop());

  it('never starts anything without a valid signature, whatever the headers and body', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        eventName,
        fc.oneof(fc.constant(undefined), fc.string({ maxLength: 80 }), fc.constant('wrong-secret')),
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', undefined),
        async (raw, event, forgedWith, contentType) => {
          const calls = h.orchestrator.calls;
          const headers = await githubHeaders(raw, event, delivery(), null);
          if (forgedWith === 'wrong-secret') {
            headers['x-hub-signature-256'] = (await githubHeaders(raw, event, 'x', 'wrong'))['x-hub-signature-256']!;
          } else if (forgedWith !== undefined) headers['x-hub-signature-256'] = forgedWith;
          const res = await h.githubRaw(raw, { ...headers, 'content-type': contentType });
          expect([401, 413, 415]).toContain(res.status);
          expect(h.orchestrator.calls).toBe(calls);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('answers every signed delivery with 200, 202 or 400 (never 5xx), starting only valid, matching releases', async () => {
    await fc.assert(
      fc.asyncProperty(body, eventName, async (raw, event) => {
        const from = h.orchestrator.started.length;
        const res = await h.github(event, undefined, delivery(), { raw });
        // An empty body has nothing to verify: it is refused like an unsigned one.
        expect(raw === '' ? [401] : [200, 202, 400]).toContain(res.status);
        if (h.orchestrator.started.length > from) {
          expect(res.status).toBe(202);
          expect(['push', 'create', 'package', 'registry_package']).toContain(event);
        }
        assertStartedValid(h, from);
      }),
      {
        numRuns: 300,
        // Known-good deliveries among the random ones, so that the "starts" branch is always exercised.
        examples: [
          [JSON.stringify({ ...fixture('github/push-tag'), ref: 'refs/tags/4.5.6' }), 'push'],
          [JSON.stringify(fixture('github/create-tag')), 'create'],
        ],
      },
    );
    expect(h.orchestrator.started.length).toBeGreaterThanOrEqual(3);
  });
});

describe('Property: registry-webhook (Docker Hub) under arbitrary input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await webhookHarness();
  });
  afterAll(() => h?.stop());
  const hubBody = fc.oneof(
    fc.string({ maxLength: 500 }),
    fc.json(),
    fc
      .record({
        push_data: fc.record({ tag: tagName, pusher: fc.string({ maxLength: 30 }) }),
        repository: fc.record({ repo_name: fc.oneof(fc.constantFrom('svendowideit/testhook', 'x/y'), fc.string()) }),
      })
      .map((p) => JSON.stringify(p)),
  );

  it('never starts anything without the token', async () => {
    await fc.assert(
      fc.asyncProperty(hubBody, fc.string({ maxLength: 60 }), async (raw, token) => {
        fc.pre(token !== TOKEN);
        const res = await h.dockerhub(raw, token);
        expect(res.status).toBe(401);
        expect(h.orchestrator.calls).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('answers every request with the token with 202 or 400, starting only valid, matching pushes', async () => {
    await fc.assert(
      fc.asyncProperty(hubBody, async (raw) => {
        const from = h.orchestrator.started.length;
        const res = await h.dockerhub(raw, TOKEN);
        expect([202, 400]).toContain(res.status);
        assertStartedValid(h, from);
        for (const s of h.orchestrator.started.slice(from)) expect((s.input as { service: string }).service).toBe('hub-api');
      }),
      { numRuns: 300, examples: [[JSON.stringify(fixture('dockerhub/push'))]] },
    );
    expect(h.orchestrator.started.length).toBeGreaterThanOrEqual(1);
  });
});
