/**
 * The Notifier port on Slack: approval requests with buttons (updated once decided or
 * expired), and one thread per deployment with a reply for every stage move. Every call is
 * bounded (see client.ts); a failure throws to the core, which logs it and carries on, so the
 * approval still works from the inbox, the API and a later click.
 */
import type { WebClient } from '@slack/web-api';
import type { CoconutConfig } from '../../core/config/schema.ts';
import type { DeploymentRecord, StageRecord } from '../../core/model/deployment.ts';
import type {
  ApprovalRecord,
  ApprovalRecords,
  ChatThread,
  ChatThreads,
  Clock,
  DeploymentReader,
  Log,
  Notifier,
} from '../../core/ports.ts';
import { withinBudget } from './client.ts';
import {
  type ApprovalContext,
  approvalDecidedMessage,
  approvalRequestMessage,
  approvalTooLateMessage,
  type Links,
  stageMessage,
  threadParentMessage,
  triggerText,
} from './messages.ts';

export interface SlackLinks {
  dashboard?: (deploymentId: string) => string;
  execution?: (deploymentId: string) => string;
}

export interface SlackNotifierOptions {
  client: WebClient;
  /** The deployment and its approval are read for the messages; the thread is kept per deployment. */
  store: DeploymentReader & ApprovalRecords & ChatThreads;
  config: CoconutConfig;
  clock: Clock;
  log: Log;
  links: SlackLinks;
  /** Upper bound of one Slack call with its retries. */
  budgetMs: number;
}

export const DEFAULT_CHANNEL = '#deploys';

export class SlackNotifier implements Notifier {
  private readonly opts: SlackNotifierOptions;

  constructor(opts: SlackNotifierOptions) {
    this.opts = opts;
  }

  async approvalRequested(approval: ApprovalRecord): Promise<ApprovalRecord['message']> {
    const ctx = await this.approvalContext(approval);
    const late = approval.status !== 'PENDING' || Date.parse(approval.expiresAt) <= this.opts.clock.now().getTime();
    const message = late ? approvalTooLateMessage(approval, ctx) : approvalRequestMessage(approval, ctx);
    const channel = this.environment(approval.service, approval.environment)?.approval?.channel ?? this.threadChannel();
    const res = await this.call('chat.postMessage', () =>
      this.opts.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false }),
    );
    if (!res.channel || !res.ts) throw new Error('Slack chat.postMessage answered without channel or ts');
    return { channel: res.channel, ts: res.ts };
  }

  async approvalDecided(approval: ApprovalRecord): Promise<void> {
    if (!approval.message) {
      this.opts.log.debug(`approval ${approval.approvalId} has no Slack message to update`);
      return;
    }
    const message = approvalDecidedMessage(approval, await this.approvalContext(approval));
    const { channel, ts } = approval.message;
    await this.call('chat.update', () =>
      this.opts.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks }),
    );
  }

  /** One budget for the whole reply (it may first start the thread): a step waits that long at most. */
  async stageChanged(stage: StageRecord, deployment?: DeploymentRecord): Promise<void> {
    await withinBudget('thread reply', this.opts.budgetMs, async () => {
      const record = deployment ?? (await this.opts.store.getDeployment(stage.deploymentId));
      if (record) await this.reply(stage, record);
    });
  }

  private async reply(stage: StageRecord, deployment: DeploymentRecord): Promise<void> {
    const env = this.environment(stage.service, stage.environment);
    const approval =
      stage.state === 'DEPLOYING' && stage.approvalId ? await this.opts.store.getApproval(stage.approvalId) : undefined;
    const message = stageMessage(stage, {
      links: this.links(stage.deploymentId),
      ...(env?.approval ? { approvers: env.approval.approvers } : {}),
      ...(approval ? { approval } : {}),
      ...(env ? { bakeSeconds: env.rollout?.bake ?? env.bake, alarms: env.alarms } : {}),
    });
    const thread = await this.thread(deployment);
    await this.call('chat.postMessage', () =>
      this.opts.client.chat.postMessage({
        channel: thread.channel,
        thread_ts: thread.ts,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
      }),
    );
  }

  /** The deployment's thread; its parent message is posted by the first notification. */
  private async thread(deployment: DeploymentRecord): Promise<ChatThread> {
    const existing = await this.opts.store.getChatThread(deployment.deploymentId);
    if (existing) return existing;
    const parent = threadParentMessage(
      deployment,
      triggerText(deployment.trigger, this.opts.config.slack?.users ?? {}, 'unknown'),
      this.links(deployment.deploymentId),
    );
    const res = await this.call('chat.postMessage', () =>
      this.opts.client.chat.postMessage({
        channel: this.threadChannel(),
        text: parent.text,
        blocks: parent.blocks,
        unfurl_links: false,
      }),
    );
    if (!res.channel || !res.ts) throw new Error('Slack chat.postMessage answered without channel or ts');
    // Conditional write: should two notifications race, both reply under the first parent.
    return this.opts.store.putChatThread(deployment.deploymentId, { channel: res.channel, ts: res.ts });
  }

  private async approvalContext(approval: ApprovalRecord): Promise<ApprovalContext> {
    const deployment = await this.opts.store.getDeployment(approval.deploymentId).catch(() => undefined);
    return {
      approvers: this.environment(approval.service, approval.environment)?.approval?.approvers ?? [],
      trigger: triggerText(deployment?.trigger, this.opts.config.slack?.users ?? {}, approval.requestedBy),
      links: this.links(approval.deploymentId),
    };
  }

  private environment(service: string, environment: string) {
    return this.opts.config.services.find((s) => s.name === service)?.environments.find((e) => e.name === environment);
  }

  private threadChannel(): string {
    return this.opts.config.slack?.channel ?? DEFAULT_CHANNEL;
  }

  private links(deploymentId: string): Links {
    const { dashboard, execution } = this.opts.links;
    return {
      ...(dashboard ? { dashboard: dashboard(deploymentId) } : {}),
      ...(execution ? { execution: execution(deploymentId) } : {}),
    };
  }

  private call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    return withinBudget(method, this.opts.budgetMs, fn);
  }
}
