// The producer behind EventLog.append: acks from all in-sync replicas, idempotent, bounded in
// time, and replaced after any failed send.
//
// Why replace it: an idempotent producer numbers its batches per partition. When a send times out
// we cannot know whether the broker stored it; kafkajs rolls the sequence back, so the NEXT batch
// would reuse the numbers of the one in doubt and the broker could drop it as a "duplicate" of a
// batch it already has. A fresh producer gets a fresh producer id, so that cannot happen; the
// worst case is that the batch in doubt is stored and the caller (told "not accepted") sends it
// again: a duplicate, which at-least-once delivery allows, never a silent loss.
import { type Kafka, type Message, Partitioners, type Producer, type RecordMetadata } from 'kafkajs';
import type pino from 'pino';
import type { PartitionAck } from '../kafka-common/append-coalescer.js';
import { CoalescingProducer } from '../kafka-common/coalescing-producer.js';
import { toEventLogError, withDeadline } from '../kafka-common/kafka-errors.js';
import { connectClient } from './connect-client.js';

export interface AppendProducerOptions {
  /** Upper bound for one append, connecting included. */
  appendTimeoutMs: number;
  /** How long the partition leader waits for the in-sync replicas (Kafka's `timeout` of Produce). */
  ackTimeoutMs: number;
  logger: pino.Logger;
}

/**
 * Concurrent appends are coalesced into shared produce requests (CoalescingProducer, group
 * commit); this class owns the kafkajs producer that sends them.
 */
export class AppendProducer extends CoalescingProducer<Message> {
  #current: Promise<Producer> | undefined;
  readonly #kafka: Kafka;
  readonly #options: AppendProducerOptions;

  constructor(kafka: Kafka, options: AppendProducerOptions) {
    super();
    this.#kafka = kafka;
    this.#options = options;
  }

  /** One produce request; each partition's base offset. */
  protected async produce(
    topicMessages: { topic: string; messages: Message[] }[],
    action: string,
  ): Promise<PartitionAck[]> {
    const attempt = this.#producer().then((producer) =>
      producer
        .sendBatch({ topicMessages, acks: -1, timeout: this.#options.ackTimeoutMs })
        .catch((error: unknown) => {
          this.#retire(producer);
          throw error;
        }),
    );
    let acks: RecordMetadata[];
    try {
      acks = await withDeadline(attempt, this.#options.appendTimeoutMs, action);
    } catch (error) {
      // On a deadline the send may still be running inside kafkajs: retire the producer whether
      // or not it has connected yet.
      const pending = this.#current;
      if (pending)
        void pending.then(
          (p) => this.#retire(p),
          () => {},
        );
      throw toEventLogError(error, action);
    }
    return acks.map((ack) => ({
      topic: ack.topicName,
      partition: ack.partition,
      baseOffset: Number(ack.baseOffset),
    }));
  }

  protected async release(): Promise<void> {
    const pending = this.#current;
    this.#current = undefined;
    if (!pending) return;
    const producer = await pending.catch(() => undefined);
    await producer?.disconnect().catch(() => {});
  }

  #producer(): Promise<Producer> {
    if (this.closed) return Promise.reject(new Error('the event log is closed'));
    if (this.#current) return this.#current;
    const producer = this.#kafka.producer({
      idempotent: true,
      // The idempotent producer keeps one request in flight per broker (kafkajs takes a broker lock
      // around each produce), which is what keeps per-partition order across retries.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Murmur2 like the Java client, so a partitionkey lands on the same partition whichever
      // client wrote it (the event log also calls this partitioner itself, see partitionFor in kafka-event-log.ts).
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    this.#current = connectClient(producer, (failed) => {
      if (this.#current === failed) this.#current = undefined;
    });
    return this.#current;
  }

  #retire(producer: Producer): void {
    const pending = this.#current;
    if (!pending) return;
    void pending.then(
      (p) => {
        if (p !== producer) return;
        if (this.#current === pending) this.#current = undefined;
        this.#options.logger.debug('discarding the producer after a failed append');
        void producer.disconnect().catch(() => {});
      },
      () => {},
    );
  }
}
