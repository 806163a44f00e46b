/**
 * What a handler needs from the world, and how it is provided. AWS builds these from SDK
 * adapters (src/aws/ports.ts); the local runtime builds them from its stand-ins
 * (src/local/runtime.ts). Handlers (functions/) never know which. Both sides import this file
 * downward: it names only the domain's own ports (./ports.ts).
 */
import type { CoconutConfig } from './config/schema.ts';
import type { EcsRolloutTarget } from './pipeline/ecs-rollout.ts';
import type {
  Alarms,
  Clock,
  EcsTarget,
  ImageRegistry,
  ImageSignatures,
  Log,
  Notifier,
  Orchestrator,
  Scanner,
  Store,
  UserGroups,
} from './ports.ts';

export interface Ports {
  config: CoconutConfig;
  store: Store;
  orchestrator: Orchestrator;
  alarms: Alarms;
  notifier: Notifier;
  clock: Clock;
  log: Log;
  /** Image scanner for the scan gate; without one the gate records the scan as not performed. */
  scanner?: Scanner;
  /**
   * Digests behind tags, for releases that carry none (Docker Hub pushes, git tags): ECR's API and
   * the OCI distribution API on AWS. Absent locally: no registry is consulted there, such releases
   * stay without a digest (src/local/registry-stand-in.ts says why).
   */
  registry?: ImageRegistry;
  /** Signatures beside an image, for the signed-image gate (`verify:`); without it that gate refuses. */
  signatures?: ImageSignatures;
  /** The native ECS target (deploy/rollback steps of `kind: ecs` services). */
  ecs?: EcsTarget & Partial<EcsRolloutTarget>;
  /**
   * Webhook secrets, read at the edge (environment / SST Resource on AWS, env or
   * <dataDir>/secrets.json locally). Absent: the webhook answers 503, never accepts unsigned.
   */
  secrets?: WebhookSecrets;
  /** Approver user groups (Slack S… ids); absent without Slack. */
  userGroups?: UserGroups;
  /** Present when Slack is configured (bot token + signing secret); /slack/interactions needs it. */
  slack?: SlackPorts;
}

/**
 * What the Slack interactions handler needs besides the common ports: the signing secret
 * that proves a request came from Slack, and Slack calls sized for the 3 s Slack gives us.
 */
export interface SlackPorts {
  /** SLACK_SIGNING_SECRET: verifies X-Slack-Signature. Never logged, never answered. */
  signingSecret: string;
  /** The Slack notifier on the quick profile (one fast retry): used while a click waits. */
  interactiveNotifier: Notifier;
  /** Tells one person something only they see, in the channel they clicked in. */
  ephemeral(channel: string, user: string, text: string): Promise<void>;
}

export interface WebhookSecrets {
  /** The secret configured on the GitHub webhook (X-Hub-Signature-256). */
  githubWebhookSecret?: string;
  /** The token in the Docker Hub webhook URL (/webhooks/dockerhub/{token}). */
  dockerhubToken?: string;
}

/** Ports are built on first use (not at import), so importing a handler has no side effects. */
export type PortsProvider = () => Promise<Ports>;

export function memoize(build: () => Promise<Ports>): PortsProvider {
  let ports: Promise<Ports> | undefined;
  return () => {
    ports ??= build().catch((error) => {
      ports = undefined; // a failed cold start must not poison the next invocation
      throw error;
    });
    return ports;
  };
}

/**
 * The provider with secrets added, read on first use. Entry points call this with the secrets
 * their function is linked to (infra/function-manifest.ts), so each function reads only its own.
 */
export function withSecrets(provider: PortsProvider, read: () => WebhookSecrets): PortsProvider {
  return memoize(async () => {
    const ports = await provider();
    return { ...ports, secrets: { ...ports.secrets, ...read() } };
  });
}
