// One member of a consumer group on a kafkajs consumer with autoCommit off: offsets are committed
// only through commit(), so what survives a crash is exactly what the caller committed. kafkajs
// runs the membership and the fetching; what the Consumer contract adds on top of that (ready,
// positions, seeks, failure, close) is KafkaGroupMember's.
import type { EachBatchPayload, Kafka, Consumer as KafkaJsConsumer } from 'kafkajs';
import { type GroupMemberContext, KafkaGroupMember } from '../kafka-common/group-member.js';
import { withDeadline } from '../kafka-common/kafka-errors.js';
import { initialOf } from '../kafka-common/start-positions.js';

export interface KafkaLogConsumerConfig {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  partitionsConsumedConcurrently: number;
}

export class KafkaLogConsumer extends KafkaGroupMember {
  readonly #consumer: KafkaJsConsumer;
  readonly #config: KafkaLogConsumerConfig;
  readonly #operationTimeoutMs: number;

  constructor(kafka: Kafka, context: GroupMemberContext, config: KafkaLogConsumerConfig) {
    super(context);
    this.#config = config;
    this.#operationTimeoutMs = context.operationTimeoutMs;
    this.#consumer = kafka.consumer({
      groupId: this.group,
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      maxWaitTimeInMs: config.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
  }

  async start(): Promise<void> {
    const { GROUP_JOIN, CRASH } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, (event) => this.joined(event.payload.memberAssignment[this.topic] ?? []));
    this.#consumer.on(CRASH, (event) => {
      if (event.payload.restart) {
        this.logger.warn(
          { err: event.payload.error, group: this.group },
          'consumer restarting after an error',
        );
        return;
      }
      this.fail(event.payload.error);
    });
    const action = `consume "${this.topic}" as group "${this.group}"`;
    try {
      await withDeadline(this.#consumer.connect(), this.#operationTimeoutMs, action);
      await withDeadline(
        this.#consumer.subscribe({
          topic: this.topic,
          fromBeginning: initialOf(this.options) === 'earliest',
        }),
        this.#operationTimeoutMs,
        action,
      );
      await this.#consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.#config.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.#onBatch(payload),
      });
    } catch (error) {
      await this.abandonStart(error, action, () => this.#consumer.disconnect().catch(() => {}));
    }
    this.armReadyTimeout();
  }

  protected sendCommit(offsets: [number, number][]): Promise<void> {
    return this.#consumer.commitOffsets(
      offsets.map(([partition, offset]) => ({ topic: this.topic, partition, offset: String(offset) })),
    );
  }

  protected seekAssigned(offsets: Map<number, number>): void {
    for (const partition of this.assigned) {
      const offset = offsets.get(partition);
      if (offset !== undefined) this.#seek(partition, offset);
    }
  }

  protected assign(partitions: number[]): number[] {
    return partitions;
  }

  /**
   * kafkajs would resolve a partition without a commit lazily at its first fetch, after ready()
   * resolved; seeking it here to `initial` makes ready() mean "every record appended from now on
   * will be delivered". Partitions with a commit are left to kafkajs, which starts there.
   */
  protected startAt(partition: number, offset: number, committed: boolean): void {
    if (!committed) this.#seek(partition, offset);
  }

  protected async leaveGroup(): Promise<void> {
    // kafkajs' disconnect stops fetching, waits for running eachBatch calls and leaves the group.
    await this.#consumer.disconnect().catch((error: unknown) => {
      this.logger.warn({ err: error, group: this.group }, 'error while leaving the consumer group');
    });
  }

  #seek(partition: number, offset: number): void {
    this.#consumer.seek({ topic: this.topic, partition, offset: String(offset) });
  }

  async #onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    await this.positioned;
    const { partition, messages } = batch;
    const highWatermark = Number(batch.highWatermark);
    for (let i = 0; i < messages.length; i += this.maxBatchSize) {
      // A seek or rebalance makes the rest of this batch stale: it is fetched again from the new
      // position, so nothing is resolved past what the handler has seen.
      if (this.status !== 'running' || !isRunning() || isStale()) return;
      const slice = messages.slice(i, i + this.maxBatchSize);
      const records = slice.flatMap((m) => this.decode(partition, m.offset, Number(m.timestamp), m) ?? []);
      if (records.length > 0) {
        // kafkajs heartbeats only when asked; keep the membership alive while a slow handler runs.
        const keepAlive = setInterval(() => heartbeat().catch(() => {}), this.#config.heartbeatIntervalMs);
        try {
          if (!(await this.handle(partition, records, highWatermark))) return;
        } finally {
          clearInterval(keepAlive);
        }
      }
      const last = slice[slice.length - 1];
      if (last) resolveOffset(last.offset);
      await heartbeat();
    }
  }
}
