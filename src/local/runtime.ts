/**
 * `coconut dev`: the whole of Coconut in one process. The same handlers and state machine
 * files as on AWS, wired to local stand-ins: aws-local-stepfunctions, the build runner, dynalite,
 * local alarms and the local event bus, behind an HTTP server on 127.0.0.1.
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import path from 'node:path';
import { createAlarmChangedHandler } from '../../functions/alarm-changed.ts';
import { createApiHandler } from '../../functions/api.ts';
import { createEcrPushHandler } from '../../functions/ecr-push.ts';
import { createEcsRolloutChangedHandler } from '../../functions/ecs-rollout-changed.ts';
import { createGithubWebhookHandler } from '../../functions/github-webhook.ts';
import { createPipelineStepHandler } from '../../functions/pipeline-step.ts';
import { createRegistryWebhookHandler } from '../../functions/registry-webhook.ts';
import { createRequestApprovalHandler } from '../../functions/request-approval.ts';
import { createSlackInteractionsHandler } from '../../functions/slack-interactions.ts';
import { documentClient } from '../aws/clients.ts';
import { DynamoStore } from '../aws/dynamo/store.ts';
import { EcsTargetAdapter } from '../aws/ecs-target.ts';
import { createSlack, dashboardLink, type SlackSettings, slackFromEnv } from '../aws/slack/setup.ts';
import { loadConfigFile } from '../core/config/load.ts';
import type { CoconutConfig } from '../core/config/schema.ts';
import { configWarnings } from '../core/config/warnings.ts';
import type { Ports, WebhookSecrets } from '../core/handler-ports.ts';
import { repairAfterExecution } from '../core/pipeline/execution-ended.ts';
import { type Log, type Notifier, type Store, systemClock } from '../core/ports.ts';
import { eventRules } from '../core/triggers/event-rules.ts';
import { OciImageSignatures } from '../registry/cosign-signatures.ts';
import { OciDigestClient, type OciDigestOptions } from '../registry/oci-digest.ts';
import { LocalAlarms } from './alarms.ts';
import { loadStateMachine } from './asl.ts';
import { BuildRunner } from './build-runner.ts';
import { LocalEventBus } from './bus.ts';
import { consoleLog } from './console-log.ts';
import { RehearsalEcsTarget } from './ecs-rehearsal.ts';
import { LocalEngine, type LocalFunction } from './engine.ts';
import { alongsideInbox, inboxNotifier } from './inbox-notifier.ts';
import { EMULATOR_CREDENTIALS, LOCAL_TABLE, startLocalDynamo } from './local-dynamodb.ts';
import { findLooseEnds, PendingCleanups } from './pending-cleanups.ts';
import { privateDir } from './private-files.ts';
import { announceLocalPush } from './registry-stand-in.ts';
import { recoverInterrupted } from './restart-recovery.ts';
import { localSecrets, operatorToken } from './secrets.ts';
import { startServer } from './server.ts';
import { stopLocalTargets } from './targets.ts';
import { TrivyScanner } from './trivy-scanner.ts';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface RuntimeOptions {
  configPath: string;
  /** 0 picks a free port (tests). */
  port: number;
  dataDir: string;
  /** Fail builds whose tools are missing instead of rehearsing them. */
  strict?: boolean;
  /** Repository root holding templates/ and the targets' sources; default: this project. */
  sourceDir?: string;
  log?: Log;
  /** Start alarm probes (default true). */
  probes?: boolean;
  /** Print build output lines (default: only with COCONUT_BUILD_OUTPUT=1). */
  echoBuilds?: boolean;
  /** PATH for builds (default: this process's PATH); tests use it to hide tools. */
  buildPath?: string;
  /** Stop the local target processes (the demo app) on stop (default true). */
  stopTargets?: boolean;
  /** Replaces the inbox notifier (Slack, tests). */
  notifier?: (log: Log, url: string) => Notifier;
  /**
   * AWS API endpoint for the native ECS target (an emulator such as moto_server); default
   * COCONUT_AWS_ENDPOINT. Without one, ECS deploy steps are labelled rehearsals.
   */
  awsEndpoint?: string;
  /** Milliseconds between ECS polls while a deployment settles (default 2000 locally). */
  ecsPollMs?: number;
  /**
   * Test-only: loopback registries instead of ghcr.io / Docker Hub, where the signed-image gate
   * reads cosign signatures (never from an event or the environment).
   */
  registryEndpoints?: OciDigestOptions['endpoints'];
  /** Webhook secrets (tests); default: env vars, else generated into <dataDir>/secrets.json. */
  secrets?: WebhookSecrets;
  /** The operator token; default COCONUT_OPERATOR_TOKEN, else generated into <dataDir>/secrets.json. */
  operatorToken?: string;
  /**
   * Slack: settings, or false for none. Default: from SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
   * (and SLACK_API_URL); without them approvals wait in the local inbox.
   */
  slack?: SlackSettings | false;
}

export interface Runtime {
  url: string;
  /** What makes a request the operator's (X-Coconut-Token); never logged. */
  operatorToken: string;
  /** The dashboard's address with the operator token, printed once to the terminal. */
  dashboardUrl: string;
  config: CoconutConfig;
  ports: Ports;
  engine: LocalEngine;
  bus: LocalEventBus;
  alarms: LocalAlarms;
  builds: BuildRunner;
  functions: Record<string, LocalFunction>;
  /** Set when some webhook secret comes from <dataDir>/secrets.json (not from env or options). */
  secretsFile?: string;
  server: Server;
  /** The local DynamoDB server (fault tests stop it to see the store refuse writes). */
  storeServer: { endpoint: string; stop(): Promise<void>; start(): Promise<void> };
  /** Cleanups after ended executions, retried until the store answers (events: deferred, repaired). */
  cleanups: PendingCleanups;
  /**
   * Emits 'stored' (the Store method's name) once each write to the store has settled, whoever
   * wrote: a step, the API, an alarm, a cleanup. Lets a caller wait for a record to change
   * instead of polling the store.
   */
  changes: EventEmitter<{ stored: [method: string] }>;
  /** Resolves when no execution runs and no event is being delivered. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const config = await loadConfigFile(opts.configPath);
  const dataDir = path.resolve(opts.dataDir);
  // 0700: it holds task tokens, secrets, logs and build output (private-files.ts).
  privateDir(dataDir, { lock: true });
  const log = opts.log ?? consoleLog(dataDir);
  const sourceDir = path.resolve(opts.sourceDir ?? PROJECT_ROOT);

  const dynamo = await startLocalDynamo(dataDir);
  const changes = new EventEmitter<{ stored: [method: string] }>();
  const store = observedStore(
    new DynamoStore(
      documentClient({ endpoint: dynamo.endpoint, credentials: EMULATOR_CREDENTIALS, region: 'us-east-1' }),
      LOCAL_TABLE,
    ),
    changes,
    log,
  );
  const bus = new LocalEventBus(dataDir, log);
  const alarms = new LocalAlarms(config, (event) => bus.publish(event), log);
  const builds = new BuildRunner({
    sourceDir,
    dataDir,
    projectPrefix: 'coconut',
    strict: Boolean(opts.strict),
    log,
    env: { COCONUT_DATA_DIR: dataDir, ...(opts.buildPath !== undefined ? { PATH: opts.buildPath } : {}) },
    echo: opts.echoBuilds ?? process.env.COCONUT_BUILD_OUTPUT === '1',
  });

  const local = opts.secrets ? undefined : localSecrets(dataDir);
  const secrets = opts.secrets ?? (local as NonNullable<typeof local>).secrets;
  const token = opts.operatorToken ?? operatorToken(dataDir).token;

  const functions: Record<string, LocalFunction> = {};
  const cleanups = new PendingCleanups({ dataDir, log, repair: (end) => repairAfterExecution(ports, end) });
  const engine = new LocalEngine({
    definitions: {
      deploy: await loadStateMachine(PROJECT_ROOT, 'deploy'),
      release: await loadStateMachine(PROJECT_ROOT, 'release'),
    },
    functions,
    builds,
    dataDir,
    log,
    onExecutionEnd: async (record) => {
      if (record.machine === 'release') {
        if (record.status === 'SUCCEEDED') await announceLocalPush(record.output, { bus, url: () => url, secrets, log });
        else log.warn(`release ${record.name} ${record.status}: no image was pushed, so nothing deploys`);
        return;
      }
      // Written down first and retried until the store answers (pending-cleanups.ts).
      await cleanups.run({
        deploymentId: record.name,
        status: record.status,
        ...(record.error ? { error: record.error } : {}),
        ...(record.cause ? { cause: record.cause } : {}),
      });
    },
  });

  // The URL is known only once the server listens; the notifier needs it for its hints.
  let url = '';
  let notifier: Notifier | undefined;
  const lazyNotifier: Notifier = {
    approvalRequested: (a) => (notifier as Notifier).approvalRequested(a),
    approvalDecided: (a) => (notifier as Notifier).approvalDecided(a),
    stageChanged: (s, d) => (notifier as Notifier).stageChanged(s, d),
  };
  const awsEndpoint = opts.awsEndpoint ?? process.env.COCONUT_AWS_ENDPOINT;
  const ecs = awsEndpoint
    ? new EcsTargetAdapter({
        client: { endpoint: awsEndpoint, credentials: EMULATOR_CREDENTIALS },
        pollMs: opts.ecsPollMs ?? 2000,
        log,
      })
    : new RehearsalEcsTarget({ log, strict: Boolean(opts.strict) });
  const ports: Ports = {
    config,
    store,
    orchestrator: engine,
    alarms,
    notifier: lazyNotifier,
    clock: systemClock,
    log,
    scanner: new TrivyScanner({ envPath: opts.buildPath ?? process.env.PATH ?? '', strict: Boolean(opts.strict) }),
    ecs,
    secrets,
    // The signed-image gate reads signatures from the image's registry, as on AWS (no pull secrets locally).
    signatures: new OciImageSignatures({ client: new OciDigestClient({ endpoints: opts.registryEndpoints }) }),
  };
  // Said once per start, not per deployment (Copilot's end of support, for example).
  for (const warning of configWarnings(config)) log.warn(warning);
  const provider = async () => ports;
  Object.assign(functions, {
    'ecr-push': asLocal(createEcrPushHandler(provider)),
    'alarm-changed': asLocal(createAlarmChangedHandler(provider)),
    'ecs-rollout-changed': asLocal(createEcsRolloutChangedHandler(provider)),
    'pipeline-step': asLocal(createPipelineStepHandler(provider)),
    'request-approval': asLocal(createRequestApprovalHandler(provider)),
    api: asLocal(createApiHandler(provider)),
    'github-webhook': asLocal(createGithubWebhookHandler(provider)),
    'registry-webhook': asLocal(createRegistryWebhookHandler(provider)),
    'slack-interactions': asLocal(createSlackInteractionsHandler(provider)),
  });

  for (const rule of eventRules(config)) {
    const fn = functions[rule.target];
    if (!fn) throw new Error(`event rule ${rule.name} targets ${rule.target}, which has no local function`);
    bus.addRule({ name: rule.name, pattern: rule.pattern, target: (event) => fn(event, { functionName: rule.target } as never) });
  }

  const { server, url: serverUrl } = await startServer({ functions, engine, bus, alarms, log, operatorToken: token }, opts.port);
  url = serverUrl;
  const slackEnv =
    opts.slack === false ? { problem: 'disabled for this runtime' } : opts.slack ? { settings: opts.slack } : slackFromEnv();
  if (slackEnv.settings) {
    const slack = createSlack(slackEnv.settings, {
      store,
      config,
      clock: systemClock,
      log,
      links: {
        dashboard: dashboardLink(config.slack?.dashboardUrl ?? url),
        execution: (id) => `${url}/api/executions/${encodeURIComponent(id)}`,
      },
    });
    ports.userGroups = slack.userGroups;
    ports.slack = slack.ports;
    // The console keeps its `coconut approve` hints: the local operator may still decide.
    notifier = opts.notifier?.(log, url) ?? alongsideInbox(slack.notifier, inboxNotifier(log, url));
    log.info(
      `approvals and deployment threads go to ${slack.describe}; Slack's interactivity request URL must reach ${url}/slack/interactions`,
    );
  } else {
    notifier = (opts.notifier ?? inboxNotifier)(log, url);
    log.info(`Slack is off (${slackEnv.problem}): approvals wait in the local inbox — coconut approve|reject, or ${url}/`);
  }

  await recoverInterrupted(engine, ports);
  // Cleanups an earlier run could not finish (the store was down): retried in the background,
  // with any recent execution that ended with loose ends and was never written down.
  cleanups.resume();
  const since = new Date(Date.now() - LOOSE_ENDS_LOOKBACK_MS);
  void findLooseEnds(engine.list(), store, since)
    .then((loose) =>
      Promise.all(loose.filter((end) => !cleanups.pending().includes(end.deploymentId)).map((end) => cleanups.run(end))),
    )
    .catch((error) => log.warn(`could not look for executions that ended with loose ends: ${(error as Error).message}`));
  if (opts.probes !== false) alarms.start();

  return {
    url,
    operatorToken: token,
    dashboardUrl: `${url}/?token=${encodeURIComponent(token)}`,
    config,
    ports,
    engine,
    bus,
    alarms,
    builds,
    functions,
    ...(local?.fromFile.length ? { secretsFile: local.file } : {}),
    server,
    storeServer: dynamo,
    cleanups,
    changes,
    idle: async () => {
      await bus.idle();
      await engine.idle();
    },
    stop: async () => {
      alarms.stop();
      builds.stop();
      await engine.stop();
      await cleanups.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await dynamo.stop();
      if (opts.stopTargets !== false) stopLocalTargets(dataDir);
    },
  };
}

/** How far back start-up looks for ended executions with loose ends (locks expire well within it). */
const LOOSE_ENDS_LOOKBACK_MS = 24 * 3600 * 1000;

/** Store methods that only read; every other method may write. */
const READS = /^(get|list)[A-Z]/;

/**
 * The store, announcing each write on `changes` once it has settled (failed writes too: a waiter
 * looks again and finds nothing new, which costs one read). A listener that throws is logged,
 * never turned into a failed write.
 */
function observedStore(store: Store, changes: EventEmitter<{ stored: [method: string] }>, log: Log): Store {
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      if (typeof property !== 'string' || READS.test(property)) return method.bind(target);
      return (...args: unknown[]) =>
        method.apply(target, args).finally(() => {
          try {
            changes.emit('stored', property);
          } catch (error) {
            log.warn(`a listener of store writes failed: ${(error as Error).message}`);
          }
        });
    },
  });
}

/** A middy handler as the engine and server call it: (event, context). */
// biome-ignore lint/suspicious/noExplicitAny: each handler has its own event type; the engine passes JSON.
function asLocal(handler: (event: any, context: any) => Promise<unknown>): LocalFunction {
  return (event, context) => handler(event, context);
}
