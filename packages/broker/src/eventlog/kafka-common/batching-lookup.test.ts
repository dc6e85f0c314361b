import { describe, expect, it } from 'vitest';
import { batchingLookup } from './batching-lookup.js';
import type { OffsetLookup } from './start-positions.js';

describe('batchingLookup', () => {
  it('sends the committed offsets of groups asked for in one turn together, in chunks', async () => {
    const requests: string[][] = [];
    let topicLookups = 0;
    const base: OffsetLookup = {
      topicOffsets: async () => {
        topicLookups++;
        return new Map([[0, { start: 0, end: 10 }]]);
      },
      offsetsForTimestamp: async () => new Map(),
      committedOffsets: async () => {
        throw new Error('not used: batched');
      },
    };
    const lookup = batchingLookup(
      base,
      async (groups) => {
        requests.push(groups);
        return new Map(groups.map((g) => [g, new Map([[0, Number(g.slice(1))]])]));
      },
      4,
    );
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => lookup.committedOffsets(`g${i}`, 't')),
    );
    expect(requests.map((r) => r.length)).toEqual([4, 4, 2]);
    expect(answers.map((a) => a.get(0))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await Promise.all(Array.from({ length: 50 }, () => lookup.topicOffsets('t')));
    // The first caller's lookup, and one more (read after they asked) for the 49 that came while it ran.
    expect(topicLookups).toBe(2);
  });

  it('a failed chunk rejects its callers only', async () => {
    const lookup = batchingLookup(
      {
        topicOffsets: async () => new Map(),
        offsetsForTimestamp: async () => new Map(),
        committedOffsets: async () => new Map(),
      },
      async (groups) => {
        if (groups.includes('bad')) throw new Error('coordinator not available');
        return new Map(groups.map((g) => [g, new Map()]));
      },
      1,
    );
    const [good, bad] = await Promise.allSettled([
      lookup.committedOffsets('good', 't'),
      lookup.committedOffsets('bad', 't'),
    ]);
    expect(good.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
  });
});
