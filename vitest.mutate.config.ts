/**
 * The fast tests `npm run mutate` (StrykerJS, stryker.config.mjs) runs against each mutant of src/core and
 * functions/commons: the unit tests, in process, without the ones that spend their time in child processes
 * (the CLI, ssh-agent, buildspecs run with fake CodeBuild images, apt-get) or in SST's own evaluation — those
 * run the mutated code outside Vitest, where Stryker cannot switch mutants on, and take seconds per run.
 * `npm test` runs them all as usual.
 */
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

export const SLOW_UNIT_TESTS = [
  'test/unit/iam-auth.test.ts',
  'test/unit/ansible-ssh-buildspec.test.ts',
  'test/unit/sst-evaluation.test.ts',
  'test/unit/buildspec-images.test.ts',
  'test/unit/system-tools.test.ts',
  // Real time and many runs: the engine waiting out lock terms (10 s), and property tests over every
  // handler. They guard robustness more than any one line; each surviving mutant would pay their full time.
  'test/unit/asl-lock-wait.test.ts',
  'test/unit/http-handlers-fuzz.test.ts',
];

// isolate: false keeps the imported modules between test files and between mutant runs (Stryker switches
// mutants on at run time, so nothing needs re-importing): a third of the time went into imports otherwise.
// A mutant that makes a test wait forever fails that test after 30 s rather than the suite's 120 s (the
// property tests need the room: instrumented and on a shared machine they take several seconds).
const config = mergeConfig(
  base,
  defineConfig({ test: { maxWorkers: 1, pool: 'threads', isolate: false, testTimeout: 30_000, hookTimeout: 60_000 } }),
);
// mergeConfig concatenates arrays: replace them instead. No JSON report here: test-output/results.json feeds
// the summary line of .ci/run and must come from `npm test` alone.
config.test.include = ['test/unit/**/*.test.ts'];
config.test.exclude = [...SLOW_UNIT_TESTS, '**/node_modules/**'];
config.test.reporters = ['default'];
config.test.outputFile = undefined;
export default config;
