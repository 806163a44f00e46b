/**
 * Approval between the steps of a rollout (approveSteps), end to end in the local runtime: the same
 * approvers decide each step after the first, from the local inbox (`coconut approve`, the operator's
 * API) and from a signed Slack click (the recording Slack server, real @slack/web-api client); real
 * ansible-playbook deploys each step's batch of the demo's four prod hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackSettings } from '../../src/aws/slack/setup.ts';
import type { ApprovalRecord } from '../../src/core/ports.ts';
import { which } from '../../src/local/tools.ts';
import { coconut } from '../support/cli.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startTestRuntime, type TestRuntime } from '../support/runtime.ts';
import { blockActions, blockText, type RecordingSlack, signedInteraction, startSlackServer } from '../support/slack-server.ts';

const BOT_TOKEN = 'xoxb-rollout-bot-token';
const SIGNING_SECRET = 'rollout-signing-secret';

describe('Rollout steps approved from the inbox and from Slack (local runtime, real ansible-playbook)', {
  timeout: REAL_DEPLOY_TEST_LIMIT_MS,
}, () => {
  let rt: TestRuntime;
  let slack: RecordingSlack;
  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    slack = await startSlackServer({ token: BOT_TOKEN });
    const settings: SlackSettings = { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl };
    rt = await startTestRuntime({
      slack: settings,
      topYaml: `slack:\n  channel: '#deploys'\n`,
      // 50% (two hosts), then an approval, then 100%.
      prodRollout: '{ strategy: canary, steps: [50], bake: 1s, approveSteps: true }',
    });
  });
  afterAll(async () => {
    await rt?.stop();
    await slack?.stop();
  });

  const deployProd = async (version: string) => {
    const res = await rt.fetch('/api/deployments', {
      method: 'POST',
      body: JSON.stringify({ service: 'demo-api', version, environments: ['prod'] }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { deployment: { deploymentId: string } }).deployment.deploymentId;
  };
  const pending = (id: string, step?: string) =>
    rt.until(`an approval of ${id}${step ? ` for ${step}` : ''} with its Slack message`, async () => {
      const approvals = await rt.ports.store.listApprovals({ status: 'PENDING' });
      const found = approvals.find((a) => a.deploymentId === id && a.step === step && a.message);
      return found;
    });
  const click = async (approval: ApprovalRecord, user: string) => {
    const message = approval.message as NonNullable<ApprovalRecord['message']>;
    const req = signedInteraction(
      SIGNING_SECRET,
      blockActions({ user, action: 'approve', approvalId: approval.approvalId, channel: message.channel, messageTs: message.ts }),
    );
    return fetch(`${rt.url}/slack/interactions`, { method: 'POST', headers: req.headers, body: req.body });
  };
  const versions = () => Promise.all(rt.appPorts.prodHosts.map((port) => rt.appVersion(port)));

  it('waits before the 100% step; a Slack click lets it go on', async () => {
    const id = await deployProd('1.0.0');
    const first = await pending(id);
    expect((await coconut(['approve', first.approvalId], { env: rt.cliEnv })).code).toBe(0);

    const between = await pending(id, 'canary 100%');
    const stage = await rt.ports.store.getStage(id, 'prod');
    expect(stage).toMatchObject({ state: 'AWAITING_APPROVAL', rollout: { step: 2, percent: 100 } });
    // Half of prod runs the new version while people decide.
    expect(await versions()).toEqual(['1.0.0', '1.0.0', undefined, undefined]);
    const message = slack.find(between.message?.channel ?? '', between.message?.ts ?? '');
    expect(message?.text).toContain('(next step: canary 100%)');
    expect(blockText(message)).toContain('next step: canary 100%');

    expect((await click(between, 'U0APPROVER')).status).toBe(200);
    const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED']);
    expect(prod.state, prod.reason).toBe('SUCCEEDED');
    expect(await versions()).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
    expect(await rt.ports.store.getApproval(between.approvalId)).toMatchObject({ status: 'APPROVED', decidedById: 'U0APPROVER' });
  });

  it('a step approved from the local inbox (`coconut approve`) goes on; one rejected rolls back the steps deployed', async () => {
    const id = await deployProd('1.1.0');
    expect((await click(await pending(id), 'U0APPROVER')).status).toBe(200);
    const between = await pending(id, 'canary 100%');
    const approved = await coconut(['approve', between.approvalId], { env: rt.cliEnv });
    expect(approved.code, approved.stderr).toBe(0);
    expect((await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK'])).state).toBe('SUCCEEDED');
    expect(await versions()).toEqual(['1.1.0', '1.1.0', '1.1.0', '1.1.0']);

    const next = await deployProd('1.2.0');
    expect((await coconut(['approve', (await pending(next)).approvalId], { env: rt.cliEnv })).code).toBe(0);
    const refused = await pending(next, 'canary 100%');
    const rejected = await coconut(['reject', refused.approvalId, '--comment', 'error rate up on the canary'], {
      env: rt.cliEnv,
    });
    expect(rejected.code, rejected.stderr).toBe(0);
    const prod = await rt.waitForStage(next, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED']);
    expect(prod.state, prod.reason).toBe('ROLLED_BACK');
    expect(prod.reason).toContain('at canary 100% (step 2 of 2)');
    expect(prod.rolledBackTo).toBe('1.1.0');
    expect(await versions()).toEqual(['1.1.0', '1.1.0', '1.1.0', '1.1.0']);
  });
});
