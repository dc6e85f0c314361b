// The event log: the one narrow interface that Brokers, Channels, the dispatcher, replay and the
// autoscaler's backlog reader use. Two implementations (Kafka on kafkajs, embedded on SQLite)
// pass the same conformance suite (event-log.conformance.ts), so everything above this file runs
// unchanged on a laptop and on a Kafka cluster.
//
// Semantics follow Kafka's: a topic has N partitions, each an append-only sequence of records
// with dense offsets starting at 0; consumer groups own committed offsets, where a committed
// offset is the offset of the NEXT record to read (Kafka's convention), so committing a processed
// record at offset o means committing o + 1.

import type { KafkaContentMode, PlainEvent } from '@eddy/api';

/** A CloudEvent as the log stores it. Attributes and specversion are kept exactly as given. */
export type LogEvent = PlainEvent;

export interface TopicSpec {
  /** Number of partitions; ensureTopic never shrinks an existing topic. Default 1. */
  partitions?: number;
  /** Records older than this are deleted (Kafka retention.ms). Undefined = keep forever. */
  retentionMs?: number;
  /**
   * Replicas per partition, used when the topic is created (an existing topic keeps its own). Undefined =
   * the log's default. The embedded log has one copy and ignores it.
   */
  replicationFactor?: number;
  /**
   * More topic configs by Kafka's name (`max.message.bytes`, `min.insync.replicas`, ...), applied at creation
   * and kept in step after. The log's own (`cleanup.policy`, `message.timestamp.type`, `retention.ms`)
   * cannot be overridden here. The embedded log ignores them.
   */
  config?: Readonly<Record<string, string>>;
}

export interface TopicInfo {
  name: string;
  partitions: number;
  retentionMs: number | undefined;
}

export interface AppendOptions {
  /**
   * Partition to write every event of this batch to. Default: the event's `partitionkey`
   * extension hashed (same key -> same partition), else round-robin.
   */
  partition?: number;
  /**
   * How a Kafka log encodes the records (the CloudEvents Kafka binding's content mode). Default
   * binary, which Eddy's own topics always use; `structured` is for a KafkaSink that asks for it. The
   * embedded log stores events, not records, and ignores it.
   */
  contentMode?: KafkaContentMode;
}

/** Where an appended event landed. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: number;
}

export interface LogRecord extends RecordPosition {
  /** Record timestamp in epoch milliseconds (append time). */
  timestamp: number;
  /** Record key (the `partitionkey` extension in the Kafka binding), if any. */
  key: string | null;
  event: LogEvent;
}

/**
 * Where a consumer group starts.
 * - `committed`: resume from the group's committed offsets; partitions with none start at
 *   `initial` (default `latest`). This is what a restarted dispatcher uses.
 * - `earliest` / `latest` / `{ timestamp }`: reposition the whole group there first, discarding
 *   committed offsets (replay, "start from" annotations).
 */
export type StartPosition = 'committed' | 'earliest' | 'latest' | { timestamp: number };
export type InitialPosition = 'earliest' | 'latest' | { timestamp: number };

export interface ConsumeOptions {
  group: string;
  topic: string;
  start?: StartPosition;
  initial?: InitialPosition;
  /**
   * This consumer may read through the log's shared reader of the topic, when the log runs one (the
   * Kafka log on @platformatic/kafka with `sharedReaders`; see kafka-common/topic-reader.ts). Its group
   * then holds committed offsets only (commits without a member: lag, start positions and deleteGroup
   * as usual), its partitions are its process's share of the topic, and every process reading the
   * topic this way must consume the same groups on it. Other logs ignore it. The dispatcher's routes
   * set it; nothing else should.
   */
  sharedReader?: boolean;
  /**
   * Commit the positions partitions without a commit start at (`initial`) as soon as the member
   * joins, as Knative's Kafka consumers do: a partition that later moves to a member in another
   * process then starts there instead of resolving `latest` again and skipping what was appended in
   * between. The dispatcher's routes set it; a group that must never commit (a throw-away reader)
   * must not. The embedded log, one process, ignores it (its group keeps the resolved positions).
   */
  commitInitial?: boolean;
  /** Upper bound on records handed to one handler call. Default 100. */
  maxBatchSize?: number;
  /**
   * Called with records of ONE partition in offset order. The next batch of that partition is
   * not delivered until the returned promise settles (this is the backpressure that keeps memory
   * bounded under a huge backlog). Batches of different partitions may run concurrently. A
   * thrown error stops the consumer (status `failed`) without committing anything.
   */
  handler: (batch: RecordBatch) => Promise<void>;
  /** Partitions assigned to / revoked from this member (rebalance, close). */
  onAssignment?: (assigned: number[]) => void;
  /**
   * Called once when the consumer stops on its own: the handler threw (or the log failed). The
   * member has left its group by then, so its partitions go to other members from the committed
   * offsets. Not called for close().
   */
  onError?: (error: Error) => void;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  records: LogRecord[];
  /** Log end offset of this partition when the batch was fetched (for lag reporting). */
  highWatermark: number;
}

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to read: the last processed record's offset + 1. */
  offset: number;
}

/** `failed`: a handler threw (see ConsumeOptions.onError); `closed`: close() was called. */
export type ConsumerStatus = 'running' | 'failed' | 'closed';

export interface Consumer {
  readonly group: string;
  readonly topic: string;
  readonly status: ConsumerStatus;
  /** Resolves once the member joined its group and has its first assignment. */
  ready(): Promise<void>;
  /**
   * Commits offsets for the group. Only what is committed survives a crash: uncommitted
   * records are delivered again to whichever member owns the partition next.
   */
  commit(offsets: CommitOffset[]): Promise<void>;
  /** Moves this live group's position on every partition to the first record at or after `timestamp`. */
  seekToTimestamp(timestamp: number): Promise<void>;
  /** Stops fetching, waits for running handlers, leaves the group. Does not commit. */
  close(): Promise<void>;
}

export interface PartitionOffset {
  partition: number;
  offset: number;
}

export interface PartitionLag {
  partition: number;
  /** Committed offset of the group, or null when the group never committed on this partition. */
  committed: number | null;
  /** Offset of the next record to be appended (Kafka's high watermark / log end offset). */
  end: number;
  /** First offset still retained. */
  start: number;
  /** Records not yet committed: end - (committed ?? start). */
  lag: number;
}

export interface EventLog {
  /** Implementation name for logs and metrics: `kafka` or `embedded`. */
  readonly kind: 'kafka' | 'embedded';
  /** Creates the topic, or grows its partitions / updates retention. Idempotent. */
  ensureTopic(name: string, spec?: TopicSpec): Promise<TopicInfo>;
  deleteTopic(name: string): Promise<void>;
  listTopics(): Promise<TopicInfo[]>;
  /**
   * Appends the events in order. Resolves only once every event is durable (Kafka: acks=all with
   * an idempotent producer; embedded: committed to disk); rejects if any could not be stored, in
   * which case the caller must treat the whole batch as not accepted.
   */
  append(topic: string, events: LogEvent[], options?: AppendOptions): Promise<RecordPosition[]>;
  /** Joins `group` on `topic` and starts delivering batches to the handler. */
  consume(options: ConsumeOptions): Promise<Consumer>;
  /** Per-partition backlog of a group (whether or not it has live members). */
  lag(group: string, topic: string): Promise<PartitionLag[]>;
  /**
   * lag() of many groups on one topic, for logs that read them in a few requests (Kafka: OffsetFetch
   * takes many groups): a dispatcher with thousands of routes refreshes their lag with it.
   */
  lagOfGroups?(groups: string[], topic: string): Promise<Map<string, PartitionLag[]>>;
  /**
   * Sets a group's committed offsets on every partition to the first record at or after
   * `timestamp` (end of log if none). Works whether or not the group has live members in this
   * process; live members continue from the new position.
   */
  seekGroupToTimestamp(group: string, topic: string, timestamp: number): Promise<void>;
  /**
   * Per partition, the first offset whose record timestamp is >= `timestamp`, or the log end offset
   * when no record is that recent: where a time window of the topic starts (replay, export, history).
   * Record timestamps are the append time and never decrease within a partition (Kafka topics use
   * LogAppendTime), so an offset range is exactly a time range. Sorted by partition.
   */
  offsetsForTimestamp(topic: string, timestamp: number): Promise<PartitionOffset[]>;
  /** Deletes a group's committed offsets (after a Trigger is deleted). */
  deleteGroup(group: string): Promise<void>;
  /** Closes every consumer and connection this log opened. */
  close(): Promise<void>;
}

/**
 * A group's backlog on a topic summed over partitions: what the autoscaler reads, from any process
 * with a client of the log (committed offsets cover every member of the group).
 */
export async function groupLag(log: Pick<EventLog, 'lag'>, group: string, topic: string): Promise<number> {
  const partitions = await log.lag(group, topic);
  return partitions.reduce((sum, partition) => sum + partition.lag, 0);
}

/** Raised when the log cannot store or serve data right now (ingress answers 503). */
export class EventLogUnavailableError extends Error {
  override readonly name = 'EventLogUnavailableError';
}

/** Raised for calls that can never succeed (unknown topic, bad partition, ...). */
export class EventLogUsageError extends Error {
  override readonly name: string = 'EventLogUsageError';
}

/**
 * Raised when a record, or a batch, is larger than the log accepts (ingress answers 413). A usage
 * error: the same records never succeed.
 */
export class RecordTooLargeError extends EventLogUsageError {
  override readonly name = 'RecordTooLargeError';
}
