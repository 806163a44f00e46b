import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import {
  buildEnvironment,
  buildPlan,
  deploymentRecord,
  executionName,
  explainNoMatch,
  imageName,
  imageOf,
  initialStages,
  matchServices,
  rollbackEnvironment,
  rolloutRollbackEnvironment,
  stableVariables,
  withStableVersion,
} from '../../src/core/triggers/plan.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: team/api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - { name: staging, bake: 30s, alarms: [a1] }
      - { name: prod, approval: { approvers: [U1], timeout: 10m }, bake: 1m, alarms: [a2] }
  - name: worker
    image: { registry: ecr, repository: team/api }
    target: { kind: helm, namespace: jobs }
    environments: [{ name: prod }]
`);

const image = { registry: 'ecr' as const, repository: 'team/api', tag: '1.2.3', digest: `sha256:${'a'.repeat(64)}` };

describe('Planning', () => {
  it('matches every service of the repository whose tag pattern accepts the tag', () => {
    const matches = matchServices(config, { registry: 'ecr', repository: 'team/api', tag: '1.2.3' });
    expect(matches.map((m) => ('service' in m ? m.service.name : m.skipped))).toEqual(['api', 'worker']);
    const rc = matchServices(config, { registry: 'ecr', repository: 'team/api', tag: '1.2.3-rc1' });
    expect(rc[0]).toEqual({ skipped: expect.stringContaining("does not match api's tagPattern") });
  });

  it('explains why nothing matched', () => {
    expect(matchServices(config, { registry: 'ecr', repository: 'other', tag: '1.0.0' })).toEqual([]);
    expect(explainNoMatch(config, { registry: 'ecr', repository: 'other' })).toBe(
      'no service in coconut.yaml uses ecr repository "other" (configured: team/api)',
    );
  });

  it('derives a deterministic, valid execution name per service and image content', () => {
    const a = executionName('api', image);
    expect(a).toBe(executionName('api', { ...image }));
    expect(a).toMatch(/^api-1_2_3-[0-9a-f]{12}$/);
    expect(executionName('api', { ...image, digest: `sha256:${'b'.repeat(64)}` })).not.toBe(a);
    expect(executionName('worker', image)).not.toBe(a);
    expect(executionName('api', image, 'manual-1')).not.toBe(a);
    const long = executionName('a'.repeat(63), { ...image, tag: 'x'.repeat(128) });
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('builds a plan with environments in order, approval, bake, lock time and build variables', () => {
    const service = config.services[0]!;
    const plan = buildPlan(service, image);
    expect(plan).toMatchObject({ service: 'api', version: '1.2.3', targetKind: 'ansible' });
    expect(plan.environments.map((e) => [e.name, e.order, e.bakeSeconds, e.approval?.timeoutSeconds])).toEqual([
      ['staging', 0, 30, undefined],
      ['prod', 1, 60, 600],
    ]);
    expect(plan.environments[1]!.lockSeconds).toBe(600 + 60 + 7200);
    const vars = Object.fromEntries(plan.environments[0]!.buildEnv.map((v) => [v.Name, v.Value]));
    expect(vars).toMatchObject({
      COCONUT_ACTION: 'deploy',
      COCONUT_SERVICE: 'api',
      COCONUT_ENVIRONMENT: 'staging',
      COCONUT_VERSION: '1.2.3',
      COCONUT_IMAGE_DIGEST: image.digest,
      COCONUT_ANSIBLE_INVENTORY: 'inv.yml',
    });
    expect(JSON.stringify(plan)).not.toMatch(/\d{4}-\d{2}-\d{2}T/); // no timestamps: same push, same input
  });

  it('turns deploy variables into rollback variables', () => {
    const env = buildPlan(config.services[0]!, image).environments[0]!.buildEnv;
    const back = Object.fromEntries(rollbackEnvironment(env, { version: '1.2.2' }).map((v) => [v.Name, v.Value]));
    expect(back).toMatchObject({
      COCONUT_ACTION: 'rollback',
      COCONUT_VERSION: '1.2.2',
      COCONUT_IMAGE_TAG: '1.2.2',
      COCONUT_IMAGE_DIGEST: '',
    });
  });

  it('gives helm targets their release and namespace', () => {
    const vars = Object.fromEntries(
      buildPlan(config.services[1]!, image).environments[0]!.buildEnv.map((v) => [v.Name, v.Value]),
    );
    expect(vars).toMatchObject({ COCONUT_HELM_RELEASE: 'worker', COCONUT_HELM_NAMESPACE: 'jobs', COCONUT_HELM_TIMEOUT: '300s' });
  });
});

describe('Planning, in detail', () => {
  const more = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: team/api }
    target: { kind: helm }
    environments:
      - { name: dev, bake: 0s }
      - { name: prod, approval: { approvers: [U1], timeout: 5m }, bake: 2m, alarms: [p1, p2], scan: { maxSeverity: HIGH, ignore: [CVE-2024-1] } }
  - name: api-ghcr
    image: { registry: ghcr, repository: team/api, pullSecret: ghcr-pull }
    target: { kind: helm }
    environments: [{ name: prod }]
  - name: hub-official
    image: { registry: dockerhub, repository: nginx }
    target: { kind: copilot, app: shop, workspace: svc }
    environments: [{ name: prod }]
  - name: hub-user
    image: { registry: dockerhub, repository: acme/web }
    target: { kind: copilot, app: shop, name: web-svc, imageRepository: registry.example.com/acme/web }
    environments: [{ name: prod }]
  - name: also-ecr
    image: { registry: ecr, repository: team/api }
    target: { kind: helm }
    environments: [{ name: prod }]
`);
  const [api, apiGhcr, hubOfficial, hubUser] = more.services as [
    (typeof more.services)[0],
    (typeof more.services)[0],
    (typeof more.services)[0],
    (typeof more.services)[0],
  ];
  const varsOf = (env: { buildEnv: { Name: string; Value: string }[] } | undefined) =>
    Object.fromEntries((env?.buildEnv ?? []).map((v) => [v.Name, v.Value]));

  it('matches only the registry and repository of the push, and explains a miss without listing what is not there', () => {
    const matched = matchServices(more, { registry: 'ghcr', repository: 'team/api', tag: '1.0.0' });
    expect(matched).toEqual([{ service: apiGhcr }]);
    expect(explainNoMatch(more, { registry: 'ecr', repository: 'team/web' })).toBe(
      'no service in coconut.yaml uses ecr repository "team/web" (configured: team/api)',
    );
    const empty = parseConfig(`
services:
  - name: x
    image: { registry: ecr, repository: x }
    target: { kind: helm }
    environments: [{ name: prod }]
`);
    expect(explainNoMatch(empty, { registry: 'ghcr', repository: 'x' })).toBe(
      'no service in coconut.yaml uses ghcr repository "x"',
    );
  });

  it('takes the image of a release with its digest when it has one', () => {
    const trigger = { kind: 'ecr-push' as const, id: 'e', at: 'x' };
    expect(imageOf({ registry: 'ecr', repository: 'team/api', tag: '1', digest: image.digest, trigger })).toEqual({
      registry: 'ecr',
      repository: 'team/api',
      tag: '1',
      digest: image.digest,
    });
    expect(imageOf({ registry: 'ecr', repository: 'team/api', tag: '1', trigger })).toEqual({
      registry: 'ecr',
      repository: 'team/api',
      tag: '1',
    });
  });

  it('keeps execution names stable across versions of Coconut, so a push redelivered after an upgrade still starts nothing', () => {
    // Recorded values: a change here makes every in-flight push deployable twice.
    expect(executionName('api', image)).toBe('api-1_2_3-ff44eaa514f3');
    expect(executionName('api', { ...image, digest: undefined })).toBe('api-1_2_3-dbcc669d29bb');
    expect(executionName('api', image, 'manual:req-1')).toBe('api-1_2_3-9c876704f1ce');
    expect(executionName('api', { ...image, registry: 'ghcr' })).not.toBe('api-1_2_3-ff44eaa514f3');
    expect(executionName('api', { ...image, repository: 'team/other' })).not.toBe('api-1_2_3-ff44eaa514f3');
    expect(executionName('api', { ...image, tag: '1.2.3+x' })).toMatch(/^api-1_2_3_x-[0-9a-f]{12}$/);
    // Cut to 80: the readable part gives way, the hash stays whole.
    expect(executionName('s'.repeat(100), image)).toMatch(/^s{67}-[0-9a-f]{12}$/);
  });

  it('plans an environment without approval with a lock of bake plus build time, and copies the scan policy', () => {
    const plan = buildPlan(api, image);
    const [dev, prod] = plan.environments;
    expect(dev).not.toHaveProperty('approval');
    expect(dev).not.toHaveProperty('scan');
    expect(dev?.lockSeconds).toBe(2 * 3600);
    expect(dev?.buildAction).toBe('deploy');
    expect(prod).toMatchObject({
      approval: { timeoutSeconds: 300 },
      bakeSeconds: 120,
      alarms: ['p1', 'p2'],
      lockSeconds: 300 + 120 + 2 * 3600,
      scan: { maxSeverity: 'HIGH', ignore: ['CVE-2024-1'] },
      buildAction: 'deploy',
    });
    expect(plan).toMatchObject({ deploymentId: executionName('api', image), targetKind: 'helm', image });
  });

  it('makes the deployment record and the PENDING stages of a plan', () => {
    const plan = buildPlan(api, image);
    const now = new Date('2026-02-03T04:05:06.000Z');
    const trigger = { kind: 'manual' as const, id: 'r', at: now.toISOString() };
    expect(deploymentRecord(plan, trigger, 'deploy', now)).toEqual({
      deploymentId: plan.deploymentId,
      service: 'api',
      version: '1.2.3',
      image,
      trigger,
      environments: ['dev', 'prod'],
      createdAt: '2026-02-03T04:05:06.000Z',
      kind: 'deploy',
    });
    const stage = (environment: string, order: number) => ({
      deploymentId: plan.deploymentId,
      service: 'api',
      environment,
      order,
      version: '1.2.3',
      state: 'PENDING',
      createdAt: '2026-02-03T04:05:06.000Z',
      updatedAt: '2026-02-03T04:05:06.000Z',
    });
    expect(initialStages(plan, now)).toEqual([stage('dev', 0), stage('prod', 1)]);
    expect(initialStages(plan, now, 'rollback')).toEqual([
      { kind: 'rollback', ...stage('dev', 0) },
      { kind: 'rollback', ...stage('prod', 1) },
    ]);
  });

  it('passes every image variable, and the pull secret NAME only when the service has one', () => {
    expect(buildEnvironment(apiGhcr, 'prod', 'dep-1', { ...image, registry: 'ghcr' }, 'rollback').slice(0, 10)).toEqual(
      Object.entries({
        COCONUT_ACTION: 'rollback',
        COCONUT_DEPLOYMENT_ID: 'dep-1',
        COCONUT_SERVICE: 'api-ghcr',
        COCONUT_ENVIRONMENT: 'prod',
        COCONUT_VERSION: '1.2.3',
        COCONUT_IMAGE_REGISTRY: 'ghcr',
        COCONUT_IMAGE_REPOSITORY: 'team/api',
        COCONUT_IMAGE_TAG: '1.2.3',
        COCONUT_IMAGE_DIGEST: image.digest,
        COCONUT_IMAGE_PULL_SECRET: 'ghcr-pull',
      }).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' })),
    );
    const plain = varsOf({ buildEnv: buildEnvironment(api, 'dev', 'dep-2', { ...image, digest: undefined }, 'deploy') });
    expect(plain.COCONUT_IMAGE_DIGEST).toBe('');
    expect(plain).not.toHaveProperty('COCONUT_IMAGE_PULL_SECRET');
    expect(plain.COCONUT_EKS_CLUSTER).toBe('');
    expect(plain.COCONUT_HELM_VALUES_FILES).toBe('');
    expect(plain.COCONUT_HELM_IMAGE_PULL_SECRETS).toBe('');
  });

  it('gives Copilot its app, service, workspace and image name', () => {
    expect(varsOf(buildPlan(hubOfficial, image).environments[0])).toMatchObject({
      COCONUT_COPILOT_APP: 'shop',
      COCONUT_COPILOT_SERVICE: 'hub-official',
      COCONUT_COPILOT_WORKSPACE: 'svc',
      COCONUT_IMAGE_NAME: 'docker.io/library/nginx',
    });
    expect(varsOf(buildPlan(hubUser, image).environments[0])).toMatchObject({
      COCONUT_COPILOT_SERVICE: 'web-svc',
      COCONUT_COPILOT_WORKSPACE: '.',
      COCONUT_IMAGE_NAME: 'registry.example.com/acme/web',
    });
  });

  it('names the image by its registry: GHCR and Docker Hub hosts, Docker Hub official images under library/, ECR left to the build', () => {
    expect(imageName(apiGhcr)).toBe('ghcr.io/team/api');
    expect(imageName(hubOfficial)).toBe('docker.io/library/nginx');
    expect(imageName({ ...hubUser, target: { ...hubUser.target, imageRepository: undefined } } as typeof hubUser)).toBe(
      'docker.io/acme/web',
    );
    expect(imageName(api)).toBe('');
    expect(imageName(api, 'registry.example.com/team/api')).toBe('registry.example.com/team/api');
  });

  it('turns deploy variables into rollback variables in place, adding those the deploy did not have', () => {
    const deploy = [
      { Name: 'COCONUT_SERVICE', Value: 'api', Type: 'PLAINTEXT' as const },
      { Name: 'COCONUT_ACTION', Value: 'deploy', Type: 'PLAINTEXT' as const },
      { Name: 'COCONUT_IMAGE_DIGEST', Value: 'old', Type: 'PLAINTEXT' as const },
    ];
    expect(rollbackEnvironment(deploy, { version: '0.9.0', digest: 'sha256:prev', revision: '7' })).toEqual([
      { Name: 'COCONUT_SERVICE', Value: 'api', Type: 'PLAINTEXT' },
      { Name: 'COCONUT_ACTION', Value: 'rollback', Type: 'PLAINTEXT' },
      { Name: 'COCONUT_IMAGE_DIGEST', Value: 'sha256:prev', Type: 'PLAINTEXT' },
      { Name: 'COCONUT_VERSION', Value: '0.9.0', Type: 'PLAINTEXT' },
      { Name: 'COCONUT_IMAGE_TAG', Value: '0.9.0', Type: 'PLAINTEXT' },
      { Name: 'COCONUT_ROLLBACK_REVISION', Value: '7', Type: 'PLAINTEXT' },
    ]);
    expect(deploy[1]?.Value).toBe('deploy'); // the deploy variables are left as they were
  });
});

describe('Planning: the variables of each target kind', () => {
  const targets = parseConfig(`
services:
  - name: play
    image: { registry: ecr, repository: play }
    target: { kind: ansible, inventory: ops/hosts.yml, playbook: ops/deploy.yml, rollbackPlaybook: ops/undo.yml }
    environments: [{ name: prod }]
  - name: chart
    image: { registry: ecr, repository: chart }
    target: { kind: helm, release: 'chart-{environment}', chart: charts/c }
    environments: [{ name: prod }]
  - name: tasks
    image: { registry: ecr, repository: tasks }
    target: { kind: ecs, cluster: 'arn:aws:ecs:eu-central-1:123456789012:cluster/main-{environment}', service: 'tasks-{environment}' }
    environments: [{ name: qa }, { name: prod, alarms: [t-5xx] }]
  - name: local-ecs
    image: { registry: ecr, repository: local-ecs }
    target: { kind: ecs, cluster: main }
    environments: [{ name: prod }]
  - name: pulls
    image: { registry: ghcr, repository: acme/pulls }
    target: { kind: helm, imagePullSecrets: [ghcr-a, ghcr-b] }
    environments: [{ name: prod }]
`);
  const varsOf = (index: number, env = 0) =>
    Object.fromEntries(
      (buildPlan(targets.services[index] as (typeof targets.services)[0], image).environments[env]?.buildEnv ?? []).map((v) => [
        v.Name,
        v.Value,
      ]),
    );

  it('gives Ansible its playbooks and inventory', () => {
    expect(varsOf(0)).toMatchObject({
      COCONUT_ANSIBLE_PLAYBOOK: 'ops/deploy.yml',
      COCONUT_ANSIBLE_ROLLBACK_PLAYBOOK: 'ops/undo.yml',
      COCONUT_ANSIBLE_INVENTORY: 'ops/hosts.yml',
    });
  });

  it('gives Helm the release it names, per environment, and its pull secrets comma-joined', () => {
    expect(varsOf(1)).toMatchObject({ COCONUT_HELM_RELEASE: 'chart-prod', COCONUT_HELM_CHART: 'charts/c' });
    expect(varsOf(4).COCONUT_HELM_IMAGE_PULL_SECRETS).toBe('ghcr-a,ghcr-b');
  });

  it("gives ECS the cluster ARN's region, the service it names and no container when none is named", () => {
    expect(varsOf(2, 0)).toMatchObject({
      COCONUT_ECS_CLUSTER: 'arn:aws:ecs:eu-central-1:123456789012:cluster/main-qa',
      COCONUT_ECS_SERVICE: 'tasks-qa',
      COCONUT_ECS_CONTAINER: '',
      COCONUT_ECS_REGION: 'eu-central-1',
      COCONUT_ECS_ALARMS: '',
    });
    expect(varsOf(2, 1).COCONUT_ECS_ALARMS).toBe('t-5xx');
    // A cluster named without ARN and no region: the build's own region.
    expect(varsOf(3)).toMatchObject({ COCONUT_ECS_CLUSTER: 'main', COCONUT_ECS_SERVICE: 'local-ecs', COCONUT_ECS_REGION: '' });
    // An environment the service does not list watches no alarm (buildEnvironment is called with any name).
    const tasks = targets.services[2] as (typeof targets.services)[0];
    const other = buildEnvironment(tasks, 'dr', 'dep-1', image, 'deploy').find((v) => v.Name === 'COCONUT_ECS_ALARMS');
    expect(other?.Value).toBe('');
  });
});

describe('Planning: the stable version of a rollout (COCONUT_STABLE_*) and its rollback (COCONUT_CANARY_*)', () => {
  const web = parseConfig(`
services:
  - name: web
    image: { registry: ghcr, repository: acme/web }
    target: { kind: helm, namespace: shop }
    environments:
      - { name: prod, alarms: [p], rollout: { strategy: canary, steps: [10, 50] } }
`).services[0] as (typeof config.services)[0];
  const newImage = { registry: 'ghcr' as const, repository: 'acme/web', tag: '1.1.0', digest: `sha256:${'2'.repeat(64)}` };
  const good = { version: '1.0.0', digest: `sha256:${'1'.repeat(64)}`, deploymentId: 'web-1.0.0-x', revision: '4' };
  const plan = buildPlan(web, newImage);
  const steps = plan.environments[0]?.rollout?.steps ?? [];
  const vars = (env: { Name: string; Value: string }[]) => Object.fromEntries(env.map((v) => [v.Name, v.Value]));

  it('the plan carries no stable version: it is read when each step starts (a queued deployment may find a newer one)', () => {
    expect(steps).toHaveLength(3);
    for (const step of steps) expect(step.buildEnv.some((v) => v.Name.startsWith('COCONUT_STABLE_'))).toBe(false);
  });

  it('a step gets the known-good image: its version, digest and the service image name (the same repository)', () => {
    const step = vars(withStableVersion(steps[1]?.buildEnv ?? [], good));
    expect(step).toMatchObject({
      COCONUT_STABLE_IMAGE_NAME: 'ghcr.io/acme/web',
      COCONUT_STABLE_IMAGE_DIGEST: good.digest,
      COCONUT_STABLE_VERSION: '1.0.0',
      COCONUT_IMAGE_DIGEST: newImage.digest,
      COCONUT_VERSION: '1.1.0',
      COCONUT_ROLLOUT_PERCENT: '50',
      COCONUT_ROLLOUT_PREVIOUS_PERCENT: '10',
    });
    // Replaced, never doubled, when a step is started again.
    const again = withStableVersion(withStableVersion(steps[1]?.buildEnv ?? [], good), { version: '0.9.0' });
    expect(again.filter((v) => v.Name === 'COCONUT_STABLE_VERSION')).toEqual([
      { Name: 'COCONUT_STABLE_VERSION', Value: '0.9.0', Type: 'PLAINTEXT' },
    ]);
    expect(vars(again).COCONUT_STABLE_IMAGE_DIGEST).toBe('');
  });

  it('before a first good deploy there is no stable version: no COCONUT_STABLE_* at all (the build goes all at once)', () => {
    expect(stableVariables(steps[0]?.buildEnv ?? [], undefined)).toEqual([]);
    expect(withStableVersion(steps[0]?.buildEnv ?? [], undefined)).toEqual(steps[0]?.buildEnv);
  });

  it("a rollout's rollback: the known-good version as COCONUT_VERSION and stable, the rolled-back one as canary, the share reached", () => {
    const deployEnv = plan.environments[0]?.buildEnv ?? [];
    const reached = steps[1]?.progress;
    if (!reached) throw new Error('no step 2');
    const back = rolloutRollbackEnvironment(deployEnv, good, reached, true);
    expect(vars(back)).toMatchObject({
      COCONUT_ACTION: 'rollback',
      COCONUT_VERSION: '1.0.0',
      COCONUT_IMAGE_DIGEST: good.digest,
      COCONUT_ROLLBACK_REVISION: '4',
      COCONUT_STABLE_IMAGE_NAME: 'ghcr.io/acme/web',
      COCONUT_STABLE_IMAGE_DIGEST: good.digest,
      COCONUT_STABLE_VERSION: '1.0.0',
      COCONUT_CANARY_VERSION: '1.1.0',
      COCONUT_CANARY_IMAGE_DIGEST: newImage.digest,
      COCONUT_ROLLOUT_PERCENT: '50',
      COCONUT_ROLLOUT_PREVIOUS_PERCENT: '10',
      COCONUT_ROLLOUT_STEP: '2',
      COCONUT_CANARY_LIVE: 'true',
    });
    // Each name once.
    expect(new Set(back.map((v) => v.Name)).size).toBe(back.length);
  });

  it('COCONUT_CANARY_LIVE: a canary serves requests from the first completed step until the promotion', () => {
    const deployEnv = plan.environments[0]?.buildEnv ?? [];
    const live = (i: number, deployed: boolean) => {
      const reached = steps[i]?.progress;
      if (!reached) throw new Error(`no step ${i + 1}`);
      return vars(rolloutRollbackEnvironment(deployEnv, good, reached, deployed)).COCONUT_CANARY_LIVE;
    };
    // [step, its deploy completed?] -> canary live?
    expect([live(0, false), live(0, true), live(1, false), live(2, false), live(2, true)]).toEqual([
      'false', // the first step's deploy failed: no canary ever served
      'true', // 10% baking
      'true', // the 50% deploy failed: the canary still has its 10%
      'true', // the promotion failed: the canary keeps 50%
      'false', // promoted: the canary track is gone
    ]);
  });
});
