// Group commit for Kafka appends, whichever client sends them: appends that arrive while a produce
// request is in flight wait and then go out together in the next one. An idempotent producer keeps
// one request in flight, so without this every concurrent append (an ingress serving many clients,
// a source delivering in parallel) would pay a full acks=all round trip of its own, one after the
// other.
import { EventLogUnavailableError } from '../event-log.js';
import { isUsageFailure, toEventLogError } from './kafka-errors.js';

/** Most messages one produce request carries when concurrent appends are coalesced. */
const MAX_COALESCED_MESSAGES = 5_000;

/** What the coalescer needs of a message: its partition, chosen before it is queued. */
export interface PartitionedMessage {
  partition?: number;
}

/** The broker's answer for one partition of a produce request: the offset of its first record. */
export interface PartitionAck {
  topic: string;
  partition: number;
  baseOffset: number;
}

/**
 * Sends every append of one coalesced batch in ONE produce request (`topicMessages` in queue
 * order) and resolves with one ack per partition written, or rejects with an event-log error.
 */
export type ProduceRequest<M> = (
  topicMessages: { topic: string; messages: M[] }[],
  action: string,
) => Promise<PartitionAck[]>;

interface PendingAppend<M> {
  topic: string;
  messages: M[];
  resolve: (offsets: number[]) => void;
  reject: (error: unknown) => void;
}

export class AppendCoalescer<M extends PartitionedMessage> {
  readonly #queue: PendingAppend<M>[] = [];
  #flushing = false;
  #closed = false;
  readonly #produce: ProduceRequest<M>;

  constructor(produce: ProduceRequest<M>) {
    this.#produce = produce;
  }

  /**
   * Queues the messages (each with its partition already chosen); resolves with each message's
   * offset, in order, once the broker acknowledged them.
   */
  send(topic: string, messages: M[]): Promise<number[]> {
    if (this.#closed) return Promise.reject(new EventLogUnavailableError('the event log is closed'));
    return new Promise<number[]>((resolve, reject) => {
      this.#queue.push({ topic, messages, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  /** Rejects what is still queued; a request in flight settles on its own. */
  close(): void {
    this.#closed = true;
    for (const append of this.#queue.splice(0))
      append.reject(new EventLogUnavailableError('the event log is closed'));
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch: PendingAppend<M>[] = [];
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

  async #sendTogether(batch: PendingAppend<M>[]): Promise<void> {
    try {
      const offsets = await this.#sendBatch(batch);
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
  async #sendBatch(batch: PendingAppend<M>[]): Promise<number[][]> {
    const topics = [...new Set(batch.map((a) => a.topic))];
    const action =
      topics.length === 1
        ? `append to "${topics[0]}"`
        : `append to ${topics.map((t) => `"${t}"`).join(', ')}`;
    const topicMessages = topics.map((topic) => ({
      topic,
      messages: batch.filter((a) => a.topic === topic).flatMap((a) => a.messages),
    }));
    const acks = await this.#produce(topicMessages, action);
    // Offsets within a partition follow the order the messages were sent in: the base offset of
    // the partition's batch plus a running index, across the coalesced appends in queue order.
    const next = new Map<string, number>();
    for (const ack of acks) next.set(`${ack.topic}/${ack.partition}`, ack.baseOffset);
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
}
