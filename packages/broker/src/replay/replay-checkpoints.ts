// Where a replay is, kept on the event log itself so it survives `kill -9` and is the same for every
// dispatcher process: a one-partition state topic (state-topic-tail.ts) with three kinds of record.
//   window      the replay's offsets per partition, proposed by whoever starts it first; the FIRST
//               window record of a replay in the topic wins, so every process (and a restart, after
//               retention moved the log's start) replays the same records and reports the same total;
//   checkpoint  per replay, target and partition: the next offset to replay and the counts of every
//               outcome below it. Written right before the target's consumer group commits, so the
//               counts cover exactly the committed records: a crash re-delivers at most the records in
//               flight and counts none of them twice;
//   forget      the replay was deleted or finished: its entries are dropped.
// Memory: one window and one checkpoint per target and partition of every replay not forgotten.

import type { ReplayCounts } from '@eddy/api';
import type pino from 'pino';
import type { EventLog, LogRecord } from '../eventlog/event-log.js';
import type { PartitionWindow } from '../history/time-window.js';
import { StateTopicTail, stateRecordData } from '../state-topic/state-topic-tail.js';

export const DEFAULT_REPLAY_CHECKPOINT_TOPIC = 'eddy-replay-checkpoints';
/** Long enough for a suspended replay to be resumed weeks later; checkpoints are tiny. */
const DEFAULT_RETENTION_MS = 30 * 24 * 3600_000;

export interface ReplayCheckpoint {
  /** The Replay's uid. */
  replay: string;
  /** The target's route id. */
  target: string;
  partition: number;
  /** Next offset to replay: every record below it has a final, counted outcome. */
  next: number;
  counts: ReplayCounts;
  /** Append time of the latest record replayed on this partition (epoch ms). */
  lastTimestamp?: number;
}

export interface ReplaySnapshot {
  window: PartitionWindow[];
  checkpoints: ReplayCheckpoint[];
}

export function zeroCounts(): ReplayCounts {
  return { matched: 0, delivered: 0, deadLettered: 0, failed: 0, skipped: 0 };
}

export interface ReplayCheckpointsOptions {
  log: EventLog;
  topic?: string;
  retentionMs?: number;
  logger?: pino.Logger;
}

interface ReplayEntry {
  window?: PartitionWindow[];
  /** By `<target>\0<partition>`. */
  checkpoints: Map<string, ReplayCheckpoint>;
}

export class ReplayCheckpoints {
  readonly #tail: StateTopicTail;
  readonly #replays = new Map<string, ReplayEntry>();
  readonly #listeners = new Set<() => void>();
  readonly #logger: pino.Logger | undefined;

  private constructor(options: ReplayCheckpointsOptions) {
    this.#logger = options.logger;
    this.#tail = new StateTopicTail({
      log: options.log,
      topic: options.topic ?? DEFAULT_REPLAY_CHECKPOINT_TOPIC,
      retentionMs: options.retentionMs ?? DEFAULT_RETENTION_MS,
      readerGroupPrefix: 'eddy-replay-checkpoints-reader-',
      eventType: 'dev.eddy.replay.checkpoint',
      eventSource: '/eddy/replay',
      apply: (record) => this.#apply(record),
      what: 'replay checkpoints',
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  static async open(options: ReplayCheckpointsOptions): Promise<ReplayCheckpoints> {
    const store = new ReplayCheckpoints(options);
    await store.#tail.open();
    return store;
  }

  /** Every record appended before this call, by any process, is applied once it resolves. */
  sync(): Promise<void> {
    return this.#tail.sync();
  }

  /** The window every process uses: an earlier process's, else `proposed` (recorded first). */
  async settleWindow(replay: string, proposed: PartitionWindow[]): Promise<PartitionWindow[]> {
    await this.sync();
    const known = this.#replays.get(replay)?.window;
    if (known !== undefined) return known;
    await this.#tail.append([{ kind: 'window', replay, window: proposed }]);
    await this.sync();
    return this.#replays.get(replay)?.window ?? proposed;
  }

  get(replay: string, target: string, partition: number): ReplayCheckpoint | undefined {
    return this.#replays.get(replay)?.checkpoints.get(checkpointKey(target, partition));
  }

  /** Records checkpoints; resolves once durable (and visible to get()). */
  async write(checkpoints: readonly ReplayCheckpoint[]): Promise<void> {
    if (checkpoints.length === 0) return;
    this.#tail.check('write');
    await this.#tail.append(checkpoints.map((c) => ({ kind: 'checkpoint', ...c })));
    for (const c of checkpoints) this.#setCheckpoint(c);
    this.#changed();
  }

  /** Drops everything of a replay (deleted or finished), here and in every process. */
  async forget(replay: string): Promise<void> {
    this.#tail.check('forget');
    await this.#tail.append([{ kind: 'forget', replay }]);
    this.#replays.delete(replay);
    this.#changed();
  }

  /** What is known of a replay: its window (once settled) and its checkpoints. */
  snapshot(replay: string): ReplaySnapshot | undefined {
    const entry = this.#replays.get(replay);
    if (entry?.window === undefined) return undefined;
    return { window: entry.window, checkpoints: [...entry.checkpoints.values()] };
  }

  /** Called after new records were applied (from any process). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    this.#listeners.clear();
    return this.#tail.close();
  }

  #entry(replay: string): ReplayEntry {
    let entry = this.#replays.get(replay);
    if (entry === undefined) {
      entry = { checkpoints: new Map() };
      this.#replays.set(replay, entry);
    }
    return entry;
  }

  #setCheckpoint(c: ReplayCheckpoint): void {
    const entry = this.#entry(c.replay);
    const key = checkpointKey(c.target, c.partition);
    const current = entry.checkpoints.get(key);
    // Two members owning a partition for a moment during a rebalance: the one further on wins.
    if (current !== undefined && current.next > c.next) return;
    entry.checkpoints.set(key, c);
  }

  #apply(record: LogRecord): void {
    const r = stateRecordData(record.event.data);
    const replay = r?.replay;
    if (r === undefined || typeof replay !== 'string') {
      this.#logger?.warn({ offset: record.offset }, 'ignoring a malformed replay checkpoint record');
      return;
    }
    if (r.kind === 'forget') this.#replays.delete(replay);
    else if (r.kind === 'window' && Array.isArray(r.window)) {
      const entry = this.#entry(replay);
      entry.window ??= (r.window as PartitionWindow[]).map((w) => ({
        partition: Number(w.partition),
        start: Number(w.start),
        end: Number(w.end),
      }));
    } else if (r.kind === 'checkpoint') {
      const c = parseCheckpoint(r, replay);
      if (c === undefined) {
        this.#logger?.warn({ offset: record.offset }, 'ignoring a malformed replay checkpoint record');
        return;
      }
      this.#setCheckpoint(c);
    }
    this.#changed();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

function checkpointKey(target: string, partition: number): string {
  return `${target}\u0000${partition}`;
}

function parseCheckpoint(r: Record<string, unknown>, replay: string): ReplayCheckpoint | undefined {
  if (typeof r.target !== 'string' || !Number.isSafeInteger(r.partition) || !Number.isSafeInteger(r.next))
    return undefined;
  const counts = zeroCounts();
  const given = (r.counts ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(counts) as (keyof ReplayCounts)[]) {
    const value = given[key];
    if (typeof value === 'number' && Number.isSafeInteger(value)) counts[key] = value;
  }
  return {
    replay,
    target: r.target,
    partition: r.partition as number,
    next: r.next as number,
    counts,
    ...(typeof r.lastTimestamp === 'number' ? { lastTimestamp: r.lastTimestamp } : {}),
  };
}
