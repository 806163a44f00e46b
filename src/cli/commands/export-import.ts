/**
 * `coconut export [--out FILE]` and `coconut import FILE [--dry-run]`: deployment history as
 * JSON lines (format: src/core/history/history-transfer.ts). Export reads the history in pages; import
 * checks the whole file here first (a bad line: nothing is sent), then sends it in parts small
 * enough for any Coconut (a Lambda request holds 6 MB, the local server 1 MB), numbered as in
 * the file.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  emptyCounts,
  expandRanges,
  HISTORY_KINDS,
  type HistoryCounts,
  HistoryFormatError,
  type HistoryKind,
  headerLine,
  type ImportReport,
  lineRanges,
  type PinnedWhenExported,
  parseHistory,
  pinnedWhenExported,
} from '../../core/history/history-transfer.ts';
import { requestText, serverUrl, useStage } from '../client.ts';
import { CommandFailed, UsageError } from '../errors.ts';

export const exportUsage = 'coconut export [--out FILE] [--page-size N] [--stage S]';
export const importUsage = 'coconut import FILE|- [--dry-run] [--stage S] [--json]';

/** A part of an import: well under the local server's 1 MB body limit. */
const PART_BYTES = 512 * 1024;
const PART_LINES = 1000;

export async function exportCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: 'string', short: 'o' }, 'page-size': { type: 'string', default: '100' }, stage: { type: 'string' } },
    strict: true,
  });
  if (positionals.length) throw new UsageError(`unexpected ${positionals.join(' ')}: the file goes after --out`);
  const pageSize = Number(values['page-size']);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500)
    throw new UsageError(`--page-size must be 1 to 500, got "${values['page-size']}"`);
  useStage(values.stage);
  const exportedAt = new Date().toISOString();
  const lines: string[] = [];
  const counts = emptyCounts();
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(pageSize), ...(cursor ? { cursor } : {}) });
    const page = await requestText('GET', `/api/export?${query}`);
    for (const line of page.text.split('\n')) {
      if (!line) continue;
      let kind: HistoryKind | undefined;
      try {
        kind = (JSON.parse(line) as { kind: HistoryKind }).kind;
      } catch {
        throw new CommandFailed(`${serverUrl()} answered a history line that is not JSON: ${line.slice(0, 80)}`);
      }
      if (HISTORY_KINDS.includes(kind)) counts[kind]++;
      lines.push(line);
    }
    cursor = page.headers.get('x-coconut-next-cursor');
  } while (cursor);
  const file = `${[headerLine(exportedAt, counts), ...lines].join('\n')}\n`;
  // What this Coconut answered must be a file that an import accepts, before it is written anywhere.
  try {
    parseHistory(file);
  } catch (error) {
    throw new CommandFailed(
      `${serverUrl()} answered history this coconut cannot read back (${(error as Error).message.split('\n')[0]}): are the CLI and the service the same version?`,
    );
  }
  const summary = `${describeCounts(counts)} (approvals without their task tokens)`;
  if (values.out === undefined || values.out === '-') {
    out.write(file);
    process.stderr.write(`exported ${summary}\n`);
    return 0;
  }
  // Written beside, then renamed: an interrupted export never leaves a half file under the name.
  const tmp = `${values.out}.partial`;
  try {
    writeFileSync(tmp, file);
    renameSync(tmp, values.out);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new CommandFailed(`cannot write ${values.out}: ${(error as Error).message}`);
  }
  process.stdout.write(`exported ${summary} to ${values.out}\n`);
  return 0;
}

function describeCounts(counts: HistoryCounts): string {
  const names: Record<HistoryKind, [string, string]> = {
    deployment: ['deployment', 'deployments'],
    stage: ['stage', 'stages'],
    environment: ['environment state', 'environment states'],
    approval: ['approval', 'approvals'],
    thread: ['chat thread', 'chat threads'],
    'pin-event': ['pin event', 'pin events'],
  };
  return HISTORY_KINDS.map((k) => `${counts[k]} ${names[k][counts[k] === 1 ? 0 : 1]}`).join(', ');
}

/** Consecutive rows of the file (blank ones included, so line numbers stay those of the file). */
interface Part {
  firstLine: number;
  rows: string[];
}

function partsOf(rows: string[], firstLine: number): Part[] {
  const parts: Part[] = [];
  let current: Part | undefined;
  let bytes = 0;
  rows.forEach((row, i) => {
    const size = Buffer.byteLength(row) + 1;
    if (!current || bytes + size > PART_BYTES || current.rows.length >= PART_LINES) {
      current = { firstLine: firstLine + i, rows: [] };
      parts.push(current);
      bytes = 0;
    }
    current.rows.push(row);
    bytes += size;
  });
  return parts;
}

export async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      stage: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new UsageError('expected one file (from `coconut export`), or - for stdin');
  let text: string;
  try {
    text = file === '-' ? await readStdin() : readFileSync(file, 'utf8');
  } catch (error) {
    throw new CommandFailed(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  // Every line is checked here first: a bad file sends nothing.
  let parsed: ReturnType<typeof parseHistory>;
  try {
    parsed = parseHistory(text);
  } catch (error) {
    if (error instanceof HistoryFormatError) throw new CommandFailed(`${file}: ${error.message}`);
    throw error;
  }
  useStage(values.stage);
  const dryRun = values['dry-run'];
  const rows = text.split('\n');
  const headerAt = rows.findIndex((r) => r.trim());
  const data = rows.slice(headerAt + 1);
  while (data.length && !data.at(-1)?.trim()) data.pop();
  const parts = partsOf(data, headerAt + 2);
  const reports: ImportReport[] = [];
  for (const [index, part] of parts.entries()) {
    const counts = emptyCounts();
    for (const row of part.rows) if (row.trim()) counts[(JSON.parse(row) as { kind: HistoryKind }).kind]++;
    const body = `${[headerLine(parsed.header.exportedAt, counts), ...part.rows].join('\n')}\n`;
    // In the part, its first row is line 2 (after the header).
    const query = new URLSearchParams({ lineOffset: String(part.firstLine - 2), ...(dryRun ? { dryRun: 'true' } : {}) });
    try {
      const res = await requestText('POST', `/api/import?${query}`, { text: body, type: 'application/x-ndjson' });
      reports.push((JSON.parse(res.text) as { report: ImportReport }).report);
    } catch (error) {
      if (reports.length === 0 || dryRun) throw error;
      const done = merge(reports, dryRun, parsed.header.exportedAt);
      throw new CommandFailed(
        `${(error as Error).message}\npart ${index + 1} of ${parts.length} failed after ${done.imported.count} records were imported (lines ${done.imported.lines || 'none'}); run the same import again: what is in already is reported as already present`,
      );
    }
  }
  const report = merge(reports, dryRun, parsed.header.exportedAt);
  // From the whole file: an environment's pin and unpin may be in different parts.
  const pinned = pinnedWhenExported(parsed);
  if (values.json) process.stdout.write(`${JSON.stringify({ ...report, pinnedWhenExported: pinned }, null, 2)}\n`);
  else process.stdout.write(describeReport(report, file, pinned));
  return report.conflicts.count > 0 ? 1 : 0;
}

/** All of stdin (a pipe may be non-blocking: readFileSync(0) would fail with EAGAIN). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function merge(reports: ImportReport[], dryRun: boolean, exportedAt: string): ImportReport {
  const lines = (pick: (r: ImportReport) => string) => lineRanges(reports.flatMap((r) => expandRanges(pick(r))));
  const imported = lines((r) => r.imported.lines);
  const present = lines((r) => r.alreadyPresent.lines);
  return {
    dryRun,
    exportedAt,
    records: reports.reduce((n, r) => n + r.records, 0),
    imported: { count: reports.reduce((n, r) => n + r.imported.count, 0), lines: imported },
    alreadyPresent: { count: reports.reduce((n, r) => n + r.alreadyPresent.count, 0), lines: present },
    conflicts: {
      count: reports.reduce((n, r) => n + r.conflicts.count, 0),
      items: reports.flatMap((r) => r.conflicts.items),
    },
    converted: reports.flatMap((r) => r.converted),
  };
}

function describeReport(report: ImportReport, file: string, pinned: PinnedWhenExported[]): string {
  const out: string[] = [];
  const lines = (s: string) => (s ? ` (lines ${s})` : '');
  out.push(
    `${report.dryRun ? 'DRY RUN, nothing written: would import' : 'imported'} ${report.imported.count} of ${report.records} records from ${file}${lines(report.imported.lines)}`,
    `already present: ${report.alreadyPresent.count}${lines(report.alreadyPresent.lines)}`,
    `conflicts: ${report.conflicts.count}${report.conflicts.count ? ' (a different record is stored under the same key; the stored one is kept)' : ''}`,
  );
  for (const c of report.conflicts.items) out.push(`  line ${c.line}: ${c.kind} ${c.key} differs in ${c.fields.join(', ')}`);
  if (report.converted.length) {
    out.push(`in flight when exported at ${report.exportedAt}, ${report.dryRun ? 'would be imported' : 'imported'} as ended:`);
    for (const c of report.converted) out.push(`  line ${c.line}: ${c.kind} ${c.key}: ${c.change}`);
  }
  if (pinned.length) {
    out.push(
      `pinned when exported (an import brings the pin history, not the pin: pin again with coconut pin SERVICE --env ENV --reason "..." to hold it here):`,
    );
    for (const p of pinned) out.push(`  line ${p.line}: ${p.service} on ${p.environment}${p.version ? ` at ${p.version}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}
