// The producer behind the @platformatic/kafka log's append: idempotent, acks from all in-sync
// replicas, bounded in time, and replaced after any failed send (see kafka/append-producer.ts for
// why: a batch in doubt must never make a later batch look like its duplicate). @platformatic/kafka
// itself drops its producer id and sequences after a failed idempotent send; the replacement here
// also covers a send our deadline gave up on while it was still running inside the client.
// Concurrent appends are coalesced into shared produce requests (CoalescingProducer).
import { type MessageToProduce, Producer } from '@platformatic/kafka';
import type pino from 'pino';
import type { PartitionAck } from '../kafka-common/append-coalescer.js';
import { CoalescingProducer } from '../kafka-common/coalescing-producer.js';
import { toEventLogError, withDeadline } from '../kafka-common/kafka-errors.js';
import type { PlatformaticSecurity } from './connection-security.js';

export interface PlatformaticProducerOptions {
  clientId: string;
  bootstrapBrokers: string[];
  security: PlatformaticSecurity;
  /** Upper bound for one append, connecting included. */
  appendTimeoutMs: number;
  connectTimeoutMs: number;
  logger: pino.Logger;
}

/** A record as this producer sends it: partition chosen, everything already bytes. */
export type ProducedRecord = MessageToProduce<Buffer, Buffer, Buffer, Buffer> & { partition: number };

export class PlatformaticAppendProducer extends CoalescingProducer<ProducedRecord> {
  #current: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  readonly #options: PlatformaticProducerOptions;

  constructor(options: PlatformaticProducerOptions) {
    super();
    this.#options = options;
  }

  protected async produce(
    topicMessages: { topic: string; messages: ProducedRecord[] }[],
    action: string,
  ): Promise<PartitionAck[]> {
    const producer = this.#producer();
    const messages = topicMessages.flatMap((t) => t.messages);
    try {
      const result = await withDeadline(
        producer.send({ messages, acks: -1, idempotent: true }),
        this.#options.appendTimeoutMs,
        action,
      );
      return (result.offsets ?? []).map((o) => ({
        topic: o.topic,
        partition: o.partition,
        baseOffset: Number(o.offset),
      }));
    } catch (error) {
      this.#retire(producer);
      throw toEventLogError(error, action);
    }
  }

  protected async release(): Promise<void> {
    const producer = this.#current;
    this.#current = undefined;
    await producer?.close(true).catch(() => {});
  }

  #producer(): Producer<Buffer, Buffer, Buffer, Buffer> {
    if (this.closed) throw new Error('the event log is closed');
    if (this.#current) return this.#current;
    const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: this.#options.clientId,
      bootstrapBrokers: this.#options.bootstrapBrokers,
      ...this.#options.security,
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
      connectTimeout: this.#options.connectTimeoutMs,
      timeout: this.#options.appendTimeoutMs,
      retries: 3,
      retryDelay: 100,
    });
    // An EventEmitter 'error' without a listener would throw; failures reach callers through send.
    producer.on('error', (error: Error) =>
      this.#options.logger.debug({ err: error }, 'Kafka producer error event'),
    );
    this.#current = producer;
    return producer;
  }

  #retire(producer: Producer<Buffer, Buffer, Buffer, Buffer>): void {
    if (this.#current !== producer) return;
    this.#current = undefined;
    this.#options.logger.debug('discarding the producer after a failed append');
    void producer.close(true).catch(() => {});
  }
}
