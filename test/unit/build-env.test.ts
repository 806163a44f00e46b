/**
 * What a local build (and so every app Ansible starts from it) sees of the runtime's
 * environment: an allow-list, never the runtime's secrets (issue 12, item 4).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inheritedBuildEnv } from '../../src/local/build-env.ts';
import { BuildRunner } from '../../src/local/build-runner.ts';
import { memoryLog } from '../support/runtime.ts';

const SECRETS = {
  SLACK_BOT_TOKEN: 'xoxb-runtime-bot-token',
  SLACK_SIGNING_SECRET: 'runtime-signing-secret',
  AWS_ACCESS_KEY_ID: 'AKIARUNTIMEKEY',
  AWS_SECRET_ACCESS_KEY: 'runtime-aws-secret',
  AWS_SESSION_TOKEN: 'runtime-aws-session',
  COCONUT_GITHUB_WEBHOOK_SECRET: 'runtime-github-webhook-secret',
  COCONUT_DOCKERHUB_TOKEN: 'runtime-dockerhub-token',
  SSH_AUTH_SOCK: '/tmp/ssh-agent.sock',
};

/** `env -0` of the build's process, parsed. */
function readEnv(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
}

describe('the local build environment', () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const [k, v] of Object.entries({ ...SECRETS, AWS_REGION: 'eu-west-1', LC_ALL: 'C.UTF-8' })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("a build's process gets PATH, its declared variables and overrides, and none of the runtime's secrets", async () => {
    const source = mkdtempSync(path.join(tmpdir(), 'coconut-envsrc-'));
    const out = mkdtempSync(path.join(tmpdir(), 'coconut-envout-'));
    mkdirSync(path.join(source, 'templates', 'buildspec'), { recursive: true });
    writeFileSync(
      path.join(source, 'templates', 'buildspec', 'env-probe.yml'),
      `version: 0.2
env:
  variables:
    DECLARED_BY_BUILDSPEC: "yes"
    ANSIBLE_STDOUT_CALLBACK: "default"
phases:
  build:
    commands:
      - env -0 > "$PROBE_OUT/first.env"
      - export SET_BY_A_COMMAND=1
      - env -0 > "$PROBE_OUT/second.env"
`,
    );
    const runner = new BuildRunner({
      sourceDir: source,
      dataDir: mkdtempSync(path.join(tmpdir(), 'coconut-envdata-')),
      projectPrefix: 'p',
      strict: true,
      log: memoryLog(),
      env: { COCONUT_DATA_DIR: '/data' },
    });
    await runner.run(
      {
        ProjectName: 'p-env-probe',
        EnvironmentVariablesOverride: [
          { Name: 'PROBE_OUT', Value: out, Type: 'PLAINTEXT' },
          { Name: 'COCONUT_SERVICE', Value: 'demo-api', Type: 'PLAINTEXT' },
        ],
      },
      { execution: 'x', state: 'Deploy' },
    );
    for (const file of ['first.env', 'second.env']) {
      const env = readEnv(path.join(out, file));
      for (const name of Object.keys(SECRETS)) expect(env, `${file}: ${name}`).not.toHaveProperty(name);
      // Not under another name either.
      for (const value of Object.values(SECRETS)) expect(Object.values(env)).not.toContain(value);
      expect(env.PATH).toBe(process.env.PATH);
      expect(env).toMatchObject({
        DECLARED_BY_BUILDSPEC: 'yes',
        ANSIBLE_STDOUT_CALLBACK: 'default',
        PROBE_OUT: out,
        COCONUT_SERVICE: 'demo-api',
        COCONUT_DATA_DIR: '/data',
        CODEBUILD_SRC_DIR: source,
        AWS_REGION: 'eu-west-1',
        LC_ALL: 'C.UTF-8',
      });
      expect(env.CODEBUILD_BUILD_ID).toMatch(/^p-env-probe:/);
    }
    // Variables a command exports still carry over to the next, as in CodeBuild.
    expect(readEnv(path.join(out, 'second.env')).SET_BY_A_COMMAND).toBe('1');
  });

  it('COCONUT_BUILD_PASS_ENV adds names deliberately, but never Slack or Coconut secrets', () => {
    const env = inheritedBuildEnv({
      ...SECRETS,
      PATH: '/bin',
      COCONUT_BUILD_PASS_ENV: 'SSH_AUTH_SOCK, SLACK_BOT_TOKEN,COCONUT_GITHUB_WEBHOOK_SECRET',
    });
    expect(env).toEqual({ PATH: '/bin', SSH_AUTH_SOCK: '/tmp/ssh-agent.sock' });
  });
});
