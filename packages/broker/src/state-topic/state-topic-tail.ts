// A one-partition topic of the event log used as a small replicated state store (the dispatcher's
// retry state, replay checkpoints): every process appends its changes as records and tails the topic
// from the start with a private consumer group, so every process converges on the same state, on
// Kafka and embedded alike. sync() is the read-your-writes barrier: once it resolves, every record
// appended before the call, by any process, has been applied.

import { randomUUID } from 'node:crypto';
import { freshCall, sleep } from '@eddy/runtime';
import type pino from 'pino';
import {
  type Consumer,
  type EventLog,
  EventLogUnavailableError,
  type LogRecord,
  type PartitionLag,
  type RecordPosition,
} from '../eventlog/event-log.js';

export interface StateTopicTailOptions {
  log: EventLog;
  topic: string;
  retentionMs: number;
  /** Prefix of the private reader group (a UUID is appended); deleted on close. */
  readerGroupPrefix: string;
  /** CloudEvents `type` and `source` of the records this process appends. */
  eventType: string;
  eventSource: string;
  /** Applies one record, in topic order. */
  apply(record: LogRecord): void;
  logger?: pino.Logger;
  /** What the store is, in errors (`retry state store`). */
  what: string;
}

export class StateTopicTail {
  readonly #o: StateTopicTailOptions;
  readonly #readerGroup: string;
  #consumer: Consumer | undefined;
  /** Next offset of the topic the reader will apply. */
  #readUpTo = 0;
  #readWaiters: { offset: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  /**
   * The topic's offsets, read after the call. Concurrent callers (every route of a dispatcher starting
   * at once) share lookups: one running, at most one queued behind it.
   */
  readonly #lookupAfterNow = freshCall(() => this.#endOffsets());
  #failure: Error | undefined;
  #closed = false;

  constructor(options: StateTopicTailOptions) {
    this.#o = options;
    this.#readerGroup = `${options.readerGroupPrefix}${randomUUID()}`;
  }

  get topic(): string {
    return this.#o.topic;
  }

  /** Offsets below this have been applied (or are gone to retention). */
  get readUpTo(): number {
    return this.#readUpTo;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async open(): Promise<void> {
    const { log, topic } = this.#o;
    await log.ensureTopic(topic, { partitions: 1, retentionMs: this.#o.retentionMs });
    this.#consumer = await log.consume({
      group: this.#readerGroup,
      topic,
      start: 'earliest',
      maxBatchSize: 500,
      handler: async (batch) => {
        for (const record of batch.records) {
          this.#readUpTo = Math.max(this.#readUpTo, record.offset + 1);
          this.#o.apply(record);
        }
        this.#advance(this.#readUpTo);
      },
      onError: (error) => this.#fail(error),
    });
    await this.#consumer.ready();
  }

  async sync(): Promise<void> {
    this.check('sync');
    const [partition] = await this.#lookupAfterNow();
    if (partition === undefined) return;
    // Records below the retained start are gone (retention): the reader will never see them.
    this.#advance(partition.start);
    await this.#readUntil(partition.end);
  }

  /** Appends records (JSON data); resolves once durable, with their positions. */
  async append(data: readonly unknown[]): Promise<RecordPosition[]> {
    const events = data.map((d) => ({
      specversion: '1.0',
      id: randomUUID(),
      type: this.#o.eventType,
      source: this.#o.eventSource,
      datacontenttype: 'application/json',
      data: d,
    }));
    return this.#o.log.append(this.#o.topic, events);
  }

  /** Throws when closed or when the reader stopped. */
  check(action: string): void {
    if (this.#closed) throw new Error(`${this.#o.what} (${this.#o.topic}): ${action} after close`);
    if (this.#failure !== undefined) {
      throw new Error(
        `${this.#o.what} (${this.#o.topic}): ${action}: the reader failed: ${this.#failure.message}`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new Error(`${this.#o.what} closed`);
    for (const waiter of this.#readWaiters.splice(0)) waiter.reject(closed);
    await this.#consumer?.close();
    // The reader never needs its position again; without this its offsets linger in the log.
    await this.#o.log.deleteGroup(this.#readerGroup).catch(() => {});
  }

  /** The topic's offsets; a failure right after the topic was created is retried briefly. */
  async #endOffsets(): Promise<PartitionLag[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#o.log.lag(this.#readerGroup, this.#o.topic);
      } catch (error) {
        if (!(error instanceof EventLogUnavailableError) || attempt >= 8 || this.#closed) throw error;
        await sleep(50 * attempt);
      }
    }
  }

  #advance(offset: number): void {
    this.#readUpTo = Math.max(this.#readUpTo, offset);
    this.#readWaiters = this.#readWaiters.filter((waiter) => {
      if (waiter.offset > this.#readUpTo) return true;
      waiter.resolve();
      return false;
    });
  }

  #readUntil(offset: number): Promise<void> {
    if (offset <= this.#readUpTo) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readWaiters.push({ offset, resolve, reject }));
  }

  #fail(error: Error): void {
    this.#failure = error;
    this.#o.logger?.error({ err: error, topic: this.#o.topic }, `${this.#o.what} reader stopped`);
    for (const waiter of this.#readWaiters.splice(0)) waiter.reject(error);
  }
}

/** A state record's JSON data as an object, or undefined when it is not one. */
export function stateRecordData(data: unknown): Record<string, unknown> | undefined {
  let value = data;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof value === 'string' ? value : Buffer.from(value).toString('utf8'));
    } catch {
      return undefined;
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
