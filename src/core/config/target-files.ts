/**
 * The files and folders a service's target names, per environment, as its builds will read them:
 * the same "{environment}" expansion as the plan (src/core/triggers/plan.ts expands valuesFiles and
 * knownHosts.file).
 * infra/ archives exactly these for CodeBuild, and refuses a config that names a missing one.
 */
import type { ServiceConfig } from './schema.ts';

export interface NamedPath {
  service: string;
  environment: string;
  /** What the config calls it: "target.valuesFiles[1]". */
  field: string;
  /** Relative to the repository root, "{environment}" expanded. */
  path: string;
  expect: 'file' | 'directory' | 'file or directory';
  /**
   * What the build needs around it: the file alone, or its whole folder (a playbook finds its
   * roles/ and vars next to it, an inventory its group_vars/ and host_vars/).
   */
  archive: 'self' | 'folder';
}

export function namedPaths(service: ServiceConfig): NamedPath[] {
  const out: NamedPath[] = [];
  for (const { name: environment } of service.environments) {
    const add = (field: string, path: string, expect: NamedPath['expect'], archive: NamedPath['archive'] = 'self') =>
      out.push({ service: service.name, environment, field, path, expect, archive });
    const target = service.target;
    switch (target.kind) {
      case 'ansible':
        add('target.playbook', target.playbook, 'file', 'folder');
        add('target.rollbackPlaybook', target.rollbackPlaybook, 'file', 'folder');
        add('target.inventory', target.inventory, 'file or directory', 'folder');
        if (target.knownHosts?.file) {
          add('target.knownHosts.file', target.knownHosts.file.replaceAll('{environment}', environment), 'file');
        }
        break;
      case 'helm':
        add('target.chart', target.chart, 'directory');
        target.valuesFiles.forEach((file, i) => {
          add(`target.valuesFiles[${i}]`, file.replaceAll('{environment}', environment), 'file');
        });
        break;
      case 'copilot':
        // Copilot reads <workspace>/copilot/ (.workspace, the service and environment manifests).
        add('target.workspace', joinRelative(target.workspace, 'copilot'), 'directory');
        break;
      // ecs names no file: the task definition lives in ECS.
    }
  }
  return out;
}

function joinRelative(dir: string, child: string): string {
  const trimmed = dir.replace(/\/+$/, '');
  // Never empty: the schema's relative path starts with neither "/" nor "-".
  return trimmed === '.' ? child : `${trimmed}/${child}`;
}
