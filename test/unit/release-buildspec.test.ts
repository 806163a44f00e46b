/**
 * `onTag: build`: release.asl.json builds in the app's GitHub repository, which has no templates/.
 * CodeBuild then looks for the project's buildspec path in that repository and fails with
 * YAML_FILE_ERROR unless StartBuild carries `buildspecOverride`, which may be an inline buildspec
 * (CodeBuild API reference, StartBuild: "If this value is set, it can be either an inline buildspec
 * definition, the path to an alternate buildspec file relative to the value of the built-in
 * CODEBUILD_SRC_DIR environment variable, or the path to an S3 bucket"). The Step Functions
 * integration takes the StartBuild request members in PascalCase; the member names are checked
 * against the AWS SDK's own StartBuildInput schema. The release then runs in the local engine and
 * build runner, with the source override resolving to a fixture app repository and a FAKE docker.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StartBuildInput$ } from '@aws-sdk/client-codebuild';
import { describe, expect, it } from 'vitest';
import { awsSubstitutions } from '../../infra/pipeline.ts';
import { type AslDefinition, type AslState, placeholdersIn, substitute, taskStates } from '../../src/core/asl.ts';
import { releasePlan } from '../../src/core/triggers/start-release.ts';
import { loadStateMachine } from '../../src/local/asl.ts';
import { BuildRunner } from '../../src/local/build-runner.ts';
import { LocalEngine } from '../../src/local/engine.ts';
import { appRepository, buildTestConfig, PROJECT_ROOT } from '../support/build-sources.ts';
import { memoryLog } from '../support/runtime.ts';

const BUILDSPEC = readFileSync(path.join(PROJECT_ROOT, 'templates/buildspec/build-image.yml'), 'utf8');
const RELEASE_FILE = path.join(PROJECT_ROOT, 'stepfunctions/release.asl.json');

const startBuildMembers = new Set((StartBuildInput$ as unknown as [number, string, string, number, string[]])[4]);

function buildImageState(definition: AslDefinition): AslState {
  return definition.States.BuildImage as AslState;
}

/** release.asl.json as infra/ deploys it, with the stand-in values of the SST recorder. */
function awsDefinition(): AslDefinition {
  const text = readFileSync(RELEASE_FILE, 'utf8');
  const names = placeholdersIn(text);
  const values = awsSubstitutions(names, { functions: {}, machines: {}, buildProjectPrefix: 'coconut-prod' }, RELEASE_FILE);
  return JSON.parse(substitute(text, Object.fromEntries(names.map((n) => [n, String(values[n])])), RELEASE_FILE));
}

describe('release.asl.json: the image build of a git tag (onTag: build)', () => {
  it('sends only StartBuild members the CodeBuild API has (AWS SDK StartBuildInput schema), in PascalCase', () => {
    for (const file of ['release.asl.json', 'deploy.asl.json']) {
      const text = readFileSync(path.join(PROJECT_ROOT, 'stepfunctions', file), 'utf8');
      for (const [name, state] of taskStates(JSON.parse(text.replace(/\$\{(\w+)\}/g, 'x')))) {
        if (state.Resource !== 'arn:aws:states:::codebuild:startBuild.sync') continue;
        for (const key of Object.keys(state.Parameters as Record<string, unknown>)) {
          const member = key.replace(/\.\$$/, '');
          expect(startBuildMembers, `${file} ${name}: ${key}`).toContain(member[0]?.toLowerCase() + member.slice(1));
          expect(member[0], `${file} ${name}: ${key} must be PascalCase`).toBe(member[0]?.toUpperCase());
        }
      }
    }
  });

  it('passes templates/buildspec/build-image.yml inline as BuildspecOverride, on AWS and locally', async () => {
    for (const definition of [awsDefinition(), await loadStateMachine(PROJECT_ROOT, 'release')]) {
      const params = buildImageState(definition).Parameters as Record<string, unknown>;
      expect(params.SourceLocationOverride ?? params['SourceLocationOverride.$']).toBeDefined();
      expect(params.BuildspecOverride).toBe(BUILDSPEC);
    }
    // The inline buildspec needs nothing from our repository: the app's repository has no templates/.
    expect(BUILDSPEC).not.toMatch(/templates\//);
  });

  describe('run in the local engine against a fixture app repository without templates/ (FAKE docker and aws)', () => {
    const config = buildTestConfig();
    const api = config.services.find((s) => s.source?.onTag === 'build') as (typeof config.services)[number];
    const plan = releasePlan(api, { repository: 'octo/api', tag: '1.2.0', sha: 'b'.repeat(40) });

    async function release(definition: AslDefinition) {
      const dir = mkdtempSync(path.join(tmpdir(), 'coconut-release-'));
      const bin = path.join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(
        path.join(bin, 'docker'),
        // As the real one, `docker login --password-stdin` reads the password: the writer of the pipe
        // (aws ecr get-login-password) must not die of SIGPIPE under pipefail.
        `#!/usr/bin/env bash\nif [[ $1 == login && " $* " == *" --password-stdin "* ]]; then cat >/dev/null; fi\nif [[ $1 == inspect ]]; then echo "\${@: -1}@sha256:${'e'.repeat(64)}"; fi\nif [[ $1 == build ]]; then test -f "$PWD/Dockerfile" || { echo "no Dockerfile in $PWD" >&2; exit 1; }; fi\n`,
      );
      chmodSync(path.join(bin, 'docker'), 0o755);
      writeFileSync(path.join(bin, 'aws'), '#!/usr/bin/env bash\necho fake-ecr-token\n');
      chmodSync(path.join(bin, 'aws'), 0o755);
      const app = appRepository();
      const sources: unknown[] = [];
      const builds = new BuildRunner({
        sourceDir: PROJECT_ROOT,
        dataDir: dir,
        projectPrefix: 'coconut',
        strict: true,
        log: memoryLog(),
        env: { PATH: `${bin}:${process.env.PATH}`, COCONUT_ECR_REGISTRY: '123456789012.dkr.ecr.us-east-1.amazonaws.com' },
        resolveSource: (source) => {
          sources.push(source);
          return app;
        },
      });
      const engine = new LocalEngine({
        definitions: { release: definition },
        functions: {},
        builds,
        dataDir: dir,
        log: memoryLog(),
      });
      await engine.startExecution('release', plan.releaseId, plan);
      const record = await engine.waitFor(plan.releaseId);
      await engine.stop();
      return { record, sources };
    }

    it('builds from the app repository with the inline buildspec and pushes the image', async () => {
      const { record, sources } = await release(await loadStateMachine(PROJECT_ROOT, 'release'));
      expect(record?.status, JSON.stringify(record)).toBe('SUCCEEDED');
      expect(sources).toEqual([{ type: 'GITHUB', location: 'https://github.com/octo/api.git', version: 'refs/tags/1.2.0' }]);
      expect(JSON.stringify(record?.output)).toContain(`sha256:${'e'.repeat(64)}`);
    });

    it('fails with YAML_FILE_ERROR, as CodeBuild does, when the buildspec is not passed', async () => {
      const definition = await loadStateMachine(PROJECT_ROOT, 'release');
      delete (buildImageState(definition).Parameters as Record<string, unknown>).BuildspecOverride;
      const { record } = await release(definition);
      expect(record?.status).toBe('FAILED');
      expect(record?.cause).toContain('YAML_FILE_ERROR');
    });
  });
});
