/**
 * What the Slack interactions handler needs besides the common ports: the signing secret
 * that proves a request came from Slack, and Slack calls sized for the 3 s Slack gives us.
 */
import type { Notifier } from '../../core/ports.ts';

export interface SlackPorts {
  /** SLACK_SIGNING_SECRET: verifies X-Slack-Signature. Never logged, never answered. */
  signingSecret: string;
  /** The Slack notifier on the quick profile (one fast retry): used while a click waits. */
  interactiveNotifier: Notifier;
  /** Tells one person something only they see, in the channel they clicked in. */
  ephemeral(channel: string, user: string, text: string): Promise<void>;
}
