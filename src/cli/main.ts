/**
 * The `coconut` command. Exit codes: 0 success, 1 the command ran and failed (or a deployment
 * failed), 2 bad arguments (with usage).
 */
import { ConfigError } from '../core/model/errors.ts';
import { alarm, usage as alarmUsage } from './commands/alarm.ts';
import { usage as approveUsage, decide, unfreeze, unfreezeUsage } from './commands/approve.ts';
import { cost, usage as costUsage } from './commands/cost.ts';
import { dashboardSite, usage as dashboardSiteUsage } from './commands/dashboard-site.ts';
import { deploy, deployUsage, rollback, rollbackUsage, watch, watchUsage } from './commands/deploy.ts';
import { dev, usage as devUsage } from './commands/dev.ts';
import { exportCommand, exportUsage, importCommand, importUsage } from './commands/export-import.ts';
import { generateCommand, usage as generateUsage } from './commands/generate.ts';
import { history, usage as historyUsage } from './commands/history.ts';
import { pin, pinUsage, unpin, unpinUsage } from './commands/pin.ts';
import { preflight, usage as preflightUsage } from './commands/preflight.ts';
import { promote, promoteUsage } from './commands/promote.ts';
import { push, usage as pushUsage } from './commands/push.ts';
import { status, usage as statusUsage } from './commands/status.ts';
import { schema, schemaUsage, validate, validateUsage } from './commands/validate.ts';
import { webhook, usage as webhookUsage } from './commands/webhook.ts';
import { CommandFailed, UsageError } from './errors.ts';

type Command = { run: (args: string[]) => Promise<number>; usage: string; summary: string };

export const COMMANDS: Record<string, Command> = {
  dev: { run: dev, usage: devUsage, summary: 'run Coconut locally (what `npm start` runs)' },
  push: { run: push, usage: pushUsage, summary: 'announce an image push (an ECR push event) to the local runtime' },
  status: { run: status, usage: statusUsage, summary: 'what runs where, what is in progress, what waits for approval' },
  history: { run: history, usage: historyUsage, summary: 'deployments of one service, newest first' },
  approve: { run: (a) => decide('approve', a), usage: approveUsage, summary: 'approve a waiting deployment' },
  reject: { run: (a) => decide('reject', a), usage: approveUsage, summary: 'reject a waiting deployment' },
  unfreeze: {
    run: unfreeze,
    usage: unfreezeUsage,
    summary: 'break glass: let a deployment held by a freeze window through now, saying why',
  },
  alarm: { run: alarm, usage: alarmUsage, summary: 'set or list the local alarms' },
  webhook: {
    run: webhook,
    usage: webhookUsage,
    summary: 'send a signed GitHub tag push, GHCR or Docker Hub push to the local runtime',
  },
  validate: { run: validate, usage: validateUsage, summary: 'check coconut.yaml' },
  preflight: {
    run: preflight,
    usage: preflightUsage,
    summary: 'check coconut.yaml against the AWS account, read-only: alarms, repositories, clusters, secrets, Slack',
  },
  'dashboard-site': {
    run: dashboardSite,
    usage: dashboardSiteUsage,
    summary: 'write the dashboard as a static site with its config.json (what `sst deploy` builds)',
  },
  schema: { run: schema, usage: schemaUsage, summary: 'print the JSON Schema of coconut.yaml' },
  generate: {
    run: (a) => generateCommand(a),
    usage: generateUsage,
    summary: 'scaffold Helm, Copilot, ECS, Ansible, CI or Dockerfile files for a service',
  },
  deploy: { run: deploy, usage: deployUsage, summary: 'deploy a version now (any target, locally or on AWS); --wait follows it' },
  rollback: { run: rollback, usage: rollbackUsage, summary: 'roll an environment back to its last good (or a named) version' },
  promote: {
    run: promote,
    usage: promoteUsage,
    summary: 'deploy to an environment the exact image digest that passed on the one before it',
  },
  pin: {
    run: pin,
    usage: pinUsage,
    summary: 'hold an environment at what runs there: automatic deployments wait at the pin',
  },
  unpin: { run: unpin, usage: unpinUsage, summary: 'lift a pin; the deployments waiting at it go on' },
  watch: { run: watch, usage: watchUsage, summary: 'follow a deployment step by step until it ends' },
  cost: { run: cost, usage: costUsage, summary: 'what Coconut costs per deployment and per month, beside CodePipeline V2' },
  export: {
    run: (a) => exportCommand(a),
    usage: exportUsage,
    summary: 'write the deployment history as JSON lines (no task tokens)',
  },
  import: { run: importCommand, usage: importUsage, summary: 'read history from `coconut export` back in; never overwrites' },
};

export function usageText(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: coconut COMMAND [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Commands that talk to Coconut use COCONUT_URL (default http://127.0.0.1:4500), or --stage S',
    '(the API URL from .sst/outputs.json). On AWS they send COCONUT_TOKEN (a JWT) as a bearer token',
    'when set, else sign with your AWS credentials (SigV4: AWS_PROFILE, aws sso login, ...);',
    'COCONUT_AUTH=jwt|iam|none overrides the choice.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // `coconut history x | head`: the reader went away; stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usageText()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`coconut: unknown command "${name}"\n\n${usageText()}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (error) {
    const e = error as Error & { code?: string };
    if (e instanceof UsageError || e.name === 'UsageError' || e.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`coconut ${name}: ${e.message}\nusage: ${command.usage}\n`);
      return 2;
    }
    if (e instanceof ConfigError || e instanceof CommandFailed) {
      process.stderr.write(`coconut ${name}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`coconut ${name}: ${e.name}: ${e.message}\n`);
    return 1;
  }
}
