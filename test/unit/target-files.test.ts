/**
 * The files and folders each target names, per environment (src/core/config/target-files.ts): what
 * infra/pipeline.ts archives for CodeBuild and refuses to deploy without.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { namedPaths } from '../../src/core/config/target-files.ts';

const service = (target: string) =>
  parseConfig(`
services:
  - name: web
    image: { registry: ecr, repository: web }
    target: ${target}
    environments: [{ name: staging }, { name: prod }]
`).services[0]!;

describe('Function: namedPaths', () => {
  it('ansible: playbooks and inventory with their folders, the known_hosts file per environment', () => {
    const paths = namedPaths(
      service(
        '{ kind: ansible, inventory: inv/hosts.ini, playbook: play/site.yml, sshKey: k, knownHosts: { file: "keys/{environment}.known" } }',
      ),
    );
    expect(paths).toEqual([
      ...['staging', 'prod'].flatMap((environment) => [
        { service: 'web', environment, field: 'target.playbook', path: 'play/site.yml', expect: 'file', archive: 'folder' },
        {
          service: 'web',
          environment,
          field: 'target.rollbackPlaybook',
          path: 'templates/ansible/rollback.yml',
          expect: 'file',
          archive: 'folder',
        },
        {
          service: 'web',
          environment,
          field: 'target.inventory',
          path: 'inv/hosts.ini',
          expect: 'file or directory',
          archive: 'folder',
        },
        {
          service: 'web',
          environment,
          field: 'target.knownHosts.file',
          path: `keys/${environment}.known`,
          expect: 'file',
          archive: 'self',
        },
      ]),
    ]);
  });

  it('ansible with host keys in a secret names no known_hosts file', () => {
    const fields = namedPaths(service('{ kind: ansible, inventory: inv, sshKey: k, knownHosts: { secret: s } }')).map(
      (p) => p.field,
    );
    expect(fields).not.toContain('target.knownHosts.file');
    expect(fields).toHaveLength(6);
    // ...and without host keys at all (no sshKey: the inventory brings its own access).
    expect(namedPaths(service('{ kind: ansible, inventory: inv }')).map((p) => p.field)).toEqual([
      'target.playbook',
      'target.rollbackPlaybook',
      'target.inventory',
      'target.playbook',
      'target.rollbackPlaybook',
      'target.inventory',
    ]);
  });

  it('helm: the chart folder and each values file in order, "{environment}" expanded everywhere in the name', () => {
    const paths = namedPaths(
      service('{ kind: helm, chart: charts/web, valuesFiles: [values.yaml, "env/{environment}/{environment}.yaml"] }'),
    );
    expect(paths.filter((p) => p.environment === 'prod')).toEqual([
      { service: 'web', environment: 'prod', field: 'target.chart', path: 'charts/web', expect: 'directory', archive: 'self' },
      {
        service: 'web',
        environment: 'prod',
        field: 'target.valuesFiles[0]',
        path: 'values.yaml',
        expect: 'file',
        archive: 'self',
      },
      {
        service: 'web',
        environment: 'prod',
        field: 'target.valuesFiles[1]',
        path: 'env/prod/prod.yaml',
        expect: 'file',
        archive: 'self',
      },
    ]);
    expect(paths.map((p) => p.path)).toContain('env/staging/staging.yaml');
  });

  it.each([
    ['.', 'copilot'],
    ['./', 'copilot'],
    ['apps/web', 'apps/web/copilot'],
    ['apps/web//', 'apps/web/copilot'],
  ])('copilot: the copilot/ folder of workspace %j is %j', (workspace, path) => {
    const paths = namedPaths(service(`{ kind: copilot, app: shop, workspace: "${workspace}" }`));
    expect(paths).toEqual(
      ['staging', 'prod'].map((environment) => ({
        service: 'web',
        environment,
        field: 'target.workspace',
        path,
        expect: 'directory',
        archive: 'self',
      })),
    );
  });

  it('ecs: names no file (the task definition lives in ECS)', () => {
    expect(namedPaths(service('{ kind: ecs, cluster: main }'))).toEqual([]);
  });
});
