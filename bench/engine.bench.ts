/**
 * Backbone figures, through the real local engine with no-op buildspecs:
 * - push -> deploy build starts (median of 20)
 * - alarm ALARM -> rollback build starts (median of 10), all at once and during a canary step
 * - 100 deployments of 100 services at once: wall time and peak RSS
 */
import { ecrPushEntry, startRuntimeWithConfig } from '../test/support/runtime.ts';
import { type Bench, type Figure, median, noopSource, quietLog, rssSampler } from './harness.ts';

function config(services: number, env: string): string {
  return `services:\n${Array.from(
    { length: services },
    (_, i) => `  - name: svc-${i}
    image: { registry: ecr, repository: svc-${i} }
    target: { kind: ansible, inventory: none.yml }
    environments:
${env}`,
  ).join('\n')}\n`;
}

type BenchRuntime = Awaited<ReturnType<typeof runtimeWith>>;

function runtimeWith(yaml: string) {
  return startRuntimeWithConfig(yaml, { sourceDir: noopSource(), log: quietLog, probes: false });
}

/** Calls `seen(projectName, at)` whenever the engine starts a build. */
function watchBuilds(rt: BenchRuntime, seen: (project: string, at: number) => void): void {
  const original = rt.builds.run.bind(rt.builds);
  rt.builds.run = (params, meta) => {
    seen(String(params.ProjectName), performance.now());
    return original(params, meta);
  };
}

async function pushToBuild(): Promise<Figure> {
  const rt = await runtimeWith(config(1, '      - { name: prod, bake: 0 }'));
  let started: (() => void) | undefined;
  watchBuilds(rt, (project) => project.endsWith('-deploy') && started?.());
  const samples: number[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const built = new Promise<void>((resolve) => (started = resolve));
      await rt.postEvents([ecrPushEntry('svc-0', `1.0.${i}`)]);
      await built;
      samples.push(performance.now() - t0);
      await rt.idle();
    }
  } finally {
    await rt.stop();
  }
  return {
    name: 'push -> deploy build starts (median of 20)',
    value: Math.round(median(samples) * 10) / 10,
    unit: 'ms',
    target: '< 200',
    better: 'lower',
  };
}

/**
 * All at once, or (`canary`) during the first step of a canary rollout: the same alarm event fails
 * the step's bake token, and the rollback of the share the step reached starts.
 */
async function alarmToRollback(canary = false): Promise<Figure> {
  const rollout = canary ? ', rollout: { strategy: canary, steps: [10, 50], bake: 10m }' : '';
  const rt = await runtimeWith(config(1, `      - { name: prod, bake: 10m, alarms: [svc-0-health]${rollout} }`));
  let rollback: (() => void) | undefined;
  watchBuilds(rt, (project) => project.endsWith('-rollback') && rollback?.());
  const store = rt.ports.store;
  const prodStage = async () => (await store.listStages({ service: 'svc-0', environment: 'prod', limit: 1 }))[0];
  const samples: number[] = [];
  try {
    // A first version that passes its bake, so there is something to roll back to.
    await rt.postEvents([ecrPushEntry('svc-0', '0.0.1')]);
    await rt.until('the first version to bake', async () => (await prodStage())?.state === 'BAKING' || undefined);
    const [first] = await store.listStages({ service: 'svc-0', environment: 'prod', limit: 1 });
    await store.setEnvironmentVersions(
      'svc-0',
      'prod',
      { lastKnownGood: { version: '0.0.1', deploymentId: first!.deploymentId } },
      new Date(),
    );
    await rt.alarms.set('svc-0-health', 'ALARM');
    await rt.idle();
    await rt.alarms.set('svc-0-health', 'OK');
    for (let i = 0; i < 10; i++) {
      await rt.postEvents([ecrPushEntry('svc-0', `2.0.${i}`)]);
      await rt.until(`2.0.${i} to bake`, async () => (await prodStage())?.state === 'BAKING' || undefined);
      await rt.until(
        'the bake to watch its alarm',
        async () => (await store.listBakeWatches('svc-0-health')).length > 0 || undefined,
      );
      const rolled = new Promise<void>((resolve) => (rollback = resolve));
      const t0 = performance.now();
      await rt.alarms.set('svc-0-health', 'ALARM');
      await rolled;
      samples.push(performance.now() - t0);
      await rt.idle();
      await rt.alarms.set('svc-0-health', 'OK');
    }
  } finally {
    await rt.stop();
  }
  return {
    name: canary
      ? 'alarm -> rollback build starts during a canary step (median of 10)'
      : 'alarm -> rollback build starts (median of 10)',
    value: Math.round(median(samples) * 10) / 10,
    unit: 'ms',
    target: '< 250',
    better: 'lower',
  };
}

async function hundredAtOnce(): Promise<Figure[]> {
  const rt = await runtimeWith(config(100, '      - { name: prod, bake: 0 }'));
  const rss = rssSampler();
  const t0 = performance.now();
  try {
    const entries = Array.from({ length: 100 }, (_, i) => ecrPushEntry(`svc-${i}`, '1.0.0'));
    await Promise.all(Array.from({ length: 10 }, (_, k) => rt.postEvents(entries.slice(k * 10, k * 10 + 10))));
    await rt.idle();
    const wall = performance.now() - t0;
    const executions = rt.engine.list();
    const succeeded = executions.filter((e) => e.status === 'SUCCEEDED').length;
    return [
      { name: '100 deployments of 100 services at once: wall time', value: Math.round(wall), unit: 'ms', better: 'lower' },
      {
        name: '100 deployments of 100 services at once: peak RSS',
        value: rss.stop(),
        unit: 'MB',
        target: '< 300',
        better: 'lower',
      },
      {
        name: '100 deployments of 100 services at once: succeeded',
        value: succeeded,
        unit: 'of 100',
        target: '= 100',
        better: 'higher',
      },
    ];
  } finally {
    rss.stop();
    await rt.stop();
  }
}

export const engineBench: Bench = {
  name: 'engine (local runtime, no-op builds)',
  run: async () => [await pushToBuild(), await alarmToRollback(), await alarmToRollback(true), ...(await hundredAtOnce())],
};
