/** mapLimit: the bounded parallel map of the history export and import (at most `limit` store calls at once). */
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/core/model/map-limit.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

/** fn that records how many calls were in flight at most, and which items it was called with. */
function tracked<R>(answer: (item: number, index: number) => R | Promise<R>) {
  const calls: number[] = [];
  let inFlight = 0;
  let most = 0;
  const fn = async (item: number, index: number) => {
    calls.push(item);
    inFlight++;
    most = Math.max(most, inFlight);
    try {
      await tick();
      return await answer(item, index);
    } finally {
      inFlight--;
    }
  };
  return { fn, calls, most: () => most };
}

describe('mapLimit', () => {
  it('returns the results in input order, whatever order the calls end in', async () => {
    const items = [5, 1, 4, 2, 3];
    const results = await mapLimit(items, 3, async (item, index) => {
      await new Promise((resolve) => setTimeout(resolve, item * 2));
      return `${index}:${item * 10}`;
    });
    expect(results).toEqual(['0:50', '1:10', '2:40', '3:20', '4:30']);
  });

  it('calls fn once per item with its index, never more than `limit` at a time', async () => {
    const t = tracked((item, index) => item + index);
    const results = await mapLimit([10, 20, 30, 40, 50, 60, 70], 2, t.fn);
    expect(results).toEqual([10, 21, 32, 43, 54, 65, 76]);
    expect(t.calls.sort((a, b) => a - b)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(t.most()).toBe(2);
  });

  it('uses up to `limit` calls at once when there are enough items', async () => {
    const t = tracked((item) => item);
    await mapLimit([1, 2, 3, 4, 5, 6], 4, t.fn);
    expect(t.most()).toBe(4);
  });

  it('runs one call at a time with a limit of 1, and still runs with a limit below 1', async () => {
    const one = tracked((item) => item);
    expect(await mapLimit([1, 2, 3], 1, one.fn)).toEqual([1, 2, 3]);
    expect(one.most()).toBe(1);
    const zero = tracked((item) => item);
    expect(await mapLimit([1, 2, 3], 0, zero.fn)).toEqual([1, 2, 3]);
    expect(zero.most()).toBe(1);
  });

  it('calls nothing for no items', async () => {
    const t = tracked((item) => item);
    expect(await mapLimit([], 4, t.fn)).toEqual([]);
    expect(t.calls).toEqual([]);
  });

  it('throws the first error and starts no new call after it', async () => {
    const t = tracked((item) => {
      if (item === 2) throw new Error('item 2 failed');
      return item;
    });
    await expect(mapLimit([1, 2, 3, 4, 5], 1, t.fn)).rejects.toThrow('item 2 failed');
    await tick();
    await tick();
    expect(t.calls).toEqual([1, 2]);
  });

  it('lets the calls already in flight end, but starts no other one, when one fails in parallel', async () => {
    const t = tracked((item) => {
      if (item === 1) throw new Error('item 1 failed');
      return item;
    });
    await expect(mapLimit([1, 2, 3, 4, 5, 6], 2, t.fn)).rejects.toThrow('item 1 failed');
    for (let i = 0; i < 5; i++) await tick();
    // Items 1 and 2 started together; item 1's failure stops the worker that would take item 3,
    // and item 2's worker stops at its next turn.
    expect(t.calls).toEqual([1, 2]);
  });
});
