/**
 * Approvals (src/core/pipeline/approvals.ts) on dynalite: what a waiting deployment records and
 * posts, who may decide it, what the state machine is told, and what happens when a decision comes
 * too late. The rules the platforms set: Step Functions accepts a task token of up to 2,048
 * characters (SendTaskSuccess API reference, taskToken "Length Constraints: Minimum length of 1.
 * Maximum length of 2048.", https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html)
 * and answers TaskTimedOut / TaskDoesNotExist once the wait is over; a Slack button's `value` holds at
 * most 2,000 characters (Block Kit reference, "Button element",
 * https://docs.slack.dev/reference/block-kit/block-elements/button-element), so people and buttons
 * carry a short approval id, never the token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { ConflictError, ForbiddenError, NotFoundError, TaskTokenExpiredError } from '../../src/core/model/errors.ts';
import type { Trigger } from '../../src/core/model/release.ts';
import {
  type Actor,
  approvalIdFor,
  chatIdOf,
  checkApprover,
  decideApproval,
  environmentApprovers,
  expireApproval,
  groupMembersOnce,
  listsActor,
  requestApproval,
  unresolvedGroupsHint,
} from '../../src/core/pipeline/approvals.ts';
import type { ApprovalRecord, Notifier, Orchestrator } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { recordingLog } from '../support/logs.ts';
import { dynaliteStore } from '../support/stores.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target: { kind: helm, chart: charts/api }
    environments:
      - name: staging
      - name: prod
        approval: { approvers: [U0ALICE, S0OPS, 'arn:aws:iam::123456789012:role/deployers'], fourEyes: true }
      - name: qa
        approval: { approvers: [U0ALICE, S0OPS, S0DEVS] }
slack:
  users:
    octocat: U0CAT
`);

const NOW = new Date('2026-03-01T12:00:00.000Z');

describe('approvals', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  let n = 0;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo?.stop());

  /** Ports that record what was posted, decided and sent to the state machine. */
  function harness(
    options: {
      now?: Date;
      notifier?: Partial<Notifier>;
      orchestrator?: Partial<Orchestrator>;
      members?: Record<string, string[]>;
    } = {},
  ) {
    const posted: ApprovalRecord[] = [];
    const decided: ApprovalRecord[] = [];
    const sent: unknown[][] = [];
    const asked: string[] = [];
    const log = recordingLog();
    const notifier: Notifier = {
      approvalRequested: async (approval) => {
        posted.push(structuredClone(approval));
        return { channel: 'C0DEPLOYS', ts: `1700000000.${String(posted.length).padStart(6, '0')}` };
      },
      approvalDecided: async (approval) => void decided.push(structuredClone(approval)),
      stageChanged: async () => {},
      ...options.notifier,
    };
    const orchestrator: Orchestrator = {
      startExecution: async () => ({ executionArn: 'arn:x', started: true }),
      sendTaskSuccess: async (...args) => void sent.push(['success', ...args]),
      sendTaskFailure: async (...args) => void sent.push(['failure', ...args]),
      ...options.orchestrator,
    };
    const deps = {
      store,
      orchestrator,
      notifier,
      clock: { now: () => options.now ?? NOW },
      log,
      config,
      userGroups: {
        members: async (group: string) => {
          asked.push(group);
          const members = options.members?.[group];
          if (!members) throw new Error(`usergroups.users.list: no_such_subteam ${group}`);
          return members;
        },
      },
    };
    return { deps, posted, decided, sent, asked, log };
  }

  /** A deployment of api waiting at `environment`, as RecordStarted left it; its id. */
  async function deployment(trigger?: Partial<Trigger>, environment = 'prod'): Promise<string> {
    n += 1;
    const id = `dep-apr-${n}`;
    const at = NOW.toISOString();
    await store.createDeployment(
      {
        deploymentId: id,
        service: 'api',
        version: `1.0.${n}`,
        image: { registry: 'ecr', repository: 'api', tag: `1.0.${n}` },
        trigger: { kind: 'ecr-push', id: `evt-${n}`, at, ...trigger },
        environments: [environment],
        createdAt: at,
        kind: 'deploy',
      },
      [
        {
          deploymentId: id,
          service: 'api',
          environment,
          order: 0,
          version: `1.0.${n}`,
          state: 'PENDING',
          createdAt: at,
          updatedAt: at,
        },
      ],
    );
    return id;
  }

  const request = (deploymentId: string, more: { environment?: string; timeoutSeconds?: number; enteredAt?: string } = {}) => ({
    taskToken: `token-${deploymentId}-${'x'.repeat(2000)}`,
    deploymentId,
    service: 'api',
    environment: more.environment ?? 'prod',
    version: '1.0.0',
    timeoutSeconds: more.timeoutSeconds ?? 3600,
    ...(more.enteredAt ? { enteredAt: more.enteredAt } : {}),
  });

  const alice: Actor = { id: 'U0ALICE', name: 'alice', source: 'slack' };

  describe('approvalIdFor', () => {
    it('names a wait by a short id (fits a Slack button value), the same for the same token, another for another', () => {
      const token = 'AQCEAAAAKgAAAAMAAAAA'.repeat(100);
      expect(token.length).toBe(2000);
      const id = approvalIdFor(token);
      expect(id).toMatch(/^apr-[0-9a-f]{10}$/);
      expect(approvalIdFor(token)).toBe(id);
      expect(approvalIdFor(`${token}B`)).not.toBe(id);
    });
  });

  describe('requestApproval', () => {
    it('records a PENDING approval that expires timeoutSeconds after the wait began, links it to the stage and posts it', async () => {
      const id = await deployment({ kind: 'git-tag', actor: 'octocat', actorId: 'U0CAT' });
      await store.setEnvironmentVersions('api', 'prod', { current: { version: '0.9.0', deploymentId: 'dep-old' } }, NOW);
      const { deps, posted, log } = harness();
      const enteredAt = new Date(NOW.getTime() - 600_000).toISOString();
      const approval = await requestApproval(deps, request(id, { timeoutSeconds: 3600, enteredAt }));
      expect(approval).toMatchObject({
        approvalId: approvalIdFor(request(id).taskToken),
        deploymentId: id,
        service: 'api',
        environment: 'prod',
        version: '1.0.0',
        fromVersion: '0.9.0',
        requestedBy: 'octocat',
        requestedAt: NOW.toISOString(),
        // 10 minutes of the hour had passed when this request ran.
        expiresAt: '2026-03-01T12:50:00.000Z',
        status: 'PENDING',
      });
      expect(approval.decidedBy).toBeUndefined();
      expect(approval.decidedAt).toBeUndefined();
      expect(await store.getApproval(approval.approvalId)).toMatchObject({
        status: 'PENDING',
        expiresAt: '2026-03-01T12:50:00.000Z',
        message: { channel: 'C0DEPLOYS', ts: '1700000000.000001' },
      });
      expect(await store.getStage(id, 'prod')).toMatchObject({ state: 'AWAITING_APPROVAL', approvalId: approval.approvalId });
      expect(posted.map((p) => p.approvalId)).toEqual([approval.approvalId]);
      expect(log.lines).toEqual([
        {
          level: 'INFO',
          message: `api 1.0.0 waits for approval to deploy to prod: approval ${approval.approvalId}`,
          extra: { approvalId: approval.approvalId, deploymentId: id },
        },
      ]);
    });

    it('counts from now when the state machine did not say when the wait began (or said it unreadably)', async () => {
      for (const enteredAt of [undefined, 'not a time']) {
        const id = await deployment();
        const { deps } = harness();
        const approval = await requestApproval(deps, request(id, { timeoutSeconds: 60, ...(enteredAt ? { enteredAt } : {}) }));
        expect(approval.expiresAt).toBe('2026-03-01T12:01:00.000Z');
        expect(approval.status).toBe('PENDING');
      }
    });

    it('names who triggered it by actor, else by the kind of trigger, else "unknown"; no fromVersion when nothing ran there', async () => {
      const byKind = await deployment({ kind: 'ghcr-push' }, 'qa');
      const { deps } = harness();
      const approval = await requestApproval(deps, request(byKind, { environment: 'qa' }));
      expect(approval.requestedBy).toBe('ghcr-push');
      expect('fromVersion' in approval).toBe(false);
      // No deployment record at all: the approval still waits, and the missing stage is only logged.
      const { deps: deps2, log } = harness();
      const orphan = await requestApproval(deps2, request('dep-missing', { environment: 'qa' }));
      expect(orphan.requestedBy).toBe('unknown');
      expect(orphan.status).toBe('PENDING');
      expect(log.lines[0]).toMatchObject({ level: 'WARN', message: 'could not link the approval to its stage' });
      expect(String(log.lines[0]?.extra?.error)).toContain('dep-missing');
    });

    it('a request that arrives after the deadline records the approval EXPIRED (by timeout) and says so', async () => {
      const id = await deployment({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const { deps, log } = harness();
      // The wait began exactly timeoutSeconds ago: the state machine has given up at this instant.
      const enteredAt = new Date(NOW.getTime() - 60_000).toISOString();
      const approval = await requestApproval(deps, request(id, { timeoutSeconds: 60, enteredAt }));
      expect(approval).toMatchObject({
        status: 'EXPIRED',
        decidedBy: 'timeout',
        decidedAt: NOW.toISOString(),
        expiresAt: NOW.toISOString(),
      });
      expect((await store.getApproval(approval.approvalId))?.status).toBe('EXPIRED');
      expect(log.lines).toEqual([
        {
          level: 'WARN',
          message: `approval ${approval.approvalId} for api 1.0.0 on prod arrived after its deadline (${NOW.toISOString()}): expired`,
          extra: { approvalId: approval.approvalId, deploymentId: id },
        },
      ]);
      // One millisecond before the deadline it still waits.
      const id2 = await deployment({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const early = new Date(NOW.getTime() - 59_999).toISOString();
      expect((await requestApproval(harness().deps, request(id2, { timeoutSeconds: 60, enteredAt: early }))).status).toBe(
        'PENDING',
      );
    });

    it('four eyes: warns at once when nobody can approve because the trigger names no one it can compare', async () => {
      const cases: [Partial<Trigger> | undefined, string][] = [
        [{ kind: 'ecr-push' }, 'ecr-push, naming no user'],
        [{ kind: 'git-tag', actor: 'someone' }, 'git-tag by someone, not in slack.users'],
      ];
      for (const [trigger, why] of cases) {
        const id = await deployment(trigger);
        const { deps, log } = harness();
        const approval = await requestApproval(deps, request(id));
        const warning = log.lines.find((l) => l.level === 'WARN');
        expect(warning).toEqual({
          level: 'WARN',
          message: `four eyes on api/prod: nobody can approve ${approval.approvalId}, because Coconut cannot tell who triggered ${id} (${why}); reject it and deploy with \`coconut deploy\`, or map who pushed in slack.users`,
          extra: { approvalId: approval.approvalId, deploymentId: id },
        });
      }
      const { deps, log } = harness();
      const orphan = await requestApproval(deps, request('dep-no-record'));
      expect(log.lines.map((l) => l.level)).toEqual(['WARN', 'INFO', 'WARN']);
      expect(log.lines.at(-1)?.message).toContain('cannot tell who triggered dep-no-record (no record); reject it');
      expect(orphan.status).toBe('PENDING');
    });

    it('four eyes: no warning when the trigger is known, when the environment has no four eyes, or when the wait is over', async () => {
      const known = await deployment({ kind: 'git-tag', actor: 'octocat' });
      const h1 = harness();
      await requestApproval(h1.deps, request(known));
      expect(h1.log.lines.map((l) => l.level)).toEqual(['INFO']);
      const plain = await deployment({ kind: 'ecr-push' }, 'qa');
      const h2 = harness();
      await requestApproval(h2.deps, request(plain, { environment: 'qa' }));
      expect(h2.log.lines.map((l) => l.level)).toEqual(['INFO']);
      const late = await deployment({ kind: 'ecr-push' });
      const h3 = harness();
      await requestApproval(h3.deps, request(late, { timeoutSeconds: 1, enteredAt: '2026-03-01T11:00:00.000Z' }));
      expect(h3.log.lines.map((l) => l.message)).toEqual([expect.stringContaining('arrived after its deadline')]);
    });

    it('a retried request gets the same approval and posts again only when the first post never got out', async () => {
      const id = await deployment({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const failing = harness({
        notifier: {
          approvalRequested: async () => {
            throw new Error('slack: service_unavailable');
          },
        },
      });
      const first = await requestApproval(failing.deps, request(id));
      expect(first.status).toBe('PENDING');
      expect(failing.log.lines.at(-1)).toEqual({
        level: 'WARN',
        message: 'could not post the approval request; it is still in the inbox',
        extra: { error: 'Error: slack: service_unavailable' },
      });
      expect((await store.getApproval(first.approvalId))?.message).toBeUndefined();

      const retry = harness({ now: new Date(NOW.getTime() + 5000) });
      const again = await requestApproval(retry.deps, request(id));
      expect(again.approvalId).toBe(first.approvalId);
      expect(again.requestedAt).toBe(first.requestedAt);
      expect(retry.posted.map((p) => p.approvalId)).toEqual([first.approvalId]);
      expect(retry.log.lines).toEqual([]);
      expect((await store.getApproval(first.approvalId))?.message).toEqual({ channel: 'C0DEPLOYS', ts: '1700000000.000001' });

      // Posted already: a third try posts nothing.
      const third = harness();
      expect((await requestApproval(third.deps, request(id))).message).toEqual({ channel: 'C0DEPLOYS', ts: '1700000000.000001' });
      expect(third.posted).toEqual([]);
    });

    it('a retried request for an approval decided meanwhile posts nothing', async () => {
      const id = await deployment({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const silent = harness({ notifier: { approvalRequested: async () => undefined } });
      const first = await requestApproval(silent.deps, request(id));
      expect(silent.posted).toEqual([]);
      // Posted nowhere (no chat workspace): nothing to record, and nothing went wrong.
      expect((await store.getApproval(first.approvalId))?.message).toBeUndefined();
      expect(silent.log.lines.filter((l) => l.level === 'WARN')).toEqual([]);
      await store.decideApproval(first.approvalId, { status: 'REJECTED', decidedBy: 'bob', decidedAt: NOW.toISOString() });
      const retry = harness();
      expect((await requestApproval(retry.deps, request(id))).status).toBe('REJECTED');
      expect(retry.posted).toEqual([]);
    });

    it('a decision taken while the request was being posted is shown on the fresh message at once', async () => {
      const id = await deployment({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const h = harness({
        notifier: {
          approvalRequested: async (approval) => {
            // Someone decided it in the inbox while Slack was answering.
            await store.decideApproval(approval.approvalId, {
              status: 'REJECTED',
              decidedBy: 'bob',
              decidedAt: NOW.toISOString(),
            });
            return { channel: 'C0DEPLOYS', ts: '1700000000.000777' };
          },
        },
      });
      const approval = await requestApproval(h.deps, request(id));
      expect(approval.message).toEqual({ channel: 'C0DEPLOYS', ts: '1700000000.000777' });
      expect(h.decided).toEqual([
        expect.objectContaining({ approvalId: approval.approvalId, status: 'REJECTED', decidedBy: 'bob' }),
      ]);
      expect(h.decided[0]?.message).toEqual({ channel: 'C0DEPLOYS', ts: '1700000000.000777' });

      // Nobody decided meanwhile: no "decided" update follows the post.
      const quiet = harness();
      await requestApproval(quiet.deps, request(await deployment({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' })));
      expect(quiet.decided).toEqual([]);
    });

    it('an approval that arrives expired is posted but no decision update follows it', async () => {
      const id = await deployment({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const h = harness();
      const late = await requestApproval(h.deps, request(id, { timeoutSeconds: 1, enteredAt: '2026-03-01T11:00:00.000Z' }));
      expect(late.status).toBe('EXPIRED');
      expect(h.posted.map((p) => p.status)).toEqual(['EXPIRED']);
      expect(h.decided).toEqual([]);
    });
  });

  describe('who may decide', () => {
    const role = 'arn:aws:iam::123456789012:role/deployers';
    const session = {
      kind: 'role-session',
      partition: 'aws',
      account: '123456789012',
      role: 'deployers',
      session: 'alice',
    } as const;

    it('an ARN entry names only a verified IAM caller; a Slack id entry names the chat id', () => {
      expect(
        listsActor(role, { id: 'arn:aws:sts::123456789012:assumed-role/deployers/alice', source: 'iam', iam: session }),
      ).toBe(true);
      // The same principal claimed by a dashboard or Slack request is not a verified IAM caller.
      expect(listsActor(role, { id: 'x', source: 'dashboard', slackId: 'U0ALICE', iam: session })).toBe(false);
      expect(listsActor(role, { id: 'arn:aws:sts::123456789012:assumed-role/deployers/alice', source: 'iam' })).toBe(false);
      expect(listsActor('arn:aws:iam::123456789012:role/other', { id: 'x', source: 'iam', iam: session })).toBe(false);
      expect(listsActor('U0ALICE', alice)).toBe(true);
      expect(listsActor('U0BOB', alice)).toBe(false);
      expect(listsActor('U0ALICE', { id: 'issuer#alice', source: 'dashboard', slackId: 'U0ALICE' })).toBe(true);
      // A dashboard user no slack.users entry maps is nobody's Slack id, even one spelled like their sub.
      expect(listsActor('issuer#alice', { id: 'issuer#alice', source: 'dashboard' })).toBe(false);
      expect(listsActor('U0ALICE', { id: 'U0ALICE', source: 'iam', iam: session })).toBe(false);
    });

    it('chatIdOf: the Slack id of each kind of actor', () => {
      expect(chatIdOf({ id: 'U0ALICE', source: 'slack' })).toBe('U0ALICE');
      expect(chatIdOf({ id: 'operator', source: 'local' })).toBe('operator');
      expect(chatIdOf({ id: 'iss#sub', source: 'dashboard', slackId: 'U0BOB' })).toBe('U0BOB');
      expect(chatIdOf({ id: 'iss#sub', source: 'dashboard' })).toBeUndefined();
      expect(chatIdOf({ id: 'arn:aws:iam::123456789012:user/alice', source: 'iam' })).toBeUndefined();
    });

    it('environmentApprovers: the listed approvers, none for an environment or service without approval', () => {
      expect(environmentApprovers(config, 'api', 'qa')).toEqual(['U0ALICE', 'S0OPS', 'S0DEVS']);
      expect(environmentApprovers(config, 'api', 'staging')).toBeUndefined();
      expect(environmentApprovers(config, 'api', 'nowhere')).toBeUndefined();
      expect(environmentApprovers(config, 'nothing', 'prod')).toBeUndefined();
    });

    it('groupMembersOnce asks the workspace once per group; without a workspace every group fails, saying why', async () => {
      const asked: string[] = [];
      const members = groupMembersOnce({
        members: async (g) => {
          asked.push(g);
          return [`${g}-member`];
        },
      });
      expect(await members('S0OPS')).toEqual(['S0OPS-member']);
      expect(await members('S0OPS')).toEqual(['S0OPS-member']);
      expect(await members('S0DEVS')).toEqual(['S0DEVS-member']);
      expect(asked).toEqual(['S0OPS', 'S0DEVS']);
      const none = groupMembersOnce(undefined);
      await expect(none('S0OPS')).rejects.toThrow('no chat workspace is configured');
    });

    it('checkApprover: listed, or a member of a listed group; a group that cannot be resolved grants nothing and is reported', async () => {
      const asked: string[] = [];
      const members = async (group: string) => {
        asked.push(group);
        if (group === 'S0BROKEN') throw new Error('missing_scope');
        return group === 'S0OPS' ? ['U0CAROL'] : [];
      };
      expect(await checkApprover(['U0ALICE', 'S0OPS'], alice, members)).toEqual({ approves: true, unresolved: [] });
      expect(asked).toEqual([]);
      const carol: Actor = { id: 'U0CAROL', source: 'slack' };
      expect(await checkApprover(['S0BROKEN', 'U0ALICE', 'S0OPS'], carol, members)).toEqual({ approves: true, unresolved: [] });
      // Only S… entries are groups.
      expect(asked).toEqual(['S0BROKEN', 'S0OPS']);
      expect(await checkApprover(['S0BROKEN', 'S0DEVS'], carol, members)).toEqual({
        approves: false,
        unresolved: [{ group: 'S0BROKEN', error: 'Error: missing_scope' }],
      });
      // An IAM caller or an unmapped dashboard user is in no Slack group: nothing is asked.
      asked.length = 0;
      const iam: Actor = { id: 'arn:aws:iam::123456789012:user/carol', source: 'iam' };
      expect(await checkApprover(['S0OPS'], iam, members)).toEqual({ approves: false, unresolved: [] });
      expect(await checkApprover(['S0OPS'], { id: 'iss#carol', source: 'dashboard' }, members)).toEqual({
        approves: false,
        unresolved: [],
      });
      expect(asked).toEqual([]);
    });

    it('a group lookup that fails and is never awaited does not crash the process', async () => {
      // Node.js ends the process on an unhandled rejection by default (--unhandled-rejections=throw,
      // https://nodejs.org/api/cli.html#--unhandled-rejectionsmode).
      const unhandled: unknown[] = [];
      const record = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', record);
      try {
        groupMembersOnce(undefined)('S0OPS');
        groupMembersOnce({ members: async () => Promise.reject(new Error('slack down')) })('S0DEVS');
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        process.off('unhandledRejection', record);
      }
      expect(unhandled).toEqual([]);
    });

    it('unresolvedGroupsHint names each group that could not be checked once, and nothing when there is none', () => {
      expect(unresolvedGroupsHint([])).toBe('');
      expect(
        unresolvedGroupsHint([
          { group: 'S0OPS', error: 'a' },
          { group: 'S0DEVS', error: 'b' },
          { group: 'S0OPS', error: 'c' },
        ]),
      ).toBe('; the members of S0OPS, S0DEVS could not be checked right now, try again');
    });
  });

  describe('decideApproval', () => {
    async function waiting(
      trigger: Partial<Trigger> = { kind: 'manual', actor: 'carol', actorId: 'U0CAROL' },
      environment = 'prod',
    ) {
      const id = await deployment(trigger, environment);
      return requestApproval(
        harness({ notifier: { approvalRequested: async () => undefined } }).deps,
        request(id, { environment }),
      );
    }

    it('an approver approves: the record says who and when, the state machine goes on, people are told', async () => {
      const approval = await waiting();
      const h = harness();
      const later = new Date(NOW.getTime() + 60_000);
      const decided = await decideApproval(
        { ...h.deps, clock: { now: () => later } },
        { approvalId: approval.approvalId, decision: 'approve', actor: alice, comment: 'looks good' },
      );
      expect(decided).toMatchObject({
        status: 'APPROVED',
        decidedBy: 'alice',
        decidedById: 'U0ALICE',
        decidedAt: later.toISOString(),
        comment: 'looks good',
      });
      expect(h.sent).toEqual([['success', approval.taskToken, { approvalId: approval.approvalId, approvedBy: 'alice' }]]);
      expect(h.decided.map((d) => d.status)).toEqual(['APPROVED']);
      expect(h.log.lines).toEqual([
        {
          level: 'INFO',
          message: `approval ${approval.approvalId} approved by alice`,
          extra: { approvalId: approval.approvalId },
        },
      ]);
      expect(await store.getApproval(approval.approvalId)).toMatchObject({ status: 'APPROVED', decidedById: 'U0ALICE' });
    });

    it('a rejection fails the wait with Coconut.Rejected and who rejected, with the comment when there is one', async () => {
      const first = await waiting();
      const h = harness();
      await decideApproval(h.deps, { approvalId: first.approvalId, decision: 'reject', actor: alice, comment: 'not today' });
      const second = await waiting();
      const rejected = await decideApproval(h.deps, { approvalId: second.approvalId, decision: 'reject', actor: alice });
      expect(h.sent).toEqual([
        ['failure', first.taskToken, 'Coconut.Rejected', 'rejected by alice: not today'],
        ['failure', second.taskToken, 'Coconut.Rejected', 'rejected by alice'],
      ]);
      expect(rejected.status).toBe('REJECTED');
      expect('comment' in rejected).toBe(false);
      expect(h.log.lines.at(-1)?.message).toBe(`approval ${second.approvalId} rejected by alice`);
    });

    it('an unknown or already decided approval is refused, saying which and by whom', async () => {
      const h = harness();
      await expect(decideApproval(h.deps, { approvalId: 'apr-nothing', decision: 'approve', actor: alice })).rejects.toThrow(
        new NotFoundError('approval apr-nothing does not exist'),
      );
      const approval = await waiting();
      await decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'reject', actor: alice });
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(
        new ConflictError(`approval ${approval.approvalId} is already rejected by alice at ${NOW.toISOString()}`),
      );
      const expired = await waiting();
      await expireApproval(h.deps, expired.approvalId);
      await expect(decideApproval(h.deps, { approvalId: expired.approvalId, decision: 'approve', actor: alice })).rejects.toThrow(
        new ConflictError(`approval ${expired.approvalId} expired at ${expired.expiresAt}`),
      );
      expect(h.sent).toEqual([['failure', approval.taskToken, 'Coconut.Rejected', 'rejected by alice']]);
    });

    it('an approval decided without a name or time (an imported record) is refused in general words, even to a non-approver', async () => {
      const approval = await waiting();
      const { decidedBy: _by, decidedAt: _at, ...rest } = { ...approval, status: 'APPROVED' as const };
      await store.putApproval({ ...rest, approvalId: `${approval.approvalId}-imported`, status: 'APPROVED' });
      const h = harness();
      // The state of the approval is the answer, whoever asks: it cannot be decided any more.
      const mallory: Actor = { id: 'U0MALLORY', source: 'slack' };
      await expect(
        decideApproval(h.deps, { approvalId: `${approval.approvalId}-imported`, decision: 'reject', actor: mallory }),
      ).rejects.toThrow(new ConflictError(`approval ${approval.approvalId}-imported is already approved by someone`));
    });

    it('someone else deciding first (between the read and the write) wins; this decision is refused and sends nothing', async () => {
      const approval = await waiting();
      const h = harness();
      const racing = {
        ...h.deps,
        store: new Proxy(store, {
          get(target, key, receiver) {
            if (key === 'decideApproval') {
              return async (id: string, decision: Parameters<DynamoStore['decideApproval']>[1]) => {
                await target.decideApproval(id, { status: 'APPROVED', decidedBy: 'bob', decidedAt: NOW.toISOString() });
                return target.decideApproval(id, decision);
              };
            }
            const value = Reflect.get(target, key, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
      };
      await expect(decideApproval(racing, { approvalId: approval.approvalId, decision: 'reject', actor: alice })).rejects.toThrow(
        new ConflictError(`approval ${approval.approvalId} is already approved by bob at ${NOW.toISOString()}`),
      );
      expect(h.sent).toEqual([]);
      expect(h.decided).toEqual([]);
    });

    it('a non-approver is refused before anything changes, and told who may approve', async () => {
      const approval = await waiting();
      const h = harness({ members: { S0OPS: ['U0CAROL'] } });
      const mallory: Actor = { id: 'U0MALLORY', name: 'mallory', source: 'slack' };
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'reject', actor: mallory }),
      ).rejects.toThrow(
        new ForbiddenError(
          'mallory is not an approver of api on prod (approvers: U0ALICE, S0OPS, arn:aws:iam::123456789012:role/deployers)',
        ),
      );
      // Named by id when it has no name; a dashboard user without a Slack mapping is told why.
      await expect(
        decideApproval(h.deps, {
          approvalId: approval.approvalId,
          decision: 'reject',
          actor: { id: 'iss#sub', source: 'dashboard' },
        }),
      ).rejects.toThrow(
        new ForbiddenError(
          'iss#sub is not an approver of api on prod (approvers: U0ALICE, S0OPS, arn:aws:iam::123456789012:role/deployers); you signed in as iss#sub, which coconut.yaml slack.users does not map to a Slack user id',
        ),
      );
      await expect(
        decideApproval(h.deps, {
          approvalId: approval.approvalId,
          decision: 'reject',
          actor: { id: 'iss#sub', source: 'dashboard', slackId: 'U0NOBODY' },
        }),
      ).rejects.toThrow(/^iss#sub is not an approver of api on prod \(approvers: [^)]*\)$/);
      expect((await store.getApproval(approval.approvalId))?.status).toBe('PENDING');
      expect(h.sent).toEqual([]);
      // A member of a listed group may.
      const carol = await decideApproval(h.deps, {
        approvalId: approval.approvalId,
        decision: 'reject',
        actor: { id: 'U0CAROL', source: 'slack' },
      });
      expect(carol).toMatchObject({ status: 'REJECTED', decidedBy: 'U0CAROL', decidedById: 'U0CAROL' });
    });

    it('a group that cannot be resolved grants nothing: logged, and the refusal says to try again', async () => {
      const approval = await waiting(undefined, 'qa');
      const h = harness({ members: { S0OPS: ['U0CAROL'] } });
      await expect(
        decideApproval(h.deps, {
          approvalId: approval.approvalId,
          decision: 'approve',
          actor: { id: 'U0DAVE', source: 'slack' },
        }),
      ).rejects.toThrow(
        new ForbiddenError(
          'U0DAVE is not an approver of api on qa (approvers: U0ALICE, S0OPS, S0DEVS); the members of S0DEVS could not be checked right now, try again',
        ),
      );
      expect(h.asked).toEqual(['S0OPS', 'S0DEVS']);
      expect(h.log.lines).toEqual([
        {
          level: 'WARN',
          message: 'could not resolve the members of user group S0DEVS',
          extra: { error: 'Error: usergroups.users.list: no_such_subteam S0DEVS' },
        },
      ]);
    });

    it('an environment without approvers refuses everyone but the local operator, saying "none"', async () => {
      const id = await deployment({ kind: 'manual', actor: 'carol' }, 'staging');
      const approval = await requestApproval(harness().deps, request(id, { environment: 'staging' }));
      const h = harness();
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(new ForbiddenError('alice is not an approver of api on staging (approvers: none)'));
      // The local inbox trusts its operator: no approver list, no four eyes; no Slack id is recorded.
      const operator = await decideApproval(h.deps, {
        approvalId: approval.approvalId,
        decision: 'approve',
        actor: { id: 'operator', source: 'local' },
      });
      expect(operator).toMatchObject({ status: 'APPROVED', decidedBy: 'operator' });
      expect('decidedById' in operator).toBe(false);
    });

    it('four eyes: whoever triggered it may not approve, but may reject; the local operator is not asked', async () => {
      const approval = await waiting({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const h = harness();
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(ForbiddenError);
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(/four eyes/);
      expect(h.sent).toEqual([]);
      expect((await decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'reject', actor: alice })).status).toBe(
        'REJECTED',
      );
      // A JWT user identified by slack.users: decidedById is their Slack id; the verdict compares identities.
      const other = await waiting({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const bob: Actor = { id: 'iss#bob', name: 'bob@example.com', source: 'dashboard', slackId: 'U0BOB' };
      await expect(decideApproval(h.deps, { approvalId: other.approvalId, decision: 'approve', actor: bob })).rejects.toThrow(
        /not an approver/,
      );
      const local = await decideApproval(h.deps, {
        approvalId: other.approvalId,
        decision: 'approve',
        actor: { id: 'U0ALICE', source: 'local' },
      });
      expect(local.status).toBe('APPROVED');
    });

    it('four eyes: a dashboard user whose Slack id triggered it is refused as the one who triggered it', async () => {
      const approval = await waiting({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' });
      const h = harness();
      const dashboardAlice: Actor = { id: 'https://login.example.com#alice-sub', source: 'dashboard', slackId: 'U0ALICE' };
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: dashboardAlice }),
      ).rejects.toThrow(
        new ForbiddenError(
          'four eyes: https://login.example.com#alice-sub triggered this deployment (as alice) and may not approve it; another approver must',
        ),
      );
    });

    it('four eyes: a deployment with no record cannot be approved, saying why', async () => {
      const approval = await requestApproval(harness().deps, request('dep-gone'));
      const h = harness();
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(
        'four eyes: Coconut cannot tell who triggered this deployment (an unknown source (the deployment record is missing)), so it cannot show that alice is someone else',
      );
    });

    it('without four eyes, whoever triggered it may approve it', async () => {
      const approval = await waiting({ kind: 'manual', actor: 'alice', actorId: 'U0ALICE' }, 'qa');
      const h = harness();
      expect((await decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice })).status).toBe(
        'APPROVED',
      );
    });

    it('four eyes: an IAM caller allowed by role is recorded by its ARN; one who triggered it by that ARN is refused', async () => {
      const arn = 'arn:aws:sts::123456789012:assumed-role/deployers/alice';
      const iam = {
        kind: 'role-session',
        partition: 'aws',
        account: '123456789012',
        role: 'deployers',
        session: 'alice',
      } as const;
      const bySlack = await waiting({ kind: 'manual', actor: 'carol', actorId: 'U0CAROL' });
      const h = harness();
      // The IAM caller is compared with a Slack user it cannot be told apart from: refused, saying so.
      await expect(
        decideApproval(h.deps, { approvalId: bySlack.approvalId, decision: 'approve', actor: { id: arn, source: 'iam', iam } }),
      ).rejects.toThrow(/four eyes/);
      const bySelf = await waiting({ kind: 'manual', actor: arn, actorId: arn });
      await expect(
        decideApproval(h.deps, { approvalId: bySelf.approvalId, decision: 'approve', actor: { id: arn, source: 'iam', iam } }),
      ).rejects.toThrow(/four eyes/);
      const other = 'arn:aws:sts::123456789012:assumed-role/deployers/bob';
      const byOther = await waiting({ kind: 'manual', actor: other, actorId: other });
      const approved = await decideApproval(h.deps, {
        approvalId: byOther.approvalId,
        decision: 'approve',
        actor: { id: arn, source: 'iam', iam },
      });
      expect(approved).toMatchObject({ status: 'APPROVED', decidedBy: arn, decidedById: arn });
    });

    it('a decision after the expiry records EXPIRED (by timeout), updates the message and is refused', async () => {
      const approval = await waiting();
      const h = harness({ now: new Date(Date.parse(approval.expiresAt) + 1) });
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(new ConflictError(`approval ${approval.approvalId} expired at ${approval.expiresAt}`));
      expect(await store.getApproval(approval.approvalId)).toMatchObject({
        status: 'EXPIRED',
        decidedBy: 'timeout',
        decidedAt: new Date(Date.parse(approval.expiresAt) + 1).toISOString(),
      });
      expect(h.decided.map((d) => d.status)).toEqual(['EXPIRED']);
      expect(h.sent).toEqual([]);
      // At the expiry instant itself it may still be decided.
      const onTime = await waiting();
      const edge = harness({ now: new Date(onTime.expiresAt) });
      expect((await decideApproval(edge.deps, { approvalId: onTime.approvalId, decision: 'approve', actor: alice })).status).toBe(
        'APPROVED',
      );
    });

    it('expired while someone else already closed it: refused without a second message update; a failing update is logged', async () => {
      const approval = await waiting();
      const after = new Date(Date.parse(approval.expiresAt) + 1);
      const racing = harness({ now: after });
      const store2 = new Proxy(store, {
        get(target, key, receiver) {
          if (key === 'decideApproval') {
            return async (id: string, decision: Parameters<DynamoStore['decideApproval']>[1]) => {
              await target.decideApproval(id, { status: 'REJECTED', decidedBy: 'bob', decidedAt: NOW.toISOString() });
              return target.decideApproval(id, decision);
            };
          }
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      await expect(
        decideApproval({ ...racing.deps, store: store2 }, { approvalId: approval.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(ConflictError);
      expect(racing.decided).toEqual([]);

      const second = await waiting();
      const broken = harness({
        now: new Date(Date.parse(second.expiresAt) + 1),
        notifier: {
          approvalDecided: async () => {
            throw new Error('slack: message_not_found');
          },
        },
      });
      await expect(
        decideApproval(broken.deps, { approvalId: second.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(`approval ${second.approvalId} expired at`);
      expect(broken.log.lines).toEqual([
        { level: 'WARN', message: 'could not update the approval message', extra: { error: 'Error: slack: message_not_found' } },
      ]);
    });

    it('the wait ended just before the decision (TaskTimedOut): the record says EXPIRED, not APPROVED, and why', async () => {
      const approval = await waiting();
      const h = harness({
        orchestrator: {
          sendTaskSuccess: async () => {
            throw new TaskTokenExpiredError('Task Timed Out');
          },
        },
      });
      await expect(
        decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow(
        new ConflictError(`the deployment no longer waits for approval ${approval.approvalId} (it expired or was stopped)`),
      );
      const stored = await store.getApproval(approval.approvalId);
      expect(stored).toMatchObject({
        status: 'EXPIRED',
        decidedBy: 'timeout',
        decidedAt: NOW.toISOString(),
        comment: 'alice decided after the deployment had stopped waiting',
      });
      expect(stored?.decidedById).toBeUndefined();
      expect(h.decided).toEqual([
        expect.objectContaining({ status: 'EXPIRED', comment: 'alice decided after the deployment had stopped waiting' }),
      ]);
      expect(h.log.lines).toEqual([]);
    });

    it('a stopped wait whose record cannot be rewritten or whose message cannot be updated is still refused; other errors pass through', async () => {
      const approval = await waiting();
      const expired = harness({
        orchestrator: {
          sendTaskFailure: async () => {
            throw new TaskTokenExpiredError('Task Does Not Exist');
          },
        },
        notifier: {
          approvalDecided: async () => {
            throw new Error('slack down');
          },
        },
      });
      const failingPut = new Proxy(store, {
        get(target, key, receiver) {
          if (key === 'putApproval') {
            return async () => {
              throw new Error('dynamodb down');
            };
          }
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      await expect(
        decideApproval(
          { ...expired.deps, store: failingPut },
          { approvalId: approval.approvalId, decision: 'reject', actor: alice },
        ),
      ).rejects.toThrow(ConflictError);
      expect(expired.log.lines).toEqual([
        { level: 'WARN', message: 'could not mark the approval expired', extra: { error: 'Error: dynamodb down' } },
        { level: 'WARN', message: 'could not update the approval message', extra: { error: 'Error: slack down' } },
      ]);

      const other = await waiting();
      const outage = harness({
        orchestrator: {
          sendTaskSuccess: async () => {
            throw new Error('states: ServiceUnavailable');
          },
        },
      });
      await expect(
        decideApproval(outage.deps, { approvalId: other.approvalId, decision: 'approve', actor: alice }),
      ).rejects.toThrow('states: ServiceUnavailable');
      expect(outage.decided).toEqual([]);
    });

    it('a message that cannot be updated after a decision is logged; the decision stands', async () => {
      const approval = await waiting();
      const h = harness({
        notifier: {
          approvalDecided: async () => {
            throw new Error('slack: ratelimited');
          },
        },
      });
      const decided = await decideApproval(h.deps, { approvalId: approval.approvalId, decision: 'approve', actor: alice });
      expect(decided.status).toBe('APPROVED');
      expect(h.log.lines.at(-1)).toEqual({
        level: 'WARN',
        message: 'could not update the approval message',
        extra: { error: 'Error: slack: ratelimited' },
      });
    });
  });

  describe('expireApproval', () => {
    it('marks a waiting approval EXPIRED by timeout and tells people once; nothing without an id', async () => {
      const id = await deployment({ kind: 'manual', actor: 'carol', actorId: 'U0CAROL' });
      const approval = await requestApproval(harness().deps, request(id));
      const h = harness({ now: new Date(NOW.getTime() + 3_600_000) });
      await expireApproval(h.deps, approval.approvalId);
      expect(await store.getApproval(approval.approvalId)).toMatchObject({
        status: 'EXPIRED',
        decidedBy: 'timeout',
        decidedAt: '2026-03-01T13:00:00.000Z',
      });
      expect(h.decided.map((d) => [d.approvalId, d.status])).toEqual([[approval.approvalId, 'EXPIRED']]);
      // Already closed: nothing new to tell.
      await expireApproval(h.deps, approval.approvalId);
      expect(h.decided).toHaveLength(1);
      await expireApproval(h.deps, undefined);
      expect(h.decided).toHaveLength(1);
    });

    it('a chat outage does not fail the expiry', async () => {
      const id = await deployment({ kind: 'manual', actor: 'carol', actorId: 'U0CAROL' });
      const approval = await requestApproval(harness().deps, request(id));
      const h = harness({
        notifier: {
          approvalDecided: async () => {
            throw new Error('slack down');
          },
        },
      });
      await expireApproval(h.deps, approval.approvalId);
      expect((await store.getApproval(approval.approvalId))?.status).toBe('EXPIRED');
    });
  });
});
