import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/core/config/load.ts';
import { configJsonSchema } from '../../src/core/config/schema.ts';
import { ConfigError } from '../../src/core/model/errors.ts';
import { buildPlan } from '../../src/core/triggers/plan.ts';

const valid = `
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - name: staging
        bake: 30s
        alarms: [api-health]
      - name: prod
        approval: { approvers: [U1], timeout: 2h }
`;

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, 'conf.yaml');
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected the config to be rejected');
}

describe('Config: coconut.yaml', () => {
  it('parses a valid file and applies defaults', () => {
    const config = parseConfig(valid);
    const [service] = config.services;
    expect(service?.environments.map((e) => e.bake)).toEqual([30, 300]);
    expect(service?.environments[1]?.approval?.timeout).toBe(7200);
    expect(service?.image.tagPattern).toMatch(/\\d/);
    expect(service?.target).toMatchObject({ kind: 'ansible', playbook: 'templates/ansible/deploy.yml' });
  });

  it('names the file, the path, the line and what was expected for a bad duration', () => {
    const error = errorOf(valid.replace('bake: 30s', 'bake: soon'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('conf.yaml:8:');
    expect(error.message).toContain('services[0].environments[0].bake');
    expect(error.message).toContain('expected a duration like "30s"');
  });

  it('rejects a misspelled key instead of ignoring it', () => {
    const error = errorOf(valid.replace('alarms: [api-health]', 'alarm: [api-health]'));
    expect(error.message).toContain('unknown key "alarm"');
    expect(error.issues[0]?.path).toBe('services[0].environments[0]');
  });

  it('rejects an unknown target kind, naming the choices', () => {
    const error = errorOf(valid.replace('kind: ansible', 'kind: puppet'));
    expect(error.message).toContain('services[0].target');
    expect(error.message).toMatch(/ansible.*helm.*copilot/);
  });

  it('rejects duplicate service and environment names', () => {
    const twice = valid.replace(
      'services:\n',
      'services:\n  - name: api\n    image: { registry: ecr, repository: x }\n    target: { kind: copilot, app: a }\n    environments: [{ name: e }]\n',
    );
    expect(errorOf(twice).message).toContain('duplicate service name "api"');
    expect(errorOf(valid.replace('name: prod', 'name: staging')).message).toContain('duplicate environment "staging"');
  });

  it('reports invalid YAML with its line', () => {
    const error = errorOf('services:\n  - name: [unclosed\n');
    expect(error.message).toContain('invalid YAML');
    expect(error.issues[0]?.line).toBeGreaterThan(0);
  });

  it('rejects an empty approver list and a bad registry', () => {
    expect(errorOf(valid.replace('approvers: [U1]', 'approvers: []')).message).toContain('expected at least one approver');
    expect(errorOf(valid.replace('registry: ecr', 'registry: quay')).message).toContain(
      'expected one of "ecr", "ghcr", "dockerhub"',
    );
  });

  it('says when the file does not exist', async () => {
    await expect(loadConfigFile('/nonexistent/coconut.yaml')).rejects.toThrow(
      '/nonexistent/coconut.yaml: (document): cannot read the configuration: file not found',
    );
  });

  it('loads the demo configuration', async () => {
    const config = await loadConfigFile('examples/demo/coconut.yaml');
    expect(config.services[0]?.name).toBe('demo-api');
    expect(config.services[0]?.environments.map((e) => e.name)).toEqual(['staging', 'prod']);
    // The demo's prod approval as written (a 1h timeout parsed to seconds), staging without one.
    expect(config.services[0]?.environments[1]?.approval).toMatchObject({ approvers: ['U0DEMOLEAD'], timeout: 3600 });
    expect(config.services[0]?.environments[0]?.approval).toBeUndefined();
  });

  it('exports a JSON Schema from the same source', () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown>; additionalProperties?: boolean };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['services', 'local', 'version']));
    expect(JSON.stringify(schema)).toContain('"tagPattern"');
    expect(schema.additionalProperties).toBe(false);
  });

  describe('rollout', () => {
    const withRollout = (rollout: string, kind = 'kind: ansible, inventory: inv.yml') =>
      valid
        .replace('kind: ansible, inventory: inv.yml', kind)
        .replace('timeout: 2h }', `timeout: 2h }\n        rollout: ${rollout}`);

    it('parses a canary and a linear rollout, defaulting approveSteps to false', () => {
      const canary = parseConfig(withRollout('{ strategy: canary, steps: [10, 50], bake: 30s, approveSteps: true }'));
      expect(canary.services[0]?.environments[1]?.rollout).toEqual({
        strategy: 'canary',
        steps: [10, 50],
        bake: 30,
        approveSteps: true,
      });
      const linear = parseConfig(withRollout('{ strategy: linear, stepPercent: 25 }'));
      expect(linear.services[0]?.environments[1]?.rollout).toEqual({ strategy: 'linear', stepPercent: 25, approveSteps: false });
      expect(parseConfig(valid).services[0]?.environments[1]?.rollout).toBeUndefined();
    });

    it('rejects steps that do not increase, naming the step', () => {
      const error = errorOf(withRollout('{ strategy: canary, steps: [50, 10] }'));
      expect(error.message).toContain('services[0].environments[1].rollout.steps[1]');
      expect(error.message).toContain('expected steps in increasing order: 10 follows 50');
    });

    it('rejects 100 and 0 as a canary step, saying 100% always comes last', () => {
      expect(errorOf(withRollout('{ strategy: canary, steps: [10, 100] }')).message).toContain('100% is always the last step');
      expect(errorOf(withRollout('{ strategy: canary, steps: [0] }')).message).toContain('expected a percentage from 1 to 99');
    });

    it('asks a canary for steps and a linear rollout for stepPercent (each in its own key)', () => {
      expect(errorOf(withRollout('{ strategy: canary }')).message).toContain('a canary rollout needs steps');
      expect(errorOf(withRollout('{ strategy: linear }')).message).toContain('a linear rollout needs stepPercent');
      expect(errorOf(withRollout('{ strategy: linear, stepPercent: 60 }')).message).toContain(
        'expected stepPercent from 1 to 50',
      );
      expect(errorOf(withRollout('{ strategy: canary, steps: [10], stepPercent: 20 }')).message).toContain(
        'stepPercent belongs to strategy linear',
      );
    });

    it('rejects approveSteps on an environment without approval', () => {
      const text = valid.replace(
        'alarms: [api-health]',
        'alarms: [api-health]\n        rollout: { strategy: linear, stepPercent: 50, approveSteps: true }',
      );
      const error = errorOf(text);
      expect(error.message).toContain('services[0].environments[0].rollout.approveSteps');
      expect(error.message).toContain('approveSteps needs approval:');
    });

    it('refuses a rollout on copilot, saying it deploys rolling and naming kind: ecs for canaries on ECS', () => {
      const error = errorOf(withRollout('{ strategy: canary, steps: [10] }', 'kind: copilot, app: shop'));
      expect(error.message).toContain('services[0].environments[1].rollout');
      expect(error.message).toContain('Copilot deploys rolling, with rollback_alarms only');
      expect(error.message).toContain("kind: ecs, with ECS's own CANARY and LINEAR strategies");
    });

    it('refuses an ECS canary with more than one step, naming the rule and suggesting linear', () => {
      // @aws-sdk/client-ecs CanaryConfiguration: one canaryPercent, then the rest of the traffic.
      const ecs = 'kind: ecs, cluster: main';
      const error = errorOf(withRollout('{ strategy: canary, steps: [10, 50] }', ecs));
      expect(error.message).toContain('services[0].environments[1].rollout.steps');
      expect(error.message).toContain('an ECS canary has one canary percentage and then 100%');
      expect(error.message).toContain('strategy: linear');
    });

    it('accepts a canary and a linear rollout on helm (the step loop drives the chart canary track)', () => {
      for (const rollout of ['{ strategy: canary, steps: [10, 50] }', '{ strategy: linear, stepPercent: 20 }']) {
        expect(parseConfig(withRollout(rollout, 'kind: helm')).services[0]?.environments[1]?.rollout?.strategy).toBe(
          rollout.includes('canary') ? 'canary' : 'linear',
        );
      }
    });

    it("takes a canary and a linear rollout on ecs (ECS steps itself), and plans ECS's deploymentConfiguration", () => {
      const ecs = 'kind: ecs, cluster: main';
      const canary = parseConfig(withRollout('{ strategy: canary, steps: [10], approveSteps: true }', ecs));
      const service = canary.services[0] as NonNullable<(typeof canary.services)[0]>;
      const env = buildPlan(service, { registry: 'ecr', repository: 'api', tag: '1.0.0' }).environments[1];
      expect(env?.rollout?.ecs?.percents).toEqual([10, 100]);
      expect(env?.rollout?.ecs?.settings).toMatchObject({
        strategy: 'CANARY',
        canaryConfiguration: { canaryPercent: 10 },
        lifecycleHooks: [{ targetType: 'PAUSE', timeoutConfiguration: { timeoutInMinutes: 120, action: 'ROLLBACK' } }],
      });
      const linear = parseConfig(withRollout('{ strategy: linear, stepPercent: 25 }', ecs));
      expect(
        buildPlan(linear.services[0] as never, { registry: 'ecr', repository: 'api', tag: '1.0.0' }).environments[1]?.rollout
          ?.ecs,
      ).toMatchObject({
        percents: [25, 50, 75, 100],
        settings: { strategy: 'LINEAR', linearConfiguration: { stepPercent: 25 } },
      });
      // Other kinds step through Coconut's own loop: no ECS settings in their plan.
      const ansible = parseConfig(withRollout('{ strategy: linear, stepPercent: 25 }'));
      expect(
        buildPlan(ansible.services[0] as never, { registry: 'ecr', repository: 'api', tag: '1.0.0' }).environments[1]?.rollout
          ?.ecs,
      ).toBeUndefined();
    });

    it('refuses an ECS linear step under 3% (LinearConfiguration.stepPercent is 3.0..100)', () => {
      const error = errorOf(withRollout('{ strategy: linear, stepPercent: 2 }', 'kind: ecs, cluster: main'));
      expect(error.message).toContain('services[0].environments[1].rollout.stepPercent');
      expect(error.message).toContain('ECS linear deployments shift at least 3% per step');
    });

    it('documents rollout in the JSON Schema `coconut schema` prints', () => {
      const text = JSON.stringify(configJsonSchema());
      expect(text).toContain('"rollout"');
      expect(text).toContain('"approveSteps"');
      expect(text).toContain('"stepPercent"');
      expect(text).toContain('"canary"');
    });
  });
});
