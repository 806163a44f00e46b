/**
 * templates/buildspec/build-image.yml run by the local build runner with a FAKE docker
 * executable (no Docker engine here) that records its arguments: values travel as single
 * arguments from the environment, a bad value stops the build before docker runs, and the
 * pushed digest is exported. Also lint: yamllint --strict and shellcheck on every command.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BuildRunner } from '../../src/local/build-runner.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';
import { memoryLog } from '../support/runtime.ts';

const run = promisify(execFile);
const SPEC = path.join(PROJECT_ROOT, 'templates/buildspec/build-image.yml');

/** A fake docker: `info` succeeds, every call is appended (one argument per line) to $FAKE_DOCKER_LOG. */
function fakeDocker(): { bin: string; log: string } {
  const bin = mkdtempSync(path.join(tmpdir(), 'coconut-fake-docker-'));
  const log = path.join(bin, 'calls.log');
  writeFileSync(
    path.join(bin, 'docker'),
    `#!/usr/bin/env bash
{ printf '%s\\n' "---" "$@"; } >> "$FAKE_DOCKER_LOG"
if [[ $1 == inspect ]]; then echo "ghcr.io/octo/demo-api@sha256:${'e'.repeat(64)}"; fi
exit 0
`,
  );
  chmodSync(path.join(bin, 'docker'), 0o755);
  return { bin, log };
}

function env(overrides: Record<string, string>) {
  const vars = {
    COCONUT_ACTION: 'build',
    COCONUT_SERVICE: 'demo-api',
    COCONUT_IMAGE_REGISTRY: 'ghcr',
    COCONUT_IMAGE_REPOSITORY: 'octo/demo-api',
    COCONUT_IMAGE_TAG: '1.2.3',
    COCONUT_VERSION: '1.2.3',
    COCONUT_GIT_REPOSITORY: 'octo/demo-api',
    COCONUT_GIT_SHA: 'a'.repeat(40),
    COCONUT_BUILD_CONTEXT: 'examples/demo/demo-app',
    COCONUT_DOCKERFILE: 'examples/demo/demo-app/Dockerfile',
    COCONUT_REGISTRY_SECRET: '',
    ...overrides,
  };
  return Object.entries(vars).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' }));
}

function runner(bin: string, log: string) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'coconut-build-image-'));
  return new BuildRunner({
    sourceDir: PROJECT_ROOT,
    dataDir,
    projectPrefix: 'coconut',
    strict: true,
    log: memoryLog(),
    env: { PATH: `${bin}:${process.env.PATH}`, FAKE_DOCKER_LOG: log },
  });
}

describe('Buildspec: build-image.yml (fake docker executable)', () => {
  it('builds and pushes the image from environment values, and exports its digest (fake docker)', async () => {
    const { bin, log } = fakeDocker();
    const { Build } = await runner(bin, log).run(
      { ProjectName: 'coconut-build-image', EnvironmentVariablesOverride: env({}) },
      { execution: 'x', state: 'BuildImage' },
    );
    expect(Build.BuildStatus).toBe('SUCCEEDED');
    expect(Build.ExportedEnvironmentVariables).toEqual([
      { Name: 'COCONUT_IMAGE_REF', Value: 'ghcr.io/octo/demo-api:1.2.3' },
      { Name: 'COCONUT_IMAGE_DIGEST', Value: `sha256:${'e'.repeat(64)}` },
    ]);
    const calls = readFileSync(log, 'utf8')
      .split('---\n')
      .filter(Boolean)
      .map((c) => c.trim().split('\n'));
    expect(calls.map((c) => c[0])).toEqual(['info', 'build', 'push', 'inspect']);
    expect(calls[1]).toEqual([
      'build',
      '--file',
      'examples/demo/demo-app/Dockerfile',
      '--tag',
      'ghcr.io/octo/demo-api:1.2.3',
      '--label',
      'org.opencontainers.image.version=1.2.3',
      '--label',
      `org.opencontainers.image.revision=${'a'.repeat(40)}`,
      '--label',
      'org.opencontainers.image.source=https://github.com/octo/demo-api',
      'examples/demo/demo-app',
    ]);
  });

  // The attack's marker goes into this file's own folder, never a fixed /tmp name that another run could
  // have left (or another user could own).
  const marker = path.join(mkdtempSync(path.join(tmpdir(), 'coconut-inject-')), 'pwned');

  it('the injection below is live: evaluated as shell, it creates the marker', async () => {
    await run('bash', ['-c', 'eval "v=$COCONUT_IMAGE_TAG"'], {
      env: { ...process.env, COCONUT_IMAGE_TAG: `1.2.3$(touch ${marker})` },
    });
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
  });

  it.each([
    ['COCONUT_IMAGE_TAG', `1.2.3$(touch ${marker})`],
    ['COCONUT_IMAGE_REPOSITORY', 'Octo/Demo'],
    ['COCONUT_BUILD_CONTEXT', '../../etc'],
    ['COCONUT_DOCKERFILE', '-f/etc/passwd'],
    ['COCONUT_IMAGE_REGISTRY', 'quay'],
  ])('stops before docker build when %s is %s (fake docker)', async (name, value) => {
    const { bin, log } = fakeDocker();
    await expect(
      runner(bin, log).run(
        { ProjectName: 'coconut-build-image', EnvironmentVariablesOverride: env({ [name]: value }) },
        { execution: 'x', state: 'BuildImage' },
      ),
    ).rejects.toMatchObject({ name: 'States.TaskFailed' });
    const calls = existsSync(log) ? readFileSync(log, 'utf8') : '';
    expect(calls).not.toContain('build');
    expect(existsSync(marker)).toBe(false);
  });

  it('passes yamllint --strict and shellcheck on every command', async () => {
    if (!which('yamllint') || !which('shellcheck'))
      throw new Error('install yamllint and shellcheck (`npm test` installs it: scripts/system-tools.ts)');
    await run('yamllint', ['--strict', '-c', path.join(PROJECT_ROOT, '.yamllint'), SPEC]);
    const spec = parse(readFileSync(SPEC, 'utf8')) as { phases: Record<string, { commands: string[] }> };
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-shellcheck-'));
    const files = Object.entries(spec.phases).flatMap(([phase, { commands }]) =>
      commands.map((command, i) => {
        const file = path.join(dir, `${phase}.${i}.sh`);
        writeFileSync(file, `#!/usr/bin/env bash\nset -euo pipefail\n${command}\n`);
        return file;
      }),
    );
    const result = await run('shellcheck', ['--shell', 'bash', ...files]).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });
});
