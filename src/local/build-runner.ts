/**
 * The local CodeBuild: runs a buildspec's phases (install, pre_build, build, post_build) with
 * the tools on PATH, the build's environment variables, cwd = the source root like
 * CODEBUILD_SRC_DIR, and a work folder per build for its log. Its result has the shape of
 * CodeBuild's startBuild.sync output, so the state machine cannot tell the difference.
 *
 * A buildspec names the tools it needs in env.variables.COCONUT_REQUIRED_TOOLS, and may name
 * readiness probes in COCONUT_REQUIRED_PROBES ("docker info"; several separated by ";"): a
 * tool can be on PATH and still unable to work (a docker client without an engine). When a
 * tool is missing or a probe fails the build is a rehearsal: commands are printed, nothing
 * runs, and the result says so (COCONUT_REHEARSAL) so that every view labels the step PLANNED.
 * With `strict`, it fails the build with Coconut.MissingTool naming the tool or probe.
 *
 * Source and buildspec overrides behave as CodeBuild's StartBuild documents them: with
 * SourceLocationOverride the build runs in that source (resolveSource says where it is checked
 * out locally), and the project's buildspec path is looked up in that source; BuildspecOverride
 * is either an inline buildspec or a path relative to the source root. A buildspec that is not
 * there fails the build in DOWNLOAD_SOURCE with YAML_FILE_ERROR, as on AWS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { Log } from '../core/ports.ts';
import { localBuildEnv } from './build-env.ts';
import type { BuildRunnerPort } from './engine.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.ts';
import { which } from './tools.ts';

const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;
type Phase = (typeof PHASES)[number];

interface Buildspec {
  version?: number | string;
  env?: { variables?: Record<string, string | number | boolean>; 'exported-variables'?: string[]; shell?: string };
  phases?: Partial<Record<Phase, { commands?: string[]; 'on-failure'?: 'ABORT' | 'CONTINUE'; finally?: string[] }>>;
}

export interface BuildRunnerOptions {
  /** The repository root: cwd of every command, CODEBUILD_SRC_DIR. */
  sourceDir: string;
  dataDir: string;
  /** Project names are `<prefix>-<buildspec name>`; the buildspec is templates/buildspec/<name>.yml. */
  projectPrefix: string;
  strict: boolean;
  log: Log;
  /** Extra environment for every build (the local runtime passes COCONUT_DATA_DIR). */
  env?: Record<string, string>;
  /** Print build output lines to the log (debug otherwise). */
  echo?: boolean;
  /**
   * Where a source override (SourceLocationOverride / SourceVersion, e.g. the app's GitHub
   * repository for a release) is checked out locally. Default: sourceDir (the local checkout).
   */
  resolveSource?: (source: { type?: string; location: string; version?: string }) => string;
  /**
   * false: run the phases with whatever PATH holds, as CodeBuild does (no rehearsal for missing
   * tools). The buildspec-image tests use it with a PATH built from an image's tool list.
   */
  checkTools?: boolean;
}

export interface PhaseResult {
  PhaseType: string;
  PhaseStatus: 'SUCCEEDED' | 'FAILED';
  DurationInSeconds: number;
  Contexts?: { StatusCode: string; Message: string }[];
}

export interface LocalBuild {
  Id: string;
  Arn: string;
  ProjectName: string;
  BuildStatus: 'SUCCEEDED' | 'FAILED';
  StartTime: string;
  EndTime: string;
  Phases: PhaseResult[];
  ExportedEnvironmentVariables: { Name: string; Value: string }[];
  Logs: { DeepLink: string };
}

export class BuildRunner implements BuildRunnerPort {
  private readonly opts: BuildRunnerOptions;
  private readonly children = new Set<ChildProcess>();

  constructor(opts: BuildRunnerOptions) {
    this.opts = opts;
  }

  buildspecFor(projectName: string, sourceDir = this.opts.sourceDir): string {
    const prefix = `${this.opts.projectPrefix}-`;
    if (!projectName.startsWith(prefix))
      throw buildError(`unknown CodeBuild project ${projectName}: expected ${prefix}<buildspec>`);
    const name = projectName.slice(prefix.length);
    if (!/^[a-z0-9-]+$/.test(name)) throw buildError(`invalid CodeBuild project name ${projectName}`);
    return path.join(sourceDir, 'templates', 'buildspec', `${name}.yml`);
  }

  /** The source folder of this build: the override's checkout, or the project's source. */
  private sourceOf(params: Record<string, unknown>): string {
    const location = params.SourceLocationOverride;
    if (typeof location !== 'string' || location === '') return this.opts.sourceDir;
    const source = {
      location,
      ...(typeof params.SourceTypeOverride === 'string' ? { type: params.SourceTypeOverride } : {}),
      ...(typeof params.SourceVersion === 'string' ? { version: params.SourceVersion } : {}),
    };
    return path.resolve(this.opts.resolveSource?.(source) ?? this.opts.sourceDir);
  }

  /**
   * The buildspec as CodeBuild finds it: BuildspecOverride inline (YAML text) or as a path in the
   * source, else the project's buildspec path in the source. Undefined text: not there.
   */
  private buildspecOf(
    params: Record<string, unknown>,
    projectName: string,
    sourceDir: string,
  ): { where: string; text?: string; file?: string } {
    const override = params.BuildspecOverride;
    if (typeof override === 'string' && override.trim() !== '') {
      if (override.includes('\n')) return { where: 'BuildspecOverride (inline)', text: override };
      if (override.startsWith('arn:aws:s3:::'))
        throw buildError(`BuildspecOverride ${override}: buildspecs in S3 are not supported by the local runner`);
      const file = path.resolve(sourceDir, override);
      if (path.relative(sourceDir, file).startsWith('..'))
        throw buildError(`BuildspecOverride ${override} points outside the source`);
      return { where: override, file, ...(existsSync(file) ? { text: readFileSync(file, 'utf8') } : {}) };
    }
    const file = this.buildspecFor(projectName, sourceDir);
    return {
      where: path.relative(sourceDir, file),
      file,
      ...(existsSync(file) ? { text: readFileSync(file, 'utf8') } : {}),
    };
  }

  async run(params: Record<string, unknown>, meta: { execution: string; state: string }): Promise<{ Build: LocalBuild }> {
    const projectName = String(params.ProjectName ?? '');
    const sourceDir = this.sourceOf(params);
    const found = this.buildspecOf(params, projectName, sourceDir);
    if (found.text === undefined) {
      // CodeBuild fails the build in DOWNLOAD_SOURCE: "YAML_FILE_ERROR: stat .../<path>: no such file or directory".
      const message = `YAML_FILE_ERROR: the buildspec ${found.where} is not in the source ${sourceDir}${
        sourceDir === this.opts.sourceDir ? '' : ' (a source override keeps the project buildspec path: pass BuildspecOverride)'
      }`;
      this.opts.log.warn(`build ${projectName}: FAILED in DOWNLOAD_SOURCE: ${message}`);
      const now = new Date().toISOString();
      const failed: LocalBuild = {
        Id: `${projectName}:${randomUUID()}`,
        Arn: `arn:aws:codebuild:local:000000000000:build/${projectName}`,
        ProjectName: projectName,
        BuildStatus: 'FAILED',
        StartTime: now,
        EndTime: now,
        Phases: [
          {
            PhaseType: 'DOWNLOAD_SOURCE',
            PhaseStatus: 'FAILED',
            DurationInSeconds: 0,
            Contexts: [{ StatusCode: 'YAML_FILE_ERROR', Message: message }],
          },
        ],
        ExportedEnvironmentVariables: [],
        Logs: { DeepLink: '' },
      };
      throw Object.assign(new Error(JSON.stringify({ Build: failed })), { name: 'States.TaskFailed' });
    }
    const spec = parse(found.text) as Buildspec;
    const id = `${projectName}:${randomUUID()}`;
    const workDir = path.join(this.opts.dataDir, 'builds', id.replace(':', '-'));
    mkdirSync(workDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const logFile = path.join(workDir, 'build.log');
    const overrides = Object.fromEntries(
      ((params.EnvironmentVariablesOverride as { Name: string; Value: string }[] | undefined) ?? []).map((v) => [
        v.Name,
        String(v.Value),
      ]),
    );
    const specVars = Object.fromEntries(Object.entries(spec.env?.variables ?? {}).map(([k, v]) => [k, String(v)]));
    // Only an allow-list of the runtime's own environment: no Slack token, webhook secret or AWS key.
    const env = localBuildEnv({
      runtimeEnv: process.env,
      ...(this.opts.env ? { runner: this.opts.env } : {}),
      buildspec: specVars,
      overrides,
      codebuild: {
        CODEBUILD_SRC_DIR: sourceDir,
        CODEBUILD_BUILD_ID: id,
        CODEBUILD_BUILD_SUCCEEDING: '1',
        COCONUT_WORK_DIR: workDir,
      },
    });
    const start = new Date();
    const label = `${overrides.COCONUT_SERVICE ?? '?'}/${overrides.COCONUT_ENVIRONMENT ?? overrides.COCONUT_VERSION ?? '?'} ${projectName.replace(`${this.opts.projectPrefix}-`, '')}`;
    const required = (specVars.COCONUT_REQUIRED_TOOLS ?? '').split(/[\s,]+/).filter(Boolean);
    const checkTools = this.opts.checkTools ?? true;
    const missing = checkTools ? required.filter((tool) => !which(tool, env.PATH)) : [];
    const probes = (specVars.COCONUT_REQUIRED_PROBES ?? '')
      .split(';')
      .map((p) => p.trim())
      .filter(Boolean);
    const failedProbes = missing.length > 0 || !checkTools ? [] : await this.failingProbes(probes, env, sourceDir);
    if (missing.length > 0 || failedProbes.length > 0) {
      const where = found.where;
      const why =
        missing.length > 0
          ? `${missing.join(', ')} not found on PATH`
          : `${failedProbes.map((p) => `\`${p}\``).join(', ')} failed (the tool is on PATH but cannot work here, e.g. no Docker engine)`;
      if (this.opts.strict) {
        throw Object.assign(new Error(`${why} (needed by ${where}); fix that, or run without --strict to rehearse`), {
          name: 'Coconut.MissingTool',
        });
      }
      return {
        Build: this.rehearse(spec, {
          id,
          projectName,
          label,
          why,
          // The tool a failed probe belongs to is its first word ("docker info" -> docker).
          missing: missing.length > 0 ? missing : [...new Set(failedProbes.map((p) => p.split(/\s+/)[0] as string))],
          failedProbes,
          start,
          logFile,
          where,
          action: overrides.COCONUT_ACTION ?? 'deploy',
        }),
      };
    }

    const out = createWriteStream(logFile, { mode: PRIVATE_FILE_MODE });
    this.opts.log.info(`build ${label}: started (${found.where} in ${sourceDir}, log ${logFile})`, {
      build: id,
      execution: meta.execution,
    });
    const phases: PhaseResult[] = [];
    let failed = false;
    for (const phase of PHASES) {
      const commands = spec.phases?.[phase]?.commands ?? [];
      if (commands.length === 0) continue;
      // Like CodeBuild: after a failed phase only post_build still runs (and sees SUCCEEDING=0).
      if (failed && phase !== 'post_build') continue;
      const began = Date.now();
      let message: string | undefined;
      for (const command of commands) {
        out.write(`[${phase}] $ ${command}\n`);
        const code = await this.exec(command, env, out, label, path.join(workDir, 'env.dump'), sourceDir);
        if (code !== 0) {
          message = `Error while executing command: ${command.split('\n')[0]}. Reason: exit status ${code}`;
          break;
        }
      }
      phases.push({
        PhaseType: phase.toUpperCase(),
        PhaseStatus: message ? 'FAILED' : 'SUCCEEDED',
        DurationInSeconds: Math.round((Date.now() - began) / 1000),
        ...(message ? { Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: message }] } : {}),
      });
      if (message) {
        failed = true;
        env.CODEBUILD_BUILD_SUCCEEDING = '0';
        out.write(`[${phase}] FAILED: ${message}\n`);
      }
    }
    await new Promise<void>((resolve) => out.end(resolve));
    const build: LocalBuild = {
      Id: id,
      Arn: `arn:aws:codebuild:local:000000000000:build/${id}`,
      ProjectName: projectName,
      BuildStatus: failed ? 'FAILED' : 'SUCCEEDED',
      StartTime: start.toISOString(),
      EndTime: new Date().toISOString(),
      Phases: phases,
      ExportedEnvironmentVariables: (spec.env?.['exported-variables'] ?? []).map((Name) => ({ Name, Value: env[Name] ?? '' })),
      Logs: { DeepLink: `file://${logFile}` },
    };
    if (failed) {
      const failure = phases.find((p) => p.PhaseStatus === 'FAILED');
      this.opts.log.warn(
        `build ${label}: FAILED in ${failure?.PhaseType}: ${failure?.Contexts?.[0]?.Message ?? ''} (log ${logFile})`,
        { build: id },
      );
      // CodeBuild's .sync integration fails the task with the Build as JSON in the cause.
      throw Object.assign(new Error(JSON.stringify({ Build: build })), { name: 'States.TaskFailed' });
    }
    this.opts.log.info(`build ${label}: SUCCEEDED`, { build: id });
    return { Build: build };
  }

  private rehearse(
    spec: Buildspec,
    b: {
      id: string;
      projectName: string;
      label: string;
      why: string;
      missing: string[];
      failedProbes: string[];
      start: Date;
      logFile: string;
      where: string;
      action: string;
    },
  ): LocalBuild {
    const lines = [
      `REHEARSAL (PLANNED, nothing ran): ${b.why}. These commands of ${b.where} would run:`,
      ...PHASES.flatMap((phase) =>
        (spec.phases?.[phase]?.commands ?? []).map((c) => `  [${phase}] ${c.split('\n').join('\n           ')}`),
      ),
    ];
    this.opts.log.warn(`build ${b.label}: ${lines.join('\n')}`, { build: b.id, rehearsal: true });
    mkdirSync(path.dirname(b.logFile), { recursive: true, mode: PRIVATE_DIR_MODE });
    createWriteStream(b.logFile, { mode: PRIVATE_FILE_MODE }).end(`${lines.join('\n')}\n`);
    return {
      Id: b.id,
      Arn: `arn:aws:codebuild:local:000000000000:build/${b.id}`,
      ProjectName: b.projectName,
      BuildStatus: 'SUCCEEDED',
      StartTime: b.start.toISOString(),
      EndTime: new Date().toISOString(),
      Phases: [],
      ExportedEnvironmentVariables: [
        { Name: 'COCONUT_REHEARSAL', Value: 'true' },
        { Name: 'COCONUT_MISSING_TOOLS', Value: b.missing.join(',') },
        { Name: 'COCONUT_REHEARSED_STEP', Value: b.action },
        ...(b.failedProbes.length ? [{ Name: 'COCONUT_FAILED_PROBES', Value: b.failedProbes.join(';') }] : []),
      ],
      Logs: { DeepLink: `file://${b.logFile}` },
    };
  }

  /** Probes that exit non-zero (or hang past 15 s); they come from the buildspec, a trusted file. */
  private async failingProbes(probes: string[], env: Record<string, string>, sourceDir: string): Promise<string[]> {
    const failed: string[] = [];
    for (const probe of probes) {
      const ok = await new Promise<boolean>((resolve) => {
        const child = spawn('bash', ['-c', probe], { cwd: sourceDir, env, stdio: 'ignore', timeout: 15_000 });
        this.children.add(child);
        child.on('error', () => resolve(false));
        child.on('close', (code) => {
          this.children.delete(child);
          resolve(code === 0);
        });
      });
      if (!ok) failed.push(probe);
    }
    return failed;
  }

  /**
   * One command in bash with errexit and pipefail, like CodeBuild. Commands come from the
   * buildspec file (trusted); values from events are only ever in `env`.
   */
  private async exec(
    command: string,
    env: Record<string, string>,
    out: NodeJS.WritableStream,
    label: string,
    dump: string,
    sourceDir: string,
  ): Promise<number> {
    // Exported variables carry over to the next command, as in CodeBuild: the shell dumps its
    // environment on exit and the next command starts from it. The dump is the build's own
    // environment (allow-listed, see build-env.ts), written 0600 and removed once read.
    const script = `trap '(umask 077; env -0 > "$__COCONUT_ENV_DUMP")' EXIT\n${command}`;
    const code = await new Promise<number>((resolve) => {
      const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
        cwd: sourceDir,
        env: { ...env, __COCONUT_ENV_DUMP: dump },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.children.add(child);
      const relay = (chunk: Buffer) => {
        out.write(chunk);
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          if (this.opts.echo) this.opts.log.info(`  │ ${label}: ${line}`);
          else this.opts.log.debug(`${label}: ${line}`);
        }
      };
      child.stdout.on('data', relay);
      child.stderr.on('data', relay);
      child.on('error', (error) => {
        out.write(`${error.message}\n`);
        resolve(127);
      });
      child.on('close', (code, signal) => {
        this.children.delete(child);
        resolve(code ?? (signal ? 128 : 1));
      });
    });
    if (existsSync(dump)) {
      const next: Record<string, string> = {};
      for (const entry of readFileSync(dump, 'utf8').split('\0')) {
        const eq = entry.indexOf('=');
        if (eq > 0) next[entry.slice(0, eq)] = entry.slice(eq + 1);
      }
      for (const key of ['__COCONUT_ENV_DUMP', '_', 'SHLVL', 'PWD', 'OLDPWD']) delete next[key];
      for (const key of Object.keys(env)) if (!(key in next)) delete env[key];
      Object.assign(env, next);
      rmSync(dump, { force: true });
    }
    return code;
  }

  /** Kills running builds (shutdown). */
  stop(): void {
    for (const child of this.children) child.kill('SIGTERM');
  }
}

function buildError(message: string): Error {
  return Object.assign(new Error(message), { name: 'States.TaskFailed' });
}
