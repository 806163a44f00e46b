/**
 * The SlackChannels port of `coconut preflight`: can the bot token see the channel Coconut
 * will post to? Read-only Web API methods (https://api.slack.com/methods):
 * - a channel id (C…/G…): conversations.info, which answers `channel_not_found` for a channel
 *   the token cannot see, else the channel with `is_archived` and `is_member`;
 * - a channel name (#deploys): conversations.list (public and private, archived included, paged
 *   by `response_metadata.next_cursor`), since conversations.info only takes ids.
 * Scopes: channels:read (and groups:read for private channels).
 */
import type { WebClient } from '@slack/web-api';
import type { SlackChannelState, SlackChannels } from '../../core/config/preflight.ts';
import type { Log } from '../../core/ports.ts';
import { createSlackClient, describeSlackError, PROFILES } from './client.ts';

interface ChannelInfo {
  id?: string;
  name?: string;
  is_archived?: boolean;
  is_member?: boolean;
}

const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export class SlackChannelReader implements SlackChannels {
  private readonly client: WebClient;
  private listed?: Promise<ChannelInfo[]>;
  constructor(opts: { token: string; apiUrl?: string }) {
    this.client = createSlackClient({
      token: opts.token,
      ...(opts.apiUrl ? { apiUrl: opts.apiUrl } : {}),
      profile: PROFILES.background,
      log: quiet,
    });
  }

  async channel(channel: string): Promise<SlackChannelState> {
    if (!channel.startsWith('#')) {
      try {
        const res = (await this.client.conversations.info({ channel })) as { channel?: ChannelInfo };
        return stateOf(res.channel ?? {});
      } catch (error) {
        if (describeSlackError(error) === 'channel_not_found') return { state: 'missing', candidates: [] };
        throw new Error(`Slack conversations.info: ${describeSlackError(error)}`);
      }
    }
    const name = channel.slice(1);
    const all = await this.list();
    const found = all.find((c) => c.name === name);
    if (!found) return { state: 'missing', candidates: all.map((c) => `#${c.name}`) };
    return stateOf(found);
  }

  private list(): Promise<ChannelInfo[]> {
    this.listed ??= (async () => {
      const out: ChannelInfo[] = [];
      let cursor: string | undefined;
      try {
        do {
          const res = (await this.client.conversations.list({
            types: 'public_channel,private_channel',
            exclude_archived: false,
            limit: 200,
            ...(cursor ? { cursor } : {}),
          })) as { channels?: ChannelInfo[]; response_metadata?: { next_cursor?: string } };
          out.push(...(res.channels ?? []));
          cursor = res.response_metadata?.next_cursor || undefined;
        } while (cursor);
      } catch (error) {
        throw new Error(`Slack conversations.list: ${describeSlackError(error)}`);
      }
      return out;
    })();
    return this.listed;
  }
}

function stateOf(c: ChannelInfo): SlackChannelState {
  if (c.is_archived) return { state: 'archived' };
  return { state: 'ok', member: c.is_member === true };
}
