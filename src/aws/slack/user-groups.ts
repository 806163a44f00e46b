/**
 * Approver user groups (S… ids) resolved with usergroups.users.list (scope usergroups:read).
 * Members are cached for a minute: a click is answered without an extra Slack call most of
 * the time, and a removal from the group counts within a minute.
 */
import type { WebClient } from '@slack/web-api';
import type { Clock, UserGroups } from '../../core/ports.ts';
import { withinBudget } from './client.ts';

export const GROUP_CACHE_MS = 60_000;

export class SlackUserGroups implements UserGroups {
  private readonly client: WebClient;
  private readonly clock: Clock;
  private readonly budgetMs: number;
  private readonly cache = new Map<string, { at: number; members: Promise<string[]> }>();

  constructor(client: WebClient, clock: Clock, budgetMs: number) {
    this.client = client;
    this.clock = clock;
    this.budgetMs = budgetMs;
  }

  members(groupId: string): Promise<string[]> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(groupId);
    if (cached && now - cached.at < GROUP_CACHE_MS) return cached.members;
    const members = withinBudget('usergroups.users.list', this.budgetMs, () =>
      this.client.usergroups.users.list({ usergroup: groupId }),
    ).then((res) => res.users ?? []);
    this.cache.set(groupId, { at: now, members });
    // A failure is not cached: the next click asks Slack again.
    members.catch(() => {
      if (this.cache.get(groupId)?.members === members) this.cache.delete(groupId);
    });
    return members;
  }
}
