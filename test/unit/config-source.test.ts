/** coconut.yaml: where git tags come from (`source`) and registry credentials by name only. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { ConfigError } from '../../src/core/model/errors.ts';
import { buildPlan } from '../../src/core/triggers/plan.ts';

const service = (extra: string) => `
services:
  - name: api
    image: { registry: ghcr, repository: octo/api, pullSecret: registry/octo-pull }
${extra}
    target: { kind: ansible, inventory: inv.yml }
    environments: [{ name: staging }]
`;

function errorOf(text: string): string {
  try {
    parseConfig(text, 'conf.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('Config: source and registry credentials', () => {
  it('defaults onTag to deploy, the build context to "." and the Dockerfile to ./Dockerfile', () => {
    const config = parseConfig(service('    source: { github: octo-org/api }'));
    expect(config.services[0]?.source).toEqual({
      github: 'octo-org/api',
      onTag: 'deploy',
      context: '.',
      dockerfile: 'Dockerfile',
    });
  });

  it('names the path and the expected format for a bad repository, onTag or path', () => {
    expect(errorOf(service('    source: { github: "not a repo" }'))).toContain(
      'services[0].source.github: expected a GitHub repository "owner/name"',
    );
    expect(errorOf(service('    source: { github: octo/api, onTag: release }'))).toContain(
      'services[0].source.onTag: expected onTag to be "build" or "deploy"',
    );
    for (const bad of ['../up', 'a/../../b', '-f', '/etc']) {
      expect(errorOf(service(`    source: { github: octo/api, context: "${bad}" }`))).toContain(
        'services[0].source.context: expected a relative path inside the repository',
      );
    }
  });

  it('takes registry credentials by secret name only, and hands the name (not a value) to deploy builds', () => {
    expect(errorOf(service('').replace('registry/octo-pull', '"user:pa ss"'))).toContain(
      'services[0].image.pullSecret: expected the NAME of a secret',
    );
    const config = parseConfig(service(''));
    const plan = buildPlan(config.services[0]!, { registry: 'ghcr', repository: 'octo/api', tag: '1.0.0' });
    expect(plan.environments[0]?.buildEnv).toContainEqual({
      Name: 'COCONUT_IMAGE_PULL_SECRET',
      Value: 'registry/octo-pull',
      Type: 'PLAINTEXT',
    });
  });
});
