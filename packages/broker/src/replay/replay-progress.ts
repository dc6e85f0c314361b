// A replay's progress from its checkpoints (replay-checkpoints.ts): what its status reports and how
// the control plane knows it is complete. Pure.

import type { ReplayCounts, ReplayPartitionProgress } from '@eddy/api';
import { windowSize } from '../history/time-window.js';
import { type ReplayCheckpoints, type ReplaySnapshot, zeroCounts } from './replay-checkpoints.js';

export interface ReplayProgress {
  /** Events in the window (per target). */
  total: number;
  /** Per partition, the lowest position over the targets. */
  progress: ReplayPartitionProgress[];
  /** Summed over partitions and targets. */
  counts: ReplayCounts;
  /** Append time of the latest event replayed (epoch ms). */
  lastTimestamp?: number;
  /** Every target has replayed every partition to the window's end. */
  done: boolean;
}

export function replayProgress(snapshot: ReplaySnapshot, targets: readonly string[]): ReplayProgress {
  const counts = zeroCounts();
  let lastTimestamp: number | undefined;
  const wanted = new Set(targets);
  const next = new Map<string, number>();
  for (const c of snapshot.checkpoints) {
    if (!wanted.has(c.target)) continue;
    next.set(`${c.target}\u0000${c.partition}`, c.next);
    for (const key of Object.keys(counts) as (keyof ReplayCounts)[]) counts[key] += c.counts[key];
    if (c.lastTimestamp !== undefined) lastTimestamp = Math.max(lastTimestamp ?? 0, c.lastTimestamp);
  }
  let done = true;
  const progress = snapshot.window.map(({ partition, start, end }) => {
    let lowest = end;
    for (const target of targets) {
      const at = Math.min(end, Math.max(start, next.get(`${target}\u0000${partition}`) ?? start));
      lowest = Math.min(lowest, at);
    }
    if (lowest < end) done = false;
    return { partition, offset: lowest, end };
  });
  return {
    total: windowSize(snapshot.window),
    progress,
    counts,
    ...(lastTimestamp !== undefined ? { lastTimestamp } : {}),
    done,
  };
}

/** computeContract's `replayProgress` option, read from a checkpoints reader. */
export function progressFrom(
  checkpoints: Pick<ReplayCheckpoints, 'snapshot'>,
): (uid: string, targets: readonly string[]) => ReplayProgress | undefined {
  return (uid, targets) => {
    const snapshot = checkpoints.snapshot(uid);
    return snapshot === undefined ? undefined : replayProgress(snapshot, targets);
  };
}
