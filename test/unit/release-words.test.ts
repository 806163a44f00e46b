/**
 * The dashboard's words for triggers and freeze windows (dashboard/js/release-words.js, plain JS
 * with no build step) are copies of core's; these tests hold each copy equal to its original.
 */
import { describe, expect, it } from 'vitest';
import {
  freezeSummary as pageFreezeSummary,
  triggerLabel as pageTriggerLabel,
  triggerText,
} from '../../dashboard/js/release-words.js';
import { type Trigger, triggerLabel } from '../../src/core/model/release.ts';
import { type FreezeWindow, freezeStatus, freezeSummary } from '../../src/core/pipeline/freeze.ts';

const KINDS: Trigger['kind'][] = ['ecr-push', 'ghcr-push', 'dockerhub-push', 'git-tag', 'manual', 'promote', 'rollback'];

describe('release words: the dashboard reads as the CLI does', () => {
  it('names every trigger kind alike, a promotion with the environment it came from', () => {
    for (const kind of KINDS) {
      for (const from of [undefined, 'staging']) {
        const trigger = { kind, ...(from ? { from } : {}) };
        expect(pageTriggerLabel(trigger)).toBe(triggerLabel(trigger));
      }
    }
    expect(triggerLabel({ kind: 'promote', from: 'staging' })).toBe('promote from staging');
    expect(triggerText({ kind: 'promote', from: 'staging', actor: 'ana' })).toBe('promote from staging by ana');
    expect(triggerText({ kind: 'ecr-push' })).toBe('ecr-push');
  });

  it('says open or frozen, the next change and its time zone, as `coconut status` does', () => {
    const weekend: FreezeWindow = {
      schedule: '0 18 * * 5',
      durationSeconds: 64 * 3600,
      timeZone: 'Europe/Berlin',
      mode: 'deny',
      reason: 'weekend',
    };
    const allowOnly: FreezeWindow = {
      schedule: '0 9 * * 1-5',
      durationSeconds: 8 * 3600,
      timeZone: 'America/New_York',
      mode: 'allow',
    };
    const cases: [FreezeWindow[], string, string?][] = [
      [[weekend], '2026-12-04T12:00:00Z', 'OPEN, closes 2026-12-04 18:00 (Europe/Berlin)'],
      [[weekend], '2026-12-05T12:00:00Z', 'FROZEN until 2026-12-07 10:00 (Europe/Berlin): weekend'],
      [[allowOnly], '2026-12-05T12:00:00Z'],
      [[weekend, allowOnly], '2026-12-07T15:00:00Z'],
    ];
    for (const [windows, at, expected] of cases) {
      const status = freezeStatus(windows, new Date(at));
      expect(pageFreezeSummary(status)).toBe(freezeSummary(status));
      if (expected) expect(pageFreezeSummary(status)).toBe(expected);
    }
    // No change within a year: frozen "until further notice".
    const never = { open: false, reason: 'no allow window' };
    expect(pageFreezeSummary(never)).toBe(freezeSummary(never));
    expect(pageFreezeSummary({ open: true, reason: 'no freeze window is active' })).toBe('OPEN');
  });
});
