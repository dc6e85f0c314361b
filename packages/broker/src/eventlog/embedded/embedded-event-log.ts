// The embedded event log: Kafka's topic / partition / offset / consumer-group model for a single
// process, stored in one SQLite database (node:sqlite) under a data directory. Used by `eddy dev`
// and on laptops; the Kafka implementation passes the same conformance suite.
//
// Two threads: SQLite allows one writer, and its COMMIT (an fsync) would stall the event loop, so
// every write transaction runs on a writer thread (writer-thread.ts) fed by the group committer
// (write-batcher.ts). Everything else stays on the main thread: validation and encoding, offsets
// and caches, consumer groups, and reads through a second connection (WAL).

import type {
  AppendOptions,
  CommitOffset,
  ConsumeOptions,
  Consumer,
  EventLog,
  InitialPosition,
  LogEvent,
  LogRecord,
  PartitionLag,
  PartitionOffset,
  RecordPosition,
  StartPosition,
  TopicInfo,
  TopicSpec,
} from '../event-log.js';
import { EventLogUnavailableError, EventLogUsageError } from '../event-log.js';
import { ConsumerGroup, EmbeddedConsumer, type GroupHost } from './consumer-group.js';
import { decodeEvent, type EncodedEvent, encodeEvent } from './event-codec.js';
import { partitionForKey } from './partitioner.js';
import { type PartitionRow, SqliteReader, type TopicRow, unavailable } from './sqlite-store.js';
import { LogTransaction, newPartitionState, type TopicState } from './topic-state.js';
import { WriteBatcher } from './write-batcher.js';
import { WriteOps } from './write-ops.js';
import { WriterClient } from './writer-client.js';

export interface EmbeddedEventLogOptions {
  /** Directory holding the database file; created if missing. One process per directory. */
  dataDir: string;
  /** How often records past their topic's retention are deleted. Default 10 s. */
  retentionCheckIntervalMs?: number;
}

const DEFAULT_RETENTION_CHECK_MS = 10_000;
const DEFAULT_MAX_BATCH = 100;
const MAX_BATCH_LIMIT = 10_000;
const MAX_PARTITIONS = 10_000;
/** Rows deleted per transaction by retention and topic purges, so the event loop keeps moving. */
const DELETE_CHUNK = 5_000;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export async function openEmbeddedEventLog(options: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('openEmbeddedEventLog: expected an options object with "dataDir"');
  }
  const interval = options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_MS;
  if (!Number.isInteger(interval) || interval <= 0) {
    throw new TypeError(
      `openEmbeddedEventLog: "retentionCheckIntervalMs" must be a positive integer, got ${String(interval)}`,
    );
  }
  const { dataDir } = options;
  if (typeof dataDir !== 'string' || dataDir === '') {
    throw new TypeError('openEmbeddedEventLog: "dataDir" must be a non-empty directory path');
  }
  // The writer thread creates the schema and takes the directory's lock before anyone reads.
  const writer = await WriterClient.start(dataDir);
  let reader: SqliteReader;
  try {
    reader = new SqliteReader(writer.databasePath);
  } catch (error) {
    await writer.close();
    throw error;
  }
  return new EmbeddedEventLog(interval, writer, reader);
}

export class EmbeddedEventLog implements EventLog {
  readonly kind = 'embedded';
  readonly #writer: WriterClient;
  readonly #reader: SqliteReader;
  readonly #batcher: WriteBatcher<LogTransaction>;
  readonly #topics = new Map<string, TopicState>();
  /** Live groups, keyed by group name + NUL + topic name. */
  readonly #groups = new Map<string, ConsumerGroup>();
  readonly #host: GroupHost;
  readonly #retentionTimer: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;
  readonly #purges = new Set<Promise<void>>();
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Use openEmbeddedEventLog, which starts the writer thread and opens the reader. */
  constructor(retentionCheckIntervalMs: number, writer: WriterClient, reader: SqliteReader) {
    this.#writer = writer;
    this.#reader = reader;
    this.#batcher = new WriteBatcher(
      this.#writer,
      () => new LogTransaction(),
      (tx) => tx.apply(),
    );
    this.#loadTopics();
    this.#host = this.#groupHost();
    this.#retentionTimer = setInterval(
      () => void this.sweepRetention().catch(() => {}),
      retentionCheckIntervalMs,
    );
    this.#retentionTimer.unref();
    for (const row of this.#reader.selectDeletedTopics.all() as { topic_id: number }[]) {
      this.#purgeTopicRecords(row.topic_id);
    }
  }

  /** SQLite transactions the group committer ran (appends and commits share them). */
  get writeTransactions(): number {
    return this.#batcher.committedTransactions;
  }

  /** Path of the SQLite database file. */
  get databasePath(): string {
    return this.#writer.databasePath;
  }

  /** Ends the writer thread at once, as a crash of it would (tests of that failure). */
  killWriterThread(): Promise<void> {
    return this.#writer.terminate();
  }

  #loadTopics(): void {
    const partitions = new Map<number, PartitionRow[]>();
    for (const row of this.#reader.selectPartitions.all() as unknown as PartitionRow[]) {
      const list = partitions.get(row.topic_id) ?? [];
      list.push(row);
      partitions.set(row.topic_id, list);
    }
    for (const row of this.#reader.selectTopics.all() as unknown as TopicRow[]) {
      const topic: TopicState = {
        id: row.id,
        name: row.name,
        retentionMs: row.retention_ms ?? undefined,
        partitions: [],
        roundRobin: 0,
      };
      const rows = partitions.get(row.id) ?? [];
      for (let index = 0; index < row.partitions; index++) {
        const stored = rows.find((candidate) => candidate.partition === index);
        topic.partitions.push(
          newPartitionState(index, {
            start: stored?.start_offset ?? 0,
            next: stored?.next_offset ?? 0,
            lastTimestamp: stored?.last_timestamp ?? 0,
          }),
        );
      }
      this.#topics.set(row.name, topic);
    }
  }

  // ---- topics ------------------------------------------------------------------------------

  async ensureTopic(name: string, spec: TopicSpec = {}): Promise<TopicInfo> {
    this.#checkOpen();
    validateTopicName(name, 'ensureTopic');
    if (spec === null || typeof spec !== 'object') {
      throw new EventLogUsageError(`ensureTopic "${name}": spec must be an object`);
    }
    const { partitions, retentionMs } = spec;
    if (
      partitions !== undefined &&
      (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS)
    ) {
      throw new EventLogUsageError(
        `ensureTopic "${name}": partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${String(partitions)}`,
      );
    }
    if (retentionMs !== undefined && (!Number.isSafeInteger(retentionMs) || retentionMs <= 0)) {
      throw new EventLogUsageError(
        `ensureTopic "${name}": retentionMs must be a positive integer (milliseconds), got ${String(retentionMs)}`,
      );
    }
    const existing = this.#topics.get(name);
    if (existing === undefined) {
      const count = partitions ?? 1;
      const created = this.#write(`ensureTopic "${name}"`, (ops) =>
        ops.createTopic(name, count, retentionMs ?? null),
      );
      const id = created.value!;
      const topic: TopicState = { id, name, retentionMs, partitions: [], roundRobin: 0 };
      for (let index = 0; index < count; index++) {
        topic.partitions.push(newPartitionState(index, { start: 0, next: 0, lastTimestamp: 0 }));
      }
      this.#topics.set(name, topic);
      await this.#rebalanceTopic(name);
      return topicInfo(topic);
    }
    // Partitions never shrink; retention is declarative (absent = keep forever), as on Kafka.
    const count = Math.max(existing.partitions.length, partitions ?? 0);
    const retention = retentionMs;
    if (count === existing.partitions.length && retention === existing.retentionMs)
      return topicInfo(existing);
    this.#write(`ensureTopic "${name}"`, (ops) =>
      ops.updateTopic(existing.id, count, retention ?? null, existing.partitions.length),
    );
    existing.retentionMs = retention;
    const grew = count > existing.partitions.length;
    for (let index = existing.partitions.length; index < count; index++) {
      existing.partitions.push(newPartitionState(index, { start: 0, next: 0, lastTimestamp: 0 }));
    }
    if (grew) await this.#rebalanceTopic(name);
    return topicInfo(existing);
  }

  /** Deletes the topic, its records and the groups' offsets on it. Unknown topics are a no-op. */
  async deleteTopic(name: string): Promise<void> {
    this.#checkOpen();
    validateTopicName(name, 'deleteTopic');
    const topic = this.#topics.get(name);
    if (topic === undefined) return;
    this.#write(`deleteTopic "${name}"`, (ops) => ops.deleteTopic(topic.id));
    this.#topics.delete(name);
    // Wake consumers parked on its partitions so they notice and stop.
    for (const partition of topic.partitions) {
      for (const wake of [...partition.waiters]) wake();
    }
    await this.#rebalanceTopic(name);
    this.#purgeTopicRecords(topic.id);
  }

  async listTopics(): Promise<TopicInfo[]> {
    this.#checkOpen();
    return [...this.#topics.values()].map(topicInfo).sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---- append ------------------------------------------------------------------------------

  async append(
    topicName: string,
    events: LogEvent[],
    options: AppendOptions = {},
  ): Promise<RecordPosition[]> {
    this.#checkOpen();
    const topic = this.#requireTopic(topicName, 'append');
    if (!Array.isArray(events)) {
      throw new EventLogUsageError(`append to "${topicName}": events must be an array of CloudEvents`);
    }
    const explicit = options?.partition;
    if (explicit !== undefined) this.#checkPartition(topic, explicit, `append to "${topicName}"`);
    if (events.length === 0) return [];
    const encoded: EncodedEvent[] = events.map((event, index) =>
      encodeEvent(event, `append to "${topicName}": event ${index}`),
    );
    const count = topic.partitions.length;
    const targets = encoded.map((event) => {
      if (explicit !== undefined) return explicit;
      if (event.key !== null) return partitionForKey(event.key, count);
      const partition = topic.roundRobin % count;
      topic.roundRobin = (topic.roundRobin + 1) % count;
      return partition;
    });
    return this.#batcher.submit((tx) => {
      if (this.#topics.get(topicName) !== topic) {
        throw new EventLogUsageError(`append to "${topicName}": the topic was deleted`);
      }
      const now = Date.now();
      const positions: RecordPosition[] = new Array(encoded.length);
      const touched = new Set<number>();
      for (let i = 0; i < encoded.length; i++) {
        const event = encoded[i]!;
        const partition = targets[i]!;
        const cursor = tx.cursor(topic.partitions[partition]!);
        const timestamp = Math.max(now, cursor.lastTimestamp);
        const offset = cursor.next;
        tx.ops.insertRecord(topic.id, partition, offset, timestamp, event);
        cursor.next = offset + 1;
        cursor.lastTimestamp = timestamp;
        touched.add(partition);
        positions[i] = { topic: topicName, partition, offset };
      }
      for (const partition of touched) {
        const cursor = tx.cursor(topic.partitions[partition]!);
        tx.ops.upsertPartition(topic.id, partition, cursor.start, cursor.next, cursor.lastTimestamp);
      }
      return { result: positions };
    });
  }

  // ---- consumers ---------------------------------------------------------------------------

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.#checkOpen();
    if (options === null || typeof options !== 'object') {
      throw new EventLogUsageError('consume: expected options with group, topic and handler');
    }
    const { group, topic: topicName, handler } = options;
    validateGroupName(group, 'consume');
    const topic = this.#requireTopic(topicName, `consume (group "${group}")`);
    const where = `consume "${topicName}" as group "${group}"`;
    if (typeof handler !== 'function') throw new EventLogUsageError(`${where}: handler must be a function`);
    const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > MAX_BATCH_LIMIT) {
      throw new EventLogUsageError(
        `${where}: maxBatchSize must be an integer from 1 to ${MAX_BATCH_LIMIT}, got ${String(maxBatchSize)}`,
      );
    }
    const start: StartPosition = options.start ?? 'committed';
    const initial: InitialPosition = options.initial ?? 'latest';
    validatePosition(start, true, `${where}: start`);
    validatePosition(initial, false, `${where}: initial`);

    if (start !== 'committed') await this.#repositionGroup(group, topic, start);
    this.#checkOpen();
    const key = groupKey(group, topicName);
    let coordinator = this.#groups.get(key);
    if (coordinator === undefined) {
      coordinator = new ConsumerGroup(this.#host, group, topicName);
      this.#groups.set(key, coordinator);
    }
    const member = new EmbeddedConsumer(this.#host, coordinator, {
      initial,
      maxBatchSize,
      handler,
      onAssignment: options.onAssignment,
      onError: options.onError,
    });
    // Never rejects: a failing rebalance fails the member instead (status, onError).
    void coordinator.join(member).catch(() => {});
    return member;
  }

  async lag(group: string, topicName: string): Promise<PartitionLag[]> {
    this.#checkOpen();
    validateGroupName(group, 'lag');
    const topic = this.#requireTopic(topicName, `lag (group "${group}")`);
    const committed = this.#read(() => this.#reader.committedOffsets(group, topic.id));
    return topic.partitions.map((state) => {
      const offset = committed.get(state.index) ?? null;
      return {
        partition: state.index,
        committed: offset,
        end: state.next,
        start: state.start,
        lag: state.next - (offset ?? state.start),
      };
    });
  }

  async offsetsForTimestamp(topicName: string, timestamp: number): Promise<PartitionOffset[]> {
    this.#checkOpen();
    const topic = this.#requireTopic(topicName, 'offsetsForTimestamp');
    validatePosition({ timestamp }, false, `offsetsForTimestamp "${topicName}"`);
    return this.#read(() =>
      topic.partitions.map((state) => ({
        partition: state.index,
        offset: this.#firstOffsetAtOrAfter(topic, state.index, timestamp),
      })),
    );
  }

  async seekGroupToTimestamp(group: string, topicName: string, timestamp: number): Promise<void> {
    this.#checkOpen();
    validateGroupName(group, 'seekGroupToTimestamp');
    const topic = this.#requireTopic(topicName, `seekGroupToTimestamp (group "${group}")`);
    validatePosition({ timestamp }, false, `seekGroupToTimestamp "${topicName}" (group "${group}")`);
    await this.#repositionGroup(group, topic, { timestamp });
  }

  async deleteGroup(group: string): Promise<void> {
    this.#checkOpen();
    validateGroupName(group, 'deleteGroup');
    for (const coordinator of this.#groups.values()) {
      if (coordinator.name === group && coordinator.hasMembers) {
        throw new EventLogUsageError(
          `deleteGroup "${group}": the group still has live consumers on "${coordinator.topicName}"; close them first`,
        );
      }
    }
    await this.#batcher.submit((tx) => {
      tx.ops.deleteGroup(group);
      return { result: undefined };
    });
  }

  // ---- retention ---------------------------------------------------------------------------

  /** Deletes records older than their topic's retention now (also runs on a timer). */
  sweepRetention(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<void> {
    for (const topic of [...this.#topics.values()]) {
      if (topic.retentionMs === undefined) continue;
      for (const state of topic.partitions) {
        if (this.#closed || this.#topics.get(topic.name) !== topic) break;
        const cutoff = Date.now() - topic.retentionMs;
        const newStart = this.#read(() => this.#firstOffsetAtOrAfter(topic, state.index, cutoff));
        while (state.start < newStart && !this.#closed && this.#topics.get(topic.name) === topic) {
          await this.#batcher.submit((tx) => {
            if (this.#topics.get(topic.name) !== topic) return { result: undefined };
            const cursor = tx.cursor(state);
            const until = Math.min(newStart, cursor.start + DELETE_CHUNK);
            tx.ops.deleteRecords(topic.id, state.index, cursor.start, until);
            cursor.start = until;
            tx.ops.upsertPartition(topic.id, state.index, cursor.start, cursor.next, cursor.lastTimestamp);
            return { result: undefined };
          });
        }
      }
    }
  }

  #purgeTopicRecords(topicId: number): void {
    const purge = (async () => {
      while (!this.#closed) {
        const finished = await this.#batcher.submit((tx) => ({
          result: tx.ops.purgeTopicChunk(topicId, DELETE_CHUNK),
        }));
        if (finished.value === true) return;
      }
    })().catch(() => {
      // Retried at the next open (deleted_topics still lists it).
    });
    this.#purges.add(purge);
    void purge.finally(() => this.#purges.delete(purge));
  }

  // ---- close -------------------------------------------------------------------------------

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const members = [...this.#groups.values()].flatMap((group) => [...group.members]);
    await Promise.allSettled(members.map((member) => member.close()));
    this.#closed = true;
    clearInterval(this.#retentionTimer);
    await this.#sweeping?.catch(() => {});
    // Writes already accepted (appends, commits) still go in before the file closes.
    await this.#batcher.close();
    await Promise.allSettled([...this.#purges]);
    this.#reader.close();
    await this.#writer.close();
  }

  // ---- helpers -----------------------------------------------------------------------------

  #checkOpen(): void {
    if (this.#closed || this.#closing !== undefined) {
      throw new EventLogUnavailableError('the event log is closed');
    }
  }

  #requireTopic(name: string, where: string): TopicState {
    if (typeof name !== 'string') {
      throw new EventLogUsageError(`${where}: topic must be a string, got ${typeof name}`);
    }
    const topic = this.#topics.get(name);
    if (topic === undefined) throw new EventLogUsageError(`${where}: unknown topic "${name}"`);
    return topic;
  }

  #checkPartition(topic: TopicState, partition: unknown, where: string): void {
    if (
      !Number.isInteger(partition) ||
      (partition as number) < 0 ||
      (partition as number) >= topic.partitions.length
    ) {
      throw new EventLogUsageError(
        `${where}: partition ${String(partition)} does not exist (topic "${topic.name}" has partitions 0..${topic.partitions.length - 1})`,
      );
    }
  }

  /**
   * Synchronous write in its own transaction, ahead of the batcher's queue (topic metadata): the
   * main thread waits for the writer thread, so the caches change when the call returns, as the
   * callers (and concurrent ensureTopic calls) expect. Rare, so blocking is cheap.
   */
  #write<T>(what: string, work: (ops: WriteOps) => T): T {
    const ops = new WriteOps();
    const result = work(ops);
    ops.endWrite();
    const { request, transfer } = ops.request();
    let reply: ReturnType<WriterClient['writeSync']>;
    try {
      reply = this.#writer.writeSync(request, transfer);
    } catch (error) {
      throw unavailable(`${what}: cannot write to the event log`, error);
    }
    if (!reply.ok) throw unavailable(`${what}: cannot write to the event log`, reply.message);
    ops.settle(reply.results);
    return result;
  }

  #read<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw unavailable('cannot read the event log', error);
    }
  }

  /** First offset whose timestamp is >= `timestamp`, or the end offset if none. */
  #firstOffsetAtOrAfter(topic: TopicState, partition: number, timestamp: number): number {
    const state = topic.partitions[partition]!;
    if (state.next === state.start || state.lastTimestamp < timestamp) return state.next;
    // Timestamps never decrease within a partition, so binary search the retained offsets.
    let low = state.start;
    let high = state.next - 1;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const at = this.#reader.timestampAt(topic.id, partition, middle);
      if (at === undefined || at < timestamp) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #positionFor(topic: TopicState, partition: number, where: InitialPosition): number {
    const state = topic.partitions[partition]!;
    if (where === 'earliest') return state.start;
    if (where === 'latest') return state.next;
    return this.#firstOffsetAtOrAfter(topic, partition, where.timestamp);
  }

  /** Rewrites a group's committed offsets on every partition and moves its live members. */
  async #repositionGroup(group: string, topic: TopicState, where: InitialPosition): Promise<void> {
    const coordinator = this.#groups.get(groupKey(group, topic.name));
    const offsets = new Map<number, number>();
    this.#read(() => {
      for (const state of topic.partitions)
        offsets.set(state.index, this.#positionFor(topic, state.index, where));
    });
    // Live members first (synchronously), so offsets their running handlers commit afterwards
    // cannot undo the new position.
    coordinator?.reposition(offsets);
    await this.#batcher.submit((tx) => {
      if (this.#topics.get(topic.name) !== topic) {
        throw new EventLogUsageError(`reposition group "${group}": topic "${topic.name}" was deleted`);
      }
      for (const [partition, offset] of offsets) {
        tx.ops.upsertGroupOffset(group, topic.id, partition, offset);
      }
      return { result: undefined };
    });
  }

  async #commit(consumer: EmbeddedConsumer, offsets: CommitOffset[]): Promise<void> {
    // Not #checkOpen: handlers still running while close() drains may commit.
    if (this.#closed) throw new EventLogUnavailableError('the event log is closed');
    const where = `commit (group "${consumer.group}")`;
    if (!Array.isArray(offsets)) throw new EventLogUsageError(`${where}: offsets must be an array`);
    const writes: { topic: TopicState; partition: number; offset: number }[] = [];
    offsets.forEach((entry, index) => {
      const at = `${where}: offsets[${index}]`;
      if (entry === null || typeof entry !== 'object')
        throw new EventLogUsageError(`${at} must be an object`);
      const topic = this.#requireTopic(entry.topic, at);
      this.#checkPartition(topic, entry.partition, at);
      if (!Number.isSafeInteger(entry.offset) || entry.offset < 0) {
        throw new EventLogUsageError(
          `${at}: offset must be a non-negative integer, got ${String(entry.offset)}`,
        );
      }
      // A seek overtook the batch this offset belongs to; committing it would undo the seek.
      if (topic.name === consumer.topic && consumer.commitSuppressed(entry.partition)) return;
      writes.push({ topic, partition: entry.partition, offset: entry.offset });
    });
    if (writes.length === 0) return;
    await this.#batcher.submit((tx) => {
      for (const { topic, partition, offset } of writes) {
        if (this.#topics.get(topic.name) !== topic) {
          throw new EventLogUsageError(`${where}: topic "${topic.name}" was deleted`);
        }
        tx.ops.upsertGroupOffset(consumer.group, topic.id, partition, offset);
      }
      return { result: undefined };
    });
  }

  async #rebalanceTopic(name: string): Promise<void> {
    const rounds = [...this.#groups.values()]
      .filter((group) => group.topicName === name)
      .map((group) => group.rebalance());
    await Promise.all(rounds);
  }

  #readBatch(topic: TopicState, partition: number, fromOffset: number, limit: number): LogRecord[] {
    const end = topic.partitions[partition]?.next ?? fromOffset;
    const rows = this.#read(() => this.#reader.readRecords(topic.id, partition, fromOffset, end, limit));
    return rows.map((row) => ({
      topic: topic.name,
      partition,
      offset: row.offset,
      timestamp: row.timestamp,
      key: row.key,
      event: decodeEvent(row.attributes, row.attribute_types, row.data_kind, row.data),
    }));
  }

  #groupHost(): GroupHost {
    return {
      topic: (name) => (this.#closed ? undefined : this.#topics.get(name)),
      readBatch: (topic, partition, fromOffset, limit) =>
        this.#readBatch(topic, partition, fromOffset, limit),
      positionFor: (topic, partition, where) => this.#read(() => this.#positionFor(topic, partition, where)),
      committedOffsets: (group, topic) => this.#read(() => this.#reader.committedOffsets(group, topic.id)),
      writesSettled: async () => {
        if (this.#closed) return;
        await this.#batcher.submit(() => ({ result: undefined })).catch(() => {});
      },
      commit: (consumer, offsets) => this.#commit(consumer, offsets),
      seekGroupToTimestamp: (group, topic, timestamp) => this.seekGroupToTimestamp(group, topic, timestamp),
      groupEmpty: (group) => {
        const key = groupKey(group.name, group.topicName);
        if (this.#groups.get(key) === group && !group.hasMembers) this.#groups.delete(key);
      },
    };
  }
}

function groupKey(group: string, topic: string): string {
  return `${group}\u0000${topic}`;
}

function topicInfo(topic: TopicState): TopicInfo {
  return { name: topic.name, partitions: topic.partitions.length, retentionMs: topic.retentionMs };
}

function validateTopicName(name: unknown, where: string): asserts name is string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new EventLogUsageError(
      `${where}: invalid topic name ${JSON.stringify(name)} (1-249 characters of a-z A-Z 0-9 . _ -, as in Kafka)`,
    );
  }
}

function validateGroupName(group: unknown, where: string): asserts group is string {
  if (typeof group !== 'string' || group === '') {
    throw new EventLogUsageError(`${where}: group must be a non-empty string, got ${JSON.stringify(group)}`);
  }
}

function validatePosition(position: unknown, allowCommitted: boolean, where: string): void {
  if (position === 'earliest' || position === 'latest' || (allowCommitted && position === 'committed'))
    return;
  if (position !== null && typeof position === 'object') {
    const timestamp = (position as { timestamp?: unknown }).timestamp;
    if (typeof timestamp === 'number' && Number.isFinite(timestamp) && timestamp >= 0) return;
  }
  const allowed = allowCommitted ? "'committed', 'earliest', 'latest'" : "'earliest', 'latest'";
  throw new EventLogUsageError(
    `${where}: expected ${allowed} or { timestamp: <epoch ms> }, got ${JSON.stringify(position)}`,
  );
}
