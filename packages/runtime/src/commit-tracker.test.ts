import { describe, expect, it } from 'vitest';
import { CommitTracker } from './commit-tracker.js';

describe('CommitTracker', () => {
  it('commits nothing before the first event', () => {
    expect(new CommitTracker().takeCommit()).toBeUndefined();
  });

  it('never commits past an unfinished event, whatever finishes after it', () => {
    const t = new CommitTracker();
    for (const o of [10, 11, 12, 13]) t.begin(o);
    expect(t.takeCommit()).toBe(10);
    t.finish(11);
    t.finish(13);
    expect(t.takeCommit()).toBeUndefined();
    t.finish(10);
    expect(t.takeCommit()).toBe(12);
    t.finish(12);
    expect(t.takeCommit()).toBe(14);
    expect(t.takeCommit()).toBeUndefined();
  });

  it('commits over gaps in offsets (skipped records)', () => {
    const t = new CommitTracker();
    t.begin(5);
    t.begin(9);
    t.finish(9);
    t.finish(5);
    expect(t.takeCommit()).toBe(10);
  });

  it('keeps only unfinished offsets, however many finished behind a slow one', () => {
    const t = new CommitTracker();
    t.begin(0);
    for (let o = 1; o <= 100_000; o++) {
      t.begin(o);
      t.finish(o);
    }
    expect(t.unfinishedCount).toBe(1);
    expect(t.takeCommit()).toBe(0);
    t.finish(0);
    expect(t.takeCommit()).toBe(100_001);
  });

  it('offers a commit again after it failed', () => {
    const t = new CommitTracker();
    t.begin(0);
    t.finish(0);
    const previous = t.committed;
    expect(t.takeCommit()).toBe(1);
    t.commitFailed(1, previous);
    expect(t.takeCommit()).toBe(1);
  });

  it('rejects offsets that do not increase', () => {
    const t = new CommitTracker();
    t.begin(3);
    expect(() => t.begin(3)).toThrow(/offset 3 started after 3/);
  });
});

describe('CommitTracker.commitPoint', () => {
  it('commits up to the lowest unfinished record', () => {
    const c = new CommitTracker();
    expect(c.commitPoint).toBeUndefined();
    for (const o of [10, 11, 12]) c.begin(o);
    c.finish(11);
    c.finish(12);
    expect(c.commitPoint).toBe(10);
    c.finish(10);
    expect(c.commitPoint).toBe(13);
    expect(() => c.begin(12)).toThrow(RangeError);
  });
});
