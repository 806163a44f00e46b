/**
 * sst.config.ts (recorded, as in infra-contract.test.ts) for a coconut.yaml where an ECS service
 * deploys prod as a canary: the rule that feeds ECS's own events to functions/ecs-rollout-changed.ts,
 * and what that function may call. The events and their pattern are ECS's:
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
 * DescribeServiceDeployments / ContinueServiceDeployment authorize on the service AND its service
 * deployment (Service Authorization Reference, Amazon Elastic Container Service: resource types
 * service* and service-deployment*).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/core/config/load.ts';
import type { CoconutConfig } from '../../src/core/config/schema.ts';
import { eventRules } from '../../src/core/triggers/event-rules.ts';
import { allows } from '../support/iam-policy.ts';
import { type Contract, checkFunctionPermissions, checkTriggers, contractOf } from '../support/infra-checks.ts';
import { installSstGlobals } from '../support/sst-recorder.ts';

const DEMO = 'examples/demo/coconut.yaml';
const dir = path.join('test-output', 'infra-ecs-rollout');
const file = path.join(dir, `coconut-${process.pid}.yaml`);
let contract: Contract;
let config: CoconutConfig;
let restore: () => void;

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  const demo = readFileSync(DEMO, 'utf8');
  const prod = '      - name: prod\n        bake: 10s\n        alarms: [demo-orders-prod-5xx]\n';
  expect(demo).toContain(prod);
  writeFileSync(file, demo.replace(prod, `${prod}        rollout: { strategy: canary, steps: [10], bake: 1m }\n`));
  process.env.COCONUT_CONFIG = file;
  const stand = installSstGlobals('prod');
  restore = stand.restore;
  const { default: sstConfig } = (await import('../../sst.config.ts')) as unknown as {
    default: { run(): Promise<Record<string, unknown>> };
  };
  await sstConfig.run();
  contract = contractOf(stand.recording);
  config = await loadConfigFile(file);
}, 120_000);
afterAll(() => {
  restore?.();
  delete process.env.COCONUT_CONFIG;
  rmSync(file, { force: true });
});

describe('sst.config.ts with an ECS canary (kind: ecs + rollout)', () => {
  it("deploys a rule with ECS's deployment and hook events, targeting functions/ecs-rollout-changed.ts", () => {
    expect(eventRules(config).map((r) => r.name)).toContain('ecs-rollout-changed');
    expect(checkTriggers(contract, config)).toEqual([]);
    const rule = contract.rules.find((r) => r.name.endsWith('-ecs-rollout-changed'));
    expect(rule?.pattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Deployment State Change', 'ECS Hook State Change'],
      // demo-orders rolls out in prod only: its staging deployments wake nothing.
      resources: [{ suffix: ':service/demo-prod/demo-orders' }],
    });
    const fn = contract.functions.find((f) => f.handler === 'functions/ecs-rollout-changed.handler');
    expect(rule?.target).toBe(fn?.arn);
  });

  it('lets that function read and answer the service deployments of exactly the ECS services, and settle task tokens', () => {
    const fn = contract.functions.find((f) => f.handler === 'functions/ecs-rollout-changed.handler');
    const grants = fn?.permissions ?? [];
    const deployment = (env: string) =>
      `arn:aws:ecs:us-east-1:123456789012:service-deployment/demo-${env}/demo-orders/EZe5RNVLH6PPzHXINuP28`;
    const service = (env: string) => `arn:aws:ecs:us-east-1:123456789012:service/demo-${env}/demo-orders`;
    for (const action of ['ecs:DescribeServiceDeployments', 'ecs:ContinueServiceDeployment']) {
      expect(allows(grants, action, deployment('prod')), action).toBe(true);
      expect(allows(grants, action, service('prod')), action).toBe(true);
      expect(allows(grants, action, service('prod').replace('demo-orders', 'someone-else')), action).toBe(false);
    }
    expect(grants.flatMap((g) => g.actions)).toEqual(
      expect.arrayContaining(['states:SendTaskSuccess', 'states:SendTaskFailure']),
    );
    expect(checkFunctionPermissions(contract, config)).toEqual([]);
  });

  it('deploys the ECS rollout states of deploy.asl.json', () => {
    const definition = JSON.parse(contract.machines.find((m) => m.name.endsWith('-deploy'))?.definition ?? '{}');
    const states = definition.States.Environments.ItemProcessor.States;
    expect(Object.keys(states)).toEqual(
      expect.arrayContaining(['StartEcsRollout', 'FollowEcsRollout', 'RecheckEcsRollout', 'ContinueEcsRollout']),
    );
  });
});
