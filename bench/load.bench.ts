/**
 * Load (issue: faults and load): 1,000 pushes for 200 services within 10 s, 20 % of them
 * duplicates, through the local server and engine with no-op builds. Prints deployments
 * started vs distinct pushes, duplicates started, overlapping deploys of one environment, wall
 * time and peak RSS, and writes a chart (SVG) of deployments finished over time. Also: loading
 * and validating a config of 1,000 services, and plan lookup time per event.
 * Every execution that did not succeed is listed with its error. `--busy[=N]` runs N CPU-bound
 * processes beside it (default: one per CPU) for the push storm.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/core/config/load.ts';
import { matchServices } from '../src/core/triggers/plan.ts';
import { TOKEN_HEADER } from '../src/local/request-guard.ts';
import { type Runtime, startRuntime } from '../src/local/runtime.ts';
import { busyFlag, startBurners } from './busy.ts';
import { type Bench, ecrPushEntry, type Figure, median, noopSource, quietLog, rssSampler } from './harness.ts';

const SERVICES = 200;
const PUSHES = 1000;
const DUPLICATE_SHARE = 0.2;
const WINDOW_MS = 10_000;

function servicesYaml(n: number): string {
  return `services:\n${Array.from(
    { length: n },
    (_, i) => `  - name: svc-${i}
    image: { registry: ecr, repository: team/svc-${i} }
    target: { kind: ansible, inventory: none.yml }
    environments:
      - { name: prod, bake: 0 }`,
  ).join('\n')}\n`;
}

/** 800 distinct pushes (4 versions of each of 200 services) and 200 repeats, shuffled. */
function pushes(): { repository: string; tag: string }[] {
  const distinct = Array.from({ length: PUSHES * (1 - DUPLICATE_SHARE) }, (_, i) => ({
    repository: `team/svc-${i % SERVICES}`,
    tag: `1.0.${Math.floor(i / SERVICES)}`,
  }));
  const repeats = Array.from(
    { length: PUSHES * DUPLICATE_SHARE },
    (_, i) => distinct[(i * 7) % distinct.length] as (typeof distinct)[number],
  );
  const all = [...distinct, ...repeats];
  let seed = 42;
  for (let i = all.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [all[i], all[j]] = [all[j] as (typeof all)[number], all[i] as (typeof all)[number]];
  }
  return all;
}

async function pushStorm(): Promise<Figure[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-load-'));
  writeFileSync(path.join(dir, 'coconut.yaml'), servicesYaml(SERVICES));
  const rt: Runtime = await startRuntime({
    configPath: path.join(dir, 'coconut.yaml'),
    port: 0,
    dataDir: dir,
    sourceDir: noopSource(),
    log: quietLog,
    probes: false,
  });
  const burners = busyFlag(process.argv);
  const busy = startBurners(burners);
  if (burners) process.stdout.write(`load: ${burners} CPU-bound process(es) run beside the bench\n`);
  const rss = rssSampler();
  const all = pushes();
  const t0 = performance.now();
  try {
    // 10 entries per PutEvents call, spread evenly over the window.
    const batches = Array.from({ length: all.length / 10 }, (_, k) => all.slice(k * 10, k * 10 + 10));
    const interval = WINDOW_MS / batches.length;
    await Promise.all(
      batches.map(async (batch, k) => {
        await new Promise((r) => setTimeout(r, k * interval));
        const res = await fetch(`${rt.url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [TOKEN_HEADER]: rt.operatorToken },
          body: JSON.stringify({ Entries: batch.map((p) => ecrPushEntry(p.repository, p.tag)) }),
        });
        await res.arrayBuffer();
      }),
    );
    await rt.idle();
    busy.stop();
    const wall = performance.now() - t0;
    const peak = rss.stop();
    const distinct = new Set(all.map((p) => `${p.repository}:${p.tag}`)).size;
    const executions = rt.engine.list();
    const deployments = await rt.ports.store.listDeployments({ limit: 500 });
    const more = await Promise.all(
      Array.from({ length: SERVICES }, (_, i) =>
        rt.ports.store.listStages({ service: `svc-${i}`, environment: 'prod', limit: 50 }),
      ),
    );
    const stages = more.flat();
    let overlaps = 0;
    for (const service of more) {
      const spans = service
        .filter((s) => s.startedAt && s.finishedAt)
        .map((s) => [Date.parse(s.startedAt as string), Date.parse(s.finishedAt as string)] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++)
        if ((spans[i] as readonly number[])[0]! < (spans[i - 1] as readonly number[])[1]!) overlaps++;
    }
    const succeeded = stages.filter((s) => s.state === 'SUCCEEDED').length;
    const failed = executions.filter((e) => e.status !== 'SUCCEEDED');
    for (const e of failed) {
      process.stdout.write(
        `load: execution ${e.name} ${e.status}: ${e.error ?? '(no error)'}: ${(e.cause ?? '').slice(0, 300)}\n`,
      );
    }
    for (const s of stages.filter((st) => st.state !== 'SUCCEEDED')) {
      process.stdout.write(`load: stage ${s.deploymentId} ${s.service}/${s.environment} ${s.state}: ${s.reason ?? ''}\n`);
    }
    writeChart(stages.map((s) => Date.parse(s.finishedAt ?? s.updatedAt)).sort((a, b) => a - b));
    process.stdout.write(
      `load: pushes ${all.length}, distinct ${distinct}, deployments started ${executions.length}, duplicates started ${executions.length - distinct}, overlaps ${overlaps} (records: ${deployments.length >= 500 ? '500+' : deployments.length} listed)\n`,
    );
    return [
      {
        name: 'load: deployments started',
        value: executions.length,
        unit: `(distinct pushes ${distinct})`,
        target: `= ${distinct}`,
        better: 'higher',
      },
      { name: 'load: duplicates started', value: executions.length - distinct, unit: '', target: '= 0', better: 'lower' },
      { name: 'load: overlapping deploys of one environment', value: overlaps, unit: '', target: '= 0', better: 'lower' },
      {
        name: 'load: deployments succeeded',
        value: succeeded,
        unit: `of ${distinct}${burners ? `, ${burners} CPU burner(s) beside` : ''}`,
        target: `= ${distinct}`,
        better: 'higher',
      },
      {
        name: 'load: executions not succeeded',
        value: failed.length,
        unit: '(each listed above)',
        target: '= 0',
        better: 'lower',
      },
      { name: 'load: total wall time', value: Math.round(wall), unit: 'ms', better: 'lower' },
      { name: 'load: peak RSS', value: peak, unit: 'MB', better: 'lower' },
    ];
  } finally {
    busy.stop();
    rss.stop();
    await rt.stop();
  }
}

/** Deployments finished over time, as an SVG line chart. */
function writeChart(finishedAt: number[]): void {
  if (finishedAt.length === 0) return;
  const start = finishedAt[0] as number;
  const span = Math.max(1, (finishedAt[finishedAt.length - 1] as number) - start);
  const w = 640;
  const h = 320;
  const pad = 40;
  const points = finishedAt.map(
    (t, i) =>
      `${(pad + ((t - start) / span) * (w - 2 * pad)).toFixed(1)},${(h - pad - ((i + 1) / finishedAt.length) * (h - 2 * pad)).toFixed(1)}`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad}" y="20">Deployments finished over time (${finishedAt.length} in ${(span / 1000).toFixed(1)} s)</text>
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="black"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="black"/>
<text x="${w - pad}" y="${h - 10}" text-anchor="end">${(span / 1000).toFixed(1)} s</text><text x="${pad - 5}" y="${pad}" text-anchor="end">${finishedAt.length}</text>
<polyline fill="none" stroke="#2a7" stroke-width="2" points="${points.join(' ')}"/>
</svg>\n`;
  const out = path.join(import.meta.dirname, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'load.svg'), svg);
  process.stdout.write(`chart: ${path.relative(process.cwd(), path.join(out, 'load.svg'))}\n`);
}

async function bigConfig(): Promise<Figure[]> {
  const yaml = servicesYaml(1000);
  const loads: number[] = [];
  let config = parseConfig(yaml);
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    config = parseConfig(yaml);
    loads.push(performance.now() - t0);
  }
  const lookups: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const repository = `team/svc-${(i * 37) % 1000}`;
    const t0 = performance.now();
    matchServices(config, { registry: 'ecr', repository, tag: '1.2.3' });
    lookups.push((performance.now() - t0) * 1000);
  }
  return [
    {
      name: 'config of 1,000 services: load + validate (median of 5)',
      value: Math.round(median(loads)),
      unit: 'ms',
      better: 'lower',
    },
    {
      name: 'config of 1,000 services: plan lookup per event (median)',
      value: Math.round(median(lookups)),
      unit: 'µs',
      better: 'lower',
    },
  ];
}

export const loadBench: Bench = {
  name: 'load (1,000 pushes / 200 services / 20 % duplicates; 1,000-service config)',
  run: async () => [...(await bigConfig()), ...(await pushStorm())],
};
