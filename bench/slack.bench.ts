/**
 * Slack approvals: how long a signed Approve click waits for Coconut's answer (Slack allows
 * 3 s). Through the local runtime's HTTP server and the same handler as on Lambda: signature,
 * replay memory and decision in the store (dynalite), SendTaskSuccess (local engine), and
 * chat.update on the recording Slack server (no network latency; on AWS add DynamoDB, Step
 * Functions and Slack round trips).
 * - click -> answered (median and p95 of 20)
 * - click -> answered while Slack answers 500 to chat.update (median of 5): bounded by the
 *   quick profile (one retry), never waiting for Slack to recover
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ApprovalRecord } from '../src/core/ports.ts';
import { TOKEN_HEADER } from '../src/local/request-guard.ts';
import { type Runtime, startRuntime } from '../src/local/runtime.ts';
import { blockActions, type RecordingSlack, signedInteraction, startSlackServer } from '../test/support/slack-server.ts';
import { type Bench, ecrPushEntry, type Figure, median, noopSource, percentile, quietLog } from './harness.ts';

const BOT_TOKEN = 'xoxb-bench';
const SECRET = 'bench-signing-secret';

async function setup(): Promise<{ rt: Runtime; slack: RecordingSlack }> {
  const slack = await startSlackServer({ token: BOT_TOKEN });
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-bench-slack-'));
  writeFileSync(
    path.join(dir, 'coconut.yaml'),
    `services:
  - name: svc
    image: { registry: ecr, repository: svc }
    target: { kind: ansible, inventory: none.yml }
    environments:
      - { name: prod, bake: 0, approval: { approvers: [U0BENCH] } }
slack: { channel: '#deploys' }
`,
  );
  const rt = await startRuntime({
    configPath: path.join(dir, 'coconut.yaml'),
    port: 0,
    dataDir: dir,
    sourceDir: noopSource(),
    log: quietLog,
    probes: false,
    slack: { botToken: BOT_TOKEN, signingSecret: SECRET, apiUrl: slack.apiUrl },
  });
  return { rt, slack };
}

async function pendingApproval(rt: Runtime, tag: string): Promise<ApprovalRecord> {
  await fetch(`${rt.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TOKEN_HEADER]: rt.operatorToken },
    body: JSON.stringify({ Entries: [ecrPushEntry('svc', tag)] }),
  }).then((r) => r.arrayBuffer());
  for (;;) {
    const found = (await rt.ports.store.listApprovals({ status: 'PENDING' })).find((a) => a.version === tag && a.message);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function timedClick(rt: Runtime, approval: ApprovalRecord): Promise<number> {
  const message = approval.message as NonNullable<ApprovalRecord['message']>;
  const req = signedInteraction(
    SECRET,
    blockActions({
      user: 'U0BENCH',
      action: 'approve',
      approvalId: approval.approvalId,
      channel: message.channel,
      messageTs: message.ts,
    }),
  );
  const started = performance.now();
  const res = await fetch(`${rt.url}/slack/interactions`, { method: 'POST', headers: req.headers, body: req.body });
  await res.arrayBuffer();
  const elapsed = performance.now() - started;
  if (res.status !== 200) throw new Error(`click answered ${res.status}`);
  return elapsed;
}

export const slackBench: Bench = {
  name: 'slack approvals',
  async run(): Promise<Figure[]> {
    const { rt, slack } = await setup();
    try {
      const samples: number[] = [];
      for (let i = 0; i < 20; i++) {
        samples.push(await timedClick(rt, await pendingApproval(rt, `1.0.${i}`)));
        await rt.idle();
      }
      const failing: number[] = [];
      for (let i = 0; i < 5; i++) {
        const approval = await pendingApproval(rt, `2.0.${i}`);
        slack.fail('chat.update', { status: 500 }, { status: 500 });
        failing.push(await timedClick(rt, approval));
        await rt.idle();
      }
      const round = (n: number) => Math.round(n);
      return [
        {
          name: 'Slack click -> answered (median of 20)',
          value: round(median(samples)),
          unit: 'ms',
          target: '< 3000',
          better: 'lower',
        },
        {
          name: 'Slack click -> answered (p95 of 20)',
          value: round(percentile(samples, 95)),
          unit: 'ms',
          target: '< 3000',
          better: 'lower',
        },
        {
          name: 'Slack click -> answered while chat.update answers 500 (median of 5)',
          value: round(median(failing)),
          unit: 'ms',
          target: '< 3000',
          better: 'lower',
        },
      ];
    } finally {
      await rt.stop();
      await slack.stop();
    }
  },
};
