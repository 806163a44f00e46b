import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // e2e tests start real processes (ansible-playbook, demo apps): give them room, and
    // keep file-level parallelism modest for a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    env: { POWERTOOLS_DEV: 'false', COCONUT_LOG_LEVEL: 'ERROR' },
    // The JSON results feed the summary line of .ci/run.
    reporters: ['default', 'json'],
    // @actions/workflow-parser imports its JSON schema without an import attribute, which Node refuses;
    // transformed by Vite instead, the import works.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    outputFile: { json: 'test-output/results.json' },
  },
});
