import { describe, expect, it } from 'vitest';
import { MaxWindow } from './max-window.js';
import { WindowAverage } from './window-average.js';

describe('WindowAverage (Knative 1 s buckets)', () => {
  it('averages over the buckets from the first write to the last one, empty ones inside counting as 0', () => {
    const w = new WindowAverage(60_000);
    w.record(1000, 10); // bucket 1
    w.record(30_000, 20); // bucket 30
    // buckets 1..30: (10 + 20) / 30 = 1
    expect(w.average(30_000, 60_000)).toBe(1);
    // no writes since bucket 30: buckets after the last write do not count, still 1
    expect(w.average(40_000, 60_000)).toBe(1);
    // now = bucket 90, window 31..90 holds nothing
    expect(w.average(90_000, 60_000)).toBe(0);
    expect(w.isEmpty(90_000, 60_000)).toBe(true);
  });

  it('starts the average where the data starts after a whole window of silence (fast scale from zero)', () => {
    const w = new WindowAverage(60_000);
    w.record(1000, 10); // bucket 1
    w.record(65_000, 20); // bucket 65: 64 buckets after the last write >= 60, a new run
    // window 6..65, data starts at 65: 20 / 1
    expect(w.average(65_000, 60_000)).toBe(20);
  });

  it('counts the whole window when the data continued across its start', () => {
    const w = new WindowAverage(60_000);
    w.record(10_000, 10); // bucket 10
    w.record(65_000, 20); // bucket 65: 55 after bucket 10, same run
    // window 6..65, but the data starts at the first write, bucket 10: (10 + 20) / 56 buckets = 0.535714
    expect(w.average(65_000, 60_000)).toBe(0.535714);
    w.record(70_000, 0); // bucket 70; window 11..70 no longer holds bucket 10, which came < 60 before 65
    // (20 + 0) / 60 buckets (11..70) = 0.333333 (rounded to 6 decimals as Knative does)
    expect(w.average(70_000, 60_000)).toBe(0.333333);
  });

  it('keeps the mean of the samples that land in one bucket (sub-second ticks)', () => {
    const w = new WindowAverage(6000);
    w.record(1000, 10);
    w.record(1500, 20); // bucket 1 = (10 + 20) / 2 = 15
    w.record(2000, 30); // bucket 2 = 30
    // (15 + 30) / 2 = 22.5
    expect(w.average(2000, 6000)).toBe(22.5);
  });
});

describe('MaxWindow (scale-down delay)', () => {
  it('returns the largest value recorded in the last delay', () => {
    const m = new MaxWindow();
    expect(m.recordAndMax(0, 10, 10_000)).toBe(10);
    expect(m.recordAndMax(5000, 2, 10_000)).toBe(10);
    expect(m.recordAndMax(9999, 3, 10_000)).toBe(10);
    // the 10 at t=0 is exactly one delay old at 10 000 and leaves the window
    expect(m.recordAndMax(10_000, 2, 10_000)).toBe(3);
    expect(m.recordAndMax(20_000, 1, 10_000)).toBe(1);
  });
});
