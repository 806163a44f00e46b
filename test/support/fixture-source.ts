/**
 * A source folder with hand-written buildspecs, for tests and benches that exercise Coconut
 * itself (engine, state machine, store) with builds that do exactly what the test needs:
 * nothing, sleep, or fail on cue. Every name gets both -deploy and -rollback if not given.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const RECORD = 'export COCONUT_DEPLOYED_VERSION="$COCONUT_VERSION"';

export function fixtureSource(buildspecs: Record<string, string[]> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-src-'));
  mkdirSync(path.join(dir, 'templates', 'buildspec'), { recursive: true });
  const all: Record<string, string[]> = {
    'ansible-deploy': [RECORD],
    'ansible-rollback': [RECORD],
    'helm-deploy': [RECORD],
    'helm-rollback': [RECORD],
    ...buildspecs,
  };
  for (const [name, commands] of Object.entries(all)) {
    const lines = commands.map((c) => `      - ${JSON.stringify(c)}`).join('\n');
    writeFileSync(
      path.join(dir, 'templates', 'buildspec', `${name}.yml`),
      `version: 0.2\nenv:\n  exported-variables: [COCONUT_DEPLOYED_VERSION]\nphases:\n  build:\n    commands:\n${lines}\n`,
    );
  }
  return dir;
}

/** Builds that succeed at once (measure Coconut, not the tools). */
export const noopSource = () => fixtureSource();

/**
 * Builds steered by files in the data dir and the version: `<data>/deploy-sleep` makes deploys
 * hang, a version ending in -doomed fails its deploy, `<data>/rollback-broken` fails rollbacks.
 */
export function faultySource(): string {
  return fixtureSource({
    'ansible-deploy': [
      'if [ -f "$COCONUT_DATA_DIR/deploy-sleep" ]; then sleep 60; fi',
      'case "$COCONUT_VERSION" in *-doomed) echo "deploy of $COCONUT_VERSION fails" >&2; exit 1;; esac',
      RECORD,
    ],
    'ansible-rollback': ['if [ -f "$COCONUT_DATA_DIR/rollback-broken" ]; then echo "rollback is broken" >&2; exit 1; fi', RECORD],
  });
}
