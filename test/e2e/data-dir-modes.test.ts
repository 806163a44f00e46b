/**
 * The local data dir (.coconut/) holds task tokens, webhook secrets, logs and build output:
 * it is 0700 and what Coconut writes there 0600, whatever the umask (issue 12, item 4).
 * A real local runtime with fixture builds (no Ansible) runs one deployment; the test process
 * has umask 022, the usual default, under which files would otherwise be world-readable.
 */
import { mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleLog } from '../../src/local/console-log.ts';
import { localSecrets } from '../../src/local/secrets.ts';
import { faultySource } from '../support/fixture-source.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const mode = (p: string) => statSync(p).mode & 0o777;

/** Every path under dir, directories first. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? [full, ...walk(full)] : [full];
  });
}

describe('the local data dir', () => {
  let rt: TestRuntime | undefined;
  const umask = process.umask(0o022);
  afterAll(async () => {
    await rt?.stop();
    process.umask(umask);
  });

  it('is 0700, and the logs, secrets, executions and builds Coconut writes in it are 0600', async () => {
    // As an older Coconut (or `mkdir`) left it under umask 022: readable by everyone.
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'coconut-modes-')), '.coconut');
    mkdirSync(dataDir);
    expect(mode(dataDir)).toBe(0o755);
    rt = await startTestRuntime({
      dataDir,
      sourceDir: faultySource(),
      probes: false,
      stagingBake: '0s',
      prodBake: '0s',
      prodApproval: false,
    });
    const id = startedId(await rt.push('1.0.0'));
    await rt.waitForStage(id, 'prod', ['SUCCEEDED']);
    await rt.engine.waitFor(id);
    consoleLog(dataDir, 'SILENT').info('a log line');
    const secrets = localSecrets(dataDir, {});

    expect(mode(dataDir)).toBe(0o700);
    expect(mode(secrets.file)).toBe(0o600);
    const written = ['logs', 'executions', 'builds', 'dynamodb'].map((d) => path.join(dataDir, d));
    for (const dir of written) expect(`${dir} ${mode(dir).toString(8)}`).toBe(`${dir} 700`);
    // dynamodb/ is LevelDB's, which picks its own file modes: its 0700 directory keeps them private.
    const ours = written.filter((d) => !d.endsWith('dynamodb')).flatMap(walk);
    expect(ours.filter((p) => p.endsWith('.json')).length).toBeGreaterThan(0); // an execution record
    expect(ours.filter((p) => p.endsWith('build.log')).length).toBeGreaterThanOrEqual(2); // staging and prod deploys
    expect(ours.some((p) => p.endsWith('coconut.jsonl'))).toBe(true);
    const wrong = ours
      .map((p) => ({ p, m: mode(p), want: statSync(p).isDirectory() ? 0o700 : 0o600 }))
      .filter((x) => x.m !== x.want)
      .map((x) => `${path.relative(dataDir, x.p)} ${x.m.toString(8)}`);
    expect(wrong).toEqual([]);
  }, 120_000);
});
