/** The local build runner's readiness probes, and the local webhook secrets file. */
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildRunner } from '../../src/local/build-runner.ts';
import { localSecrets } from '../../src/local/secrets.ts';
import { memoryLog } from '../support/runtime.ts';

function probedRunner(probe: string, strict = false) {
  const source = mkdtempSync(path.join(tmpdir(), 'coconut-probe-'));
  mkdirSync(path.join(source, 'templates', 'buildspec'), { recursive: true });
  writeFileSync(
    path.join(source, 'templates', 'buildspec', 'probed.yml'),
    `version: 0.2
env:
  variables:
    COCONUT_REQUIRED_TOOLS: "bash"
    COCONUT_REQUIRED_PROBES: '${probe}'
  exported-variables: [RAN]
phases:
  build:
    commands:
      - export RAN=yes
`,
  );
  const log = memoryLog();
  return { log, runner: new BuildRunner({ sourceDir: source, dataDir: source, projectPrefix: 'p', strict, log }) };
}

const meta = { execution: 'x', state: 'Build' };

describe('Class: BuildRunner (readiness probes)', () => {
  it('runs the build when every probe succeeds', async () => {
    const { runner } = probedRunner('true; test -d /tmp');
    const { Build } = await runner.run({ ProjectName: 'p-probed' }, meta);
    expect(Build.ExportedEnvironmentVariables).toEqual([{ Name: 'RAN', Value: 'yes' }]);
  });

  it('rehearses, labelled, when a probe fails although the tool is on PATH', async () => {
    const { runner, log } = probedRunner('bash -c "exit 3"');
    const { Build } = await runner.run({ ProjectName: 'p-probed', EnvironmentVariablesOverride: [] }, meta);
    expect(Build.ExportedEnvironmentVariables).toEqual([
      { Name: 'COCONUT_REHEARSAL', Value: 'true' },
      { Name: 'COCONUT_MISSING_TOOLS', Value: 'bash' },
      { Name: 'COCONUT_REHEARSED_STEP', Value: 'deploy' },
      { Name: 'COCONUT_FAILED_PROBES', Value: 'bash -c "exit 3"' },
    ]);
    expect(log.lines.some((l) => l.message.includes('REHEARSAL (PLANNED, nothing ran): `bash -c "exit 3"` failed'))).toBe(true);
  });

  it('fails with Coconut.MissingTool naming the probe in strict mode', async () => {
    const { runner } = probedRunner('false', true);
    await expect(runner.run({ ProjectName: 'p-probed' }, meta)).rejects.toMatchObject({
      name: 'Coconut.MissingTool',
      message: expect.stringContaining('`false` failed'),
    });
  });
});

describe('Function: localSecrets', () => {
  it('generates the secrets once into secrets.json (mode 0600) and reuses them', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-secrets-'));
    const first = localSecrets(dir, {});
    expect(first.secrets.githubWebhookSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(first.secrets.dockerhubToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(localSecrets(dir, {}).secrets).toEqual(first.secrets);
    expect(JSON.parse(readFileSync(first.file, 'utf8'))).toEqual(first.secrets);
  });

  it('prefers the environment variables AWS uses too, writing nothing for them', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-secrets-'));
    const env = { COCONUT_GITHUB_WEBHOOK_SECRET: 'from-env', COCONUT_DOCKERHUB_TOKEN: 'token-env' };
    const { secrets, fromFile } = localSecrets(dir, env);
    expect(secrets).toEqual({ githubWebhookSecret: 'from-env', dockerhubToken: 'token-env' });
    expect(fromFile).toEqual([]);
  });
});
