/**
 * Ports for handlers running on Lambda. Resource names come from the environment that
 * infra/ sets (COCONUT_TABLE, COCONUT_DEPLOY_STATE_MACHINE, ...); coconut.yaml is bundled with
 * the function (COCONUT_CONFIG). Built once per container, on first use.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SFNClient } from '@aws-sdk/client-sfn';
import { memoize, type Ports } from '../../functions/commons/ports.ts';
import { loadConfigFile } from '../core/config/load.ts';
import { silentNotifier, systemClock } from '../core/ports.ts';
import { documentClient, sdkConfig } from './clients.ts';
import { CloudWatchAlarms } from './cloudwatch-alarms.ts';
import { DynamoStore } from './dynamo-store.ts';
import { jsonLog } from './json-log.ts';
import { SfnOrchestrator } from './sfn-orchestrator.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set (it is set by infra/ on deploy)`);
  return value;
}

export const awsPorts = memoize(async (): Promise<Ports> => {
  const config = await loadConfigFile(process.env.COCONUT_CONFIG ?? 'coconut.yaml');
  return {
    config,
    store: new DynamoStore(documentClient(), required('COCONUT_TABLE')),
    orchestrator: new SfnOrchestrator(new SFNClient(sdkConfig()), {
      deploy: process.env.COCONUT_DEPLOY_STATE_MACHINE,
      release: process.env.COCONUT_RELEASE_STATE_MACHINE,
    }),
    alarms: new CloudWatchAlarms(new CloudWatchClient(sdkConfig())),
    notifier: silentNotifier,
    clock: systemClock,
    log: jsonLog('coconut'),
    secrets: {
      githubWebhookSecret: process.env.COCONUT_GITHUB_WEBHOOK_SECRET || undefined,
      dockerhubToken: process.env.COCONUT_DOCKERHUB_TOKEN || undefined,
    },
  };
});
