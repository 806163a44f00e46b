import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { buildPlan, executionName, explainNoMatch, matchServices, rollbackEnvironment } from '../../src/core/triggers/plan.ts';

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
