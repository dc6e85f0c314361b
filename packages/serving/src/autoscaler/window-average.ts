// Windowed average of one metric over 1 s buckets, the way Knative's metric collector computes the
// stable and panic averages (aggregation.TimedFloat64Buckets with config.BucketSize = 1 s):
// - the average over a window is the sum of the bucket values from the start of the data to the
//   last written bucket, divided by that many buckets (empty buckets inside count as zero, buckets
//   after the last write do not count at all);
// - "the start of the data" is the window's first bucket, or later when the data began inside the
//   window: the first write, or the first write after a gap of a whole window. So the first second
//   of traffic after an idle period averages to that second's value, not to value / 60, which is what
//   lets KPA scale up from zero at once;
// - nothing written for a whole window averages to 0.
// One difference: Knative sums what lands in a bucket (one scrape per pod per second, pods add up);
// here each sample is already the revision total for one tick and ticks may be shorter than a
// second, so a bucket holds the mean of its samples.

const BUCKET_MS = 1000;

/** Averages are rounded to 6 decimals (as Knative does) so ceil() does not turn 5.0000000001 into 6. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

interface Bucket {
  index: number;
  sum: number;
  count: number;
}

export class WindowAverage {
  /** Ascending by index; pruned to what the longest window asked for so far can still see. */
  #buckets: Bucket[] = [];
  #longestWindowBuckets: number;

  /** `retainMs`: the longest window that will be asked for (more is kept once a longer one is asked). */
  constructor(retainMs: number) {
    this.#longestWindowBuckets = bucketsIn(retainMs);
  }

  record(timeMs: number, value: number): void {
    const index = Math.floor(timeMs / BUCKET_MS);
    const last = this.#buckets.at(-1);
    if (last === undefined || index > last.index) {
      this.#buckets.push({ index, sum: value, count: 1 });
      this.#prune(index);
      return;
    }
    // A late sample (not expected from a monotonic tick, but harmless): add it to its bucket.
    const at = this.#buckets.findIndex((b) => b.index >= index);
    const existing = this.#buckets[at];
    if (existing !== undefined && existing.index === index) {
      existing.sum += value;
      existing.count += 1;
    } else {
      this.#buckets.splice(at === -1 ? this.#buckets.length : at, 0, { index, sum: value, count: 1 });
    }
  }

  /** True when nothing was written during the window ending at `nowMs`. */
  isEmpty(nowMs: number, windowMs: number): boolean {
    return this.#range(nowMs, windowMs) === undefined;
  }

  average(nowMs: number, windowMs: number): number {
    const range = this.#range(nowMs, windowMs);
    if (range === undefined) return 0;
    let total = 0;
    for (const b of this.#buckets) {
      if (b.index >= range.start && b.index <= range.end) total += b.sum / b.count;
    }
    return round6(total / (range.end - range.start + 1));
  }

  #range(nowMs: number, windowMs: number): { start: number; end: number } | undefined {
    const n = bucketsIn(windowMs);
    this.#longestWindowBuckets = Math.max(this.#longestWindowBuckets, n);
    const nowIndex = Math.floor(nowMs / BUCKET_MS);
    const windowStart = nowIndex - n + 1;
    let firstInside: number | undefined;
    let lastInside: number | undefined;
    let lastBefore: number | undefined;
    for (const b of this.#buckets) {
      if (b.index > nowIndex) break;
      if (b.index < windowStart) {
        lastBefore = b.index;
      } else {
        firstInside ??= b.index;
        lastInside = b.index;
      }
    }
    if (firstInside === undefined || lastInside === undefined) return undefined;
    // The data began inside the window when nothing came before it, or only a whole window earlier.
    const start = lastBefore === undefined || firstInside - lastBefore >= n ? firstInside : windowStart;
    return { start, end: lastInside };
  }

  #prune(newestIndex: number): void {
    // Keep one window and a bit more: the bucket just before a window decides where its data starts.
    const keepFrom = newestIndex - 2 * this.#longestWindowBuckets - 1;
    let drop = 0;
    while (drop < this.#buckets.length && (this.#buckets[drop]?.index ?? keepFrom) < keepFrom) drop++;
    if (drop > 0) this.#buckets.splice(0, drop);
  }
}

/** Buckets a window spans, at least one (Knative: ceil(window / bucket size)). */
export function bucketsIn(windowMs: number): number {
  return Math.max(1, Math.ceil(windowMs / BUCKET_MS));
}
