/**
 * What a handler needs from the world. AWS builds these from SDK adapters (src/aws/ports.ts);
 * the local runtime builds them from its stand-ins. Handlers never know which.
 */
import type { SlackPorts } from '../../src/aws/slack/ports.ts';
import type { CoconutConfig } from '../../src/core/config/schema.ts';
import type { Alarms, Clock, Log, Notifier, Orchestrator, Store, UserGroups } from '../../src/core/ports.ts';

export interface Ports {
  config: CoconutConfig;
  store: Store;
  orchestrator: Orchestrator;
  alarms: Alarms;
  notifier: Notifier;
  clock: Clock;
  log: Log;
  /** Approver user groups (Slack S… ids); absent without Slack. */
  userGroups?: UserGroups;
  /** Present when Slack is configured (bot token + signing secret); /slack/interactions needs it. */
  slack?: SlackPorts;
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
