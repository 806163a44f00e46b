/**
 * `npm run bench`: runs every bench, prints each figure beside the baseline and the target.
 * `npm run bench -- --update` writes the figures as the new baseline. Nothing here fails a build.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { engineBench } from './engine.bench.ts';
import type { Bench, Figure } from './harness.ts';
import { loadBench } from './load.bench.ts';
import { slackBench } from './slack.bench.ts';
import { webhooksBench } from './webhooks.bench.ts';

const BENCHES: Bench[] = [engineBench, loadBench, webhooksBench, slackBench];
const baselineFile = path.join(import.meta.dirname, 'baseline.json');

const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const update = process.argv.includes('--update');
const baseline: Record<string, number> = existsSync(baselineFile) ? JSON.parse(readFileSync(baselineFile, 'utf8')).figures : {};
const results: Figure[] = [];

for (const bench of BENCHES) {
  if (only.length && !only.some((o) => bench.name.includes(o))) continue;
  process.stdout.write(`\n# ${bench.name}\n`);
  for (const figure of await bench.run()) {
    results.push(figure);
    const before = baseline[figure.name];
    let compare = 'no baseline';
    if (before !== undefined && before !== 0) {
      const change = ((figure.value - before) / before) * 100;
      const better = figure.better === 'lower' ? change < 0 : change > 0;
      compare = `baseline ${before} (${change >= 0 ? '+' : ''}${change.toFixed(1)}%${Math.abs(change) >= 10 ? (better ? ', better' : ', WORSE') : ''})`;
    }
    process.stdout.write(
      `${figure.name}: ${figure.value} ${figure.unit}${figure.target ? ` (target ${figure.target})` : ''} — ${compare}\n`,
    );
  }
}

if (update) {
  const merged = { ...baseline, ...Object.fromEntries(results.map((f) => [f.name, f.value])) };
  writeFileSync(
    baselineFile,
    `${JSON.stringify({ machine: '2 cores, 24 GiB', updated: new Date().toISOString().slice(0, 10), figures: merged }, null, 2)}\n`,
  );
  process.stdout.write(`\nbaseline written to ${path.relative(process.cwd(), baselineFile)}\n`);
}
process.exit(0);
