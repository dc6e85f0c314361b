// A time window of a topic as offsets: what replay, export and history reads have in common. Record
// timestamps are the append time and never decrease within a partition, so [from, to) in time is
// exactly [start, end) in offsets on every partition, found with two lookups and no reading.

import type { EventLog, PartitionOffset } from '../eventlog/event-log.js';

export interface PartitionWindow {
  partition: number;
  /** First offset of the window (the first record at or after `from`). */
  start: number;
  /** First offset after the window (the first record at or after `to`, else the log end then). */
  end: number;
}

/** Per partition, the offsets of the records appended in [from, to); `to` undefined = up to now. */
export async function timeWindow(
  log: Pick<EventLog, 'offsetsForTimestamp'>,
  topic: string,
  from: number,
  to?: number,
): Promise<PartitionWindow[]> {
  if (!Number.isFinite(from) || from < 0)
    throw new RangeError(`timeWindow: from must be epoch ms, got ${from}`);
  if (to !== undefined && !(to >= from))
    throw new RangeError(`timeWindow: to (${to}) must not be before from (${from})`);
  // The end first: records appended between the two lookups are after `to` when `to` is now.
  const ends = await log.offsetsForTimestamp(topic, to ?? Date.now() + 1);
  const starts = byPartition(await log.offsetsForTimestamp(topic, from));
  return ends.map(({ partition, offset: end }) => {
    const start = Math.min(starts.get(partition) ?? end, end);
    return { partition, start, end };
  });
}

/** Records in the window, summed over partitions. */
export function windowSize(window: readonly PartitionWindow[]): number {
  return window.reduce((sum, p) => sum + (p.end - p.start), 0);
}

function byPartition(offsets: readonly PartitionOffset[]): Map<number, number> {
  return new Map(offsets.map((o) => [o.partition, o.offset]));
}
