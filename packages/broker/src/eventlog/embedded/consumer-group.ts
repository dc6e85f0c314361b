// Consumer groups inside one process, with Kafka's semantics: the live members of a group on a
// topic split its partitions; joins and leaves rebalance; a partition moves to its new owner only
// after the old owner's running handler settled, and the new owner starts from the committed
// offset, so uncommitted records are delivered again (at-least-once).

import type {
  CommitOffset,
  ConsumeOptions,
  Consumer,
  ConsumerStatus,
  InitialPosition,
  LogRecord,
  RecordBatch,
} from '../event-log.js';
import { EventLogUnavailableError, EventLogUsageError } from '../event-log.js';
import type { PartitionState, TopicState } from './topic-state.js';

/** What the groups need from the log. */
export interface GroupHost {
  topic(name: string): TopicState | undefined;
  readBatch(topic: TopicState, partition: number, fromOffset: number, limit: number): LogRecord[];
  positionFor(topic: TopicState, partition: number, where: InitialPosition): number;
  committedOffsets(group: string, topic: TopicState): Map<number, number>;
  /** Resolves once every write submitted so far is committed (so committed offsets are current). */
  writesSettled(): Promise<void>;
  commit(consumer: EmbeddedConsumer, offsets: CommitOffset[]): Promise<void>;
  seekGroupToTimestamp(group: string, topic: string, timestamp: number): Promise<void>;
  /** Called when the last member left, so the log can forget the group's in-memory state. */
  groupEmpty(group: ConsumerGroup): void;
}

export class ConsumerGroup {
  readonly name: string;
  readonly topicName: string;
  readonly #host: GroupHost;
  readonly #members: EmbeddedConsumer[] = [];
  /** partition -> member running it. Only the current topic id's partitions. */
  readonly #owners = new Map<number, EmbeddedConsumer>();
  #ownedTopicId: number | undefined;
  /**
   * Start offsets resolved from the `initial` position for partitions without a committed offset.
   * Kept for the group's lifetime so a partition handed to another member does not re-resolve
   * `latest` and skip what arrived in between.
   */
  readonly #initialPositions = new Map<number, number>();
  #rebalancing: Promise<void> | undefined;
  #rebalanceAgain = false;

  constructor(host: GroupHost, name: string, topicName: string) {
    this.#host = host;
    this.name = name;
    this.topicName = topicName;
  }

  get hasMembers(): boolean {
    return this.#members.length > 0;
  }

  get members(): readonly EmbeddedConsumer[] {
    return this.#members;
  }

  async join(member: EmbeddedConsumer): Promise<void> {
    this.#members.push(member);
    await this.rebalance();
  }

  async leave(member: EmbeddedConsumer): Promise<void> {
    const index = this.#members.indexOf(member);
    if (index >= 0) this.#members.splice(index, 1);
    await this.rebalance();
    if (this.#members.length === 0 && this.#owners.size === 0) this.#host.groupEmpty(this);
  }

  /** The member currently running `partition`, if any. */
  ownerOf(partition: number): EmbeddedConsumer | undefined {
    return this.#owners.get(partition);
  }

  /** Moves live members to new positions (committed offsets were already rewritten). */
  reposition(offsets: Map<number, number>): void {
    this.#initialPositions.clear();
    for (const [partition, offset] of offsets) this.#owners.get(partition)?.seekPartition(partition, offset);
  }

  forgetInitialPositions(): void {
    this.#initialPositions.clear();
  }

  /** Recomputes the assignment; concurrent calls coalesce into one more round. */
  rebalance(): Promise<void> {
    if (this.#rebalancing !== undefined) {
      this.#rebalanceAgain = true;
      return this.#rebalancing;
    }
    this.#rebalancing = (async () => {
      try {
        do {
          this.#rebalanceAgain = false;
          try {
            await this.#rebalanceOnce();
          } catch (error) {
            // The database failed under us (reads of committed offsets): members cannot know
            // where to start, so they stop like on a handler error and the caller learns why.
            for (const member of this.#members) member.fail(error);
            this.#rebalanceAgain = this.#members.length > 0 || this.#owners.size > 0;
          }
        } while (this.#rebalanceAgain);
      } finally {
        this.#rebalancing = undefined;
      }
    })();
    return this.#rebalancing;
  }

  async #rebalanceOnce(): Promise<void> {
    const topic = this.#host.topic(this.topicName);
    const active = this.#members.filter((member) => member.status === 'running');
    const target = new Map<number, EmbeddedConsumer>();
    if (topic !== undefined && active.length > 0) {
      // Round-robin over members in join order: deterministic, and moves few partitions when
      // one member joins or leaves.
      for (let partition = 0; partition < topic.partitions.length; partition++) {
        target.set(partition, active[partition % active.length]!);
      }
    }
    const sameTopic = topic !== undefined && topic.id === this.#ownedTopicId;
    const before = new Map(this.#members.map((member) => [member, member.assignedPartitions()]));

    const revocations: Promise<void>[] = [];
    for (const [partition, owner] of this.#owners) {
      if (!sameTopic || target.get(partition) !== owner) {
        this.#owners.delete(partition);
        if (!before.has(owner)) before.set(owner, owner.assignedPartitions());
        revocations.push(owner.revokePartition(partition));
      }
    }
    await Promise.all(revocations);

    if (topic !== undefined && target.size > 0) {
      if (!sameTopic) this.#initialPositions.clear();
      this.#ownedTopicId = topic.id;
      // Offsets committed by the previous owners (maybe without awaiting) must be visible.
      await this.#host.writesSettled();
      const current = this.#host.topic(this.topicName);
      if (current === topic) {
        const committed = this.#host.committedOffsets(this.name, topic);
        for (const [partition, member] of target) {
          if (this.#owners.has(partition) || member.status !== 'running') continue;
          const position = this.#startPosition(topic, partition, committed, member.initial);
          this.#owners.set(partition, member);
          member.assignPartition(topic, partition, position);
        }
      } else {
        this.#rebalanceAgain = true;
      }
    }

    for (const [member, previous] of before) {
      const now = member.assignedPartitions();
      if (now.length !== previous.length || now.some((partition, i) => previous[i] !== partition)) {
        member.notifyAssignment(now);
      }
    }
    for (const member of active) member.markReady();
  }

  #startPosition(
    topic: TopicState,
    partition: number,
    committed: Map<number, number>,
    initial: InitialPosition,
  ): number {
    const offset = committed.get(partition);
    if (offset !== undefined) return offset;
    let resolved = this.#initialPositions.get(partition);
    if (resolved === undefined) {
      resolved = this.#host.positionFor(topic, partition, initial);
      this.#initialPositions.set(partition, resolved);
    }
    return resolved;
  }
}

export interface MemberSettings {
  initial: InitialPosition;
  maxBatchSize: number;
  handler: ConsumeOptions['handler'];
  onAssignment: ConsumeOptions['onAssignment'];
  onError: ConsumeOptions['onError'];
}

export class EmbeddedConsumer implements Consumer {
  readonly group: string;
  readonly topic: string;
  readonly initial: InitialPosition;
  readonly #host: GroupHost;
  readonly #coordinator: ConsumerGroup;
  readonly #settings: MemberSettings;
  readonly #workers = new Map<number, PartitionWorker>();
  #status: ConsumerStatus = 'running';
  /** True once the member left its group; commits are refused from then on. */
  #left = false;
  #leaving: Promise<void> | undefined;
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;

  constructor(host: GroupHost, coordinator: ConsumerGroup, settings: MemberSettings) {
    this.#host = host;
    this.#coordinator = coordinator;
    this.#settings = settings;
    this.group = coordinator.name;
    this.topic = coordinator.topicName;
    this.initial = settings.initial;
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  get status(): ConsumerStatus {
    return this.#status;
  }

  get maxBatchSize(): number {
    return this.#settings.maxBatchSize;
  }

  get handler(): ConsumeOptions['handler'] {
    return this.#settings.handler;
  }

  get hasLeft(): boolean {
    return this.#left;
  }

  /** Whether commits for `partition` must be dropped because a seek overtook the batch in flight. */
  commitSuppressed(partition: number): boolean {
    return this.#workers.get(partition)?.commitsSuppressed === true;
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  commit(offsets: CommitOffset[]): Promise<void> {
    if (this.#left) {
      return Promise.reject(
        new EventLogUsageError(`commit: the consumer of group "${this.group}" on "${this.topic}" is closed`),
      );
    }
    return this.#host.commit(this, offsets);
  }

  seekToTimestamp(timestamp: number): Promise<void> {
    return this.#host.seekGroupToTimestamp(this.group, this.topic, timestamp);
  }

  close(): Promise<void> {
    if (this.#status === 'running') this.#status = 'closed';
    return this.#leave();
  }

  /** Stops the member because its handler threw: leaves the group without committing. */
  fail(error: unknown): void {
    if (this.#status !== 'running') return;
    this.#status = 'failed';
    const failure = error instanceof Error ? error : new Error(String(error));
    void this.#leave().finally(() => {
      try {
        this.#settings.onError?.(failure);
      } catch {
        // A throwing error callback must not take the log down.
      }
    });
  }

  #leave(): Promise<void> {
    this.#leaving ??= this.#coordinator.leave(this).finally(() => {
      this.#left = true;
      this.#resolveReady();
    });
    return this.#leaving;
  }

  assignedPartitions(): number[] {
    return [...this.#workers.keys()].sort((a, b) => a - b);
  }

  assignPartition(topic: TopicState, partition: number, position: number): void {
    const worker = new PartitionWorker(this.#host, this, topic, partition, position);
    this.#workers.set(partition, worker);
    worker.start();
  }

  async revokePartition(partition: number): Promise<void> {
    const worker = this.#workers.get(partition);
    if (worker === undefined) return;
    await worker.stop();
    this.#workers.delete(partition);
  }

  seekPartition(partition: number, offset: number): void {
    this.#workers.get(partition)?.seek(offset);
  }

  notifyAssignment(partitions: number[]): void {
    try {
      this.#settings.onAssignment?.(partitions);
    } catch {
      // Observers must not break the rebalance.
    }
  }

  markReady(): void {
    this.#resolveReady();
  }
}

/** Delivers one partition to one member: fetch a bounded batch, await the handler, repeat. */
class PartitionWorker {
  readonly #host: GroupHost;
  readonly #member: EmbeddedConsumer;
  readonly #topic: TopicState;
  readonly #partition: number;
  #position: number;
  #stopped = false;
  #running: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #seekTarget: number | undefined;
  #inFlight = false;
  commitsSuppressed = false;

  constructor(
    host: GroupHost,
    member: EmbeddedConsumer,
    topic: TopicState,
    partition: number,
    position: number,
  ) {
    this.#host = host;
    this.#member = member;
    this.#topic = topic;
    this.#partition = partition;
    this.#position = position;
  }

  start(): void {
    this.#running = this.#loop();
  }

  stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    return this.#running;
  }

  seek(offset: number): void {
    this.#seekTarget = offset;
    // Offsets the running handler commits would undo the seek; drop them until the next fetch.
    if (this.#inFlight) this.commitsSuppressed = true;
    this.#wake?.();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      if (this.#seekTarget !== undefined) {
        this.#position = this.#seekTarget;
        this.#seekTarget = undefined;
      }
      this.commitsSuppressed = false;
      if (this.#host.topic(this.#topic.name) !== this.#topic) return;
      const state = this.#topic.partitions[this.#partition];
      if (state === undefined) return;
      // A position below the retained start reads from the start (the query does that); one
      // beyond the end (a commit past the end) waits for the log to reach it, as Kafka would not.
      if (this.#position >= state.next) {
        await this.#waitForAppend(state);
        continue;
      }
      let records: LogRecord[];
      try {
        records = this.#host.readBatch(
          this.#topic,
          this.#partition,
          this.#position,
          this.#member.maxBatchSize,
        );
      } catch (error) {
        this.#member.fail(
          error instanceof EventLogUnavailableError ? error : new EventLogUnavailableError(String(error)),
        );
        return;
      }
      if (records.length === 0) {
        await this.#waitForAppend(state);
        continue;
      }
      const batch: RecordBatch = {
        topic: this.#topic.name,
        partition: this.#partition,
        records,
        highWatermark: state.next,
      };
      this.#inFlight = true;
      try {
        await this.#member.handler(batch);
      } catch (error) {
        this.#member.fail(error);
        return;
      } finally {
        this.#inFlight = false;
      }
      this.#position = records[records.length - 1]!.offset + 1;
      // Let timers and I/O (appends, HTTP) run between batches even when handlers never wait.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #waitForAppend(state: PartitionState): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        state.waiters.delete(wake);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = wake;
      state.waiters.add(wake);
    });
  }
}
