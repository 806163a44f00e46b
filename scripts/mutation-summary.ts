/**
 * Writes reports/mutation/summary.md from Stryker's JSON report (reports/mutation/mutation.json, the
 * mutation-testing-elements schema): the score per folder and per file, every surviving or uncovered
 * mutant with its place and replacement, and the mutants test/mutation-equivalents.json names as
 * equivalent (no test can tell them from the original), each with its reason.
 *
 *   node scripts/mutation-summary.ts            after `npx stryker run` (npm run mutate does both)
 *
 * Scores: Stryker's own (killed + timed out) / (killed + timed out + survived + no coverage), and the
 * same with the named equivalent mutants left out of the count.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(import.meta.dirname, '..');
const REPORT = path.join(ROOT, 'reports/mutation/mutation.json');
const EQUIVALENTS = path.join(ROOT, 'test/mutation-equivalents.json');
const SUMMARY = path.join(ROOT, 'reports/mutation/summary.md');

type Status = 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';
interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: Status;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}
/** A mutant no test can kill: same file, line, mutator and replacement as Stryker reports it. */
interface Equivalent {
  file: string;
  line: number;
  /** Stryker's column (1-based) where the mutated code starts: two mutants can share a line. */
  column: number;
  mutator: string;
  replacement: string;
  reason: string;
}

if (!existsSync(REPORT)) {
  process.stderr.write(`mutation-summary: ${path.relative(ROOT, REPORT)} is missing: run \`npx stryker run\` first\n`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(REPORT, 'utf8')) as Report;
const equivalents = JSON.parse(readFileSync(EQUIVALENTS, 'utf8')) as Equivalent[];

const keyOf = (file: string, line: number, column: number, mutator: string, replacement: string) =>
  `${file}:${line}:${column}:${mutator}:${replacement}`;
const equivalentByKey = new Map(equivalents.map((e) => [keyOf(e.file, e.line, e.column, e.mutator, e.replacement), e]));
const usedEquivalents = new Set<string>();

interface Tally {
  killed: number;
  survived: number;
  noCoverage: number;
  equivalent: number;
  ignored: number;
}
const empty = (): Tally => ({ killed: 0, survived: 0, noCoverage: 0, equivalent: 0, ignored: 0 });
const score = (t: Tally) => {
  const valid = t.killed + t.survived + t.noCoverage + t.equivalent;
  return valid === 0 ? 100 : (100 * t.killed) / valid;
};
const scoreWithoutEquivalents = (t: Tally) => {
  const valid = t.killed + t.survived + t.noCoverage;
  return valid === 0 ? 100 : (100 * t.killed) / valid;
};
const pct = (n: number) => `${n.toFixed(1)}%`;

const perFile = new Map<string, Tally>();
const perFolder = new Map<string, Tally>();
const total = empty();
const survivors: string[] = [];
const namedEquivalents: string[] = [];

for (const [file, { source, mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const lines = source.split('\n');
  const folder = file.startsWith('functions/commons/') ? 'functions/commons' : 'src/core';
  const tallies = [perFile.get(file) ?? empty(), perFolder.get(folder) ?? empty(), total];
  perFile.set(file, tallies[0] as Tally);
  perFolder.set(folder, tallies[1] as Tally);
  for (const m of [...mutants].sort((a, b) => a.location.start.line - b.location.start.line)) {
    const replacement = m.replacement ?? '';
    const key = keyOf(file, m.location.start.line, m.location.start.column, m.mutatorName, replacement);
    const equivalent = equivalentByKey.get(key);
    let field: keyof Tally | undefined;
    if (m.status === 'Killed' || m.status === 'Timeout') field = 'killed';
    else if (m.status === 'Ignored') field = 'ignored';
    else if (m.status === 'Survived' || m.status === 'NoCoverage') {
      field = equivalent ? 'equivalent' : m.status === 'Survived' ? 'survived' : 'noCoverage';
    }
    if (!field) continue;
    for (const t of tallies) t[field] += 1;
    const original = (lines[m.location.start.line - 1] ?? '').trim();
    const where = `\`${file}:${m.location.start.line}:${m.location.start.column}\` ${m.mutatorName}`;
    const shown = `${replacement.split('\n')[0]?.slice(0, 90)}${replacement.length > 90 || replacement.includes('\n') ? ' …' : ''}`;
    if (field === 'equivalent' && equivalent) {
      usedEquivalents.add(key);
      namedEquivalents.push(`- ${where} → \`${shown}\`: ${equivalent.reason}`);
    } else if (field === 'survived' || field === 'noCoverage') {
      survivors.push(
        `- ${where}${m.status === 'NoCoverage' ? ' (no test runs it)' : ''} → \`${shown}\`\n  - line: \`${original.slice(0, 120)}\``,
      );
    }
  }
}

const stale = equivalents.filter((e) => !usedEquivalents.has(keyOf(e.file, e.line, e.column, e.mutator, e.replacement)));
const row = (name: string, t: Tally) =>
  `| ${name} | ${pct(score(t))} | ${pct(scoreWithoutEquivalents(t))} | ${t.killed} | ${t.survived} | ${t.noCoverage} | ${t.equivalent} | ${t.ignored} |`;
const header = [
  '| | score | without named equivalents | killed | survived | no coverage | equivalent | ignored (static) |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];

const out = [
  '# Mutation testing: summary',
  '',
  'Written by `npm run mutate` (StrykerJS over `src/core` and `functions/commons` with the fast tests of',
  '`vitest.mutate.config.ts`; configuration in `stryker.config.mjs`). Do not edit: run it again.',
  'The full report is `reports/mutation/mutation.html` (not committed).',
  '',
  `Mutants counted: ${total.killed + total.survived + total.noCoverage + total.equivalent}; files: ${perFile.size}.`,
  '',
  '## Score per folder',
  '',
  ...header,
  ...[...perFolder].map(([f, t]) => row(`\`${f}\``, t)),
  row('**all**', total),
  '',
  '## Score per file (lowest first)',
  '',
  ...header,
  ...[...perFile].sort(([, a], [, b]) => score(a) - score(b)).map(([f, t]) => row(`\`${f}\``, t)),
  '',
  `## Surviving and uncovered mutants (${survivors.length})`,
  '',
  ...(survivors.length ? survivors : ['None.']),
  '',
  `## Equivalent mutants (${namedEquivalents.length}), named in \`test/mutation-equivalents.json\``,
  '',
  ...(namedEquivalents.length ? namedEquivalents : ['None.']),
  '',
  ...(stale.length
    ? [
        `## Stale equivalent entries (${stale.length}): no such surviving mutant any more; fix or remove`,
        '',
        ...stale.map((e) => `- \`${e.file}:${e.line}:${e.column}\` ${e.mutator} → \`${e.replacement}\``),
        '',
      ]
    : []),
];
mkdirSync(path.dirname(SUMMARY), { recursive: true });
writeFileSync(SUMMARY, out.join('\n'));
process.stdout.write(
  `mutation score ${pct(score(total))} (${pct(scoreWithoutEquivalents(total))} without named equivalents): ${path.relative(ROOT, SUMMARY)}\n`,
);
