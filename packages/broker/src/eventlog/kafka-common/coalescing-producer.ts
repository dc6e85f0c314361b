// The frame of both Kafka logs' append producers: appends go through an AppendCoalescer (group
// commit), and close() stops taking them before the client's producer is released. The client's
// producer class supplies one produce request and the release.
import { AppendCoalescer, type PartitionAck, type PartitionedMessage } from './append-coalescer.js';

export abstract class CoalescingProducer<M extends PartitionedMessage> {
  #closed = false;
  readonly #coalescer = new AppendCoalescer<M>((topicMessages, action) =>
    this.produce(topicMessages, action),
  );

  /**
   * Sends the messages (each with its partition already chosen); resolves with each message's
   * offset, in order, once the broker acknowledged them.
   */
  send(topic: string, messages: M[]): Promise<number[]> {
    return this.#coalescer.send(topic, messages);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#coalescer.close();
    await this.release();
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  /** One produce request for `topicMessages`; each partition's base offset, or an event-log error. */
  protected abstract produce(
    topicMessages: { topic: string; messages: M[] }[],
    action: string,
  ): Promise<PartitionAck[]>;

  /** Closes the client's producer, if there is one. */
  protected abstract release(): Promise<void>;
}
