import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/core/config/load.ts';
import { configJsonSchema } from '../../src/core/config/schema.ts';
import { ConfigError } from '../../src/core/model/errors.ts';

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
});
