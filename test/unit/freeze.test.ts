/**
 * Freeze windows (src/core/pipeline/freeze.ts). Time zone rules are the IANA database's, as Node's
 * Intl reports them: Europe/Berlin leaves summer time on 2026-10-25 (03:00 CEST -> 02:00 CET) and
 * enters it on 2026-03-29 (02:00 CET -> 03:00 CEST). Cron in a DST gap follows croner's documented
 * rule (https://croner.56k.guru/usage/configuration/ "fixedTimeRule": a fixed-time job in a gap runs
 * at the first valid time after it).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { type FreezeWindow, freezeStatus, frozenMessage } from '../../src/core/pipeline/freeze.ts';
import { buildPlan } from '../../src/core/triggers/plan.ts';

const weekend: FreezeWindow = {
  schedule: '0 18 * * 5',
  durationSeconds: 64 * 3600,
  timeZone: 'Europe/Berlin',
  mode: 'deny',
  reason: 'weekend freeze',
};

describe('freeze windows', () => {
  it('is open on a Wednesday and names Friday 18:00 Berlin time as the next change', () => {
    const status = freezeStatus([weekend], new Date('2026-12-02T12:00:00Z'));
    expect(status.open).toBe(true);
    expect(status.next).toEqual({
      at: '2026-12-04T17:00:00.000Z',
      open: false,
      local: '2026-12-04 18:00 (Europe/Berlin)',
      timeZone: 'Europe/Berlin',
    });
  });

  it('is closed inside the window, says why and when it opens', () => {
    const status = freezeStatus([weekend], new Date('2026-12-05T12:00:00Z'));
    expect(status).toMatchObject({ open: false, reason: 'weekend freeze', next: { at: '2026-12-07T09:00:00.000Z', open: true } });
    expect(frozenMessage(status)).toBe('FROZEN until 2026-12-07 10:00 (Europe/Berlin): weekend freeze');
  });

  it('counts the start as inside and the end as outside', () => {
    expect(freezeStatus([weekend], new Date('2026-12-04T17:00:00Z')).open).toBe(false);
    expect(freezeStatus([weekend], new Date('2026-12-04T16:59:59Z')).open).toBe(true);
    expect(freezeStatus([weekend], new Date('2026-12-07T09:00:00Z')).open).toBe(true);
    expect(freezeStatus([weekend], new Date('2026-12-07T08:59:59Z')).open).toBe(false);
  });

  it('starts at 18:00 local time across the autumn DST change and lasts 64 elapsed hours', () => {
    // Friday 2026-10-23 18:00 CEST = 16:00Z; 64 h later is Monday 08:00Z = 09:00 CET (the night had 25 hours).
    const status = freezeStatus([weekend], new Date('2026-10-24T12:00:00Z'));
    expect(status.open).toBe(false);
    expect(status.next).toMatchObject({ at: '2026-10-26T08:00:00.000Z', local: '2026-10-26 09:00 (Europe/Berlin)' });
    expect(freezeStatus([weekend], new Date('2026-10-23T15:59:00Z')).next?.at).toBe('2026-10-23T16:00:00.000Z');
  });

  it('starts at 18:00 local time across the spring DST change', () => {
    // Friday 2026-03-27 18:00 CET = 17:00Z; +64 h = Monday 09:00Z = 11:00 CEST (the night had 23 hours).
    const status = freezeStatus([weekend], new Date('2026-03-28T12:00:00Z'));
    expect(status.next).toMatchObject({ at: '2026-03-30T09:00:00.000Z', local: '2026-03-30 11:00 (Europe/Berlin)' });
  });

  it('moves a start that falls in the spring DST gap to the first valid time after it (croner)', () => {
    const nightly: FreezeWindow = { schedule: '30 2 * * *', durationSeconds: 3600, timeZone: 'Europe/Berlin', mode: 'deny' };
    // 2026-03-29 02:30 does not exist in Berlin; the window starts at 03:00 CEST = 01:00Z.
    expect(freezeStatus([nightly], new Date('2026-03-29T00:59:00Z')).next?.at).toBe('2026-03-29T01:00:00.000Z');
    expect(freezeStatus([nightly], new Date('2026-03-29T01:30:00Z'))).toMatchObject({
      open: false,
      next: { at: '2026-03-29T02:00:00.000Z', open: true },
    });
  });

  it('with allow windows, is open only inside one; deny wins over allow', () => {
    const office: FreezeWindow = {
      schedule: '0 9 * * 1-4',
      durationSeconds: 8 * 3600,
      timeZone: 'America/New_York',
      mode: 'allow',
    };
    // Monday 2026-12-07 10:00 New York (EST, UTC-5) = 15:00Z: inside.
    const monday = freezeStatus([office], new Date('2026-12-07T15:00:00Z'));
    expect(monday).toMatchObject({
      open: true,
      next: { at: '2026-12-07T22:00:00.000Z', local: '2026-12-07 17:00 (America/New_York)' },
    });
    // Saturday: outside every allow window until Monday 09:00.
    const saturday = freezeStatus([office], new Date('2026-12-05T15:00:00Z'));
    expect(saturday.open).toBe(false);
    expect(saturday.reason).toMatch(/outside every allow window \(allow "0 9 \* \* 1-4" for 8h \(America\/New_York\)\)/);
    expect(saturday.next).toMatchObject({ at: '2026-12-07T14:00:00.000Z', open: true });
    const holiday: FreezeWindow = {
      schedule: '0 0 7 12 *',
      durationSeconds: 86400,
      timeZone: 'UTC',
      mode: 'deny',
      reason: 'holiday',
    };
    const both = freezeStatus([office, holiday], new Date('2026-12-07T15:00:00Z'));
    expect(both).toMatchObject({ open: false, reason: 'holiday', next: { at: '2026-12-08T14:00:00.000Z' } });
  });

  it('skips a boundary where another window keeps the state: overlapping deny windows', () => {
    const a: FreezeWindow = { schedule: '0 10 * * *', durationSeconds: 2 * 3600, timeZone: 'UTC', mode: 'deny' };
    const b: FreezeWindow = { schedule: '0 11 * * *', durationSeconds: 2 * 3600, timeZone: 'UTC', mode: 'deny' };
    expect(freezeStatus([a, b], new Date('2026-12-02T10:30:00Z')).next?.at).toBe('2026-12-02T13:00:00.000Z');
  });

  it('without windows is open with no next change', () => {
    expect(freezeStatus([], new Date())).toEqual({ open: true, reason: 'no freeze window is active' });
  });
});

const config = (freeze: string, global = '') => `
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - name: prod
        freeze:
${freeze}
${global}`;

describe('freeze windows in coconut.yaml', () => {
  it('parses windows with defaults, and a plan carries the whole config’s windows before the environment’s', () => {
    const parsed = parseConfig(
      config(
        '          - { schedule: "0 18 * * 5", duration: 64h, timeZone: Europe/Berlin, reason: weekend }',
        'freeze:\n  - { schedule: "0 0 24 12 *", duration: 2d, mode: deny }',
      ),
    );
    const service = parsed.services[0];
    if (!service) throw new Error('no service');
    const plan = buildPlan(service, { registry: 'ecr', repository: 'api', tag: 'v1.0.0' }, '', parsed.freeze);
    expect(plan.environments[0]?.freeze).toEqual([
      { schedule: '0 0 24 12 *', durationSeconds: 172800, timeZone: 'UTC', mode: 'deny' },
      { schedule: '0 18 * * 5', durationSeconds: 230400, timeZone: 'Europe/Berlin', mode: 'deny', reason: 'weekend' },
    ]);
  });

  it.each([
    [
      'a cron of six fields',
      '{ schedule: "0 0 18 * * 5", duration: 1h }',
      /freeze\[0\]\.schedule.*expected a cron schedule of five fields.*"0 0 18 \* \* 5"/,
    ],
    [
      'a bad cron field',
      '{ schedule: "0 25 * * 5", duration: 1h }',
      /freeze\[0\]\.schedule.*expected a cron schedule of five fields/,
    ],
    [
      'an unknown time zone',
      '{ schedule: "0 18 * * 5", duration: 1h, timeZone: Europe/Bonn }',
      /freeze\[0\]\.timeZone.*expected an IANA time zone.*"Europe\/Bonn"/,
    ],
    [
      'a bad mode',
      '{ schedule: "0 18 * * 5", duration: 1h, mode: block }',
      /freeze\[0\]\.mode.*expected mode "deny".*or "allow"/,
    ],
    ['a missing duration', '{ schedule: "0 18 * * 5" }', /freeze\[0\]\.duration/],
    ['a misspelled key', '{ schedule: "0 18 * * 5", duration: 1h, timezone: UTC }', /freeze\[0\].*timezone/],
  ])('rejects %s, naming the window and what was expected', (_what, window, message) => {
    expect(() => parseConfig(config(`          - ${window}`), 'conf.yaml')).toThrow(message);
  });
});
