// One target of a running replay: a RouteConsumer (the dispatcher's, so a Trigger's filter, delivery,
// retries, dead-letter sink, ordering and replies apply unchanged) on the replay's own consumer group,
// with the hooks that make it a replay:
// - it reads only the window: records before a partition's checkpoint (already replayed and counted)
//   or at or after the window's end are passed without delivery;
// - deliveries are paced to the replay's rate and carry the `eddyreplay` extension;
// - outcomes are counted per record and folded into the partition's checkpoint right before the group
//   commits, so the counts after a crash are those of the committed records, exactly.

import {
  type DispatchRoute,
  type PlainEvent,
  REPLAY_EXTENSION,
  type ReplayCounts,
  withExtensions,
} from '@eddy/api';
import { sleep } from '@eddy/runtime';
import type { EventOutcome } from '../dispatcher/dispatch-metrics.js';
import { RouteConsumer, type RouteConsumerDeps, type RouteHooks } from '../dispatcher/route-consumer.js';
import type { CommitOffset, LogRecord } from '../eventlog/event-log.js';
import type { EventFilter } from '../filters/index.js';
import type { PartitionWindow } from '../history/time-window.js';
import type { Pacer } from './pacer.js';
import { type ReplayCheckpoint, type ReplayCheckpoints, zeroCounts } from './replay-checkpoints.js';

export interface ReplayTargetOptions {
  /** The Replay's uid and `<namespace>/<name>`. */
  uid: string;
  id: string;
  route: DispatchRoute;
  /** The Replay's filter and the target's together. */
  filter: EventFilter;
  window: readonly PartitionWindow[];
  checkpoints: ReplayCheckpoints;
  pacer: Pacer | undefined;
  dryRun: () => boolean;
  /** This member's partitions of the target changed (the rate is shared by partition). */
  onAssignment: (assigned: number) => void;
}

/**
 * Least time between two checkpoints of a target. After a crash, what was delivered since the last one
 * is delivered again: at most this long's worth of deliveries plus the events in flight.
 */
const CHECKPOINT_INTERVAL_MS = 50;

interface PartitionProgress {
  next: number;
  counts: ReplayCounts;
  lastTimestamp: number | undefined;
  /** Final outcomes not committed yet, by offset. */
  pending: Map<number, { outcome: EventOutcome | 'matched'; timestamp: number }>;
}

export class ReplayTarget {
  readonly consumer: RouteConsumer;
  readonly #o: ReplayTargetOptions;
  readonly #window: Map<number, PartitionWindow>;
  readonly #partitions = new Map<number, PartitionProgress>();
  #lastCheckpoint = Number.NEGATIVE_INFINITY;

  constructor(options: ReplayTargetOptions, deps: Omit<RouteConsumerDeps, 'hooks'>) {
    this.#o = options;
    this.#window = new Map(options.window.map((w) => [w.partition, w]));
    const hooks: RouteHooks = {
      onPartition: (partition) => this.#load(partition),
      skip: (record) => this.#skip(record),
      ...(options.pacer ? { pace: (signal: AbortSignal) => options.pacer!.wait(signal) } : {}),
      transform: (event) => this.#transform(event),
      dryRun: options.dryRun,
      onOutcome: (record, outcome) =>
        this.#partitions
          .get(record.partition)
          ?.pending.set(record.offset, { outcome, timestamp: record.timestamp }),
      beforeCommit: (offsets) => this.#checkpoint(offsets),
      onAssignment: (assigned) => {
        const keep = new Set(assigned);
        for (const partition of this.#partitions.keys())
          if (!keep.has(partition)) this.#partitions.delete(partition);
        options.onAssignment(assigned.length);
      },
    };
    this.consumer = new RouteConsumer({ route: options.route, filter: options.filter }, { ...deps, hooks });
  }

  get route(): DispatchRoute {
    return this.#o.route;
  }

  async #load(partition: number): Promise<void> {
    await this.#o.checkpoints.sync();
    const saved = this.#o.checkpoints.get(this.#o.uid, this.#o.route.id, partition);
    const window = this.#window.get(partition);
    this.#partitions.set(partition, {
      next: saved?.next ?? window?.start ?? 0,
      counts: saved ? { ...saved.counts } : zeroCounts(),
      lastTimestamp: saved?.lastTimestamp,
      pending: new Map(),
    });
  }

  #skip(record: LogRecord): boolean {
    const window = this.#window.get(record.partition);
    // A partition added after the replay started holds no event of the window.
    if (window === undefined || record.offset >= window.end || record.offset < window.start) return true;
    const progress = this.#partitions.get(record.partition);
    return progress === undefined || record.offset < progress.next;
  }

  #transform(event: PlainEvent): PlainEvent {
    return withExtensions(event, { [REPLAY_EXTENSION]: this.#o.id });
  }

  /**
   * Folds the outcomes below each committed offset into its partition's checkpoint, durably. At most
   * one checkpoint (and so one commit) per CHECKPOINT_INTERVAL_MS: the route consumer's commit loop
   * gathers what finishes meanwhile into the next one. Each is a durable write on the log, and on the
   * embedded log one per finished batch cost the replay 15% of its throughput.
   */
  async #checkpoint(offsets: CommitOffset[]): Promise<void> {
    const wait = this.#lastCheckpoint + CHECKPOINT_INTERVAL_MS - performance.now();
    if (wait > 0) await sleep(wait);
    this.#lastCheckpoint = performance.now();
    const written: { progress: PartitionProgress; checkpoint: ReplayCheckpoint; folded: number[] }[] = [];
    for (const { partition, offset } of offsets) {
      const progress = this.#partitions.get(partition);
      if (progress === undefined || offset <= progress.next) continue;
      const counts = { ...progress.counts };
      let lastTimestamp = progress.lastTimestamp;
      const folded: number[] = [];
      for (const [at, { outcome, timestamp }] of progress.pending) {
        if (at >= offset) continue;
        folded.push(at);
        count(counts, outcome);
        lastTimestamp = Math.max(lastTimestamp ?? 0, timestamp);
      }
      const checkpoint: ReplayCheckpoint = {
        replay: this.#o.uid,
        target: this.#o.route.id,
        partition,
        next: offset,
        counts,
        ...(lastTimestamp !== undefined ? { lastTimestamp } : {}),
      };
      written.push({ progress, checkpoint, folded });
    }
    // Nothing changes in memory unless the checkpoint is durable: a failed write is tried again with
    // the next commit, from the same state.
    await this.#o.checkpoints.write(written.map((w) => w.checkpoint));
    for (const { progress, checkpoint, folded } of written) {
      progress.next = checkpoint.next;
      progress.counts = checkpoint.counts;
      progress.lastTimestamp = checkpoint.lastTimestamp;
      for (const at of folded) progress.pending.delete(at);
    }
  }
}

function count(counts: ReplayCounts, outcome: EventOutcome | 'matched'): void {
  switch (outcome) {
    case 'filtered':
      counts.skipped++;
      return;
    case 'matched':
      counts.matched++;
      return;
    case 'delivered':
      counts.matched++;
      counts.delivered++;
      return;
    case 'dead_lettered':
      counts.matched++;
      counts.deadLettered++;
      return;
    case 'dropped':
      counts.matched++;
      counts.failed++;
      return;
  }
}
