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
import { toEventLogError, withDeadline } from './kafka-errors.js';

export interface AppendProducerOptions {
  /** Upper bound for one append, connecting included. */
  appendTimeoutMs: number;
  /** How long the partition leader waits for the in-sync replicas (Kafka's `timeout` of Produce). */
  ackTimeoutMs: number;
  logger: pino.Logger;
}

export class AppendProducer {
  private current: Promise<Producer> | undefined;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: AppendProducerOptions,
  ) {}

  /** Sends the messages (each with its partition already chosen) and returns the broker's acks. */
  async send(topic: string, messages: Message[]): Promise<RecordMetadata[]> {
    const action = `append to "${topic}"`;
    const attempt = this.producer().then((producer) =>
      producer
        .send({ topic, messages, acks: -1, timeout: this.options.ackTimeoutMs })
        .catch((error: unknown) => {
          this.retire(producer);
          throw error;
        }),
    );
    try {
      return await withDeadline(attempt, this.options.appendTimeoutMs, action);
    } catch (error) {
      // On a deadline the send may still be running inside kafkajs: retire the producer whether
      // or not it has connected yet.
      const pending = this.current;
      if (pending)
        void pending.then(
          (p) => this.retire(p),
          () => {},
        );
      throw toEventLogError(error, action);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.current;
    this.current = undefined;
    if (!pending) return;
    const producer = await pending.catch(() => undefined);
    await producer?.disconnect().catch(() => {});
  }

  private producer(): Promise<Producer> {
    if (this.closed) return Promise.reject(new Error('the event log is closed'));
    if (this.current) return this.current;
    const producer = this.kafka.producer({
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
        if (this.current === connecting) this.current = undefined;
        void producer.disconnect().catch(() => {});
        throw error;
      },
    );
    this.current = connecting;
    return connecting;
  }

  private retire(producer: Producer): void {
    const pending = this.current;
    if (!pending) return;
    void pending.then(
      (p) => {
        if (p !== producer) return;
        if (this.current === pending) this.current = undefined;
        this.options.logger.debug('discarding the producer after a failed append');
        void producer.disconnect().catch(() => {});
      },
      () => {},
    );
  }
}
