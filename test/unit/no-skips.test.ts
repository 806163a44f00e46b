/**
 * No test vanishes: a skipped test is a promise nobody checks, and a summary line's "N skipped"
 * is easy to miss. Where a tool changes what runs, a test sets the PATH itself and runs both
 * paths (test/support/tool-path.ts); where a tool is required, it throws naming how to install it.
 * So the suite holds no skip of any kind vitest offers (https://vitest.dev/api/: test.skip,
 * skipIf, runIf, todo, only — `only` skips every other test — and context.skip()), and
 * .ci/run counts a skipped test as a failed one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';

const SKIPS = [
  /\b(?:it|test|describe|suite|bench)(?:\.\w+)*\.(?:skip|skipIf|runIf|todo|only)\b/,
  /\b(?:ctx|context|t)\.skip\s*\(/,
  /\bskip\s*\(\s*\)/,
];

/** Lines of `text` that skip a test, as "line: text". */
function skipsIn(text: string): string[] {
  return text.split('\n').flatMap((line, i) => (SKIPS.some((re) => re.test(line)) ? [`${i + 1}: ${line.trim()}`] : []));
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(file);
    return /\.(?:ts|mts|mjs|js)$/.test(entry.name) ? [file] : [];
  });
}

describe('No silent skips in the suite', () => {
  it('recognises every way vitest offers to skip a test', () => {
    for (const line of [
      "describe.skipIf(dockerEngineWorks())('Triggers', () => {",
      "it.skip('x', () => {})",
      "test.runIf(process.env.CI)('y', () => {})",
      "it.todo('later')",
      "describe.only('this one', () => {})",
      "it.concurrent.skip('z', () => {})",
      '  if (!docker) ctx.skip();',
      '  context.skip("no engine")',
    ]) {
      expect(skipsIn(line), line).toHaveLength(1);
    }
    expect(skipsIn("it('skips nothing: a skipped deployment is SKIPPED', () => {})")).toEqual([]);
  });

  it('no test file under test/ skips a test', () => {
    const self = path.join(PROJECT_ROOT, 'test/unit/no-skips.test.ts');
    const found = testFiles(path.join(PROJECT_ROOT, 'test'))
      .filter((f) => f !== self)
      .flatMap((f) => skipsIn(readFileSync(f, 'utf8')).map((hit) => `${path.relative(PROJECT_ROOT, f)}:${hit}`));
    expect(found).toEqual([]);
  });
});
