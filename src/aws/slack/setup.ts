/**
 * Builds the Slack adapter from its settings: the notifier (approval messages, threads), the
 * user-group resolver and the ports of the interactions handler. Settings come from the
 * environment on Lambda and locally (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL);
 * without both secrets there is no Slack and approvals wait in the inbox.
 */
import type { CoconutConfig } from '../../core/config/schema.ts';
import type { SlackPorts } from '../../core/handler-ports.ts';
import type { Clock, Log, Notifier, UserGroups } from '../../core/ports.ts';
import { type ClientProfile, createSlackClient, PROFILES, withinBudget } from './client.ts';
import { type SlackLinks, SlackNotifier, type SlackNotifierOptions } from './notifier.ts';
import { SlackUserGroups } from './user-groups.ts';

export interface SlackSettings {
  botToken: string;
  signingSecret: string;
  /** Default https://slack.com/api/; tests point it at the recording server. */
  apiUrl?: string;
  /** Profile overrides (tests shorten the backoff). */
  profiles?: { background?: Partial<ClientProfile>; interactive?: Partial<ClientProfile> };
}

export type SlackEnv = { settings: SlackSettings; problem?: undefined } | { settings?: undefined; problem: string };

/** Reads the settings from environment variables; says what is missing when half set. */
export function slackFromEnv(env: NodeJS.ProcessEnv = process.env): SlackEnv {
  const botToken = env.SLACK_BOT_TOKEN?.trim();
  const signingSecret = env.SLACK_SIGNING_SECRET?.trim();
  const apiUrl = env.SLACK_API_URL?.trim();
  if (botToken && signingSecret) return { settings: { botToken, signingSecret, ...(apiUrl ? { apiUrl } : {}) } };
  if (botToken || signingSecret) {
    return { problem: `${botToken ? 'SLACK_SIGNING_SECRET' : 'SLACK_BOT_TOKEN'} is not set (both are needed for Slack)` };
  }
  return { problem: 'SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set' };
}

export interface SlackAdapter {
  notifier: Notifier;
  userGroups: UserGroups;
  ports: SlackPorts;
  /** For the startup log line; holds no secret. */
  describe: string;
}

export function createSlack(
  settings: SlackSettings,
  deps: { store: SlackNotifierOptions['store']; config: CoconutConfig; clock: Clock; log: Log; links: SlackLinks },
): SlackAdapter {
  const background = { ...PROFILES.background, ...settings.profiles?.background };
  const interactive = { ...PROFILES.interactive, ...settings.profiles?.interactive };
  const client = (profile: ClientProfile) =>
    createSlackClient({
      token: settings.botToken,
      profile,
      log: deps.log,
      ...(settings.apiUrl ? { apiUrl: settings.apiUrl } : {}),
    });
  const backgroundClient = client(background);
  const interactiveClient = client(interactive);
  const notifier = (c: typeof backgroundClient, budgetMs: number) => new SlackNotifier({ ...deps, client: c, budgetMs });
  return {
    notifier: notifier(backgroundClient, background.budgetMs),
    userGroups: new SlackUserGroups(interactiveClient, deps.clock, interactive.budgetMs),
    ports: {
      signingSecret: settings.signingSecret,
      interactiveNotifier: notifier(interactiveClient, interactive.budgetMs),
      ephemeral: async (channel, user, text) => {
        await withinBudget('chat.postEphemeral', interactive.budgetMs, () =>
          interactiveClient.chat.postEphemeral({ channel, user, text }),
        );
      },
    },
    describe: `Slack (${settings.apiUrl ?? 'https://slack.com/api/'}; threads in ${deps.config.slack?.channel ?? '#deploys'})`,
  };
}

/** Links in messages: the dashboard page of a deployment, and its execution. */
export function dashboardLink(baseUrl: string | undefined): SlackLinks['dashboard'] {
  if (!baseUrl) return undefined;
  const base = baseUrl.replace(/\/+$/, '');
  return (id) => `${base}/#/deployments/${encodeURIComponent(id)}`;
}

/** The Step Functions console page of a deploy execution (its name is the deployment id). */
export function consoleExecutionLink(stateMachineArn: string | undefined): SlackLinks['execution'] {
  const m = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]+)$/.exec(stateMachineArn ?? '');
  if (!m) return undefined;
  const [, partition, region, account, machine] = m;
  return (id) =>
    `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/arn:${partition}:states:${region}:${account}:execution:${machine}:${encodeURIComponent(id)}`;
}
