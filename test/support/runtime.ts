/**
 * A local runtime for end-to-end tests: its own data dir, config and inventory on reserved ports
 * (never the demo's 4601/4602), short bakes, and helpers to push and to wait for states.
 * Waiting is driven by the runtime's own notification of store writes (runtime.changes): a
 * waiter looks at the store again only when something was written, never on a timer. Its time
 * limit is a limit (generous, for a shared machine), never a speed assertion.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import type { Log } from '../../src/core/ports.ts';
import { TOKEN_HEADER } from '../../src/local/request-guard.ts';
import { PROJECT_ROOT, type Runtime, type RuntimeOptions, startRuntime } from '../../src/local/runtime.ts';
import { reservePort } from './ports.ts';

/**
 * A port for a process that must be told its port before it starts (ports.ts says why it is
 * reserved rather than found by bind(0) and close). A server the test starts itself listens on 0.
 */
export const freePort = reservePort;

export interface LogLine {
  level: string;
  message: string;
}

export function memoryLog(lines: LogLine[] = []): Log & { lines: LogLine[] } {
  const push = (level: string) => (message: string) => {
    lines.push({ level, message });
    if (process.env.COCONUT_TEST_LOG) process.stderr.write(`[${level}] ${message}\n`);
  };
  return { lines, debug: push('DEBUG'), info: push('INFO'), warn: push('WARN'), error: push('ERROR') };
}

export interface TestRuntime extends Runtime {
  dir: string;
  log: ReturnType<typeof memoryLog>;
  ports: Runtime['ports'];
  /**
   * prod is the first prod host (the canary's first batch); prodHosts all four, in inventory order (the
   * other three are in the inventory only with `prodRollout`).
   */
  appPorts: { staging: number; prod: number; prodHosts: number[] };
  /**
   * fetch() as the operator: `path` is relative to the runtime's URL; the operator token goes in
   * X-Coconut-Token, and a POST without a content type says application/json (as the CLI does).
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Environment for a spawned `coconut` command that talks to this runtime as its operator. */
  cliEnv: Record<string, string>;
  /** An ECR push event; `digest` as ECR sends it (targets that deploy by digest need one). */
  push(tag: string, repository?: string, digest?: string): Promise<PushResult>;
  waitForStage(
    deploymentId: string,
    environment: string,
    states: StageRecord['state'][],
    timeoutMs?: number,
  ): Promise<StageRecord>;
  waitForApproval(deploymentId: string, timeoutMs?: number): Promise<string>;
  /**
   * The first defined value of `probe`, looked at now and after each store write (runtime.changes);
   * rejects naming `what` with the last log lines after `timeoutMs` (a limit, default WAIT_LIMIT_MS).
   */
  until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  /** The version an environment's (first) host answers, or the host on that port. */
  appVersion(env: 'staging' | 'prod' | number): Promise<string | undefined>;
}

export interface PushResult {
  Entries: {
    EventId: string;
    Deliveries: {
      rule: string;
      result?: { outcomes?: { status: string; deploymentId?: string }[]; ignored?: string };
      error?: string;
    }[];
  }[];
}

export interface TestConfigOptions {
  stagingBake?: string;
  prodBake?: string;
  prodApproval?: boolean;
  approvalTimeout?: string;
  /** A scan policy for staging, e.g. "{ maxSeverity: HIGH }". */
  stagingScan?: string;
  /** More services, appended to the services list after demo-api (YAML list items indented by 2). */
  extraYaml?: string;
  /** A `source:` block for demo-api, as flow YAML, e.g. "{ github: octo/demo-api, onTag: build }". */
  source?: string;
  /** An approval on staging too (approvers as prod's), e.g. to stop a version there. */
  stagingApproval?: boolean;
  /** Approvers of prod (default [U0APPROVER]). */
  approvers?: string[];
  /** Top-level YAML added before `local:` (e.g. a `slack:` block). */
  topYaml?: string;
  /** prod's `rollout:` as flow YAML, e.g. "{ strategy: canary, steps: [25, 50], bake: 2s }". */
  prodRollout?: string;
}

/**
 * The time limit of a test that runs real ansible-playbook deploys, for a shared 2-core machine where
 * other suites run at once: generous on purpose, a limit and never a speed assertion. A wait inside
 * such a test has a shorter limit of its own (WAIT_LIMIT_MS) so that its message, with the last log
 * lines, is what a failure shows.
 */
export const REAL_DEPLOY_TEST_LIMIT_MS = 300_000;
/** The default limit of waitForStage, waitForApproval and until. */
export const WAIT_LIMIT_MS = 240_000;

/** The webhook secrets of every test runtime (unless a test passes its own). */
export const TEST_SECRETS = { githubWebhookSecret: 'test-github-webhook-secret', dockerhubToken: 'test-dockerhub-token' };

export async function startTestRuntime(opts: Partial<RuntimeOptions> & TestConfigOptions = {}): Promise<TestRuntime> {
  const dir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'coconut-e2e-'));
  // The demo's prod has four hosts (4602-4605): each gets a reserved port of its own.
  const prodHosts = [await freePort(), await freePort(), await freePort(), await freePort()];
  const appPorts = { staging: await freePort(), prod: prodHosts[0] as number, prodHosts };
  let inventory = readFileSync(path.join(PROJECT_ROOT, 'examples/demo/ansible/inventory.yml'), 'utf8').replace(
    'app_deploy_port: 4601',
    `app_deploy_port: ${appPorts.staging}`,
  );
  prodHosts.forEach((port, i) => {
    inventory = inventory.replace(`app_deploy_port: ${4602 + i}`, `app_deploy_port: ${port}`);
  });
  // Tests of an all-at-once prod keep one prod host, as before the demo's canary: the playbook deploys
  // hosts one at a time (serial: 1), and four would make every such test four deploys longer.
  if (!opts.prodRollout) inventory = inventory.replace(/^ {8}demo-prod-\d+:\n(?: {10}.*\n)+/gm, '');
  writeFileSync(path.join(dir, 'inventory.yml'), inventory);
  const approval =
    opts.prodApproval === false
      ? ''
      : `
        approval: { approvers: [${(opts.approvers ?? ['U0APPROVER']).join(', ')}], timeout: ${opts.approvalTimeout ?? '1h'} }`;
  writeFileSync(
    path.join(dir, 'coconut.yaml'),
    `services:
  - name: demo-api
    image: { registry: ecr, repository: demo-api, tagPattern: '^\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?$' }
${opts.source ? `    source: ${opts.source}\n` : ''}    target: { kind: ansible, inventory: ${path.join(dir, 'inventory.yml')} }
    environments:
      - name: staging${
        opts.stagingApproval
          ? `
        approval: { approvers: [${(opts.approvers ?? ['U0APPROVER']).join(', ')}], timeout: ${opts.approvalTimeout ?? '1h'} }`
          : ''
      }
        bake: ${opts.stagingBake ?? '3s'}
        alarms: [demo-api-staging-health]${
          opts.stagingScan
            ? `
        scan: ${opts.stagingScan}`
            : ''
        }
      - name: prod${approval}
        bake: ${opts.prodBake ?? '2s'}
        alarms: [demo-api-prod-health]${opts.prodRollout ? `\n        rollout: ${opts.prodRollout}` : ''}
${opts.extraYaml ?? ''}
${opts.topYaml ?? ''}
local:
  alarms:
    demo-api-staging-health: { probe: 'http://127.0.0.1:${appPorts.staging}/health', period: 1s, failuresToAlarm: 1 }
    demo-api-prod-health: { probe: 'http://127.0.0.1:${appPorts.prod}/health', period: 1s, failuresToAlarm: 1 }
`,
  );
  const log = memoryLog();
  const runtime = await startRuntime({
    configPath: path.join(dir, 'coconut.yaml'),
    port: 0,
    dataDir: dir,
    log,
    secrets: TEST_SECRETS,
    ...opts,
    // Never the developer's SLACK_* variables: Slack only when a test asks for it.
    slack: opts.slack ?? false,
  });
  const store = runtime.ports.store;
  const { until, operatorFetch, postEvents } = helpersFor(runtime, log);
  return {
    ...runtime,
    dir,
    log,
    appPorts,
    fetch: operatorFetch,
    // The CLI finds the token in the data dir's secrets.json, as it does where `npm start` runs.
    cliEnv: { COCONUT_URL: runtime.url, COCONUT_DATA_DIR: dir },
    push: (tag, repository = 'demo-api', digest) => postEvents([ecrPushEntry(repository, tag, digest)], { refused: 'return' }),
    waitForStage: (deploymentId, environment, states, timeoutMs = WAIT_LIMIT_MS) =>
      until(
        `${deploymentId} on ${environment} to be ${states.join('|')}`,
        async () => {
          const stage = await store.getStage(deploymentId, environment);
          return stage && states.includes(stage.state) ? stage : undefined;
        },
        timeoutMs,
      ),
    waitForApproval: (deploymentId, timeoutMs = WAIT_LIMIT_MS) =>
      until(
        `an approval for ${deploymentId}`,
        async () => (await store.listApprovals({ status: 'PENDING' })).find((a) => a.deploymentId === deploymentId)?.approvalId,
        timeoutMs,
      ),
    until: (what, probe, timeoutMs = WAIT_LIMIT_MS) => until(what, probe, timeoutMs),
    appVersion: async (env) => {
      try {
        const res = await fetch(`http://127.0.0.1:${typeof env === 'number' ? env : appPorts[env]}/version`);
        return ((await res.json()) as { version: string }).version;
      } catch {
        return undefined;
      }
    },
  };
}

export function startedId(result: PushResult): string {
  const id = result.Entries[0]?.Deliveries[0]?.result?.outcomes?.[0]?.deploymentId;
  if (!id) throw new Error(`push started nothing: ${JSON.stringify(result)}`);
  return id;
}

/** A PutEvents entry of an ECR push (POST /events), with `digest` as ECR sends it when given. */
export function ecrPushEntry(repository: string, tag: string, digest?: string) {
  return {
    Source: 'aws.ecr',
    DetailType: 'ECR Image Action',
    Detail: JSON.stringify({
      'action-type': 'PUSH',
      result: 'SUCCESS',
      'repository-name': repository,
      'image-tag': tag,
      ...(digest ? { 'image-digest': digest } : {}),
    }),
  };
}

/**
 * The ways a test or a bench talks to a runtime as its operator: fetch with the operator token, PutEvents,
 * and `until`, a wait driven by the runtime's own notification of store writes (never a timer).
 */
export function helpersFor(runtime: Runtime, log?: { lines: LogLine[] }) {
  const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      // A write during a look may be missed by that look: `again` makes the next look start at once.
      let looking = false;
      let again = false;
      let settled = false;
      const finish = (settle: () => void) => {
        settled = true;
        clearTimeout(limit);
        runtime.changes.off('stored', look);
        settle();
      };
      const limit = setTimeout(() => {
        const tail = (log?.lines ?? [])
          .slice(-15)
          .map((l) => `  ${l.level} ${l.message}`)
          .join('\n');
        finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms; last log lines:\n${tail}`)));
      }, timeoutMs);
      async function look(): Promise<void> {
        if (looking) {
          again = true;
          return;
        }
        looking = true;
        try {
          do {
            again = false;
            const value = await probe();
            if (settled) return;
            if (value !== undefined) return finish(() => resolve(value));
          } while (again);
        } catch (error) {
          if (!settled) finish(() => reject(error));
        } finally {
          looking = false;
        }
      }
      runtime.changes.on('stored', look);
      void look();
    });
  const operatorFetch = (where: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set(TOKEN_HEADER, runtime.operatorToken);
    if ((init.method ?? 'GET').toUpperCase() === 'POST' && !headers.has('content-type'))
      headers.set('content-type', 'application/json');
    return fetch(`${runtime.url}${where}`, { ...init, headers });
  };
  // A refused PutEvents throws (a bench must not wait for what never started), naming the answer.
  const postEvents = async (entries: unknown[], opts: { refused?: 'throw' | 'return' } = {}): Promise<PushResult> => {
    const res = await operatorFetch('/events', { method: 'POST', body: JSON.stringify({ Entries: entries }) });
    if (!res.ok && opts.refused !== 'return') throw new Error(`POST /events answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as PushResult;
  };
  return { until, operatorFetch, postEvents };
}

/**
 * A runtime on a configuration given as text, in its own data dir (for benches and tests that need a
 * configuration of their own): the operator helpers beside it.
 */
export async function startRuntimeWithConfig(yaml: string, opts: Partial<RuntimeOptions> = {}) {
  const dir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'coconut-rt-'));
  writeFileSync(path.join(dir, 'coconut.yaml'), yaml);
  const runtime = await startRuntime({ configPath: path.join(dir, 'coconut.yaml'), port: 0, dataDir: dir, ...opts });
  const { until, operatorFetch, postEvents } = helpersFor(runtime);
  return Object.assign(runtime, {
    dir,
    fetch: operatorFetch,
    postEvents,
    until: <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = WAIT_LIMIT_MS) => until(what, probe, timeoutMs),
  });
}
