/**
 * `coconut preflight`: before a deploy, check that what coconut.yaml names exists in the AWS
 * account (alarms, ECR repositories, ECS clusters and services, EKS clusters, Copilot
 * applications and environments, Secrets Manager secrets), that the Slack channels are
 * reachable, and that the Region offers the CodeBuild compute the builds run on. Read-only:
 * the world is reached through the AccountReader and SlackChannels ports below.
 *
 * A misspelt alarm name otherwise surfaces only as a bake that never sees its alarm; here it
 * is a finding that names the config line, with the closest existing name when there is one.
 */

import { formatPath } from '../model/zod-issues.ts';
import type { CoconutConfig } from './schema.ts';

export type RequirementKind =
  | 'alarm'
  | 'ecr-repository'
  | 'ecs-cluster'
  | 'ecs-service'
  | 'eks-cluster'
  | 'copilot-app'
  | 'copilot-environment'
  | 'secret'
  | 'slack-channel';

/** One thing the config names that must exist, and where the config names it. */
export interface Requirement {
  kind: RequirementKind;
  name: string;
  /** AWS Region the thing lives in (unused for Slack). */
  region: string;
  /** Path inside coconut.yaml, e.g. ['services', 0, 'environments', 1, 'alarms', 0]. */
  path: PropertyKey[];
  service: string;
  /** The environment this requirement comes from, when "{environment}" made the name. */
  environment?: string;
  /** ecs-service: its cluster; copilot-environment: its application. */
  parent?: string;
}

/** Names found among those asked, and, when some were not, names that do exist (for suggestions). */
export interface Lookup {
  found: ReadonlySet<string>;
  candidates: readonly string[];
}

export type SecretState = 'set' | 'missing' | 'no-value' | 'scheduled-for-deletion';

/** Read-only questions to the AWS account. Each answers for one Region. */
export interface AccountReader {
  alarms(region: string, names: string[]): Promise<Lookup>;
  ecrRepositories(region: string, names: string[]): Promise<Lookup>;
  /** Clusters that exist and are ACTIVE. */
  ecsClusters(region: string, clusters: string[]): Promise<Lookup>;
  /** Services of one cluster that exist and are not INACTIVE. */
  ecsServices(region: string, cluster: string, services: string[]): Promise<Lookup>;
  eksClusters(region: string, names: string[]): Promise<Lookup>;
  /** Copilot keeps each application as the SSM parameter /copilot/applications/<app>. */
  copilotApps(region: string, apps: string[]): Promise<Lookup>;
  /** ... and each environment as /copilot/applications/<app>/environments/<env>. */
  copilotEnvironments(region: string, app: string, environments: string[]): Promise<Lookup>;
  /** Secrets Manager metadata only (DescribeSecret): never the value. */
  secrets(region: string, names: string[]): Promise<Map<string, SecretState>>;
  /**
   * Whether SST has state for this app and stage in the Region: SST keeps one SecureString
   * passphrase per stage, /sst/passphrase/<app>/<stage>, created by the first `sst` command of
   * the stage (`sst secret set` included). Metadata only: the passphrase is never read.
   */
  sstStageExists(region: string, app: string, stage: string): Promise<boolean>;
}

export type SlackChannelState =
  | { state: 'ok'; member: boolean }
  | { state: 'missing'; candidates: string[] }
  | { state: 'archived' };

/** Slack, with the bot token Coconut will use. */
export interface SlackChannels {
  channel(channel: string): Promise<SlackChannelState>;
}

/** How the pipeline's CodeBuild projects run each job (infra/pipeline.ts decides). */
export interface BuildCompute {
  /** The target kind or job the build serves: "ansible", "helm", "copilot", "build-image". */
  kind: string;
  compute: 'LAMBDA' | 'EC2';
}

/**
 * Regions where CodeBuild offers AWS Lambda compute, from the CodeBuild User Guide, "Run builds
 * on AWS Lambda compute", section "Which regions support AWS Lambda compute in CodeBuild?"
 * (https://docs.aws.amazon.com/codebuild/latest/userguide/lambda.html#lambda.regions):
 * US East (N. Virginia), US East (Ohio), US West (Oregon), Asia Pacific (Mumbai), Asia Pacific
 * (Singapore), Asia Pacific (Sydney), Asia Pacific (Tokyo), Europe (Frankfurt), Europe
 * (Ireland), South America (São Paulo). A static list: AWS may add Regions; update it then.
 */
export const CODEBUILD_LAMBDA_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'eu-central-1',
  'eu-west-1',
  'sa-east-1',
];
export const CODEBUILD_LAMBDA_REGIONS_SOURCE =
  'https://docs.aws.amazon.com/codebuild/latest/userguide/lambda.html#lambda.regions';

export interface Finding {
  kind: RequirementKind | 'compute';
  /** e.g. "services[0].environments[1].alarms[0]" */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export interface PreflightReport {
  region: string;
  stage?: string;
  /** How many things were checked (requirements plus the compute check). */
  checked: number;
  findings: Finding[];
  /** What was not checked, and why; never a failure by itself. */
  notes: string[];
}

export interface PreflightOptions {
  /** The Region Coconut's pipeline is deployed to (and its default for targets). */
  region: string;
  /** The SST stage about to be deployed: only its SST state is looked for (see sstStageExists). */
  stage?: string;
  /** SST's app name (sst.config.ts); default "coconut". */
  app?: string;
  /** Where each config path was written; from loadConfigWithPositions. */
  positionOf?: (path: readonly PropertyKey[]) => { line: number; column: number } | undefined;
  builds?: BuildCompute[];
  /** Without it (no bot token) Slack channels are not checked: a note says so. */
  slack?: SlackChannels;
}

const expand = (value: string, environment: string) => value.replaceAll('{environment}', environment);

/** Everything the config names that must exist in the account, each with its config path. */
export function requirements(config: CoconutConfig, region: string): Requirement[] {
  const out: Requirement[] = [];
  config.services.forEach((service, i) => {
    const at = (...rest: PropertyKey[]): PropertyKey[] => ['services', i, ...rest];
    const base = { service: service.name, region };
    if (service.image.registry === 'ecr') {
      out.push({ ...base, kind: 'ecr-repository', name: service.image.repository, path: at('image', 'repository') });
    }
    if (service.image.pullSecret) {
      out.push({ ...base, kind: 'secret', name: service.image.pullSecret, path: at('image', 'pullSecret') });
    }
    if (service.source?.pushSecret) {
      out.push({ ...base, kind: 'secret', name: service.source.pushSecret, path: at('source', 'pushSecret') });
    }
    const target = service.target;
    if (target.kind === 'copilot') {
      out.push({ ...base, kind: 'copilot-app', name: target.app, path: at('target', 'app') });
    }
    service.environments.forEach((env, j) => {
      env.alarms.forEach((alarm, k) => {
        out.push({ ...base, kind: 'alarm', name: alarm, path: at('environments', j, 'alarms', k) });
      });
      if (env.approval?.channel) {
        out.push({
          ...base,
          kind: 'slack-channel',
          name: env.approval.channel,
          path: at('environments', j, 'approval', 'channel'),
        });
      }
      const perEnv = (value: string) => ({
        name: expand(value, env.name),
        ...(value.includes('{environment}') ? { environment: env.name } : {}),
      });
      if (target.kind === 'ecs') {
        const where = { ...base, region: target.region ?? region };
        const cluster = perEnv(target.cluster);
        const service = perEnv(target.service ?? base.service);
        out.push({ ...where, kind: 'ecs-cluster', ...cluster, path: at('target', 'cluster') });
        out.push({
          ...where,
          kind: 'ecs-service',
          ...service,
          ...(cluster.environment ? { environment: cluster.environment } : {}),
          parent: cluster.name,
          path: at('target', target.service ? 'service' : 'kind'),
        });
      }
      if (target.kind === 'ansible') {
        // The SSH key and host keys the builds read (templates/buildspec/scripts/ansible-ssh.sh);
        // a name without "{environment}" is one secret, checked once (dedupeSameLine).
        const secrets: [string | undefined, PropertyKey[]][] = [
          [target.sshKey, ['sshKey']],
          [target.knownHosts?.secret, ['knownHosts', 'secret']],
        ];
        for (const [secret, field] of secrets) {
          if (secret) {
            out.push({ ...base, kind: 'secret', ...perEnv(secret), path: at('target', ...field) });
          }
        }
      }
      if (target.kind === 'helm' && target.cluster) {
        out.push({ ...base, kind: 'eks-cluster', ...perEnv(target.cluster), path: at('target', 'cluster') });
      }
      if (target.kind === 'copilot') {
        // `copilot svc deploy --env <environment>` (templates/buildspec/copilot-deploy.yml).
        out.push({
          ...base,
          kind: 'copilot-environment',
          name: env.name,
          environment: env.name,
          parent: target.app,
          path: at('environments', j, 'name'),
        });
      }
    });
  });
  if (config.slack) {
    out.push({ kind: 'slack-channel', name: config.slack.channel, region, path: ['slack', 'channel'], service: '' });
  }
  return dedupeSameLine(out);
}

/** One environment-independent line yields one requirement, not one per environment. */
function dedupeSameLine(items: Requirement[]): Requirement[] {
  const seen = new Set<string>();
  return items.filter((r) => {
    const key = [r.kind, r.region, r.parent ?? '', r.name, formatPath(r.path)].join('\u0000');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The target kinds whose builds run on Lambda compute in a Region that does not offer it. */
export function computeProblem(
  config: CoconutConfig,
  region: string,
  builds: BuildCompute[],
): { path: PropertyKey[]; message: string } | undefined {
  if (CODEBUILD_LAMBDA_REGIONS.includes(region)) return undefined;
  const onLambda = new Set(builds.filter((b) => b.compute === 'LAMBDA').map((b) => b.kind));
  const index = config.services.findIndex((s) => onLambda.has(s.target.kind));
  const first = config.services[index];
  if (!first) return undefined;
  const kinds = [...new Set(config.services.map((s) => s.target.kind).filter((k) => onLambda.has(k)))];
  return {
    path: ['services', index, 'target', 'kind'],
    message: `CodeBuild Lambda compute, which runs the ${kinds.join(', ')} deploys, is not offered in ${region} (offered in ${CODEBUILD_LAMBDA_REGIONS.join(', ')}: ${CODEBUILD_LAMBDA_REGIONS_SOURCE}); deploy Coconut to one of those Regions`,
  };
}

export async function preflight(
  config: CoconutConfig,
  account: AccountReader,
  options: PreflightOptions,
): Promise<PreflightReport> {
  const reqs = requirements(config, options.region);
  const findings: Finding[] = [];
  const notes: string[] = [];
  const report = (r: Requirement, message: string) => findings.push(locate(r.path, r.kind, message, options));

  await checkGroups(
    reqs,
    'alarm',
    (region, names) => account.alarms(region, names),
    report,
    (r, s) => `CloudWatch alarm "${r.name}" does not exist in ${r.region}${s}`,
  );
  await checkGroups(
    reqs,
    'ecr-repository',
    (region, names) => account.ecrRepositories(region, names),
    report,
    (r, s) => `ECR repository "${r.name}" does not exist in ${r.region}${s}`,
  );
  await checkGroups(
    reqs,
    'eks-cluster',
    (region, names) => account.eksClusters(region, names),
    report,
    (r, s) => `EKS cluster "${r.name}"${forEnv(r)} does not exist in ${r.region}${s}`,
  );
  const clusters = await checkGroups(
    reqs,
    'ecs-cluster',
    (region, names) => account.ecsClusters(region, names),
    report,
    (r, s) => `ECS cluster "${r.name}"${forEnv(r)} does not exist (or is not ACTIVE) in ${r.region}${s}`,
  );
  // A service is looked for only in a cluster that exists: otherwise the cluster's finding says it all.
  await checkGroups(
    reqs.filter((r) => r.kind !== 'ecs-service' || clusters.has(key(r.region, r.parent ?? ''))),
    'ecs-service',
    (region, names, parent) => account.ecsServices(region, parent, names),
    report,
    (r, s) => `ECS service "${r.name}"${forEnv(r)} does not exist in cluster "${r.parent}" in ${r.region}${s}`,
  );
  const apps = await checkGroups(
    reqs,
    'copilot-app',
    (region, names) => account.copilotApps(region, names),
    report,
    (r, s) =>
      `Copilot application "${r.name}" does not exist in ${r.region} (Copilot keeps it as the SSM parameter /copilot/applications/${r.name}; create it with \`copilot app init ${r.name}\`)${s}`,
  );
  await checkGroups(
    reqs.filter((r) => r.kind !== 'copilot-environment' || apps.has(key(r.region, r.parent ?? ''))),
    'copilot-environment',
    (region, names, parent) => account.copilotEnvironments(region, parent, names),
    report,
    (r, s) =>
      `Copilot environment "${r.name}" does not exist in application "${r.parent}" in ${r.region} (create it with \`copilot env init --app ${r.parent} --name ${r.name}\`)${s}`,
  );
  await checkSecrets(reqs, account, report);
  await checkSlack(reqs, options.slack, report, notes);

  if (options.stage) await checkStage(account, options.region, options.app ?? 'coconut', options.stage, notes);

  const compute = computeProblem(config, options.region, options.builds ?? []);
  if (compute) findings.push(locate(compute.path, 'compute', compute.message, options));
  if (!options.builds) notes.push('CodeBuild compute per Region: not checked (no build list given)');

  // In file order, as a user fixes them.
  findings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || a.path.localeCompare(b.path));
  return {
    region: options.region,
    ...(options.stage ? { stage: options.stage } : {}),
    checked: reqs.filter((r) => r.kind !== 'slack-channel' || options.slack).length + (options.builds ? 1 : 0),
    findings,
    notes,
  };
}

const key = (region: string, name: string) => `${region}\u0000${name}`;
const forEnv = (r: Requirement) => (r.environment ? ` (environment ${r.environment})` : '');

/**
 * Asks the reader once per Region (and parent) for every name of one kind; reports each
 * requirement whose name was not found. Returns the region+name keys that were found.
 */
async function checkGroups(
  reqs: Requirement[],
  kind: LookedUpKind,
  lookup: (region: string, names: string[], parent: string) => Promise<Lookup>,
  report: (r: Requirement, message: string) => void,
  missing: (r: Requirement, suggestion: string) => string,
): Promise<Set<string>> {
  const found = new Set<string>();
  const groups = new Map<string, Requirement[]>();
  for (const r of reqs.filter((x) => x.kind === kind)) {
    const g = `${r.region}\u0000${r.parent ?? ''}`;
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  for (const group of groups.values()) {
    const first = group[0] as Requirement;
    const names = [...new Set(group.map((r) => r.name))];
    let answer: Lookup;
    try {
      answer = await lookup(first.region, names, first.parent ?? '');
    } catch (error) {
      for (const r of group) report(r, `could not check ${describe(kind)} "${r.name}" in ${r.region}: ${errorText(error)}`);
      continue;
    }
    for (const r of group) {
      if (answer.found.has(r.name)) found.add(key(r.region, r.name));
      else report(r, missing(r, suggestion(r.name, answer.candidates)));
    }
  }
  return found;
}

/** What a secret must hold, by the config key that names it. */
function secretValueOf(path: PropertyKey[]): string {
  if (path.includes('sshKey')) return 'the SSH private key (OpenSSH or PEM text, no passphrase)';
  if (path.includes('knownHosts')) return 'the known_hosts lines of the hosts';
  return 'its JSON {"username","password"}';
}

async function checkSecrets(
  reqs: Requirement[],
  account: AccountReader,
  report: (r: Requirement, message: string) => void,
): Promise<void> {
  const byRegion = new Map<string, Requirement[]>();
  for (const r of reqs.filter((x) => x.kind === 'secret')) byRegion.set(r.region, [...(byRegion.get(r.region) ?? []), r]);
  for (const [region, group] of byRegion) {
    let states: Map<string, SecretState>;
    try {
      states = await account.secrets(region, [...new Set(group.map((r) => r.name))]);
    } catch (error) {
      for (const r of group) report(r, `could not check Secrets Manager secret "${r.name}" in ${region}: ${errorText(error)}`);
      continue;
    }
    for (const r of group) {
      const state = states.get(r.name) ?? 'missing';
      if (state === 'missing') report(r, `Secrets Manager secret "${r.name}" does not exist in ${region}`);
      if (state === 'no-value') {
        report(
          r,
          `Secrets Manager secret "${r.name}" in ${region} has no value: set ${secretValueOf(r.path)} with \`aws secretsmanager put-secret-value\``,
        );
      }
      if (state === 'scheduled-for-deletion') {
        report(
          r,
          `Secrets Manager secret "${r.name}" in ${region} is scheduled for deletion (restore it with \`aws secretsmanager restore-secret\`)`,
        );
      }
    }
  }
}

async function checkSlack(
  reqs: Requirement[],
  slack: SlackChannels | undefined,
  report: (r: Requirement, message: string) => void,
  notes: string[],
): Promise<void> {
  const channels = reqs.filter((r) => r.kind === 'slack-channel');
  if (channels.length === 0) return;
  if (!slack) {
    notes.push(
      `Slack channels not checked (${[...new Set(channels.map((c) => c.name))].join(', ')}): set SLACK_BOT_TOKEN to the bot token to check them`,
    );
    return;
  }
  const answers = new Map<string, Promise<SlackChannelState>>();
  for (const r of channels) {
    if (!answers.has(r.name)) answers.set(r.name, slack.channel(r.name));
    let state: SlackChannelState;
    try {
      state = await (answers.get(r.name) as Promise<SlackChannelState>);
    } catch (error) {
      report(r, `could not check Slack channel ${r.name}: ${errorText(error)}`);
      continue;
    }
    if (state.state === 'missing') {
      report(r, `Slack channel ${r.name} does not exist or the bot cannot see it${suggestion(r.name, state.candidates)}`);
    } else if (state.state === 'archived') {
      report(r, `Slack channel ${r.name} is archived: nothing can be posted there`);
    } else if (!state.member) {
      const note = `the bot is not a member of Slack channel ${r.name}: invite it (/invite), or give it the chat:write.public scope for a public channel`;
      if (!notes.includes(note)) notes.push(note);
    }
  }
}

/**
 * No SST state for the stage means no `sst secret set --stage S` ever ran in this account and
 * Region: a note, since a first deploy of a new stage is a normal thing to prepare.
 */
async function checkStage(account: AccountReader, region: string, app: string, stage: string, notes: string[]): Promise<void> {
  try {
    if (!(await account.sstStageExists(region, app, stage))) {
      notes.push(
        `SST has no state for ${app}/${stage} in ${region} (no SSM parameter /sst/passphrase/${app}/${stage}): no secret has been set for stage ${stage} here yet; set them with \`npx sst secret set NAME VALUE --stage ${stage}\` before \`sst deploy --stage ${stage}\``,
      );
    }
  } catch (error) {
    notes.push(`could not look for SST's state of ${app}/${stage} in ${region}: ${errorText(error)}`);
  }
}

/** The kinds checkGroups asks about; secrets and Slack channels have checks (and words) of their own. */
type LookedUpKind = Exclude<RequirementKind, 'secret' | 'slack-channel'>;

function describe(kind: LookedUpKind): string {
  return {
    alarm: 'CloudWatch alarm',
    'ecr-repository': 'ECR repository',
    'ecs-cluster': 'ECS cluster',
    'ecs-service': 'ECS service',
    'eks-cluster': 'EKS cluster',
    'copilot-app': 'Copilot application',
    'copilot-environment': 'Copilot environment',
  }[kind];
}

function errorText(error: unknown): string {
  const e = error as Error;
  return e?.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : String(e?.message ?? error);
}

function locate(path: PropertyKey[], kind: Finding['kind'], message: string, options: PreflightOptions): Finding {
  const pos = options.positionOf?.(path);
  return { kind, path: formatPath(path), ...(pos ? { line: pos.line, column: pos.column } : {}), message };
}

/** ` (did you mean "x"?)` for the closest candidate within a few edits, else ''. */
export function suggestion(name: string, candidates: readonly string[]): string {
  const best = closest(name, candidates);
  return best ? ` (did you mean "${best}"?)` : '';
}

export function closest(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 4));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters counts as one edit. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** One line per finding: `coconut.yaml:12:9 services[0]...alarms[0]: CloudWatch alarm "x" does not exist ...`. */
export function formatFinding(file: string, f: Finding): string {
  const where = f.line ? `${file}:${f.line}:${f.column ?? 1}` : file;
  return `${where} ${f.path}: ${f.message}`;
}
