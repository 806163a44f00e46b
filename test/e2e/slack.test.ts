/**
 * Slack approvals end to end in the local runtime: the real @slack/web-api client talks to the
 * recording Slack server on loopback, clicks arrive signed at the local server's
 * POST /slack/interactions, and real ansible-playbook deploys the demo app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackSettings } from '../../src/aws/slack/setup.ts';
import { lockKey } from '../../src/core/pipeline/locks.ts';
import type { ApprovalRecord } from '../../src/core/ports.ts';
import { which } from '../../src/local/tools.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';
import {
  blockActions,
  blockText,
  buttons,
  type RecordingSlack,
  signedInteraction,
  startSlackServer,
} from '../support/slack-server.ts';

const BOT_TOKEN = 'xoxb-e2e-bot-token';
// Two real ansible-playbook deploys per test: room for a busy 2-core machine.
const E2E_TIMEOUT_MS = 180_000;
const SIGNING_SECRET = 'e2e-signing-secret';

describe('Slack approvals e2e (local runtime, recording Slack server, real ansible-playbook)', () => {
  let rt: TestRuntime;
  let slack: RecordingSlack;

  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    slack = await startSlackServer({ token: BOT_TOKEN, groups: { S0RELEASE: ['U0RELEASER'] } });
    const settings: SlackSettings = {
      botToken: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      apiUrl: slack.apiUrl,
      profiles: { background: { retryConfig: { retries: 3, minTimeout: 20, maxTimeout: 80, factor: 2 } } },
    };
    rt = await startTestRuntime({
      approvers: ['U0APPROVER', 'S0RELEASE'],
      slack: settings,
      topYaml: `slack:\n  channel: '#deploys'\n  dashboardUrl: http://dashboard.example\n`,
    });
  });
  afterAll(async () => {
    await rt?.stop();
    await slack?.stop();
  });

  // Slack reaches a laptop through a tunnel, which adds X-Forwarded-For.
  const click = async (approval: ApprovalRecord, user: string, action: 'approve' | 'reject') => {
    const message = approval.message as NonNullable<ApprovalRecord['message']>;
    const req = signedInteraction(
      SIGNING_SECRET,
      blockActions({ user, action, approvalId: approval.approvalId, channel: message.channel, messageTs: message.ts }),
    );
    return fetch(`${rt.url}/slack/interactions`, {
      method: 'POST',
      headers: { ...req.headers, 'x-forwarded-for': '203.0.113.7' },
      body: req.body,
    });
  };

  /** The approval once its Slack message is noted (it is stored first, posted, then noted). */
  const posted = (approvalId: string): Promise<ApprovalRecord> =>
    rt.until(
      `a Slack message for approval ${approvalId}`,
      async () => {
        const approval = await rt.ports.store.getApproval(approvalId);
        return approval?.message ? approval : undefined;
      },
      E2E_TIMEOUT_MS,
    );

  const threadLines = async (deploymentId: string) => {
    const thread = await rt.ports.store.getChatThread(deploymentId);
    if (!thread) return [];
    return slack.replies(thread.channel, thread.ts).map((m) => blockText(m).split('\n')[0] ?? '');
  };

  it('says at startup that approvals go to Slack', () => {
    expect(
      rt.log.lines.some((l) =>
        l.message.startsWith(`approvals and deployment threads go to Slack (${slack.apiUrl}; threads in #deploys)`),
      ),
    ).toBe(true);
  });

  it(
    'push -> staging -> Slack approval -> a non-approver changes nothing -> signed Approve -> prod; the thread shows every step',
    async () => {
      const id = startedId(await rt.push('1.0.0'));
      const approvalId = await rt.waitForApproval(id, E2E_TIMEOUT_MS);
      const approval = await posted(approvalId);
      expect((await rt.ports.store.getStage(id, 'staging'))?.state).toBe('SUCCEEDED');

      // The approval message for prod, in the thread channel (no per-environment channel here).
      const message = slack.find(approval.message?.channel ?? '', approval.message?.ts ?? '');
      expect(message?.channel).toBe('C0DEPLOYS');
      expect(buttons(message).map((b) => b.value)).toEqual([approvalId, approvalId]);
      expect(blockText(message)).toContain(`<http://dashboard.example/#/deployments/${id}|Dashboard>`);
      expect(blockText(message)).toContain(`<${rt.url}/api/executions/${id}|Execution>`);
      expect(JSON.stringify(slack.calls)).not.toContain(`local:${id}`); // local task tokens look like local:<execution>:...

      // Someone who is not an approver: an ephemeral reason, nothing moves.
      const refused = await click(approval, 'U0INTRUDER', 'approve');
      expect(refused.status).toBe(200);
      expect(slack.ephemerals.at(-1)).toMatchObject({
        user: 'U0INTRUDER',
        text: expect.stringContaining('u0intruder is not an approver of demo-api on prod'),
      });
      expect((await rt.ports.store.getStage(id, 'prod'))?.state).toBe('AWAITING_APPROVAL');
      expect((await rt.ports.store.getApproval(approvalId))?.status).toBe('PENDING');
      expect(rt.engine.get(id)?.status).toBe('RUNNING');
      expect(await rt.appVersion('prod')).toBeUndefined();

      // Through the tunnel, the operator's own routes are closed: only signed Slack requests pass.
      const sneaky = await fetch(`${rt.url}/api/approvals/${approvalId}/approve`, {
        method: 'POST',
        headers: { 'x-forwarded-for': '203.0.113.7' },
      });
      expect(sneaky.status).toBe(403);
      expect((await rt.ports.store.getApproval(approvalId))?.status).toBe('PENDING');

      // An approver clicks Approve.
      const approved = await click(approval, 'U0APPROVER', 'approve');
      expect(approved.status).toBe(200);
      const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK'], E2E_TIMEOUT_MS);
      expect(prod.state).toBe('SUCCEEDED');
      expect(await rt.appVersion('prod')).toBe('1.0.0');
      expect((await rt.engine.waitFor(id))?.status).toBe('SUCCEEDED');

      const updated = slack.find(message?.channel ?? '', message?.ts ?? '');
      expect(buttons(updated)).toEqual([]);
      expect(blockText(updated)).toContain(':white_check_mark: *Approved* by <@U0APPROVER>');

      const parent = slack.find('C0DEPLOYS', (await rt.ports.store.getChatThread(id))?.ts ?? '');
      expect(blockText(parent)).toContain('*demo-api* `1.0.0`: deployment started');
      expect(await threadLines(id)).toEqual([
        ':rocket: *staging*: deploying `1.0.0`',
        ':mag: *staging*: `1.0.0` deployed; baking for 3s while watching `demo-api-staging-health`',
        ':white_check_mark: *staging*: `1.0.0` deployed and passed its bake',
        ':double_vertical_bar: *prod*: waiting for approval to deploy `1.0.0` — approvers <@U0APPROVER>, <!subteam^S0RELEASE>',
        ':rocket: *prod*: deploying `1.0.0` — approved by <@U0APPROVER>',
        ':mag: *prod*: `1.0.0` deployed; baking for 2s while watching `demo-api-prod-health`',
        ':white_check_mark: *prod*: `1.0.0` deployed and passed its bake',
      ]);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'an approval nobody gives in time: REJECTED (expired), lock released, the message says it expired',
    async () => {
      // The schema's minimum timeout is 60 s; the test shortens it in memory to keep the run short.
      const prodEnv = rt.config.services[0]?.environments[1];
      const approvalConfig = prodEnv?.approval as NonNullable<NonNullable<typeof prodEnv>['approval']>;
      const original = approvalConfig.timeout;
      approvalConfig.timeout = 4;
      try {
        const id = startedId(await rt.push('1.2.0'));
        const prod = await rt.waitForStage(id, 'prod', ['REJECTED', 'SUCCEEDED', 'FAILED'], E2E_TIMEOUT_MS);
        expect(prod).toMatchObject({ state: 'REJECTED', reason: 'approval expired: nobody approved it in time' });
        expect(await rt.engine.waitFor(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.ApprovalExpired' });
        const approval = (await rt.ports.store.getApproval(prod.approvalId ?? '')) as ApprovalRecord;
        expect(approval).toMatchObject({ status: 'EXPIRED', decidedBy: 'timeout' });
        const message = slack.find(approval.message?.channel ?? '', approval.message?.ts ?? '');
        expect(buttons(message)).toEqual([]);
        // Expired while waiting, or (on a very busy machine) already when the request was posted.
        expect(blockText(message)).toMatch(/:hourglass: (\*Expired\*|This approval request arrived after its deadline)/);
        expect((await rt.ports.store.getLock(lockKey('demo-api', 'prod')))?.owner).toBeUndefined();
        expect((await threadLines(id)).at(-1)).toBe(
          ':no_entry: *prod*: `1.2.0` not deployed — approval expired: nobody approved it in time',
        );
        expect(await rt.appVersion('prod')).toBe('1.0.0');

        // A late click changes nothing and says why.
        const late = await click(approval, 'U0APPROVER', 'approve');
        expect(late.status).toBe(200);
        expect(slack.ephemerals.at(-1)?.text).toContain(`approval ${approval.approvalId} expired at`);
      } finally {
        approvalConfig.timeout = original;
      }
    },
    E2E_TIMEOUT_MS,
  );
});
