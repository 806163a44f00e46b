/**
 * `coconut preflight`: checks coconut.yaml against the AWS account before a deploy, read-only
 * (src/core/config/preflight.ts says what is checked). Exit 0: nothing to fix; 1: findings, one line
 * each, naming the config line; 2: bad arguments.
 *
 * Credentials and Region come from the standard AWS chain (AWS_PROFILE, AWS_REGION, ...), the
 * endpoint from AWS_ENDPOINT_URL when set (an emulator). The Slack channels are checked when
 * SLACK_BOT_TOKEN holds the bot token (read from the environment, never from a flag, so that it
 * stays out of shell history).
 */
import { parseArgs } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AwsPreflightReader } from '../../aws/preflight-reader.ts';
import { SlackChannelReader } from '../../aws/slack/channels.ts';
import { loadConfigWithPositions } from '../../core/config/load.ts';
import { type BuildCompute, formatFinding, preflight as runPreflight } from '../../core/config/preflight.ts';
import type { CoconutConfig } from '../../core/config/schema.ts';
import { configFile } from '../config-file.ts';
import { UsageError } from '../errors.ts';

export const usage = 'coconut preflight [--config FILE] [--stage S] [--region R] [--json]';

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d$/;
/** SST's app name (sst.config.ts) and the secrets infra/secrets.ts declares. */
const SST_APP = 'coconut';

export async function preflight(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      stage: { type: 'string' },
      region: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.region !== undefined && !REGION.test(values.region)) {
    throw new UsageError(`--region must be an AWS Region like "eu-west-1", got "${values.region}"`);
  }
  // SST's own stage rule: letters, digits and "-" (what `sst deploy --stage` accepts).
  if (values.stage !== undefined && !/^[A-Za-z][A-Za-z0-9-]*$/.test(values.stage)) {
    throw new UsageError(`--stage must be an SST stage name (letters, digits, "-"), got "${values.stage}"`);
  }
  values.config = configFile(values.config, { running: false });
  const located = await loadConfigWithPositions(values.config);
  const region = values.region ?? (await defaultRegion());
  const notes: string[] = [];
  const builds = await buildComputes(located.config, notes);
  const token = process.env.SLACK_BOT_TOKEN?.trim();
  const apiUrl = process.env.SLACK_API_URL?.trim();
  const report = await runPreflight(located.config, new AwsPreflightReader({ region }), {
    region,
    ...(values.stage ? { stage: values.stage, app: SST_APP } : {}),
    positionOf: located.positionOf,
    ...(builds ? { builds } : {}),
    ...(token ? { slack: new SlackChannelReader({ token, ...(apiUrl ? { apiUrl } : {}) }) } : {}),
  });
  report.notes.push(...notes, sstSecretsNote(values.stage));

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ config: values.config, ...report, findings: report.findings.map((f) => ({ file: values.config, ...f })) }, null, 2)}\n`,
    );
    return report.findings.length ? 1 : 0;
  }
  for (const f of report.findings) process.stdout.write(`${formatFinding(values.config, f)}\n`);
  for (const n of report.notes) process.stderr.write(`note: ${n}\n`);
  const where = `${region}${values.stage ? `, stage ${values.stage}` : ''}`;
  process.stdout.write(
    report.findings.length
      ? `${report.findings.length} finding(s) in ${report.checked} check(s) of ${values.config} against the account (${where})\n`
      : `${values.config}: all ${report.checked} check(s) passed against the account (${where})\n`,
  );
  return report.findings.length ? 1 : 0;
}

/** The Region the AWS SDK would use (AWS_REGION, the profile), else us-east-1 as SST does. */
async function defaultRegion(): Promise<string> {
  try {
    return await new SSMClient({}).config.region();
  } catch {
    // SST uses us-east-1 when no Region is configured (sst/sst pkg/project/provider/aws.go, Init).
    return 'us-east-1';
  }
}

/**
 * Which compute each CodeBuild project runs on, as infra/pipeline.ts decides it today: a
 * buildspec that needs docker runs on EC2, every other on Lambda compute. Read from the same
 * buildspec list infra deploys, so a new buildspec is covered without a change here.
 */
async function buildComputes(config: CoconutConfig, notes: string[]): Promise<BuildCompute[] | undefined> {
  try {
    // The same choice infra makes (infra/build-compute.ts): today every project is EC2 compute.
    const { buildspecs } = await import('../../../infra/pipeline.ts');
    const { buildCompute } = await import('../../../infra/build-compute.ts');
    return buildspecs().map((b) => ({
      kind: b.kind,
      compute: buildCompute(b, config).type.endsWith('LAMBDA_CONTAINER') ? 'LAMBDA' : 'EC2',
    }));
  } catch (error) {
    notes.push(`CodeBuild compute per Region not checked: cannot read the buildspecs (${(error as Error).message})`);
    return undefined;
  }
}

/**
 * SST keeps `sst secret set` values encrypted in its state bucket (secret/<app>/<stage>.json,
 * keyed by the SecureString /sst/passphrase/<app>/<stage>: sst/sst pkg/project/provider/aws.go).
 * Reading them means decrypting them, which a read-only check must not do: say how to look.
 */
function sstSecretsNote(stage: string | undefined): string {
  const s = stage ?? '<stage>';
  return `SST secrets (SlackBotToken, SlackSigningSecret, GithubWebhookSecret, DockerhubToken) are kept encrypted in SST's state for ${SST_APP}/${s} and are not read here: list them with \`npx sst secret list --stage ${s}\``;
}
