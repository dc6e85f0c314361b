// In-memory mirror of the `topics` and `partitions` tables. It always equals what is committed in
// the database: writes stage their changes on a LogTransaction and the batcher applies them after
// COMMIT. Consumers wait here for new records (in-process wake-up, no polling).

import { WriteOps } from './write-ops.js';

export interface PartitionCursor {
  /** First offset still retained. */
  start: number;
  /** Offset the next appended record gets (the log end offset). */
  next: number;
  /** Timestamp of the newest record; appends never go below it, keeping time -> offset monotonic. */
  lastTimestamp: number;
}

export interface PartitionState extends PartitionCursor {
  readonly index: number;
  /** Woken after a commit that appended to this partition. */
  readonly waiters: Set<() => void>;
}

export interface TopicState {
  /** Database id; a deleted and recreated topic gets a new one (offsets restart at 0). */
  readonly id: number;
  readonly name: string;
  retentionMs: number | undefined;
  readonly partitions: PartitionState[];
  /** Next partition for events with neither a partitionkey nor an explicit partition. */
  roundRobin: number;
}

export function newPartitionState(index: number, cursor: PartitionCursor): PartitionState {
  return { index, ...cursor, waiters: new Set() };
}

/** Scratch state of one SQLite transaction of the write batcher. */
export class LogTransaction {
  /** The statements the writer thread runs for this transaction. */
  readonly ops = new WriteOps();
  readonly #staged = new Map<PartitionState, PartitionCursor>();

  /** The partition's cursor as seen inside this transaction (writes update it in place). */
  cursor(partition: PartitionState): PartitionCursor {
    let cursor = this.#staged.get(partition);
    if (cursor === undefined) {
      cursor = { start: partition.start, next: partition.next, lastTimestamp: partition.lastTimestamp };
      this.#staged.set(partition, cursor);
    }
    return cursor;
  }

  /** After COMMIT: publish the new cursors and wake consumers of partitions that grew. */
  apply(): void {
    const grown: PartitionState[] = [];
    for (const [partition, cursor] of this.#staged) {
      if (cursor.next > partition.next) grown.push(partition);
      partition.start = cursor.start;
      partition.next = cursor.next;
      partition.lastTimestamp = cursor.lastTimestamp;
    }
    for (const partition of grown) {
      const waiters = [...partition.waiters];
      partition.waiters.clear();
      for (const wake of waiters) wake();
    }
  }
}
