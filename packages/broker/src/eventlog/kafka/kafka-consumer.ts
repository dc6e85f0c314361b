// One member of a consumer group, on a kafkajs consumer with autoCommit off: offsets are
// committed only through commit(), so what survives a crash is exactly what the caller committed.
import { fromKafkaMessage } from '@eddy/api';
import type { EachBatchPayload, Kafka, Consumer as KafkaJsConsumer, KafkaMessage } from 'kafkajs';
import type pino from 'pino';
import {
  type CommitOffset,
  type ConsumeOptions,
  type Consumer,
  type ConsumerStatus,
  EventLogUsageError,
  type LogRecord,
  type StartPosition,
} from '../event-log.js';
import { toEventLogError, withDeadline } from '../kafka-common/kafka-errors.js';
import { initialOf, type OffsetLookup, targetOffsets } from '../kafka-common/start-positions.js';

export interface KafkaLogConsumerConfig {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  readyTimeoutMs: number;
  operationTimeoutMs: number;
  partitionsConsumedConcurrently: number;
}

const DEFAULT_MAX_BATCH_SIZE = 100;

export class KafkaLogConsumer implements Consumer {
  readonly group: string;
  readonly topic: string;
  #currentStatus: ConsumerStatus = 'running';
  readonly #consumer: KafkaJsConsumer;
  readonly #maxBatchSize: number;
  readonly #readyPromise: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #isReady = false;
  #firstJoin = true;
  /** Settles once this generation's positioning (seeks) is done; batches wait for it. */
  #positioned: Promise<void> = Promise.resolve();
  #assigned: number[] = [];
  #closing: Promise<void> | undefined;
  #readyTimer: NodeJS.Timeout | undefined;
  readonly #options: ConsumeOptions;
  readonly #lookup: OffsetLookup;
  readonly #config: KafkaLogConsumerConfig;
  readonly #logger: pino.Logger;
  readonly #onStopped: (consumer: KafkaLogConsumer) => void;

  constructor(
    kafka: Kafka,
    options: ConsumeOptions,
    lookup: OffsetLookup,
    config: KafkaLogConsumerConfig,
    logger: pino.Logger,
    onStopped: (consumer: KafkaLogConsumer) => void,
  ) {
    this.#options = options;
    this.#lookup = lookup;
    this.#config = config;
    this.#logger = logger;
    this.#onStopped = onStopped;
    this.group = options.group;
    this.topic = options.topic;
    this.#maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.#readyPromise = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Nobody may ever call ready(); its rejection must not become an unhandled one.
    this.#readyPromise.catch(() => {});
    this.#consumer = kafka.consumer({
      groupId: options.group,
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      maxWaitTimeInMs: config.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
  }

  get status(): ConsumerStatus {
    return this.#currentStatus;
  }

  /** Connects, subscribes and starts the fetch loop; ready() tells when the member has joined. */
  async start(): Promise<void> {
    const { GROUP_JOIN, CRASH } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, (event) => this.#onJoin(event.payload.memberAssignment[this.topic] ?? []));
    this.#consumer.on(CRASH, (event) => {
      if (event.payload.restart) {
        this.#logger.warn(
          { err: event.payload.error, group: this.group },
          'consumer restarting after an error',
        );
        return;
      }
      this.#fail(event.payload.error);
    });
    const action = `consume "${this.topic}" as group "${this.group}"`;
    try {
      await withDeadline(this.#consumer.connect(), this.#config.operationTimeoutMs, action);
      await withDeadline(
        this.#consumer.subscribe({
          topic: this.topic,
          fromBeginning: initialOf(this.#options) === 'earliest',
        }),
        this.#config.operationTimeoutMs,
        action,
      );
      await this.#consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.#config.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.#onBatch(payload),
      });
    } catch (error) {
      this.#currentStatus = 'closed';
      await this.#consumer.disconnect().catch(() => {});
      this.#onStopped(this);
      throw toEventLogError(error, action);
    }
    this.#readyTimer = setTimeout(() => {
      this.#rejectReady(
        toEventLogError(
          new Error(`the member did not join within ${this.#config.readyTimeoutMs} ms`),
          `join group "${this.group}"`,
        ),
      );
    }, this.#config.readyTimeoutMs);
  }

  ready(): Promise<void> {
    return this.#readyPromise;
  }

  async commit(offsets: CommitOffset[]): Promise<void> {
    const action = `commit for group "${this.group}"`;
    if (this.#currentStatus !== 'running') {
      throw new EventLogUsageError(`${action}: the consumer is ${this.#currentStatus}`);
    }
    for (const [i, o] of offsets.entries()) {
      if (o.topic !== this.topic) {
        throw new EventLogUsageError(
          `${action}: offsets[${i}].topic is "${o.topic}", this consumer reads "${this.topic}"`,
        );
      }
      if (!Number.isInteger(o.partition) || o.partition < 0) {
        throw new EventLogUsageError(
          `${action}: offsets[${i}].partition must be an integer >= 0, got ${o.partition}`,
        );
      }
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new EventLogUsageError(
          `${action}: offsets[${i}].offset must be an integer >= 0, got ${o.offset}`,
        );
      }
    }
    if (offsets.length === 0) return;
    try {
      await withDeadline(
        this.#consumer.commitOffsets(
          offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })),
        ),
        this.#config.operationTimeoutMs,
        action,
      );
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  async seekToTimestamp(timestamp: number): Promise<void> {
    const action = `seek group "${this.group}" on "${this.topic}" to ${timestamp}`;
    if (this.#currentStatus !== 'running') {
      throw new EventLogUsageError(`${action}: the consumer is ${this.#currentStatus}`);
    }
    try {
      const offsets = await this.#lookup.offsetsForTimestamp(this.topic, timestamp);
      await this.reposition(offsets);
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  /**
   * Moves the group to `offsets`: commits them for every partition (so members elsewhere and the
   * next owner after a rebalance start there) and seeks the partitions this member holds.
   */
  async reposition(offsets: Map<number, number>): Promise<void> {
    await withDeadline(
      this.#consumer.commitOffsets(
        [...offsets].map(([partition, offset]) => ({ topic: this.topic, partition, offset: String(offset) })),
      ),
      this.#config.operationTimeoutMs,
      `reposition group "${this.group}"`,
    );
    for (const partition of this.#assigned) {
      const offset = offsets.get(partition);
      if (offset !== undefined) this.#consumer.seek({ topic: this.topic, partition, offset: String(offset) });
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown('closed');
    return this.#closing;
  }

  async #shutdown(status: ConsumerStatus): Promise<void> {
    if (this.#currentStatus === 'running') this.#currentStatus = status;
    clearTimeout(this.#readyTimer);
    this.#rejectReady(
      new EventLogUsageError(
        `group "${this.group}": the consumer was ${this.#currentStatus} before it joined`,
      ),
    );
    // kafkajs' disconnect stops fetching, waits for running eachBatch calls and leaves the group.
    await this.#consumer.disconnect().catch((error: unknown) => {
      this.#logger.warn({ err: error, group: this.group }, 'error while leaving the consumer group');
    });
    if (this.#assigned.length > 0) {
      this.#assigned = [];
      this.#notifyAssignment([]);
    }
    this.#onStopped(this);
  }

  #fail(error: unknown): void {
    if (this.#currentStatus !== 'running') return;
    const failure = error instanceof Error ? error : new Error(String(error));
    this.#logger.error({ err: failure, group: this.group, topic: this.topic }, 'consumer stopped');
    this.#currentStatus = 'failed';
    // Called from inside eachBatch: kafkajs' disconnect waits for eachBatch to return, so it must
    // not be awaited here.
    this.#closing ??= this.#shutdown('failed').then(() => {
      try {
        this.#options.onError?.(failure);
      } catch (callbackError) {
        this.#logger.error({ err: callbackError }, 'onError callback threw');
      }
    });
  }

  #onJoin(partitions: number[]): void {
    const assigned = [...partitions].sort((a, b) => a - b);
    this.#assigned = assigned;
    const first = this.#firstJoin;
    this.#firstJoin = false;
    this.#positioned = this.#positionAfterJoin(assigned, first).then(
      () => {
        this.#notifyAssignment(assigned);
        if (!this.#isReady) {
          this.#isReady = true;
          clearTimeout(this.#readyTimer);
          this.#resolveReady();
        }
      },
      (error: unknown) => {
        const failure = toEventLogError(error, `position group "${this.group}" on "${this.topic}"`);
        this.#rejectReady(failure);
        this.#fail(failure);
      },
    );
  }

  /**
   * Seeks where the group must start. kafkajs would resolve "earliest"/"latest" lazily at its first
   * fetch, after ready() resolved; resolving them here makes ready() mean "every record appended
   * from now on will be delivered".
   */
  async #positionAfterJoin(assigned: number[], first: boolean): Promise<void> {
    const start: StartPosition = this.#options.start ?? 'committed';
    if (first && start !== 'committed') {
      await this.reposition(await targetOffsets(this.#lookup, this.topic, start));
      return;
    }
    if (assigned.length === 0) return;
    const committed = await this.#lookup.committedOffsets(this.group, this.topic);
    const fresh = assigned.filter((p) => (committed.get(p) ?? null) === null);
    if (fresh.length === 0) return;
    const targets = await targetOffsets(this.#lookup, this.topic, initialOf(this.#options));
    for (const partition of fresh) {
      const offset = targets.get(partition);
      if (offset !== undefined) this.#consumer.seek({ topic: this.topic, partition, offset: String(offset) });
    }
  }

  #notifyAssignment(partitions: number[]): void {
    try {
      this.#options.onAssignment?.(partitions);
    } catch (error) {
      this.#logger.error({ err: error }, 'onAssignment callback threw');
    }
  }

  async #onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    await this.#positioned;
    const { partition, messages } = batch;
    const highWatermark = Number(batch.highWatermark);
    for (let i = 0; i < messages.length; i += this.#maxBatchSize) {
      // A seek or rebalance makes the rest of this batch stale: it is fetched again from the new
      // position, so nothing is resolved past what the handler has seen.
      if (this.#currentStatus !== 'running' || !isRunning() || isStale()) return;
      const slice = messages.slice(i, i + this.#maxBatchSize);
      const records = slice.flatMap((m) => this.#toRecord(partition, m));
      if (records.length > 0) {
        // kafkajs heartbeats only when asked; keep the membership alive while a slow handler runs.
        const keepAlive = setInterval(() => heartbeat().catch(() => {}), this.#config.heartbeatIntervalMs);
        try {
          await this.#options.handler({ topic: this.topic, partition, records, highWatermark });
        } catch (error) {
          this.#fail(error);
          return;
        } finally {
          clearInterval(keepAlive);
        }
      }
      const last = slice[slice.length - 1];
      if (last) resolveOffset(last.offset);
      await heartbeat();
    }
  }

  #toRecord(partition: number, message: KafkaMessage): LogRecord[] {
    const where = `${this.topic}/${partition}@${message.offset}`;
    try {
      return [
        {
          topic: this.topic,
          partition,
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          key: message.key === null ? null : message.key.toString('utf8'),
          event: fromKafkaMessage(message, where),
        },
      ];
    } catch (error) {
      // A record that is not a CloudEvent can never be delivered; stopping the partition for it
      // would block every event behind it. It is logged and skipped.
      this.#logger.error(
        { err: error, group: this.group, record: where },
        'skipping a record that is not a CloudEvent',
      );
      return [];
    }
  }
}
