/**
 * Ports for handlers running on Lambda. Resource names come from the environment that
 * infra/ sets (COCONUT_TABLE, COCONUT_DEPLOY_STATE_MACHINE, ...); coconut.yaml is bundled with
 * the function (COCONUT_CONFIG). Built once per container, on first use. Slack is on when both
 * SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set (linked as secrets by infra/).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECRClient } from '@aws-sdk/client-ecr';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { loadConfigFile } from '../core/config/load.ts';
import { memoize, type Ports } from '../core/handler-ports.ts';
import { silentNotifier, systemClock } from '../core/ports.ts';
import { OciImageSignatures } from '../registry/cosign-signatures.ts';
import { OciDigestClient } from '../registry/oci-digest.ts';
import { documentClient, sdkConfig } from './clients.ts';
import { CloudWatchAlarms } from './cloudwatch-alarms.ts';
import { DynamoStore } from './dynamo/store.ts';
import { EcrRegistry } from './ecr-registry.ts';
import { EcrImageSignatures } from './ecr-signatures.ts';
import { EcsTargetAdapter } from './ecs-target.ts';
import { AwsImageRegistry } from './image-registry.ts';
import { jsonLog } from './json-log.ts';
import { PullSecrets } from './pull-secrets.ts';
import { SfnOrchestrator } from './sfn-orchestrator.ts';
import { consoleExecutionLink, createSlack, dashboardLink, slackFromEnv } from './slack/setup.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set (it is set by infra/ on deploy)`);
  return value;
}

/**
 * Ports with Slack from the secrets linked to the calling function (read at its entry point,
 * see functions/*.ts); without a reader, Slack comes from SLACK_* env vars if set (a deploy
 * without SST), else it is off.
 */
export function awsPortsWith(readSlack?: () => { botToken?: string; signingSecret?: string }) {
  return memoize(() => buildPorts(readSlack));
}

export const awsPorts = awsPortsWith();

async function buildPorts(readSlack?: () => { botToken?: string; signingSecret?: string }): Promise<Ports> {
  const config = await loadConfigFile(process.env.COCONUT_CONFIG ?? 'coconut.yaml');
  const store = new DynamoStore(documentClient(), required('COCONUT_TABLE'));
  const log = jsonLog();
  const clock = systemClock;
  const linked = readSlack?.();
  const slackEnv = linked?.botToken
    ? { settings: { botToken: linked.botToken, signingSecret: linked.signingSecret ?? '' } }
    : slackFromEnv();
  const slack = slackEnv.settings
    ? createSlack(slackEnv.settings, {
        store,
        config,
        clock,
        log,
        links: {
          dashboard: dashboardLink(config.slack?.dashboardUrl),
          execution: consoleExecutionLink(process.env.COCONUT_DEPLOY_STATE_MACHINE),
        },
      })
    : undefined;
  if (!slack)
    log.info(
      `Slack is off (${'problem' in slackEnv ? slackEnv.problem : 'not configured'}): approvals are decided through the API and dashboard`,
    );
  const ecrClient = new ECRClient(sdkConfig());
  const ecr = new EcrRegistry(ecrClient);
  const oci = new OciDigestClient();
  const pullSecrets = new PullSecrets(new SecretsManagerClient(sdkConfig()));
  return {
    config,
    store,
    orchestrator: new SfnOrchestrator(new SFNClient(sdkConfig()), {
      deploy: process.env.COCONUT_DEPLOY_STATE_MACHINE,
      release: process.env.COCONUT_RELEASE_STATE_MACHINE,
    }),
    alarms: new CloudWatchAlarms(new CloudWatchClient(sdkConfig())),
    notifier: slack?.notifier ?? silentNotifier,
    clock,
    log,
    ...(slack ? { userGroups: slack.userGroups, slack: slack.ports } : {}),
    scanner: ecr,
    registry: new AwsImageRegistry({ ecr, oci, secrets: pullSecrets }),
    signatures: new EcrImageSignatures({
      ecr: ecrClient,
      client: oci,
      others: new OciImageSignatures({ client: oci, readSecret: (name) => pullSecrets.read(name) }),
    }),
    ecs: new EcsTargetAdapter(),
  };
}
