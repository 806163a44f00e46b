/**
 * startTagRelease: a git tag pushed to GitHub either deploys the image tagged with it (`source.onTag: deploy`,
 * the default) or starts release.asl.json, which builds and pushes that image (`onTag: build`). Names are
 * idempotency keys: the `push` and `create` deliveries of one tag start one thing. On dynalite with a
 * recording orchestrator that, like Step Functions, refuses a second execution of one name.
 * The recording orchestrator refuses a second execution of one name, as Step Functions does (StartExecution:
 * a name already used is ExecutionAlreadyExists, or the running execution's own answer for the same input;
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html), which the Orchestrator
 * port reports as started: false (src/aws/sfn-orchestrator.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import type { TagPush } from '../../src/core/events/github.ts';
import type { Orchestrator, Store } from '../../src/core/ports.ts';
import type { StartDeps } from '../../src/core/triggers/start-deployment.ts';
import {
  explainNoSource,
  releaseName,
  releasePlan,
  servicesForRepository,
  startTagRelease,
} from '../../src/core/triggers/start-release.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { dynaliteStore } from '../support/stores.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ghcr, repository: octo/api, tagPattern: '^v\\d+$' }
    source: { github: Octo/API, onTag: build, context: app, dockerfile: app/Dockerfile, pushSecret: ghcr-push }
    target: { kind: helm, chart: charts/api }
    environments: [{ name: prod }]
  - name: api-docs
    image: { registry: ghcr, repository: octo/api-docs, tagPattern: '.' }
    source: { github: octo/api }
    target: { kind: helm, chart: charts/docs }
    environments: [{ name: staging }, { name: prod }]
  - name: web
    image: { registry: dockerhub, repository: octo/web, pullSecret: hub-pull, tagPattern: '.' }
    source: { github: octo/web }
    target: { kind: helm, chart: charts/web }
    environments: [{ name: prod }]
  - name: plain
    image: { registry: ecr, repository: plain }
    target: { kind: helm, chart: charts/plain }
    environments: [{ name: prod }]
`);
const [api, apiDocs, web] = config.services as [
  (typeof config.services)[0],
  (typeof config.services)[0],
  (typeof config.services)[0],
];
const DIGEST = `sha256:${'e'.repeat(64)}`;

const tag = (over: Partial<TagPush> = {}): TagPush => ({
  repository: 'octo/api',
  tag: 'v1',
  sha: 'a'.repeat(40),
  trigger: { kind: 'git-tag', id: 'delivery-1', actor: 'octocat', at: '2026-03-04T05:00:00Z' },
  ...over,
});

describe('releaseName and releasePlan', () => {
  it('names a release by service, repository (any case) and tag only: readable, valid, at most 80 characters', () => {
    const name = releaseName('api', 'octo/api', 'v1.2');
    expect(name).toMatch(/^release-api-v1_2-[0-9a-f]{12}$/);
    // Recorded value: a change here makes a tag redelivered after an upgrade build again.
    expect(name).toBe('release-api-v1_2-33b9b3bc2a0c');
    expect(releaseName('api', 'Octo/API', 'v1.2')).toBe(name);
    expect(releaseName('api', 'octo/api', 'v1.3')).not.toBe(name);
    expect(releaseName('api2', 'octo/api', 'v1.2')).not.toBe(name);
    expect(releaseName('api', 'octo/other', 'v1.2')).not.toBe(name);
    const long = releaseName('s'.repeat(60), 'octo/api', 't'.repeat(128));
    expect(long).toHaveLength(80);
    // The readable part is cut, never the hash that makes it unique.
    expect(long).toMatch(/^release-s{59}-[0-9a-f]{12}$/);
  });

  it("plans the build of the service's image from the tag, with the source and every build variable", () => {
    const plan = releasePlan(api, { repository: 'octo/api', tag: 'v7', sha: 'b'.repeat(40) });
    expect(plan).toEqual({
      releaseId: releaseName('api', 'Octo/API', 'v7'),
      service: 'api',
      version: 'v7',
      image: { registry: 'ghcr', repository: 'octo/api', tag: 'v7' },
      source: { repository: 'octo/api', location: 'https://github.com/octo/api.git', sourceVersion: 'refs/tags/v7' },
      buildEnv: Object.entries({
        COCONUT_ACTION: 'build',
        COCONUT_RELEASE_ID: plan.releaseId,
        COCONUT_SERVICE: 'api',
        COCONUT_VERSION: 'v7',
        COCONUT_IMAGE_REGISTRY: 'ghcr',
        COCONUT_IMAGE_REPOSITORY: 'octo/api',
        COCONUT_IMAGE_TAG: 'v7',
        COCONUT_GIT_REPOSITORY: 'octo/api',
        COCONUT_GIT_REF: 'refs/tags/v7',
        COCONUT_GIT_SHA: 'b'.repeat(40),
        COCONUT_BUILD_CONTEXT: 'app',
        COCONUT_DOCKERFILE: 'app/Dockerfile',
        COCONUT_REGISTRY_SECRET: 'ghcr-push',
      }).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' })),
    });
  });

  it('leaves the commit and push secret empty when unknown, and refuses a service without a source', () => {
    const vars = Object.fromEntries(
      releasePlan(apiDocs, { repository: 'octo/api', tag: 'v1' }).buildEnv.map((v) => [v.Name, v.Value]),
    );
    expect(vars).toMatchObject({
      COCONUT_GIT_SHA: '',
      COCONUT_REGISTRY_SECRET: '',
      COCONUT_BUILD_CONTEXT: '.',
      COCONUT_DOCKERFILE: 'Dockerfile',
    });
    expect(() => releasePlan(config.services[3] as typeof api, { repository: 'octo/api', tag: 'v1' })).toThrow(
      'service plain has no source.github',
    );
  });

  it('finds the services of a repository whatever the case, not the ones without a source', () => {
    expect(servicesForRepository(config.services, 'OCTO/api').map((s) => s.name)).toEqual(['api', 'api-docs']);
    expect(servicesForRepository(config.services, 'plain')).toEqual([]);
  });
});

describe('startTagRelease', () => {
  let dynamo: LocalDynamo;
  let deps: StartDeps & { store: Store };
  let started: { machine: string; name: string; input: { service: string; image: { digest?: string } } }[];
  let names: Set<string>;
  let logged: { message: string; extra?: Record<string, unknown> }[];
  let resolved: { image: unknown; pullSecret?: string }[];
  let registryAnswer: () => Promise<string>;

  const orchestrator: Orchestrator = {
    startExecution: async (machine, name, input) => {
      if (names.has(name)) return { executionArn: `arn:sfn:${name}`, started: false };
      names.add(name);
      started.push({ machine, name, input: input as (typeof started)[0]['input'] });
      return { executionArn: `arn:sfn:${name}`, started: true };
    },
    sendTaskSuccess: async () => {},
    sendTaskFailure: async () => {},
  };

  beforeAll(async () => {
    const made = await dynaliteStore();
    dynamo = made.dynamo;
    const add = (message: string, extra?: Record<string, unknown>) => {
      logged.push({ message, ...(extra ? { extra } : {}) });
    };
    deps = {
      config,
      store: made.store,
      orchestrator,
      clock: { now: () => new Date('2026-03-04T05:06:07Z') },
      log: { debug: add, info: add, warn: add, error: add },
      registry: {
        resolveDigest: async (image, pullSecret) => {
          resolved.push({ image, ...(pullSecret ? { pullSecret } : {}) });
          return registryAnswer();
        },
      },
    };
  });
  beforeEach(() => {
    started = [];
    names = new Set();
    logged = [];
    resolved = [];
    registryAnswer = async () => DIGEST;
  });
  afterAll(() => dynamo?.stop());

  it('ignores a tag of a repository no service releases from, naming the configured ones', async () => {
    const outcome = await startTagRelease(tag({ repository: 'octo/unknown' }), deps);
    const reason = 'no service in coconut.yaml has source.github "octo/unknown" (configured: Octo/API, octo/api, octo/web)';
    expect(outcome).toEqual({ outcomes: [], ignored: reason });
    expect(logged).toEqual([{ message: `ignored tag octo/unknown@v1: ${reason}` }]);
    expect(started).toEqual([]);
  });

  it('builds the image of an onTag: build service and deploys the image of an onTag: deploy one, each once', async () => {
    const outcome = await startTagRelease(tag(), deps);
    const build = started.find((s) => s.machine === 'release');
    const deploy = started.find((s) => s.machine === 'deploy');
    expect(outcome).toEqual({
      outcomes: [
        { status: 'release-started', service: 'api', releaseId: build?.name, executionArn: `arn:sfn:${build?.name}` },
        { status: 'started', service: 'api-docs', deploymentId: deploy?.name, executionArn: `arn:sfn:${deploy?.name}` },
      ],
    });
    expect(build?.name).toBe(releaseName('api', 'Octo/API', 'v1'));
    expect(build?.input).toEqual(releasePlan(api, tag()));
    // Only the deployed image needs its digest: the build makes its own.
    expect(resolved).toEqual([{ image: { registry: 'ghcr', repository: 'octo/api-docs', tag: 'v1' } }]);
    expect(deploy?.input).toMatchObject({
      service: 'api-docs',
      image: { repository: 'octo/api-docs', tag: 'v1', digest: DIGEST },
    });
    const record = await deps.store.getDeployment(deploy?.name as string);
    expect(record?.trigger).toEqual(tag().trigger);
    expect(logged).toContainEqual({
      message: `started release of api v1: building octo/api:v1 from octo/api (tag pushed by octocat)`,
      extra: { service: 'api', version: 'v1', releaseId: build?.name },
    });
    expect(logged).toContainEqual({
      message: `resolved ghcr image octo/api-docs:v1 to ${DIGEST} (a git tag names the image by tag only)`,
      extra: { repository: 'octo/api-docs', tag: 'v1', digest: DIGEST },
    });

    // The `create` delivery of the same tag (no commit id) starts nothing new.
    logged = [];
    const again = await startTagRelease(tag({ sha: undefined, trigger: { kind: 'git-tag', id: 'delivery-2', at: 'x' } }), deps);
    expect(again.outcomes).toEqual([
      { status: 'release-duplicate', service: 'api', releaseId: build?.name },
      { status: 'duplicate', service: 'api-docs', deploymentId: deploy?.name },
    ]);
    expect(started).toHaveLength(2);
    expect(logged).toContainEqual({
      message: `duplicate tag: api v1 is already building or built (${build?.name})`,
      extra: { service: 'api', version: 'v1', releaseId: build?.name },
    });
  });

  it('says nothing of who pushed a tag when the event does not tell', async () => {
    await startTagRelease(tag({ tag: 'v2', trigger: { kind: 'git-tag', id: 'd', at: 'x' } }), deps);
    expect(logged.map((l) => l.message)).toContain('started release of api v2: building octo/api:v2 from octo/api');
  });

  it('skips the services whose tag pattern refuses the tag, with the reason, and resolves no digest for them', async () => {
    const outcome = await startTagRelease(tag({ tag: '1.0.0-rc1' }), deps);
    const reason = `tag "1.0.0-rc1" does not match api's tagPattern ^v\\d+$`;
    expect(outcome.outcomes[0]).toEqual({ status: 'skipped', reason });
    expect(outcome.outcomes[1]).toMatchObject({ status: 'started', service: 'api-docs' });
    expect(logged[0]).toEqual({ message: `ignored tag octo/api@1.0.0-rc1: ${reason}` });
    expect(started.map((s) => s.machine)).toEqual(['deploy']);
    expect(resolved).toHaveLength(1);
  });

  it("resolves the digest with the service's pull secret", async () => {
    await startTagRelease(tag({ repository: 'octo/web', tag: 'w1' }), deps);
    expect(resolved).toEqual([{ image: { registry: 'dockerhub', repository: 'octo/web', tag: 'w1' }, pullSecret: 'hub-pull' }]);
  });

  it('starts nothing at all, not even the build, when a digest cannot be resolved', async () => {
    registryAnswer = async () => {
      throw new Error('manifest unknown');
    };
    await expect(startTagRelease(tag({ tag: 'v9' }), deps)).rejects.toThrow(
      'could not resolve the digest of ghcr image octo/api-docs:v9 (a git tag names the image by tag only), so nothing was deployed: manifest unknown',
    );
    expect(started).toEqual([]);
  });

  it('matches the repository whatever its case', async () => {
    const outcome = await startTagRelease(tag({ repository: 'OCTO/Web', tag: 'w2' }), deps);
    expect(outcome.outcomes.map((o) => o.status)).toEqual(['started']);
    expect(web.name).toBe('web');
  });
});

describe('explainNoSource', () => {
  it('lists each configured source repository once, and none when no service has a source', () => {
    const twice = parseConfig(`
services:
  - { name: a, image: { registry: ghcr, repository: o/a }, source: { github: o/mono }, target: { kind: helm }, environments: [{ name: prod }] }
  - { name: b, image: { registry: ghcr, repository: o/b }, source: { github: o/mono }, target: { kind: helm }, environments: [{ name: prod }] }
`);
    expect(explainNoSource(twice.services, 'o/x')).toBe(
      'no service in coconut.yaml has source.github "o/x" (configured: o/mono)',
    );
    expect(explainNoSource([config.services[3] as typeof api], 'o/x')).toBe('no service in coconut.yaml has source.github "o/x"');
  });
});
