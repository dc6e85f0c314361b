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
import { EventLogUnavailableError } from '../event-log.js';
import { isUsageFailure, toEventLogError, withDeadline } from './kafka-errors.js';

export interface AppendProducerOptions {
  /** Upper bound for one append, connecting included. */
  appendTimeoutMs: number;
  /** How long the partition leader waits for the in-sync replicas (Kafka's `timeout` of Produce). */
  ackTimeoutMs: number;
  logger: pino.Logger;
}

/** Most messages one produce request carries when concurrent appends are coalesced. */
const MAX_COALESCED_MESSAGES = 5_000;

interface PendingAppend {
  topic: string;
  messages: Message[];
  resolve: (offsets: number[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Appends that arrive while a produce request is in flight wait and then go out together in the
 * next one (group commit). The idempotent producer allows one request in flight, so without this
 * every concurrent append (an ingress serving many clients, a source delivering in parallel) would
 * pay a full acks=all round trip of its own, one after the other.
 */
export class AppendProducer {
  #current: Promise<Producer> | undefined;
  #closed = false;
  readonly #queue: PendingAppend[] = [];
  #flushing = false;

  readonly #kafka: Kafka;
  readonly #options: AppendProducerOptions;

  constructor(kafka: Kafka, options: AppendProducerOptions) {
    this.#kafka = kafka;
    this.#options = options;
  }

  /**
   * Sends the messages (each with its partition already chosen); resolves with each message's
   * offset, in order, once the broker acknowledged them.
   */
  send(topic: string, messages: Message[]): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      this.#queue.push({ topic, messages, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch: PendingAppend[] = [];
        let count = 0;
        while (
          this.#queue.length > 0 &&
          (batch.length === 0 || count + this.#queue[0]!.messages.length <= MAX_COALESCED_MESSAGES)
        ) {
          const next = this.#queue.shift()!;
          count += next.messages.length;
          batch.push(next);
        }
        await this.#sendTogether(batch);
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #sendTogether(batch: PendingAppend[]): Promise<void> {
    try {
      const offsets = await this.#produce(batch);
      for (const [i, append] of batch.entries()) append.resolve(offsets[i]!);
    } catch (error) {
      if (batch.length > 1 && isUsageFailure(error)) {
        // One append's bad record (too large, ...) must not fail the others it was coalesced with.
        for (const append of batch) await this.#sendTogether([append]);
        return;
      }
      for (const append of batch) append.reject(error);
    }
  }

  /** One produce request for every append of the batch; returns each append's offsets. */
  async #produce(batch: PendingAppend[]): Promise<number[][]> {
    const topics = [...new Set(batch.map((a) => a.topic))];
    const action =
      topics.length === 1
        ? `append to "${topics[0]}"`
        : `append to ${topics.map((t) => `"${t}"`).join(', ')}`;
    const topicMessages = topics.map((topic) => ({
      topic,
      messages: batch.filter((a) => a.topic === topic).flatMap((a) => a.messages),
    }));
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
    // Offsets within a partition follow the order the messages were sent in: the base offset of
    // the partition's batch plus a running index, across the coalesced appends in queue order.
    const next = new Map<string, number>();
    for (const ack of acks) next.set(`${ack.topicName}/${ack.partition}`, Number(ack.baseOffset));
    return batch.map((append) =>
      append.messages.map((message) => {
        const key = `${append.topic}/${message.partition}`;
        const offset = next.get(key);
        if (offset === undefined) {
          throw toEventLogError(new Error(`no acknowledgement for partition ${message.partition}`), action);
        }
        next.set(key, offset + 1);
        return offset;
      }),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const append of this.#queue.splice(0))
      append.reject(new EventLogUnavailableError('the event log is closed'));
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
