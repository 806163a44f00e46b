import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodIssues, formatPath } from '../../src/core/model/zod-issues.ts';

describe('zod-issues: how every bad input is told', () => {
  const schema = z.object({ services: z.array(z.object({ name: z.string(), port: z.number() })) });

  it('names each field as it is written in the document, the first few issues only', () => {
    const result = schema.safeParse({
      services: [
        { name: 'a', port: 1 },
        { name: 2, port: 'x' },
      ],
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(describeZodIssues(result.error, '(body)')).toBe(
      'services[1].name: Invalid input: expected string, received number; services[1].port: Invalid input: expected number, received string',
    );
    expect(describeZodIssues(result.error, '(body)', 1)).toBe(
      'services[1].name: Invalid input: expected string, received number',
    );
    expect(formatPath([0, 'a', 1])).toBe('[0].a[1]');
  });

  it('names the value itself when the issue has no path', () => {
    const result = schema.safeParse('text');
    if (result.success) throw new Error('parsed');
    expect(describeZodIssues(result.error, '(event)')).toBe('(event): Invalid input: expected object, received string');
  });
});

describe('zod-issues: limits', () => {
  it('tells the first five issues by default, the first path part without a dot', () => {
    const schema = z.object({ a: z.string(), b: z.string(), c: z.string(), d: z.string(), e: z.string(), f: z.string() });
    const result = schema.safeParse({});
    if (result.success) throw new Error('parsed');
    expect(result.error.issues).toHaveLength(6);
    const told = describeZodIssues(result.error, '(body)');
    expect(told.split('; ').map((part) => part.split(':')[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(formatPath(['services', 0, 'name'])).toBe('services[0].name');
    expect(formatPath([])).toBe('');
  });
});
