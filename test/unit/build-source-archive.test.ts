/**
 * The CodeBuild source archive (infra/pipeline.ts sourcePaths): it holds every file and folder a
 * target of coconut.yaml names, for every environment ("{environment}" expanded as the plan
 * expands it), nothing twice, and a missing one stops `sst deploy` naming the service, the
 * environment and the path. The helm deploy then runs from exactly that archive, in the local
 * build runner (FAKE helm), and finds the values files of its environment.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourcePaths } from '../../infra/pipeline.ts';
import { buildEnvironment } from '../../src/core/triggers/plan.ts';
import { BuildRunner } from '../../src/local/build-runner.ts';
import { buildTestConfig, PROJECT_ROOT, sourceArchive, userRepository } from '../support/build-sources.ts';
import { memoryLog } from '../support/runtime.ts';

describe('Build source archive (sourcePaths)', () => {
  const config = buildTestConfig();

  it('holds every path a target names, per environment, each once and none inside another', () => {
    const repo = userRepository();
    expect(sourcePaths(config, repo)).toEqual([
      { path: 'deploy/common.yaml', kind: 'file' },
      { path: 'deploy/values-prod.yaml', kind: 'file' },
      { path: 'deploy/values-staging.yaml', kind: 'file' },
      // The inventory travels with its folder (group_vars/); the default playbooks are inside templates/.
      { path: 'ops/inventory', kind: 'directory' },
      // target.knownHosts.file, per environment.
      { path: 'ops/known_hosts/prod', kind: 'file' },
      { path: 'ops/known_hosts/staging', kind: 'file' },
      // Copilot reads <workspace>/copilot/.
      { path: 'services/shop/copilot', kind: 'directory' },
      { path: 'templates', kind: 'directory' },
    ]);
    const paths = sourcePaths(config, repo).map((p) => p.path);
    for (const p of paths) {
      expect(
        paths.filter((other) => other !== p && p.startsWith(`${other}/`)),
        p,
      ).toEqual([]);
    }
  });

  it('stops the deploy naming the service, environment and path of a missing file', () => {
    const repo = userRepository();
    rmSync(path.join(repo, 'deploy/values-prod.yaml'));
    rmSync(path.join(repo, 'services/shop/copilot'), { recursive: true });
    expect(() => sourcePaths(config, repo)).toThrow(
      /service web, environment prod: target\.valuesFiles\[1\] "deploy\/values-prod\.yaml" is not an existing file/,
    );
    expect(() => sourcePaths(config, repo)).toThrow(
      /service shop, environment staging: target\.workspace "services\/shop\/copilot" is not an existing directory/,
    );
  });

  it('refuses a folder where a file is expected', () => {
    const repo = userRepository();
    rmSync(path.join(repo, 'deploy/common.yaml'));
    mkdirSync(path.join(repo, 'deploy/common.yaml'));
    expect(() => sourcePaths(config, repo)).toThrow(/target\.valuesFiles\[0\] "deploy\/common\.yaml" is not an existing file/);
  });

  it('archives a folder once when a named file lies inside another named folder', () => {
    const repo = userRepository();
    const nested = buildTestConfig(`
version: 1
services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: helm, chart: deploy, valuesFiles: [deploy/common.yaml] }
    environments: [{ name: staging }]
`);
    mkdirSync(path.join(repo, 'deploy/templates'));
    expect(sourcePaths(nested, repo)).toEqual([
      { path: 'deploy', kind: 'directory' },
      { path: 'templates', kind: 'directory' },
    ]);
  });

  it('lets helm-deploy find the values files of each environment in the archive (FAKE helm)', async () => {
    const { dir } = sourceArchive(userRepository(), config);
    const bin = mkdtempSync(path.join(tmpdir(), 'coconut-archive-bin-'));
    symlinkSync(path.join(PROJECT_ROOT, 'test/fixtures/fake-bin/helm'), path.join(bin, 'helm'));
    const web = config.services[0] as (typeof config.services)[number];
    for (const environment of ['staging', 'prod']) {
      const data = mkdtempSync(path.join(tmpdir(), 'coconut-archive-build-'));
      const runner = new BuildRunner({
        sourceDir: dir,
        dataDir: data,
        projectPrefix: 'coconut',
        strict: true,
        log: memoryLog(),
        env: { PATH: `${bin}:${process.env.PATH}`, COCONUT_DATA_DIR: data },
      });
      const vars = buildEnvironment(
        web,
        environment,
        'dep-1',
        { registry: 'ghcr', repository: 'octo/web', tag: '1.0.0', digest: `sha256:${'c'.repeat(64)}` },
        'deploy',
      );
      const { Build } = await runner.run(
        { ProjectName: 'coconut-helm-deploy', EnvironmentVariablesOverride: vars },
        { execution: 'x', state: 'Deploy' },
      );
      expect(Build.BuildStatus).toBe('SUCCEEDED');
    }
  });
});
