// @ts-check
/**
 * `npm run mutate`: StrykerJS mutates src/core and functions/commons and runs the fast tests
 * (vitest.mutate.config.ts) against each mutant. Incremental: reports/stryker-incremental.json (committed)
 * remembers each mutant's result, so a run only tests the mutants whose code or covering tests changed.
 * `node scripts/mutation-summary.ts` then writes reports/mutation/summary.md (score per file, survivors,
 * the equivalent mutants named in test/mutation-equivalents.json).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutate.config.ts', related: false, pool: 'threads' },
  mutate: ['src/core/**/*.ts', 'functions/commons/**/*.ts', '!**/*.d.ts'],
  coverageAnalysis: 'perTest',
  // The machine is shared (2 cores): one test process. `npm run mutate -- --concurrency 2` when it is yours.
  concurrency: 1,
  // A static mutant (a module-level constant) is active from import on: every test would run against it,
  // about half the run for a few percent of the mutants. They are left out and listed as Ignored.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['html', 'json', 'clear-text', 'progress-append-only'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: false },
  // Type errors a mutant causes are not counted: the tests run the code as Node strips it, unchecked.
  checkers: [],
  // Stryker rewrites tsconfig.json's out-of-sandbox paths with TypeScript's JS API, which TypeScript 7 (the
  // native compiler) no longer has. Ours has no `extends` or `references` to rewrite: point it at no file.
  tsconfigFile: 'no-tsconfig-rewrite.json',
  timeoutMS: 15_000,
  timeoutFactor: 2,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['.stryker-tmp*', 'test/e2e', 'bench', 'reports', '.coconut', 'test-output', '.sst', 'coverage'],
  thresholds: { high: 90, low: 80, break: null },
};
