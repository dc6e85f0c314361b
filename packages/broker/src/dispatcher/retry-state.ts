// How many delivery attempts an event has already had, kept outside the dispatcher's memory so a
// rebalance, a restart or a crash does not reset it (Knative's Kafka broker keeps it in memory and
// starts over, so a subscriber that keeps failing can see far more attempts than configured).
//
// Guarantee (with the log-backed store; the dispatcher records each failure, and each retry before
// it is sent): when an event is finally delivered, dead-lettered or dropped, the attempts made for
// it across every rebalance, restart and crash are at most the configured `retry + 1`, plus one if
// a crash (or abort) interrupted its FIRST attempt after the request left (first attempts are not
// recorded ahead: that would be a state write per event). A crash between recording a retry and
// sending it costs the event that attempt instead. A final outcome is kept as `final` until a
// commit covers it, so a member that reads the event again does not start over.
// Caveats: an entry whose last write is older than the state topic's retention is gone
// (entries of events still in flight in a live dispatcher are rewritten before that happens, so
// this only bites when no dispatcher holds the event for a whole retention period), and two
// members both owning one partition during a rebalance may each make an attempt before one of them
// sees the other's writes (RetryState.owner: a retry is not sent over another member's newer state).

import type pino from 'pino';
import type { EventLog, LogRecord } from '../eventlog/event-log.js';
import { StateTopicTail, stateRecordData } from '../state-topic/state-topic-tail.js';

/** One event of one consumer group. */
export interface RetryKey {
  group: string;
  topic: string;
  partition: number;
  offset: number;
}

/** A failed attempt as the deliverer reports it (structurally the deliverer's AttemptFailure). */
export interface RecordedFailure {
  /** 1-based, counting attempts of earlier runs too. */
  attempt: number;
  status?: number;
  error?: string;
  retryAfterMs?: number;
  /** Wait before the next attempt; undefined = the subscriber gets no further attempt. */
  nextDelayMs?: number;
}

/** What is kept per event that is not final yet. */
export interface RetryState {
  /** Attempts already made. */
  attempts: number;
  /** The last failure, so a resumed delivery reports it (or goes straight to the dead-letter sink). */
  lastFailure?: RecordedFailure;
  /** Epoch ms before which the next attempt must not start (the backoff that was running). */
  notBefore?: number;
  /**
   * The event's outcome is final, but its offset may not be committed yet: a member that reads it
   * again (the commit was lost to a crash, a rebalance or a broker going away) must not start its
   * attempts over. Deleted once a commit covers the offset.
   */
  final?: true;
  /**
   * Who wrote it (a dispatcher's route consumer). A member about to retry checks that the state is
   * still the one it last read or wrote: if another member has written since, both think they own
   * the partition (a rebalance they saw at different times), and it goes on from the newer state
   * instead of running a second retry sequence of its own.
   */
  owner?: string;
}

export interface RetryStateStore {
  /**
   * Makes every entry written before this call, by any process, visible to get(). The dispatcher
   * calls it when it is assigned a partition, before delivering from it.
   */
  sync(): Promise<void>;
  /** The event's recorded state, or undefined when no attempt failed yet. */
  get(key: RetryKey): Promise<RetryState | undefined>;
  /** Records the event's state after a failed attempt; resolves once durable. */
  put(key: RetryKey, state: RetryState): Promise<void>;
  /** Forgets the event (its outcome is final); resolves once durable. */
  delete(key: RetryKey): Promise<void>;
  /** Forgets every event of a consumer group (its route was deleted). */
  deleteGroup(group: string): Promise<void>;
  close(): Promise<void>;
}

function keyString(key: RetryKey): string {
  return `${key.group}\u0000${key.topic}\u0000${key.partition}\u0000${key.offset}`;
}

/** A store in this process's memory: survives rebalances and route restarts, not a crash. */
export function createMemoryRetryStateStore(): RetryStateStore {
  const entries = new Map<string, { group: string; state: RetryState }>();
  return {
    async sync() {},
    async get(key) {
      return entries.get(keyString(key))?.state;
    },
    async put(key, state) {
      entries.set(keyString(key), { group: key.group, state: { ...state } });
    },
    async delete(key) {
      entries.delete(keyString(key));
    },
    async deleteGroup(group) {
      for (const [k, entry] of entries) if (entry.group === group) entries.delete(k);
    },
    async close() {},
  };
}

export interface LogRetryStateStoreOptions {
  log: EventLog;
  /** The state topic (one partition, shared by every route of every dispatcher using it). */
  topic?: string;
  /** Retention of the state topic. Default 7 days. */
  retentionMs?: number;
  /** How often entries held by this process are checked for a rewrite. Default retention / 4, at most 1 h. */
  refreshIntervalMs?: number;
  logger?: pino.Logger;
}

export const DEFAULT_RETRY_STATE_TOPIC = 'eddy-dispatcher-retry-state';
const DEFAULT_RETENTION_MS = 7 * 24 * 3600_000;
const STATE_EVENT_TYPE = 'dev.eddy.dispatcher.retrystate';

interface StateRecord {
  group: string;
  topic: string;
  partition: number;
  offset: number;
  /** null = the event is final (tombstone). */
  state: RetryState | null;
}

interface Entry {
  key: RetryKey;
  /** undefined = deleted; kept until the reader has passed the tombstone, so older records cannot revive it. */
  state: RetryState | undefined;
  /** Offset of the record that set this entry in the state topic. */
  offset: number;
  writtenAt: number;
}

/**
 * A store on the event log itself, so it works the same on Kafka and embedded: every change is a
 * record in a one-partition state topic (the latest record per key wins; a tombstone deletes), and
 * every store instance tails that topic from the start with a private consumer group, keeping in
 * memory only the entries of events that are not final. Memory is therefore bounded by the events
 * in retry across all routes, and the topic by its retention; entries this process still holds
 * are rewritten when half the retention has passed, so they outlive it.
 */
export async function createLogRetryStateStore(options: LogRetryStateStoreOptions): Promise<RetryStateStore> {
  const store = new LogRetryStateStore(options);
  await store.open();
  return store;
}

class LogRetryStateStore implements RetryStateStore {
  readonly #tail: StateTopicTail;
  readonly #retentionMs: number;
  readonly #refreshIntervalMs: number;
  readonly #logger: pino.Logger | undefined;
  readonly #entries = new Map<string, Entry>();
  /** Keys this process wrote or read and has not deleted: the events it is retrying. */
  readonly #held = new Set<string>();
  #refreshTimer: NodeJS.Timeout | undefined;

  constructor(options: LogRetryStateStoreOptions) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    if (!Number.isSafeInteger(this.#retentionMs) || this.#retentionMs <= 0) {
      throw new RangeError(
        `retry state store: retentionMs must be a positive integer, got ${options.retentionMs}`,
      );
    }
    this.#refreshIntervalMs = options.refreshIntervalMs ?? Math.min(this.#retentionMs / 4, 3600_000);
    this.#logger = options.logger;
    this.#tail = new StateTopicTail({
      log: options.log,
      topic: options.topic ?? DEFAULT_RETRY_STATE_TOPIC,
      retentionMs: this.#retentionMs,
      readerGroupPrefix: 'eddy-retry-state-reader-',
      eventType: STATE_EVENT_TYPE,
      eventSource: '/eddy/dispatcher',
      apply: (record) => this.#apply(record),
      what: 'retry state store',
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  async open(): Promise<void> {
    await this.#tail.open();
    this.#refreshTimer = setInterval(() => void this.#refresh(), this.#refreshIntervalMs);
    this.#refreshTimer.unref();
  }

  sync(): Promise<void> {
    return this.#tail.sync();
  }

  async get(key: RetryKey): Promise<RetryState | undefined> {
    const k = keyString(key);
    const state = this.#entries.get(k)?.state;
    if (state !== undefined) this.#held.add(k);
    return state;
  }

  async put(key: RetryKey, state: RetryState): Promise<void> {
    if (!Number.isSafeInteger(state.attempts) || state.attempts < 0) {
      throw new RangeError(`retry state put: attempts must be an integer >= 0, got ${state.attempts}`);
    }
    const k = keyString(key);
    this.#held.add(k);
    await this.#writeMany([{ key, state }]);
  }

  async delete(key: RetryKey): Promise<void> {
    const k = keyString(key);
    this.#held.delete(k);
    if (this.#entries.get(k)?.state === undefined) return;
    await this.#writeMany([{ key, state: null }]);
  }

  async deleteGroup(group: string): Promise<void> {
    const keys = [...this.#entries.values()]
      .filter((entry) => entry.key.group === group && entry.state !== undefined)
      .map((entry) => entry.key);
    for (const key of keys) this.#held.delete(keyString(key));
    if (keys.length > 0) await this.#writeMany(keys.map((key) => ({ key, state: null })));
  }

  async close(): Promise<void> {
    if (this.#tail.closed) return;
    clearInterval(this.#refreshTimer);
    await this.#tail.close();
  }

  async #writeMany(changes: { key: RetryKey; state: RetryState | null }[]): Promise<void> {
    this.#tail.check('write');
    const positions = await this.#tail.append(
      changes.map(
        ({ key, state }): StateRecord => ({
          group: key.group,
          topic: key.topic,
          partition: key.partition,
          offset: key.offset,
          state,
        }),
      ),
    );
    const now = Date.now();
    for (const [i, { key, state }] of changes.entries()) {
      const position = positions[i];
      if (position !== undefined) this.#set(key, state, position.offset, now);
    }
  }

  #set(key: RetryKey, state: RetryState | null, offset: number, writtenAt: number): void {
    const k = keyString(key);
    const current = this.#entries.get(k);
    if (current !== undefined && current.offset >= offset) return;
    if (state === null && offset < this.#tail.readUpTo) {
      this.#entries.delete(k);
      return;
    }
    this.#entries.set(k, { key, state: state ?? undefined, offset, writtenAt });
  }

  #apply(record: LogRecord): void {
    const state = parseStateRecord(record.event.data);
    if (state === undefined) {
      this.#logger?.warn(
        { topic: this.#tail.topic, offset: record.offset },
        'ignoring a malformed retry state record',
      );
      return;
    }
    const { state: value, ...key } = state;
    this.#set(key, value, record.offset, record.timestamp);
    // A tombstone this process wrote itself is kept until the reader passes it, then dropped.
    const k = keyString(key);
    const entry = this.#entries.get(k);
    if (entry !== undefined && entry.state === undefined && entry.offset < this.#tail.readUpTo) {
      this.#entries.delete(k);
    }
  }

  /** Rewrites held entries before retention deletes their last record. */
  async #refresh(): Promise<void> {
    try {
      this.#tail.check('refresh');
    } catch {
      return;
    }
    const stale = Date.now() - this.#retentionMs / 2;
    const changes: { key: RetryKey; state: RetryState }[] = [];
    for (const k of this.#held) {
      const entry = this.#entries.get(k);
      if (entry?.state !== undefined && entry.writtenAt < stale)
        changes.push({ key: entry.key, state: entry.state });
    }
    if (changes.length === 0) return;
    try {
      await this.#writeMany(changes);
    } catch (error) {
      this.#logger?.warn(
        { err: error, topic: this.#tail.topic },
        'could not rewrite retry state entries; will try again',
      );
    }
  }
}

function parseStateRecord(data: unknown): StateRecord | undefined {
  const r = stateRecordData(data);
  if (r === undefined) return undefined;
  if (typeof r.group !== 'string' || typeof r.topic !== 'string') return undefined;
  if (!Number.isSafeInteger(r.partition) || !Number.isSafeInteger(r.offset)) return undefined;
  let state: RetryState | null = null;
  if (r.state !== null) {
    if (r.state === undefined || typeof r.state !== 'object') return undefined;
    const s = r.state as Record<string, unknown>;
    if (!Number.isSafeInteger(s.attempts)) return undefined;
    state = { attempts: s.attempts as number };
    if (s.lastFailure !== null && typeof s.lastFailure === 'object') {
      const f = s.lastFailure as Record<string, unknown>;
      if (Number.isSafeInteger(f.attempt)) {
        state.lastFailure = {
          attempt: f.attempt as number,
          status: typeof f.status === 'number' ? f.status : undefined,
          error: typeof f.error === 'string' ? f.error : undefined,
          retryAfterMs: typeof f.retryAfterMs === 'number' ? f.retryAfterMs : undefined,
          nextDelayMs: typeof f.nextDelayMs === 'number' ? f.nextDelayMs : undefined,
        };
      }
    }
    if (typeof s.notBefore === 'number') state.notBefore = s.notBefore;
  }
  return {
    group: r.group,
    topic: r.topic,
    partition: r.partition as number,
    offset: r.offset as number,
    state,
  };
}
