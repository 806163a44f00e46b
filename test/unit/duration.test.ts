/** Durations as coconut.yaml writes them (bake, approval timeout, lock term) and as `coconut validate` prints them. */
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/model/duration.ts';

describe('parseDuration', () => {
  it('reads each unit and their combinations, in seconds', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('2d')).toBe(172_800);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('1d2h3m4s')).toBe(86_400 + 7200 + 180 + 4);
    expect(parseDuration('0s')).toBe(0);
  });

  it('ignores surrounding blanks', () => {
    expect(parseDuration('  5m\n')).toBe(300);
  });

  it('takes a number as seconds when it is a whole number, not negative', () => {
    expect(parseDuration(45)).toBe(45);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(-1)).toBeUndefined();
    expect(parseDuration(1.5)).toBeUndefined();
  });

  it('refuses empty text, unknown units, units out of order and bare digits in text', () => {
    expect(parseDuration('')).toBeUndefined();
    expect(parseDuration('   ')).toBeUndefined();
    expect(parseDuration('5x')).toBeUndefined();
    expect(parseDuration('m')).toBeUndefined();
    expect(parseDuration('30m1h')).toBeUndefined();
    expect(parseDuration('30')).toBeUndefined();
    expect(parseDuration('x5m')).toBeUndefined();
    expect(parseDuration('5m x')).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it('writes under a minute in seconds', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59)).toBe('59s');
  });

  it('writes longer durations in their largest units, leaving out the empty ones', () => {
    expect(formatDuration(60)).toBe('1m');
    expect(formatDuration(90)).toBe('1m30s');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(7260)).toBe('2h1m');
    expect(formatDuration(86_400)).toBe('1d');
    expect(formatDuration(86_400 + 3600 + 60 + 1)).toBe('1d1h1m1s');
  });

  it('round-trips through parseDuration', () => {
    for (const seconds of [60, 61, 3599, 3600, 5400, 90_061, 172_800]) {
      expect(parseDuration(formatDuration(seconds))).toBe(seconds);
    }
  });
});
