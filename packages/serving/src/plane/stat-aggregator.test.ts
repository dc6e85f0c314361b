import { describe, expect, it } from 'vitest';
import type { RevisionStats } from '../router/router.js';
import { StatAggregator } from './stat-aggregator.js';

const stat = (revision: string, concurrency: number, rps = 0, inFlight = 0, queued = 0): RevisionStats => ({
  namespace: 'ns',
  revision,
  concurrency,
  rps,
  inFlight,
  queued,
});

describe('StatAggregator (the primary sums the routers it heard from lately)', () => {
  it('adds every fresh push to its own router window, per revision', () => {
    const a = new StatAggregator(3_000);
    expect(a.push('router-2', [stat('r1', 2, 10, 2, 0), stat('r2', 1)], 1_000)).toBe(true);
    expect(a.push('router-3', [stat('r1', 3.5, 5, 1, 2)], 1_200)).toBe(true);
    const sum = a.sum([stat('r1', 0.5, 1, 0, 1)], 1_500);
    expect(sum).toEqual([stat('r1', 6, 16, 3, 3), stat('r2', 1)]);
    expect(a.live(1_500)).toEqual(['router-2', 'router-3']);
    // No push since: the routers' last windows count again.
    expect(a.sum([], 1_600)).toEqual([stat('r1', 5.5, 15, 3, 2), stat('r2', 1)]);
    // A newer push replaces the router's window (each is an average over its own interval).
    expect(a.push('router-2', [stat('r1', 1)], 2_000)).toBe(false);
    expect(a.sum([], 2_000)).toEqual([stat('r1', 4.5, 5, 1, 2)]);
  });

  it('merges the pushes of one router between two sums, weighted by their windows', () => {
    const a = new StatAggregator(3_000);
    a.push('router-2', [stat('r1', 2, 10, 2, 1), stat('r2', 4)], 100, 100);
    a.push('router-2', [stat('r1', 4, 2, 5, 0)], 400, 300);
    // r1: (2 x 100 + 4 x 300) / 400 = 3.5 concurrent, (10 x 100 + 2 x 300) / 400 = 4 rps, the newest
    // levels; r2 was measured for a quarter of the time only.
    expect(a.sum([], 400)).toEqual([stat('r1', 3.5, 4, 5, 0), stat('r2', 1)]);
  });

  it('drops a router that stopped pushing after staleMs, from the sum and the live routers', () => {
    const a = new StatAggregator(3_000);
    a.push('router-2', [stat('r1', 4)], 0);
    a.push('router-3', [stat('r1', 1)], 2_500);
    expect(a.sum([], 3_000)[0]?.concurrency).toBe(5);
    // router-2 is silent for more than 3 s: its last window no longer counts.
    expect(a.sum([], 3_001)[0]?.concurrency).toBe(1);
    expect(a.live(3_001)).toEqual(['router-3']);
    expect(a.expire(3_001)).toEqual([{ router: 'router-2', silentMs: 3_001 }]);
    expect(a.expire(3_002)).toEqual([]);
    // Back after a silence: it joins again.
    expect(a.push('router-2', [stat('r1', 2)], 4_000)).toBe(true);
    expect(a.sum([stat('r1', 1)], 4_000)[0]?.concurrency).toBe(4);
    expect(a.forget('router-2', 4_100)).toBe(true);
    expect(a.live(4_100)).toEqual(['router-3']);
    expect(() => new StatAggregator(0)).toThrow(/staleMs must be > 0/);
  });
});
