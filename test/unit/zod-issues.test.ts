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
