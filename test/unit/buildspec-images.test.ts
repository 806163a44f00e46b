/**
 * Every buildspec, run by the local build runner with a PATH that holds ONLY the programs of the
 * CodeBuild image its project uses (infra/build-compute.ts), as that image's Dockerfile in
 * aws-codebuild-docker-images defines them (test/fixtures/codebuild-images.ts, with the commit),
 * plus what the buildspec installs itself. FAKE executables stand in for the image's tools
 * (test/fixtures/image-tool.mjs: aws, curl, docker, python3/pip...) and for the downloaded helm and
 * copilot; base OS programs (bash, coreutils, sed, tar...) are the host's own. There is no network:
 * the fake curl serves only the official release URLs the buildspecs pin, with stand-in files.
 *
 * A buildspec that calls a program its image lacks, without installing it first, fails here: the
 * Ansible buildspecs did, on the Lambda python image (no ansible there, none installed).
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCompute } from '../../infra/build-compute.ts';
import { buildspecs, inlineBuildspec } from '../../infra/pipeline.ts';
import { buildEnvironment } from '../../src/core/triggers/plan.ts';
import { releasePlan } from '../../src/core/triggers/start-release.ts';
import { BuildRunner } from '../../src/local/build-runner.ts';
import { which } from '../../src/local/tools.ts';
import { CODEBUILD_IMAGES, IMAGE_SOURCE, type ImageTools } from '../fixtures/codebuild-images.ts';
import {
  appRepository,
  BUILD_TEST_CONFIG,
  buildTestConfig,
  PROJECT_ROOT,
  sourceArchive,
  userRepository,
} from '../support/build-sources.ts';
import { memoryLog } from '../support/runtime.ts';

const FAKE_TOOL = path.join(PROJECT_ROOT, 'test/fixtures/fake-tool.mjs');
const IMAGE_TOOL = path.join(PROJECT_ROOT, 'test/fixtures/image-tool.mjs');
const DIGEST = `sha256:${'a'.repeat(64)}`;

const config = buildTestConfig();
const specs = buildspecs(PROJECT_ROOT);
let archive: string;
let app: string;

beforeAll(() => {
  archive = sourceArchive(userRepository(), config).dir;
  app = appRepository();
});

function wrapper(file: string, script: string, tool: string) {
  writeFileSync(file, `#!/bin/bash\nexec '${process.execPath}' '${script}' ${tool} "$@"\n`);
  chmodSync(file, 0o755);
}

/** A PATH of the image's programs only: host binaries for the base OS, fakes for the tools. */
function imagePath(image: ImageTools, dir: string): string {
  const bin = path.join(dir, 'image-bin');
  mkdirSync(bin);
  for (const tool of Object.keys(image.base)) {
    if (tool === 'uname') {
      wrapper(path.join(bin, tool), IMAGE_TOOL, tool);
      continue;
    }
    const host = which(tool, '/usr/bin:/bin');
    if (!host) throw new Error(`the host has no ${tool} to stand in for the image's`);
    symlinkSync(host, path.join(bin, tool));
  }
  for (const tool of Object.keys(image.tools)) wrapper(path.join(bin, tool), IMAGE_TOOL, tool);
  return bin;
}

/**
 * The pinned downloads as the fake curl serves them: stand-in helm and copilot for the image's
 * architecture, at the buildspecs' official URLs. Their sha256 is not the published one, so the
 * build gets the stand-ins' checksums in place of the pins (the checksum check itself still runs).
 */
function downloads(image: ImageTools, dir: string): { map: Record<string, string>; checksums: Record<string, string> } {
  const arch = image.machine === 'aarch64' ? 'arm64' : 'amd64';
  const vars = (name: string) => (readYaml(name).env?.variables ?? {}) as Record<string, string>;
  const helm = vars('helm-deploy');
  const copilot = vars('copilot-deploy');
  const stage = path.join(dir, 'release', `linux-${arch}`);
  mkdirSync(stage, { recursive: true });
  wrapper(path.join(stage, 'helm'), FAKE_TOOL, 'helm');
  const tarball = path.join(dir, 'helm.tar.gz');
  execFileSync('tar', ['-czf', tarball, '-C', path.join(dir, 'release'), `linux-${arch}`]);
  const copilotBin = path.join(dir, 'copilot-download');
  wrapper(copilotBin, FAKE_TOOL, 'copilot');
  const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  return {
    map: {
      [`https://get.helm.sh/helm-${helm.HELM_VERSION}-linux-${arch}.tar.gz`]: tarball,
      [`https://github.com/aws/copilot-cli/releases/download/${copilot.COPILOT_VERSION}/copilot-linux-${arch}-${copilot.COPILOT_VERSION}`]:
        copilotBin,
    },
    checksums: {
      [`HELM_SHA256_LINUX_${arch.toUpperCase()}`]: sha(tarball),
      [`COPILOT_SHA256_LINUX_${arch.toUpperCase()}`]: sha(copilotBin),
    },
  };
}

function readYaml(name: string): { env?: { variables?: Record<string, unknown> } } {
  return parse(readFileSync(path.join(PROJECT_ROOT, 'templates/buildspec', `${name}.yml`), 'utf8'));
}

/** The StartBuild parameters the state machines send for this buildspec (from the plan, as on AWS). */
function startBuild(name: string, extra: Record<string, string>): Record<string, unknown> {
  const env = (vars: { Name: string; Value: string }[]) => [
    ...vars,
    ...Object.entries(extra).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' })),
  ];
  const service = (kind: string) => config.services.find((s) => s.target.kind === kind) as (typeof config.services)[number];
  if (name === 'build-image') {
    const api = config.services.find((s) => s.source?.onTag === 'build') as (typeof config.services)[number];
    const plan = releasePlan(api, { repository: 'octo/api', tag: '1.2.0', sha: 'b'.repeat(40) });
    return {
      ProjectName: 'coconut-build-image',
      SourceTypeOverride: 'GITHUB',
      SourceLocationOverride: plan.source.location,
      SourceVersion: plan.source.sourceVersion,
      BuildspecOverride: inlineBuildspec('build-image', PROJECT_ROOT),
      EnvironmentVariablesOverride: env([
        ...plan.buildEnv,
        { Name: 'COCONUT_ECR_REGISTRY', Value: '123456789012.dkr.ecr.us-east-1.amazonaws.com' },
      ]),
    };
  }
  const [kind, step] = name.split('-') as [string, 'deploy' | 'rollback'];
  const s = service(kind);
  const vars = buildEnvironment(
    s,
    'prod',
    'dep-1',
    { registry: s.image.registry, repository: s.image.repository, tag: '1.2.0', digest: DIGEST },
    step,
  );
  return {
    ProjectName: `coconut-${name}`,
    EnvironmentVariablesOverride: env(step === 'rollback' ? [...vars, { Name: 'COCONUT_ROLLBACK_REVISION', Value: '' }] : vars),
  };
}

const ARCHITECTURES = {
  arm64: config,
  x86_64: buildTestConfig(`${BUILD_TEST_CONFIG}build: { architecture: x86_64 }\n`),
};

describe.each(Object.entries(ARCHITECTURES))(
  `Buildspecs on their CodeBuild images, build.architecture %s (FAKE executables stand in for the image tools, per ${IMAGE_SOURCE.repository}@${IMAGE_SOURCE.commit.slice(0, 12)})`,
  (_arch, archConfig) => {
    it('knows the tool list of every image a project uses', () => {
      for (const spec of specs) {
        const image = buildCompute(spec, archConfig).image;
        expect(
          CODEBUILD_IMAGES[image],
          `${spec.name} runs on ${image}: add its tools from aws-codebuild-docker-images`,
        ).toBeDefined();
      }
    });

    // helm-rollback redeploys after helm-deploy (the fake helm keeps release state in the log folder).
    const order = [
      'ansible-deploy',
      'ansible-rollback',
      'build-image',
      'copilot-deploy',
      'copilot-rollback',
      'helm-deploy',
      'helm-rollback',
    ];
    const logs = new Map<string, string>();
    for (const name of order) {
      it(`${name} runs with only its image's programs plus what it installs`, async () => {
        const spec = specs.find((s) => s.name === name);
        expect(spec, `templates/buildspec/${name}.yml`).toBeDefined();
        const compute = buildCompute(spec as NonNullable<typeof spec>, archConfig);
        const image = CODEBUILD_IMAGES[compute.image] as ImageTools;
        const kind = name.split('-')[0] as string;
        const dir = mkdtempSync(path.join(tmpdir(), `coconut-image-${name}-`));
        const log = logs.get(kind) ?? path.join(dir, 'fake-tools.jsonl');
        logs.set(kind, log);
        const { map, checksums } = downloads(image, dir);
        // The ansible target's SSH key secret (BUILD_TEST_CONFIG: coconut/api-ssh-{environment}): a
        // throwaway text shaped like a key, which the fake ssh-add accepts and fingerprints.
        const keyFile = path.join(dir, 'ssh-key-secret');
        writeFileSync(
          keyFile,
          `-----BEGIN OPENSSH PRIVATE KEY-----\n${'QUFBQQ=='.repeat(8)}\n-----END OPENSSH PRIVATE KEY-----\n`,
        );
        const lines = memoryLog();
        const runner = new BuildRunner({
          sourceDir: archive,
          dataDir: path.join(dir, 'data'),
          projectPrefix: 'coconut',
          strict: true,
          checkTools: false,
          log: lines,
          resolveSource: () => app,
          env: {
            PATH: imagePath(image, dir),
            TMPDIR: path.join(dir, 'tmp'),
            HOME: path.join(dir, 'home'),
            FAKE_TOOL_LOG: log,
            FAKE_DOWNLOADS: JSON.stringify(map),
            FAKE_MACHINE: image.machine,
            FAKE_SECRETS: JSON.stringify({ 'coconut/api-ssh-prod': keyFile }),
          },
        });
        mkdirSync(path.join(dir, 'tmp'));
        const params = startBuild(name, checksums);
        let outcome: string;
        try {
          const { Build } = await runner.run(params, { execution: 'image-test', state: name });
          outcome = Build.BuildStatus;
        } catch (error) {
          const build = JSON.parse((error as Error).message).Build;
          const logFile = String(build.Logs?.DeepLink ?? '').replace('file://', '');
          outcome = `FAILED on ${compute.image}: ${JSON.stringify(build.Phases?.find((p: { PhaseStatus: string }) => p.PhaseStatus === 'FAILED'))}\n${
            logFile ? readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n') : ''
          }`;
        }
        expect(outcome).toBe('SUCCEEDED');
        const calls = readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { tool: string; argv: string[]; installed?: string[] });
        if (kind === 'ansible') {
          // Installed from the pinned, hash-checked requirements, then run.
          expect(calls.some((c) => c.tool === 'venv-python3' || c.installed?.some((p) => p === 'ansible-core-2.18.6'))).toBe(
            true,
          );
          expect(calls.some((c) => c.tool === 'ansible-playbook' && c.argv.includes('--limit'))).toBe(true);
          // SSH access with the image's own openssh-clients: the key read from Secrets Manager into
          // ssh-agent through ssh-add's stdin, the known_hosts file of the environment, strict checking.
          // (The log is shared by the deploy and the rollback: one of each per playbook run so far.)
          const runs = calls.filter((c) => c.tool === 'ansible-playbook').length;
          const count = (pick: (c: (typeof calls)[number] & { readKeyFromStdin?: boolean }) => boolean) =>
            calls.filter(pick).length;
          expect(count((c) => c.tool === 'aws' && c.argv.includes('--secret-id=coconut/api-ssh-prod'))).toBe(runs);
          expect(count((c) => c.tool === 'ssh-agent')).toBe(runs);
          expect(count((c) => c.tool === 'ssh-add' && c.readKeyFromStdin === true)).toBe(runs);
          const play = calls.filter((c) => c.tool === 'ansible-playbook').at(-1) as unknown as {
            ssh: Record<string, string>;
          };
          expect(play.ssh.ANSIBLE_SSH_ARGS).toMatch(/(^| )-o StrictHostKeyChecking=yes( |$)/);
          expect(play.ssh.ANSIBLE_SSH_ARGS).toMatch(/ -o UserKnownHostsFile=\S+\/known_hosts /);
          expect(play.ssh.knownHosts).toBe(readFileSync(path.join(archive, 'ops/known_hosts/prod'), 'utf8'));
          expect(play.ssh.knownHostsMode).toBe('600');
          expect(play.ssh.agentKeys).toMatch(/^256 SHA256:\S+ /);
          expect(play.ssh.ANSIBLE_REMOTE_USER).toBe('deploy');
        }
        if (kind === 'helm' || kind === 'copilot') {
          expect(calls.some((c) => c.tool === 'curl' && c.argv.some((a) => Object.keys(map).includes(a)))).toBe(true);
          expect(
            calls.some((c) => c.tool === kind && (c.argv[0] === 'upgrade' || c.argv[0] === 'rollback' || c.argv[0] === 'svc')),
          ).toBe(true);
        }
        if (kind === 'build') {
          expect(calls.some((c) => c.tool === 'docker' && c.argv[0] === 'push')).toBe(true);
        }
      });
    }
  },
);
