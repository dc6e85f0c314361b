import { describe, expect, it } from 'vitest';
import { zeroCounts } from './replay-checkpoints.js';
import { replayProgress } from './replay-progress.js';

describe('replayProgress', () => {
  const window = [
    { partition: 0, start: 10, end: 20 },
    { partition: 1, start: 5, end: 5 },
    { partition: 2, start: 0, end: 4 },
  ];
  const cp = (
    target: string,
    partition: number,
    next: number,
    delivered: number,
    lastTimestamp?: number,
  ) => ({
    replay: 'u',
    target,
    partition,
    next,
    counts: { ...zeroCounts(), matched: delivered, delivered },
    ...(lastTimestamp !== undefined ? { lastTimestamp } : {}),
  });

  it('sums counts over partitions and targets; a partition is as far as its slowest target', () => {
    const p = replayProgress(
      {
        window,
        checkpoints: [
          cp('a', 0, 15, 5, 100),
          cp('b', 0, 20, 10, 300),
          cp('a', 2, 4, 4, 200),
          cp('x', 0, 20, 99),
        ],
      },
      ['a', 'b'],
    );
    expect(p.total).toBe(14);
    expect(p.counts).toMatchObject({ matched: 19, delivered: 19 });
    expect(p.lastTimestamp).toBe(300);
    expect(p.progress).toEqual([
      { partition: 0, offset: 15, end: 20 },
      { partition: 1, offset: 5, end: 5 },
      { partition: 2, offset: 0, end: 4 },
    ]);
    expect(p.done).toBe(false);
  });

  it('is done when every target reached every end (empty partitions need nothing); past the end counts as the end', () => {
    const p = replayProgress({ window, checkpoints: [cp('a', 0, 25, 10), cp('a', 2, 4, 4)] }, ['a']);
    expect(p.done).toBe(true);
    expect(p.progress[0]).toEqual({ partition: 0, offset: 20, end: 20 });
  });
});
