/**
 * templates/buildspec/scripts/ansible-batch.py: which hosts of the environment's inventory group a
 * rollout step covers, read from the real `ansible-inventory --list` of the demo inventory (its JSON
 * lists a group's hosts in inventory order, children separately: ansible-core's inventory CLI).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const inventory = execFileSync('ansible-inventory', ['-i', 'examples/demo/ansible/inventory.yml', '--list'], {
  encoding: 'utf8',
});

function batch(env: Record<string, string>, input = inventory) {
  const result = spawnSync('python3', ['templates/buildspec/scripts/ansible-batch.py'], {
    input,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', COCONUT_ENVIRONMENT: 'prod', ...env },
  });
  return { code: result.status, hosts: result.stdout.split('\n').filter(Boolean), stderr: result.stderr };
}

describe('ansible-batch.py: the hosts of one rollout step', () => {
  it('splits the demo prod (4 hosts) into the canary 25/50/100 batches, in inventory order', () => {
    const step = (previous: number, percent: number) =>
      batch({ COCONUT_ROLLOUT_PREVIOUS_PERCENT: String(previous), COCONUT_ROLLOUT_PERCENT: String(percent) }).hosts;
    expect(step(0, 25)).toEqual(['demo-prod']);
    expect(step(25, 50)).toEqual(['demo-prod-2']);
    expect(step(50, 100)).toEqual(['demo-prod-3', 'demo-prod-4']);
    // Rounded up: a 10% first step still has a host; a rollback (previous 0) covers every host reached.
    expect(step(0, 10)).toEqual(['demo-prod']);
    expect(step(0, 50)).toEqual(['demo-prod', 'demo-prod-2']);
  });

  it('follows child groups, each host once', () => {
    const nested = JSON.stringify({
      prod: { hosts: ['a'], children: ['eu', 'us'] },
      eu: { hosts: ['b', 'a'] },
      us: { hosts: ['c'] },
    });
    expect(batch({ COCONUT_ROLLOUT_PREVIOUS_PERCENT: '0', COCONUT_ROLLOUT_PERCENT: '100' }, nested).hosts).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('refuses a share that is not a whole percentage, or an unknown group, saying what was expected', () => {
    const bad = batch({ COCONUT_ROLLOUT_PREVIOUS_PERCENT: '0', COCONUT_ROLLOUT_PERCENT: '10;rm' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("COCONUT_ROLLOUT_PERCENT must be a whole number from 1 to 100 (got '10;rm')");
    expect(batch({ COCONUT_ROLLOUT_PREVIOUS_PERCENT: '50', COCONUT_ROLLOUT_PERCENT: '50' }).stderr).toContain('must be below');
    const missing = batch({ COCONUT_ENVIRONMENT: 'qa', COCONUT_ROLLOUT_PREVIOUS_PERCENT: '0', COCONUT_ROLLOUT_PERCENT: '50' });
    expect(missing.stderr).toContain("the inventory has no group 'qa'");
  });
});
