/**
 * The Block Kit Coconut posts: the approval request (buttons carry the approval id, never the
 * task token), its decided / expired / too-late forms, and the thread replies.
 */

import { describe, expect, it } from 'vitest';
import {
  APPROVE_ACTION,
  approvalDecidedMessage,
  approvalRequestMessage,
  approvalTooLateMessage,
  REJECT_ACTION,
  stageMessage,
  threadParentMessage,
  triggerText,
} from '../../src/aws/slack/messages.ts';
import type { DeploymentRecord, StageRecord } from '../../src/core/model/deployment.ts';
import { EXECUTION_ENDED } from '../../src/core/pipeline/ended-approvals.ts';
import type { ApprovalRecord } from '../../src/core/ports.ts';
import { blockText, buttons } from '../support/slack-server.ts';

const TOKEN = `AQCEAAAAKgAAAA${'x'.repeat(2000)}`;

const approval: ApprovalRecord = {
  approvalId: 'apr-0123456789',
  deploymentId: 'demo-api-1-2-0-abc',
  service: 'demo-api',
  environment: 'prod',
  version: '1.2.0',
  fromVersion: '1.1.0',
  taskToken: TOKEN,
  requestedBy: 'ecr-push',
  requestedAt: '2026-03-01T12:00:00.000Z',
  expiresAt: '2026-03-01T13:00:00.000Z',
  status: 'PENDING',
};

const ctx = {
  approvers: ['U0LEAD', 'S0RELEASE'],
  trigger: 'git-tag by <@U0DEV>',
  links: { dashboard: 'https://coconut.example/#/deployments/demo-api-1-2-0-abc', execution: 'https://console/exec' },
};

describe('Function: approvalRequestMessage', () => {
  it('shows the change and carries the approval id in both buttons, never the token', () => {
    const message = approvalRequestMessage(approval, ctx);
    const [approve, reject] = buttons(message);
    expect(approve).toMatchObject({ action_id: APPROVE_ACTION, value: 'apr-0123456789', style: 'primary' });
    expect(reject).toMatchObject({ action_id: REJECT_ACTION, value: 'apr-0123456789', style: 'danger' });
    expect(JSON.stringify(message)).not.toContain(TOKEN.slice(0, 20));
    const text = blockText(message);
    expect(text).toContain('*Service*\ndemo-api');
    expect(text).toContain('*Environment*\nprod');
    expect(text).toContain('`1.1.0` → `1.2.0`');
    expect(text).toContain('git-tag by <@U0DEV>');
    expect(text).toContain('<@U0LEAD>, <!subteam^S0RELEASE>');
    expect(text).toContain('<!date^1772370000^{date_short_pretty} {time}|2026-03-01T13:00:00.000Z>');
    expect(text).toContain('<https://coconut.example/#/deployments/demo-api-1-2-0-abc|Dashboard>');
    expect(text).toContain('<https://console/exec|Execution>');
    expect(message.text).toBe('Approval needed: demo-api 1.1.0 -> 1.2.0 on prod');
  });

  it('escapes values that Slack would read as markup', () => {
    const message = approvalRequestMessage({ ...approval, version: '1.2.0-<!channel>&x' }, ctx);
    expect(blockText(message)).toContain('`1.2.0-&lt;!channel&gt;&amp;x`');
    // plain_text (the confirm dialog) is never read as markup; every mrkdwn text is escaped.
    const mrkdwn = JSON.stringify(message.blocks).match(/"type":"mrkdwn","text":"(?:[^"\\]|\\.)*"/g) ?? [];
    expect(mrkdwn.length).toBeGreaterThan(3);
    expect(mrkdwn.join('\n')).not.toContain('<!channel>');
  });

  it('says so, without buttons, when the request arrives after its deadline', () => {
    const message = approvalTooLateMessage({ ...approval, status: 'EXPIRED' }, ctx);
    expect(buttons(message)).toEqual([]);
    expect(blockText(message)).toContain('arrived after its deadline');
    expect(blockText(message)).toContain('REJECTED (expired)');
  });
});

describe('Function: approvalDecidedMessage', () => {
  it('replaces the buttons with who decided and when', () => {
    const approved = approvalDecidedMessage(
      { ...approval, status: 'APPROVED', decidedBy: 'ana', decidedById: 'U0LEAD', decidedAt: '2026-03-01T12:05:00.000Z' },
      ctx,
    );
    expect(buttons(approved)).toEqual([]);
    expect(blockText(approved)).toContain(':white_check_mark: *Approved* by <@U0LEAD> <!date^1772366700^');
    expect(approved.text).toBe('demo-api 1.2.0 on prod: approved by ana');

    const rejected = approvalDecidedMessage(
      { ...approval, status: 'REJECTED', decidedBy: 'local-op', decidedAt: '2026-03-01T12:05:00.000Z', comment: 'not <today>' },
      ctx,
    );
    expect(blockText(rejected)).toContain(':no_entry: *Rejected* by local-op');
    expect(blockText(rejected)).toContain('> not &lt;today&gt;');

    const expired = approvalDecidedMessage(
      { ...approval, status: 'EXPIRED', decidedBy: 'timeout', decidedAt: approval.expiresAt },
      ctx,
    );
    expect(buttons(expired)).toEqual([]);
    expect(blockText(expired)).toContain(':hourglass: *Expired*');
    expect(expired.text).toBe('demo-api 1.2.0 on prod: expired');
    expect(blockText(expired)).toContain('nobody approved it in time');

    // The execution was stopped while it waited (execution-ended.ts): no buttons, and no claim that nobody approved in time.
    const stopped = approvalDecidedMessage(
      {
        ...approval,
        status: 'EXPIRED',
        decidedBy: EXECUTION_ENDED,
        decidedAt: '2026-03-01T12:03:00.000Z',
        comment: 'execution aborted: nothing waits on this approval any more',
      },
      ctx,
    );
    expect(buttons(stopped)).toEqual([]);
    expect(blockText(stopped)).toContain(':hourglass: *Expired* <!date^');
    expect(blockText(stopped)).toContain('the deployment stopped waiting for it, so there is nothing to decide.');
    expect(blockText(stopped)).toContain('> execution aborted: nothing waits on this approval any more');
    expect(blockText(stopped)).not.toContain('in time');
    expect(stopped.text).toBe('demo-api 1.2.0 on prod: expired');
  });
});

const deployment: DeploymentRecord = {
  deploymentId: 'demo-api-1-2-0-abc',
  service: 'demo-api',
  version: '1.2.0',
  image: { registry: 'ecr', repository: 'demo-api', tag: '1.2.0' },
  trigger: { kind: 'ecr-push', id: 'e1', at: '2026-03-01T12:00:00.000Z' },
  environments: ['staging', 'prod'],
  createdAt: '2026-03-01T12:00:00.000Z',
  kind: 'deploy',
};

const stage = (over: Partial<StageRecord>): StageRecord => ({
  deploymentId: deployment.deploymentId,
  service: 'demo-api',
  environment: 'staging',
  order: 0,
  version: '1.2.0',
  state: 'DEPLOYING',
  createdAt: deployment.createdAt,
  updatedAt: deployment.createdAt,
  ...over,
});

describe('Function: stageMessage / threadParentMessage', () => {
  const links = { dashboard: 'https://d/x', execution: 'https://e/x' };

  it('starts the thread with the route, the trigger and the links', () => {
    const parent = threadParentMessage(deployment, 'ecr-push', links);
    expect(blockText(parent)).toContain('staging → prod');
    expect(blockText(parent)).toContain('<https://d/x|Dashboard>  ·  <https://e/x|Execution>');
  });

  it('names a promotion as such, with the environment its digest passed on, and who asked', () => {
    const trigger = { kind: 'promote' as const, id: 'p1', actor: 'ana', at: deployment.createdAt, from: 'staging' };
    expect(triggerText(trigger, { ana: 'U0ANA' }, 'unknown')).toBe('promote from staging by <@U0ANA>');
    expect(triggerText({ ...trigger, actor: 'bob' }, {}, 'unknown')).toBe('promote from staging by bob');
    expect(triggerText({ ...deployment.trigger, kind: 'manual', actor: 'bob' }, {}, 'unknown')).toBe('manual by bob');
  });

  it('names the alarm of a rollback, and who approved a deploy', () => {
    const rolled = stageMessage(
      stage({
        state: 'ROLLED_BACK',
        alarm: 'demo-api-staging-health',
        rolledBackTo: '1.1.0',
        reason: 'alarm demo-api-staging-health fired during bake',
      }),
      { links },
    );
    expect(blockText(rolled)).toContain('rolled back to `1.1.0` after alarm *demo-api-staging-health* fired');
    const deploying = stageMessage(stage({ environment: 'prod', previousVersion: '1.1.0', approvalId: approval.approvalId }), {
      links,
      approval: { ...approval, status: 'APPROVED', decidedBy: 'ana', decidedById: 'U0LEAD' },
    });
    expect(blockText(deploying)).toContain(':rocket: *prod*: deploying `1.2.0` (replacing `1.1.0`) — approved by <@U0LEAD>');
  });

  it('asks for attention when a stage fails or its rollback fails', () => {
    expect(blockText(stageMessage(stage({ state: 'FAILED', reason: 'deploy build b1 failed' }), { links }))).toContain(
      '*Needs attention.*',
    );
    expect(blockText(stageMessage(stage({ state: 'ROLLBACK_FAILED', reason: 'x' }), { links }))).toContain('*needs attention*');
  });

  it('tells the thread when a deployment waits at a pin and who released it (src/core/pipeline/pins.ts)', () => {
    const held = 'waiting at pin: prod is PINNED at 1.0.0 by alice: hold for the audit';
    expect(stageMessage(stage({ state: 'PENDING', environment: 'prod', reason: held }), { links }).text).toContain(held);
    const lifted = 'pin on prod lifted by Ann at 2026-12-02T10:00:00.000Z: audit done';
    expect(blockText(stageMessage(stage({ state: 'PENDING', environment: 'prod', reason: lifted }), { links }))).toContain(
      lifted,
    );
  });

  it("names a rollout's step beside the environment", () => {
    const rollout = { strategy: 'canary' as const, step: 1, of: 3, percent: 25, previousPercent: 0 };
    const baking = stageMessage(stage({ state: 'BAKING', environment: 'prod', rollout }), { links, bakeSeconds: 10 });
    expect(blockText(baking)).toContain(':mag: *prod* (canary 25%): `1.2.0` deployed; baking for 10s');
  });

  it('labels a rehearsal where a tool was missing', () => {
    const message = stageMessage(stage({ state: 'BAKING', rehearsal: { tools: ['helm'], steps: ['deploy'] } }), {
      links,
      bakeSeconds: 300,
    });
    expect(blockText(message)).toContain('Rehearsal only: helm not installed');
    expect(message.text).toContain('(rehearsal: deploy PLANNED, nothing ran)');
  });
});
