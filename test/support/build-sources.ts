/**
 * A user's repository for the build tests, and the source archive infra/ would upload from it:
 * a coconut.yaml with a helm service whose values files differ per environment, a copilot service
 * with its own workspace, an ansible service with its own inventory and SSH access (a key secret and
 * known_hosts files per environment), and an `onTag: build` service;
 * plus an app repository (what a release clones from GitHub), which has no templates/.
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sourcePaths } from '../../infra/pipeline.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { CoconutConfig } from '../../src/core/config/schema.ts';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

export const BUILD_TEST_CONFIG = `
version: 1
services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target:
      kind: helm
      timeout: 3600
      valuesFiles: [deploy/common.yaml, 'deploy/values-{environment}.yaml']
    environments: [{ name: staging }, { name: prod }]
  - name: shop
    image: { registry: ghcr, repository: octo/shop }
    target: { kind: copilot, app: shopapp, workspace: services/shop }
    environments: [{ name: staging }]
  - name: api
    image: { registry: ecr, repository: api }
    source: { github: octo/api, onTag: build }
    target:
      kind: ansible
      inventory: ops/inventory/hosts.yml
      sshKey: 'coconut/api-ssh-{environment}'
      knownHosts: { file: 'ops/known_hosts/{environment}' }
      user: deploy
    environments: [{ name: staging }, { name: prod }]
`;

/** A host public key line's "type key" part: well-formed, and no host has it. */
export const TEST_HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3QtaG9zdC1rZXktb2YtY29jb251dC10ZXN0cyEh';

export function buildTestConfig(text = BUILD_TEST_CONFIG): CoconutConfig {
  return parseConfig(text, 'coconut.yaml');
}

function write(root: string, file: string, text: string) {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
}

/** The user's repository: templates/ (as `coconut init` copies them) plus the files the config names. */
export function userRepository(config = BUILD_TEST_CONFIG): string {
  const root = mkdtempSync(path.join(tmpdir(), 'coconut-user-repo-'));
  cpSync(path.join(PROJECT_ROOT, 'templates'), path.join(root, 'templates'), { recursive: true });
  write(root, 'coconut.yaml', config);
  write(root, 'deploy/common.yaml', 'replicaCount: 2\n');
  write(root, 'deploy/values-staging.yaml', 'ingress: { enabled: false }\n');
  write(root, 'deploy/values-prod.yaml', 'ingress: { enabled: true }\n');
  write(root, 'services/shop/copilot/.workspace', 'application: shopapp\n');
  write(
    root,
    'services/shop/copilot/shop/manifest.yml',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Copilot's own manifest interpolation, not ours.
    'name: shop\ntype: Backend Service\nimage:\n  location: ${COCONUT_IMAGE_URI}\n',
  );
  write(root, 'ops/inventory/hosts.yml', 'staging:\n  hosts: { s1: {} }\nprod:\n  hosts: { p1: {} }\n');
  write(root, 'ops/inventory/group_vars/all.yml', 'app_port: 8080\n');
  // What `ssh-keyscan` prints, one file per environment (a throwaway key; the builds never connect).
  for (const [env, host] of [
    ['staging', 's1'],
    ['prod', 'p1'],
  ]) {
    write(root, `ops/known_hosts/${env}`, `# ${env} hosts\n${host} ${TEST_HOST_KEY}\n`);
  }
  write(root, 'README.md', 'not needed by any build\n');
  return root;
}

/** What the S3 source archive holds: coconut.yaml and exactly the paths sourcePaths() archives. */
export function sourceArchive(repo: string, config: CoconutConfig): { dir: string; paths: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-source-archive-'));
  cpSync(path.join(repo, 'coconut.yaml'), path.join(dir, 'coconut.yaml'));
  const paths = sourcePaths(config, repo).map((p) => p.path);
  for (const p of paths) cpSync(path.join(repo, p), path.join(dir, p), { recursive: true });
  return { dir, paths };
}

/** The app's GitHub repository at a tag: a Dockerfile and its context, no templates/. */
export function appRepository(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'coconut-app-repo-'));
  write(root, 'Dockerfile', 'FROM scratch\nCOPY app.txt /\n');
  write(root, 'app.txt', 'hello\n');
  return root;
}
