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
import { AppendCoalescer, type PartitionAck } from '../kafka-common/append-coalescer.js';
import { toEventLogError, withDeadline } from '../kafka-common/kafka-errors.js';

export interface AppendProducerOptions {
  /** Upper bound for one append, connecting included. */
  appendTimeoutMs: number;
  /** How long the partition leader waits for the in-sync replicas (Kafka's `timeout` of Produce). */
  ackTimeoutMs: number;
  logger: pino.Logger;
}

/**
 * Concurrent appends are coalesced into shared produce requests (AppendCoalescer, group commit);
 * this class owns the kafkajs producer that sends them.
 */
export class AppendProducer {
  #current: Promise<Producer> | undefined;
  #closed = false;
  readonly #coalescer: AppendCoalescer<Message>;

  readonly #kafka: Kafka;
  readonly #options: AppendProducerOptions;

  constructor(kafka: Kafka, options: AppendProducerOptions) {
    this.#kafka = kafka;
    this.#options = options;
    this.#coalescer = new AppendCoalescer((topicMessages, action) => this.#produce(topicMessages, action));
  }

  /**
   * Sends the messages (each with its partition already chosen); resolves with each message's
   * offset, in order, once the broker acknowledged them.
   */
  send(topic: string, messages: Message[]): Promise<number[]> {
    return this.#coalescer.send(topic, messages);
  }

  /** One produce request; each partition's base offset. */
  async #produce(
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

  async close(): Promise<void> {
    this.#closed = true;
    this.#coalescer.close();
    const pending = this.#current;
    this.#current = undefined;
    if (!pending) return;
    const producer = await pending.catch(() => undefined);
    await producer?.disconnect().catch(() => {});
  }

  #producer(): Promise<Producer> {
    if (this.#closed) return Promise.reject(new Error('the event log is closed'));
    if (this.#current) return this.#current;
    const producer = this.#kafka.producer({
      idempotent: true,
      // The idempotent producer keeps one request in flight per broker (kafkajs takes a broker lock
      // around each produce), which is what keeps per-partition order across retries.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Murmur2 like the Java client, so a partitionkey lands on the same partition whichever
      // client wrote it (the event log also calls this partitioner itself, see partitions.ts).
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    const connecting = producer.connect().then(
      () => producer,
      (error: unknown) => {
        if (this.#current === connecting) this.#current = undefined;
        void producer.disconnect().catch(() => {});
        throw error;
      },
    );
    this.#current = connecting;
    return connecting;
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
