/**
 * Every template Coconut ships, checked the way a reviewer would: yamllint (strict), the GitHub Actions
 * workflow schema, shellcheck on every shell script, buildspec command and workflow `run:` block,
 * supply-chain pins (actions by commit SHA, base images by digest, tools by version and sha256), and the
 * buildspecs' own scripts run for real: tool installation with checksum verification, input checks.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { convertWorkflowTemplate, parseWorkflow } from '@actions/workflow-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';
import { pathWithout } from '../support/tool-path.ts';

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile(
      file,
      args,
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}\n${stderr}` }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

const files = (dir: string, ext: RegExp): string[] =>
  readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && ext.test(e.name))
    .map((e) => path.relative(PROJECT_ROOT, path.join(e.parentPath, e.name)))
    .sort();

const BUILDSPECS = files('templates/buildspec', /\.yml$/);
const WORKFLOWS = files('templates/ci', /\.yml$/);
const SCRIPTS = files('templates/buildspec/scripts', /\.sh$/);

interface Buildspec {
  env: { variables: Record<string, string>; 'exported-variables'?: string[] };
  phases: Record<string, { commands: string[] }>;
}
const buildspec = (file: string) => parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')) as Buildspec;

interface Workflow {
  permissions?: Record<string, string>;
  on: unknown;
  jobs: Record<
    string,
    { permissions?: Record<string, string>; steps: { uses?: string; run?: string; with?: Record<string, unknown> }[] }
  >;
}
/** A GitHub Actions expression as written in a workflow. */
const expression = (inner: string) => `\${{ ${inner} }}`;
const workflow = (file: string) => parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')) as Workflow;

describe('Templates: lint, schema, shellcheck, pins', () => {
  beforeAll(() => {
    for (const tool of ['yamllint', 'shellcheck']) {
      if (!which(tool)) throw new Error(`${tool} is not on PATH: apt-get install -y ${tool} (\`.ci/run\` does)`);
    }
  });

  it('passes yamllint (strict) on every YAML template, the demo files and the golden scaffolds', async () => {
    const yaml = [
      ...BUILDSPECS,
      ...WORKFLOWS,
      ...files('templates/copilot', /\.yml$/),
      'templates/helm/coconut-service/Chart.yaml',
      'templates/helm/coconut-service/values.yaml',
      ...files('examples/demo/helm', /\.ya?ml$/),
      ...files('examples/demo/copilot', /\.ya?ml$/),
      // Not helm-rollout/: that is what `helm template` prints (toYaml's list indentation), not a file we write.
      ...files('test/golden', /\.ya?ml$/).filter((f) => !f.includes('/templates/') && !f.includes('/helm-rollout/')),
    ];
    expect(yaml.length).toBeGreaterThan(15);
    const result = await run('yamllint', ['--strict', '-c', '.yamllint', ...yaml]);
    expect(result.code, result.output).toBe(0);
  });

  it.each(WORKFLOWS)(
    '%s is a valid GitHub Actions workflow (GitHub’s workflow schema, @actions/workflow-parser)',
    async (file) => {
      const trace = { info: () => {}, verbose: () => {}, error: () => {} };
      const parsed = parseWorkflow({ name: file, content: readFileSync(path.join(PROJECT_ROOT, file), 'utf8') }, trace);
      expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
      const template = await convertWorkflowTemplate(parsed.context, parsed.value as never);
      expect(template.errors ?? []).toEqual([]);
      expect(template.jobs?.length).toBe(1);
    },
  );

  it('the workflow schema check catches mistakes (it is not a no-op)', () => {
    const content = readFileSync(path.join(PROJECT_ROOT, WORKFLOWS[0] as string), 'utf8').replace('runs-on:', 'runs_on:');
    const parsed = parseWorkflow({ name: 'broken.yml', content }, { info: () => {}, verbose: () => {}, error: () => {} });
    expect(
      parsed.context.errors
        .getErrors()
        .map((e) => e.message)
        .join('\n'),
    ).toContain("Unexpected value 'runs_on'");
  });

  it.each(WORKFLOWS)('%s pins every action by commit SHA, keeps tokens minimal and event values out of run: text', (file) => {
    const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
    const wf = workflow(file);
    expect(wf.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+*'] } });
    expect(wf.permissions).toEqual({ contents: 'read' });
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
    for (const step of steps.filter((s) => s.uses)) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    for (const line of text.split('\n').filter((l) => l.includes('uses: '))) expect(line).toMatch(/ # v\d+\.\d+\.\d+$/);
    for (const step of steps.filter((s) => s.run)) expect(step.run).not.toContain(expression('').slice(0, 3));
    expect(text).not.toContain('pull_request_target');
    // Scan before push: the scan step comes first and fails the job on findings.
    const scan = steps.findIndex((s) => s.uses?.startsWith('aquasecurity/trivy-action@'));
    const push = steps.findIndex((s) => s.with?.push === true);
    expect(scan).toBeGreaterThan(-1);
    expect(scan).toBeLessThan(push);
    expect(steps[scan]?.with?.['exit-code']).toBe('1');
  });

  it('uses no long-lived credentials: ECR through OIDC, GHCR through GITHUB_TOKEN, Docker Hub through a token secret', () => {
    const ecr = workflow('templates/ci/release-ecr.yml');
    expect(ecr.jobs.release?.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    const aws = ecr.jobs.release?.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(aws?.with).toMatchObject({ 'role-to-assume': expression('vars.AWS_ROLE_ARN') });
    expect(JSON.stringify(aws?.with)).not.toMatch(/aws-access-key-id|aws-secret-access-key/);
    const ghcr = workflow('templates/ci/release-ghcr.yml');
    expect(ghcr.jobs.release?.permissions).toEqual({ contents: 'read', packages: 'write' });
    expect(JSON.stringify(ghcr)).toContain(expression('secrets.GITHUB_TOKEN'));
    expect(JSON.stringify(workflow('templates/ci/release-dockerhub.yml'))).toContain(expression('secrets.DOCKERHUB_TOKEN'));
  });

  it('passes shellcheck on every shipped script, buildspec command, workflow run: block and Dockerfile RUN', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'coconut-shellcheck-'));
    try {
      const bash: string[] = SCRIPTS.map((f) => path.join(PROJECT_ROOT, f));
      for (const file of BUILDSPECS) {
        for (const [phase, { commands }] of Object.entries(buildspec(file).phases)) {
          commands.forEach((command, i) => {
            const out = path.join(scratch, `${path.basename(file)}.${phase}.${i}.sh`);
            writeFileSync(out, `#!/usr/bin/env bash\nset -euo pipefail\n${command}\n`);
            bash.push(out);
          });
        }
      }
      for (const file of WORKFLOWS) {
        Object.values(workflow(file).jobs)
          .flatMap((j) => j.steps)
          .forEach((step, i) => {
            if (!step.run) return;
            const out = path.join(scratch, `${path.basename(file)}.${i}.sh`);
            // GitHub runs run: blocks with `bash -e {0}` and sets these.
            writeFileSync(
              out,
              `#!/usr/bin/env bash\nset -e\n: "$GITHUB_OUTPUT" "$GITHUB_ENV" "$GITHUB_STEP_SUMMARY" "$IMAGE_REPOSITORY" "\${IMAGE:-}"\n${step.run}\n`,
            );
            bash.push(out);
          });
      }
      bash.push(...files('test/fixtures/fake-bin', /.*/).map((f) => path.join(PROJECT_ROOT, f)));
      const sh: string[] = [];
      const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'templates/docker/Dockerfile'), 'utf8');
      [...dockerfile.replace(/\\\n/g, ' ').matchAll(/^RUN (.+)$/gm)].forEach((m, i) => {
        const out = path.join(scratch, `Dockerfile.${i}.sh`);
        writeFileSync(out, `#!/bin/sh\n${m[1]}\n`);
        sh.push(out);
      });
      expect(bash.length).toBeGreaterThan(30);
      expect(sh.length).toBeGreaterThan(0);
      const a = await run('shellcheck', ['--shell', 'bash', ...bash]);
      expect(a.code, a.output).toBe(0);
      const b = await run('shellcheck', ['--shell', 'sh', ...sh]);
      expect(b.code, b.output).toBe(0);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('builds a non-root, multi-stage image from bases pinned by digest', () => {
    const text = readFileSync(path.join(PROJECT_ROOT, 'templates/docker/Dockerfile'), 'utf8');
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1] as string);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/@sha256:[0-9a-f]{64}$/);
    const lastStage = text.slice(text.lastIndexOf('\nFROM '));
    expect(lastStage).toMatch(/^USER (\d+):(\d+)$/m);
    expect(Number(/^USER (\d+)/m.exec(lastStage)?.[1])).toBeGreaterThan(0);
    expect(text).not.toMatch(/^ADD https?:/m);
    expect(text).toContain('--ignore-scripts');
  });

  it('every buildspec names the tools it needs, and pins and checksums every tool it downloads', () => {
    for (const file of BUILDSPECS) {
      const spec = buildspec(file);
      expect(spec.env.variables.COCONUT_REQUIRED_TOOLS, file).toMatch(/^[a-z-]+( [a-z-]+)*$/);
      const install = (spec.phases.install?.commands ?? []).join('\n');
      for (const tool of ['helm', 'copilot']) {
        if (!spec.env.variables.COCONUT_REQUIRED_TOOLS?.includes(tool)) continue;
        const prefix = tool.toUpperCase();
        expect(spec.env.variables[`${prefix}_VERSION`], file).toMatch(/^v\d+\.\d+\.\d+$/);
        expect(spec.env.variables[`${prefix}_SHA256_LINUX_AMD64`], file).toMatch(/^[0-9a-f]{64}$/);
        expect(spec.env.variables[`${prefix}_SHA256_LINUX_ARM64`], file).toMatch(/^[0-9a-f]{64}$/);
        expect(install, file).toContain(`bash templates/buildspec/scripts/ensure-tool.sh ${tool} "$tools"`);
      }
    }
    expect(BUILDSPECS).toEqual(
      expect.arrayContaining([
        'templates/buildspec/helm-deploy.yml',
        'templates/buildspec/helm-rollback.yml',
        'templates/buildspec/copilot-deploy.yml',
        'templates/buildspec/copilot-rollback.yml',
      ]),
    );
  });
});

describe('Buildspec scripts, run for real', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'coconut-scripts-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const script = (name: string) => path.join(PROJECT_ROOT, 'templates/buildspec/scripts', name);
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const helmSpec = () => buildspec('templates/buildspec/helm-deploy.yml').env.variables;

  /** A tarball laid out like Helm's release, whose helm reports `version`: its file URL and sha256. */
  async function tarball(version: string): Promise<{ url: string; sha256: string }> {
    const dir = mkdtempSync(path.join(work, 'release-'));
    mkdirSync(path.join(dir, `linux-${arch}`));
    writeFileSync(path.join(dir, `linux-${arch}/helm`), `#!/bin/sh\nprintf '%s' '${version}'\n`);
    chmodSync(path.join(dir, `linux-${arch}/helm`), 0o755);
    const file = path.join(dir, 'helm.tar.gz');
    const res = await run('tar', ['-czf', file, '-C', dir, `linux-${arch}`]);
    expect(res.code, res.output).toBe(0);
    return { url: `file://${file}`, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
  }

  it('ensure-tool uses the tool on PATH when it reports the pinned version (FAKE helm), downloading nothing', async () => {
    const bin = mkdtempSync(path.join(work, 'bin-'));
    symlinkSync(path.join(PROJECT_ROOT, 'test/fixtures/fake-bin/helm'), path.join(bin, 'helm'));
    const dest = path.join(work, 'tools-onpath');
    const res = await run('bash', [script('ensure-tool.sh'), 'helm', dest], {
      ...helmSpec(),
      PATH: `${bin}:${process.env.PATH}`,
      HELM_DOWNLOAD_URL: 'file:///nonexistent',
      // The fake keeps its call log in the test's own folder (it refuses to run without one).
      FAKE_TOOL_LOG: path.join(bin, 'fake-tools.jsonl'),
    });
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain(`ensure-tool: using helm ${helmSpec().HELM_VERSION} from PATH`);
    expect(existsSync(dest)).toBe(false);
  });

  it('ensure-tool installs the pinned release only after its sha256 matches, and refuses a tampered one', async () => {
    const version = helmSpec().HELM_VERSION as string;
    const good = await tarball(version);
    const dest = path.join(work, 'tools-download');
    // A PATH without helm, whether or not this machine installed one there.
    const noHelm = { PATH: pathWithout('helm', '/usr/bin:/bin'), HELM_VERSION: version, HELM_DOWNLOAD_URL: good.url };

    const tampered = await run('bash', [script('ensure-tool.sh'), 'helm', dest], {
      ...noHelm,
      [`HELM_SHA256_LINUX_${arch.toUpperCase()}`]: 'f'.repeat(64),
    });
    expect(tampered.code).not.toBe(0);
    expect(tampered.output).toContain(
      `ensure-tool: checksum mismatch for ${good.url}: expected ${'f'.repeat(64)}, got ${good.sha256}; refusing to use it`,
    );
    expect(existsSync(path.join(dest, 'helm'))).toBe(false);

    const ok = await run('bash', [script('ensure-tool.sh'), 'helm', dest], {
      ...noHelm,
      [`HELM_SHA256_LINUX_${arch.toUpperCase()}`]: good.sha256,
    });
    expect(ok.code, ok.output).toBe(0);
    expect(ok.output).toContain(`ensure-tool: installed helm ${version} (sha256 ${good.sha256} verified) in ${dest}`);
    expect((await run(path.join(dest, 'helm'), ['version'])).output.trim()).toBe(version);

    const wrongVersion = await tarball('v0.0.1');
    const mismatch = await run('bash', [script('ensure-tool.sh'), 'helm', path.join(work, 'tools-wrong')], {
      ...noHelm,
      HELM_DOWNLOAD_URL: wrongVersion.url,
      [`HELM_SHA256_LINUX_${arch.toUpperCase()}`]: wrongVersion.sha256,
    });
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.output).toContain(`the verified download reports "v0.0.1", not ${version}`);
  });

  it('check-inputs refuses event values outside the planned patterns, naming the variable and the pattern', async () => {
    const good = {
      COCONUT_SERVICE: 'demo-web',
      COCONUT_ENVIRONMENT: 'staging',
      COCONUT_VERSION: '1.2.3',
      COCONUT_DEPLOYMENT_ID: 'demo-web-1_2_3-abc',
      COCONUT_IMAGE_DIGEST: `sha256:${'a'.repeat(64)}`,
      COCONUT_HELM_RELEASE: 'demo-web',
    };
    const extra = ['COCONUT_HELM_RELEASE', '^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$'];
    expect((await run('bash', [script('check-inputs.sh'), ...extra], good)).code).toBe(0);
    // The attack's marker goes into this test's own folder: a fixed /tmp name could be left by an earlier
    // run or another user's, and would then fail (or pass) for reasons of its own.
    const marker = path.join(mkdtempSync(path.join(tmpdir(), 'coconut-inject-')), 'pwned');
    const attack = `1.0;touch ${marker}`;
    // The attack is live: evaluated as shell, it does create the marker.
    expect((await run('bash', ['-c', 'eval "v=$COCONUT_VERSION"'], { COCONUT_VERSION: attack })).code).toBe(0);
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
    const cases: [Record<string, string>, string][] = [
      [{ COCONUT_VERSION: attack }, 'COCONUT_VERSION must match'],
      [{ COCONUT_VERSION: '1.0.0\n' }, 'COCONUT_VERSION must match'],
      [{ COCONUT_IMAGE_DIGEST: '' }, 'this target deploys images by digest, never by a mutable tag'],
      [{ COCONUT_IMAGE_DIGEST: 'latest' }, 'COCONUT_IMAGE_DIGEST must match'],
      [{ COCONUT_SERVICE: '--help' }, 'COCONUT_SERVICE must match'],
      [{ COCONUT_HELM_RELEASE: 'Demo_Web' }, 'COCONUT_HELM_RELEASE must match ^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$'],
    ];
    for (const [overrides, message] of cases) {
      const res = await run('bash', [script('check-inputs.sh'), ...extra], { ...good, ...overrides });
      expect(res.code, JSON.stringify(overrides)).not.toBe(0);
      expect(res.output).toContain(message);
    }
    expect(existsSync(marker)).toBe(false);
    // A rollback to a recorded Helm revision needs no digest.
    const waived = await run('bash', [script('check-inputs.sh')], {
      ...good,
      COCONUT_IMAGE_DIGEST: '',
      COCONUT_REQUIRE_DIGEST: '0',
    });
    expect(waived.code, waived.output).toBe(0);
  });

  it('image-name uses the planned name, and otherwise says how to set one', async () => {
    const planned = await run('bash', [script('image-name.sh')], { COCONUT_IMAGE_NAME: 'ghcr.io/acme/web' });
    expect(planned).toMatchObject({ code: 0 });
    expect(planned.output.trim()).toBe('ghcr.io/acme/web');
    const bad = await run('bash', [script('image-name.sh')], { COCONUT_IMAGE_NAME: 'ghcr.io/acme/web:latest' });
    expect(bad.code).not.toBe(0);
    // Both paths on every machine: a PATH without the AWS CLI, and one with a FAKE aws first.
    const ecrWithoutAws = await run('bash', [script('image-name.sh')], {
      COCONUT_IMAGE_NAME: '',
      COCONUT_IMAGE_REGISTRY: 'ecr',
      PATH: pathWithout('aws', '/usr/bin:/bin'),
    });
    expect(ecrWithoutAws.code).not.toBe(0);
    expect(ecrWithoutAws.output).toContain('set target.imageRepository in coconut.yaml');
    const bin = mkdtempSync(path.join(work, 'fake-aws-'));
    // FAKE aws: answers `sts get-caller-identity --query Account --output text` only.
    writeFileSync(
      path.join(bin, 'aws'),
      '#!/usr/bin/env bash\n[[ "$*" == "sts get-caller-identity --query Account --output text" ]] && echo 123456789012\n',
      { mode: 0o755 },
    );
    const ecrWithAws = await run('bash', [script('image-name.sh')], {
      COCONUT_IMAGE_NAME: '',
      COCONUT_IMAGE_REGISTRY: 'ecr',
      COCONUT_IMAGE_REPOSITORY: 'team/web',
      AWS_REGION: 'eu-west-1',
      PATH: `${bin}:${pathWithout('aws', '/usr/bin:/bin')}`,
    });
    expect(ecrWithAws, ecrWithAws.output).toMatchObject({ code: 0 });
    expect(ecrWithAws.output.trim()).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web');
  });
});
