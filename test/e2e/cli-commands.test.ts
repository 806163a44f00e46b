/**
 * The `coconut` commands that talk to a running Coconut, run as a user runs them (bin/coconut.mjs
 * spawned against a local runtime, the operator token read from its data dir), each checked by
 * its effect on the runtime, not by its own output alone: `push` starts a deployment that
 * `status` shows, `approve`/`reject` decide a waiting approval, `alarm set` ends a bake, and
 * `webhook` is accepted and starts a release or a deployment. The offline ones (`validate`,
 * `schema`, `cost`) are checked against what the config file says, read by the test itself.
 *
 * Builds are labelled rehearsals here (an empty PATH for builds: no ansible-playbook) and alarm
 * probes are off, so the alarms change only when a command sets them: what is under test is the
 * command and the runtime's answer to it, not Ansible (cli-deploy.test.ts runs that for real).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RolloutConfig } from '../../src/core/config/schema.ts';
import { rolloutSteps } from '../../src/core/pipeline/rollout.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { coconut, emptyPath } from '../support/cli.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const DEMO = path.join(PROJECT_ROOT, 'examples/demo/coconut.yaml');

interface StatusJson {
  services: {
    service: string;
    environments: { name: string; latest?: { deploymentId: string; version: string; state: string } }[];
  }[];
  approvals: { approvalId: string; deploymentId: string; service: string; environment: string; version: string }[];
}

async function statusJson(rt: TestRuntime): Promise<StatusJson> {
  const run = await coconut(['status', '--json'], { env: rt.cliEnv });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as StatusJson;
}

/** The deployment id `coconut push` printed ("deploying demo-api (deployment ID)"). */
function pushedId(stdout: string): string {
  const id = /deploying demo-api \(deployment ([^)]+)\)/.exec(stdout)?.[1];
  if (!id) throw new Error(`coconut push started nothing: ${stdout}`);
  return id;
}

describe('coconut push / status / approve / reject (spawned CLI, local runtime)', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime({ stagingBake: '1s', prodBake: '1s', buildPath: emptyPath(), probes: false });
  });
  afterAll(() => rt?.stop());

  it('push REPOSITORY:TAG starts a deployment of the service using that repository, and status shows it', async () => {
    const run = await coconut(['push', 'demo-api:1.0.0'], { env: rt.cliEnv });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = pushedId(run.stdout);
    const deployment = await rt.ports.store.getDeployment(id);
    expect(deployment).toMatchObject({ service: 'demo-api', version: '1.0.0', trigger: { kind: 'ecr-push' } });
    await rt.waitForStage(id, 'staging', ['SUCCEEDED']);
    const staging = (await statusJson(rt)).services
      .find((s) => s.service === 'demo-api')
      ?.environments.find((e) => e.name === 'staging');
    expect(staging?.latest).toMatchObject({ deploymentId: id, version: '1.0.0', state: 'SUCCEEDED' });
    // The same push again is the same image: nothing new starts.
    const again = await coconut(['push', 'demo-api:1.0.0'], { env: rt.cliEnv });
    expect(again.stdout).toContain(`demo-api already has this version (deployment ${id}); nothing new started`);
    // A repository no service uses starts nothing, and says so.
    const other = await coconut(['push', 'someone-else:1.0.0'], { env: rt.cliEnv });
    expect(other.code).toBe(0);
    expect(other.stdout).toContain('no service in coconut.yaml uses ECR repository "someone-else"; nothing started');
    // Leave prod free for the next tests: this deployment's approval holds its lock.
    const approvalId = await rt.waitForApproval(id);
    expect((await rt.fetch(`/api/approvals/${approvalId}/reject`, { method: 'POST', body: '{}' })).status).toBe(200);
    await rt.engine.waitFor(id);
  });

  it('approve APPROVAL-ID (the id `status` lists) resumes the deployment: prod deploys, along the states `coconut cost` counts', async () => {
    const id = pushedId((await coconut(['push', 'demo-api:1.1.0'], { env: rt.cliEnv })).stdout);
    await rt.waitForApproval(id);
    const approval = (await statusJson(rt)).approvals.find((a) => a.deploymentId === id);
    expect(approval).toMatchObject({ service: 'demo-api', environment: 'prod', version: '1.1.0' });
    const run = await coconut(['approve', approval!.approvalId, '--comment', 'looks good'], { env: rt.cliEnv });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^approved: demo-api 1\.1\.0 on prod \(by /);
    expect((await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'REJECTED', 'ROLLED_BACK'])).state).toBe('SUCCEEDED');
    expect(await rt.engine.waitFor(id)).toMatchObject({ status: 'SUCCEEDED' });
    // `coconut cost` predicts the path through deploy.asl.json of this very config: the states it
    // says each environment enters are those the engine (aws-local-stepfunctions) entered, in order.
    const entered = rt.engine.events(id).filter((e) => e.type === 'StateEntered');
    const cost = await coconut(['cost', '--config', path.join(rt.dir, 'coconut.yaml'), '--json']);
    expect(cost.code, cost.stderr).toBe(0);
    const predicted = JSON.parse(cost.stdout) as {
      environments: { environment: string; path: { states: string[] } }[];
      perDeployment: { transitions: number };
    };
    expect(predicted.environments.map((e) => e.environment)).toEqual(['staging', 'prod']);
    predicted.environments.forEach((e, index) => {
      expect(e.path.states, e.environment).toEqual(entered.filter((x) => x.index === index).map((x) => x.state));
    });
    expect(predicted.perDeployment.transitions).toBe(entered.length);
    // Decided once: a second decision is refused, and says why.
    const twice = await coconut(['reject', approval!.approvalId], { env: rt.cliEnv });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`approval ${approval!.approvalId} is already approved`);
  });

  it('reject APPROVAL-ID ends the deployment: prod REJECTED, nothing deployed there', async () => {
    const id = pushedId((await coconut(['push', 'demo-api:1.2.0'], { env: rt.cliEnv })).stdout);
    const approvalId = await rt.waitForApproval(id);
    const run = await coconut(['reject', approvalId, '--comment', 'not today'], { env: rt.cliEnv });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^rejected: demo-api 1\.2\.0 on prod/);
    expect((await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'REJECTED', 'ROLLED_BACK'])).state).toBe('REJECTED');
    expect((await rt.engine.waitFor(id))?.status).not.toBe('SUCCEEDED');
    expect((await rt.ports.store.getApproval(approvalId))?.status).toBe('REJECTED');
  });

  it('exits 2 with the usage for a malformed reference or approval id, and sends nothing', async () => {
    const before = (await rt.ports.store.listDeployments({ service: 'demo-api' })).length;
    for (const [args, message] of [
      [['push', 'demo-api'], '"demo-api" has no tag'],
      [['push', 'Demo_API!:1.0.0'], 'is not a valid repository name'],
      [['approve', 'apr-nothex'], 'is not an approval id'],
      [['reject'], 'expected one approval id'],
    ] as const) {
      const run = await coconut([...args], { env: rt.cliEnv });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain(`usage: coconut ${args[0] === 'push' ? 'push' : 'approve|reject'}`);
    }
    expect((await rt.ports.store.listDeployments({ service: 'demo-api' })).length).toBe(before);
  });
});

describe('coconut alarm (spawned CLI, local runtime)', () => {
  let rt: TestRuntime;
  // A bake far longer than the test may take: only the alarm can end it in time.
  beforeAll(async () => {
    rt = await startTestRuntime({ prodApproval: false, stagingBake: '30m', buildPath: emptyPath(), probes: false });
  });
  afterAll(() => rt?.stop());

  it('alarm set NAME ALARM fails the bake that watches it at once; alarm list shows the state; auto goes back', async () => {
    const id = pushedId((await coconut(['push', 'demo-api:2.0.0'], { env: rt.cliEnv })).stdout);
    await rt.waitForStage(id, 'staging', ['BAKING']);
    const run = await coconut(['alarm', 'set', 'demo-api-staging-health', 'ALARM', '--reason', 'set by the test'], {
      env: rt.cliEnv,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('alarm demo-api-staging-health is ALARM\n');
    // Well inside the 30-minute bake: the alarm, not the bake's end, ended it.
    const stage = await rt.waitForStage(id, 'staging', ['FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'SUCCEEDED'], 60_000);
    expect(stage.state).not.toBe('SUCCEEDED');
    expect(stage.reason).toContain('alarm demo-api-staging-health fired during bake');
    expect((await rt.ports.store.getStage(id, 'prod'))?.state).toBe('SKIPPED');

    const list = await coconut(['alarm', 'list', '--json'], { env: rt.cliEnv });
    const alarms = (JSON.parse(list.stdout) as { alarms: { name: string; state: string; manual: boolean }[] }).alarms;
    expect(alarms.find((a) => a.name === 'demo-api-staging-health')).toMatchObject({ state: 'ALARM', manual: true });
    expect(alarms.find((a) => a.name === 'demo-api-prod-health')?.state).not.toBe('ALARM');

    const back = await coconut(['alarm', 'set', 'demo-api-staging-health', 'auto'], { env: rt.cliEnv });
    expect(back.stdout).toContain('(back to its probe)');
    const after = JSON.parse((await coconut(['alarm', 'list', '--json'], { env: rt.cliEnv })).stdout) as {
      alarms: { name: string; manual: boolean }[];
    };
    expect(after.alarms.find((a) => a.name === 'demo-api-staging-health')?.manual).toBe(false);
  });

  it('refuses an unknown state (exit 2) and an unknown alarm (exit 1), changing nothing', async () => {
    const bad = await coconut(['alarm', 'set', 'demo-api-prod-health', 'RED'], { env: rt.cliEnv });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('state must be ALARM, OK, INSUFFICIENT_DATA or auto, got "RED"');
    const unknown = await coconut(['alarm', 'set', 'no-such-alarm', 'ALARM'], { env: rt.cliEnv });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no-such-alarm');
    const alarms = (await rt.ports.alarms.getStates(['demo-api-prod-health']))[0];
    expect(alarms?.state).not.toBe('ALARM');
  });
});

describe('coconut webhook (spawned CLI, local runtime, secrets from its data dir)', () => {
  let rt: TestRuntime;
  const service = (name: string, registry: string, repository: string) => `
  - name: ${name}
    image: { registry: ${registry}, repository: ${repository} }
    target: { kind: ansible, inventory: examples/demo/ansible/inventory.yml }
    environments: [{ name: staging, bake: 1s }]`;
  beforeAll(async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      buildPath: emptyPath(),
      probes: false,
      // As `npm start` does: the webhook secrets are generated into the data dir, where the command reads them.
      secrets: undefined,
      source: '{ github: coconut-demo/demo-api, onTag: build, context: examples/demo/demo-app }',
      extraYaml: [service('ghcr-api', 'ghcr', 'coconut-demo/ghcr-api'), service('hub-api', 'dockerhub', 'coconut/hub-api')].join(
        '',
      ),
    });
  });
  afterAll(() => rt?.stop());

  const env = () => ({ ...rt.cliEnv, COCONUT_CONFIG: path.join(rt.dir, 'coconut.yaml') });

  it('github-tag TAG: a signed tag push releases the service whose source is the repository', async () => {
    const run = await coconut(['webhook', 'github-tag', '1.4.0', '--delivery', 'cli-delivery-1'], { env: env() });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('sent tag 1.4.0 of coconut-demo/demo-api (delivery cli-delivery-1): HTTP 202');
    const releaseId = /demo-api: building the image \(release ([^)]+)\)/.exec(run.stdout)?.[1];
    expect(releaseId).toBeDefined();
    expect(await rt.engine.waitFor(releaseId!)).toMatchObject({ machine: 'release', status: 'SUCCEEDED' });
    // The release's push starts the deployment of that very version.
    let deployment: { deploymentId: string; trigger: { kind: string } } | undefined;
    for (let i = 0; i < 100 && !deployment; i++) {
      deployment = (await rt.ports.store.listDeployments({ service: 'demo-api' })).find((d) => d.version === '1.4.0');
      if (!deployment) await new Promise((r) => setTimeout(r, 100));
    }
    expect(deployment?.trigger.kind).toBe('ecr-push');
    // GitHub redelivers: the command says it was seen before, and nothing new starts.
    const again = await coconut(['webhook', 'github-tag', '1.4.0', '--delivery', 'cli-delivery-1'], { env: env() });
    expect(again.stdout).toContain('(a delivery seen before: the same answer, nothing new)');
  });

  it('ghcr OWNER/NAME:TAG and dockerhub NAMESPACE/NAME:TAG deploy the service using that repository', async () => {
    for (const [kind, ref, name, version, trigger] of [
      ['ghcr', 'coconut-demo/ghcr-api:2.1.0', 'ghcr-api', '2.1.0', 'ghcr-push'],
      ['dockerhub', 'coconut/hub-api:3.2.1', 'hub-api', '3.2.1', 'dockerhub-push'],
    ] as const) {
      const run = await coconut(['webhook', kind, ref], { env: env() });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const id = new RegExp(`${name}: deploying \\(deployment ([^)]+)\\)`).exec(run.stdout)?.[1];
      expect(id, run.stdout).toBeDefined();
      expect(await rt.ports.store.getDeployment(id!)).toMatchObject({ service: name, version, trigger: { kind: trigger } });
      expect((await rt.waitForStage(id!, 'staging', ['SUCCEEDED', 'FAILED'])).state).toBe('SUCCEEDED');
    }
  });

  it('signed with another secret, the runtime refuses it and the command exits 1 naming the HTTP status', async () => {
    const before = rt.engine.list().length;
    const run = await coconut(['webhook', 'github-tag', '1.5.0'], {
      env: { ...env(), COCONUT_GITHUB_WEBHOOK_SECRET: 'not-the-secret' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('HTTP 401: invalid signature');
    const hub = await coconut(['webhook', 'dockerhub', 'coconut/hub-api:3.3.0'], {
      env: { ...env(), COCONUT_DOCKERHUB_TOKEN: 'not-the-token' },
    });
    expect(hub.code).toBe(1);
    await rt.idle();
    expect(rt.engine.list()).toHaveLength(before);
  });
});

describe('coconut validate / schema / cost (spawned CLI, no runtime)', () => {
  const demoText = readFileSync(DEMO, 'utf8');
  const demo = parse(demoText) as {
    services: { name: string; environments: { name: string; approval?: unknown; rollout?: RolloutConfig }[] }[];
  };

  it('validate passes the demo config (exit 0), naming each service it read', async () => {
    const run = await coconut(['validate', '--config', DEMO]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${DEMO} is valid: ${demo.services.length} service(s)`);
    for (const s of demo.services) expect(run.stdout).toContain(`  ${s.name}: `);
  });

  it('validate fails a broken config (exit 1), naming file:line:column, the path and what was expected', async () => {
    const dir = emptyPath();
    const file = path.join(dir, 'coconut.yaml');
    const lines = demoText.split('\n');
    const index = lines.findIndex((l) => /^\s+bake: 10s$/.test(l));
    lines[index] = (lines[index] as string).replace('10s', 'forever');
    writeFileSync(file, lines.join('\n'));
    const column = (lines[index] as string).indexOf('forever') + 1;
    const run = await coconut(['validate', '--config', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      `${file}:${index + 1}:${column}: services[0].environments[1].bake: expected a duration like "30s", "5m", "1h" or a number of seconds, got "forever"`,
    );
    const missing = await coconut(['validate', '--config', path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.yaml');
  });

  it("validate warns (exit 0) when a Helm canary's values leave the chart's HTTPRoute off, naming the file that decided", async () => {
    const file = path.join(emptyPath(), 'coconut.yaml');
    writeFileSync(
      file,
      'services:\n  - name: web\n    image: { registry: ghcr, repository: octo/web }\n    target: { kind: helm }\n    environments:\n      - name: prod\n        rollout: { strategy: canary, steps: [10, 50] }\n',
    );
    const run = await coconut(['validate', '--config', file]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      "warning: service web, environment prod: a canary rollout on Helm shifts traffic with the chart's HTTPRoute weights, so it needs httpRoute.enabled: true in target.valuesFiles (read in order: templates/helm/coconut-service/values.yaml; templates/helm/coconut-service/values.yaml sets false)",
    );
  });

  it('schema prints a JSON Schema (2020-12) that accepts the demo config and refuses a broken one', async () => {
    const run = await coconut(['schema']);
    expect(run.code).toBe(0);
    const schema = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(demo), JSON.stringify(validate.errors)).toBe(true);
    const broken = structuredClone(demo) as unknown as { services: { image: { registry: string } }[] };
    (broken.services[0] as { image: { registry: string } }).image.registry = 'quay';
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.some((e) => e.instancePath === '/services/0/image/registry')).toBe(true);
    // What the schema requires, as coconut.yaml's loader does: services, and each service's target.
    expect(validate({ version: 1 })).toBe(false);
    const targetless = structuredClone(demo) as unknown as { services: { target?: unknown }[] };
    delete targetless.services[0]?.target;
    expect(validate(targetless)).toBe(false);
    expect((await coconut(['schema', 'extra'])).code).toBe(2);
  });

  it('cost prints the figures of the configured service: its environments, one build each, the transitions priced', async () => {
    const json = await coconut(['cost', '--config', DEMO, '--json', '--deploys-per-day', '7', '--build-minutes', '3']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      service: string;
      environments: { environment: string; approval: boolean; path: { transitions: number; builds: number } }[];
      perDeployment: { transitions: number; buildMinutes: number; lines: { what: string; quantity: string; usd: number }[] };
      perMonth: { deployments: number };
    };
    const first = demo.services[0]!;
    expect(report.service).toBe(first.name);
    // The environments and their approvals, as the config names them.
    expect(report.environments.map((e) => [e.environment, e.approval])).toEqual(
      first.environments.map((e) => [e.name, e.approval !== undefined]),
    );
    // An approval is one more state on that environment's path through deploy.asl.json.
    const [staging, prod] = report.environments;
    expect(prod!.path.transitions).toBeGreaterThan(staging!.path.transitions);
    // One Deploy build per environment when nothing fails (one per step of a rollout: the demo's prod
    // is a canary), at the minutes asked for.
    const builds = first.environments.map((e) => (e.rollout ? rolloutSteps(e.rollout).length : 1));
    expect(report.environments.map((e) => e.path.builds)).toEqual(builds);
    expect(report.perDeployment.buildMinutes).toBe(builds.reduce((a, b) => a + b, 0) * 3);
    // Step Functions: $0.025 per 1,000 state transitions (https://aws.amazon.com/step-functions/pricing/).
    const sfn = report.perDeployment.lines.find((l) => l.what === 'Step Functions');
    expect(sfn?.quantity).toBe(`${report.perDeployment.transitions} state transitions`);
    expect(sfn?.usd).toBeCloseTo((report.perDeployment.transitions * 0.025) / 1000, 12);
    expect(report.perMonth.deployments).toBe(7 * 30);

    // The table a user reads says the same.
    const text = await coconut(['cost', '--config', DEMO, '--service', 'demo-web']);
    expect(text.code).toBe(0);
    const web = demo.services.find((s) => s.name === 'demo-web')!;
    expect(text.stdout).toContain(
      `One deployment through ${web.environments.map((e) => `${e.name}${e.approval ? ' (approval)' : ''}`).join(' -> ')}:`,
    );
    const unknown = await coconut(['cost', '--config', DEMO, '--service', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`no service "nope" in ${DEMO} (services: ${demo.services.map((s) => s.name).join(', ')})`);
  });
});
