// One member of a consumer group, whichever Kafka client runs it: the part of the Consumer
// contract that does not depend on the client. ready() resolves once the first join is positioned;
// commit() checks its offsets; a seek commits for the whole group and moves the partitions this
// member holds; start positions are resolved on each join (so ready() means "every record appended
// from now on will be delivered", not "the client will look at its first fetch"); a throwing
// handler fails the member; close() leaves the group once. The kafkajs and @platformatic/kafka
// members (kafka/, platformatic/) supply the fetching, the seeks and the group membership itself.
import { fromKafkaMessage, type KafkaBindingMessage } from '@eddy/api';
import type pino from 'pino';
import {
  type CommitOffset,
  type ConsumeOptions,
  type Consumer,
  type ConsumerStatus,
  EventLogUsageError,
  type LogRecord,
} from '../event-log.js';
import { checkCommitOffsets } from './consume-arguments.js';
import { toEventLogError, withDeadline } from './kafka-errors.js';
import { initialOf, type OffsetLookup, targetOffsets } from './start-positions.js';

/** What the event log hands each member it starts. */
export interface GroupMemberContext {
  options: ConsumeOptions;
  lookup: OffsetLookup;
  logger: pino.Logger;
  readyTimeoutMs: number;
  /** Bound for commits and the setup of a join. */
  operationTimeoutMs: number;
  /** Called once the member stopped (closed, failed, or never started), to forget it. */
  onStopped: (member: KafkaGroupMember) => void;
}

const DEFAULT_MAX_BATCH_SIZE = 100;

export abstract class KafkaGroupMember implements Consumer {
  readonly group: string;
  readonly topic: string;
  protected readonly options: ConsumeOptions;
  protected readonly logger: pino.Logger;
  protected readonly maxBatchSize: number;
  readonly #context: GroupMemberContext;
  #status: ConsumerStatus = 'running';
  readonly #readyPromise: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #isReady = false;
  #readyTimer: NodeJS.Timeout | undefined;
  #firstJoin = true;
  /** Counts joins: the positioning of a join overtaken by a newer one reports nothing. */
  #joins = 0;
  #assigned: number[] = [];
  /** Settles once the latest join's positioning is done; deliveries wait for it. */
  #positioned: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(context: GroupMemberContext) {
    this.#context = context;
    this.options = context.options;
    this.logger = context.logger;
    this.group = context.options.group;
    this.topic = context.options.topic;
    this.maxBatchSize = context.options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.#readyPromise = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Nobody may ever call ready(); its rejection must not become an unhandled one.
    this.#readyPromise.catch(() => {});
  }

  get status(): ConsumerStatus {
    return this.#status;
  }

  /** Connects, joins and starts fetching; ready() tells when the first join is positioned. */
  abstract start(): Promise<void>;

  ready(): Promise<void> {
    return this.#readyPromise;
  }

  async commit(offsets: CommitOffset[]): Promise<void> {
    const action = `commit for group "${this.group}"`;
    this.#checkRunning(action);
    checkCommitOffsets(offsets, this.topic, action);
    if (offsets.length === 0) return;
    try {
      await this.#commitOffsets(
        offsets.map((o) => [o.partition, o.offset]),
        action,
      );
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  async seekToTimestamp(timestamp: number): Promise<void> {
    const action = `seek group "${this.group}" on "${this.topic}" to ${timestamp}`;
    this.#checkRunning(action);
    try {
      await this.reposition(await this.#context.lookup.offsetsForTimestamp(this.topic, timestamp));
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  /**
   * Moves the group to `offsets`: commits them for every partition (so members elsewhere and the
   * next owner after a rebalance start there) and moves the partitions this member holds.
   */
  async reposition(offsets: Map<number, number>): Promise<void> {
    await this.#commitOffsets([...offsets], `reposition group "${this.group}"`);
    this.seekAssigned(offsets);
    this.wake();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown('closed');
    return this.#closing;
  }

  // ---------------------------------------------------------------------------------------------
  // What each client supplies

  /** Commits `[partition, offset]` pairs of this member's topic for the group. */
  protected abstract sendCommit(offsets: [number, number][]): Promise<void>;
  /** Moves the partitions this member holds to `offsets` (already committed for the group). */
  protected abstract seekAssigned(offsets: Map<number, number>): void;
  /** Takes a new assignment (sorted); returns the partitions that need a start position. */
  protected abstract assign(partitions: number[]): number[];
  /** Starts a newly assigned partition at `offset`: the group's commit, or `initial` without one. */
  protected abstract startAt(partition: number, offset: number, committed: boolean): void;
  /** Stops fetching, waits for running handlers and leaves the group; never rejects. */
  protected abstract leaveGroup(): Promise<void>;
  /** Tells a waiting fetch loop that positions or the assignment changed. */
  protected wake(): void {}

  // ---------------------------------------------------------------------------------------------
  // For the client's member

  /** The partitions of the latest join (positioned or not yet). */
  get assigned(): readonly number[] {
    return this.#assigned;
  }

  protected get positioned(): Promise<void> {
    return this.#positioned;
  }

  /** From now on ready() rejects if no join is positioned within readyTimeoutMs. */
  protected armReadyTimeout(): void {
    const ms = this.#context.readyTimeoutMs;
    this.#readyTimer = setTimeout(() => {
      this.#rejectReady(
        toEventLogError(new Error(`the member did not join within ${ms} ms`), `join group "${this.group}"`),
      );
    }, ms);
  }

  /** start() failed: the member is closed, `release` frees the client, the error is mapped. */
  protected async abandonStart(error: unknown, action: string, release: () => Promise<void>): Promise<never> {
    this.#status = 'closed';
    clearTimeout(this.#readyTimer);
    await release();
    this.#context.onStopped(this);
    throw toEventLogError(error, action);
  }

  /** The client joined the group (first join or rebalance) with `partitions` of this topic. */
  protected joined(partitions: number[]): void {
    if (this.#status !== 'running') return;
    const assigned = [...partitions].sort((a, b) => a - b);
    const fresh = this.assign(assigned);
    this.#assigned = assigned;
    const first = this.#firstJoin;
    this.#firstJoin = false;
    const join = ++this.#joins;
    this.#positioned = this.#positionAfterJoin(fresh, first).then(
      () => {
        if (join !== this.#joins) return;
        this.#notifyAssignment(assigned);
        if (!this.#isReady) {
          this.#isReady = true;
          clearTimeout(this.#readyTimer);
          this.#resolveReady();
        }
        this.wake();
      },
      (error: unknown) => {
        const failure = toEventLogError(error, `position group "${this.group}" on "${this.topic}"`);
        this.#rejectReady(failure);
        this.fail(failure);
      },
    );
  }

  /** Runs the handler on one batch; false when it threw (the member has failed then). */
  protected async handle(partition: number, records: LogRecord[], highWatermark: number): Promise<boolean> {
    try {
      await this.options.handler({ topic: this.topic, partition, records, highWatermark });
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  /** The record as the handler gets it; undefined (logged) when it is not a CloudEvent. */
  protected decode(
    partition: number,
    offset: string | bigint,
    timestamp: number,
    message: KafkaBindingMessage & { key: Buffer | null },
  ): LogRecord | undefined {
    const where = `${this.topic}/${partition}@${offset}`;
    try {
      return {
        topic: this.topic,
        partition,
        offset: Number(offset),
        timestamp,
        key: message.key === null ? null : message.key.toString('utf8'),
        event: fromKafkaMessage(message, where),
      };
    } catch (error) {
      // A record that is not a CloudEvent can never be delivered; stopping the partition for it
      // would block every event behind it. It is logged and skipped.
      this.logger.error(
        { err: error, group: this.group, record: where },
        'skipping a record that is not a CloudEvent',
      );
      return undefined;
    }
  }

  /** Stops the member for good and reports `error` to onError. */
  protected fail(error: unknown): void {
    if (this.#status !== 'running') return;
    const failure = error instanceof Error ? error : new Error(String(error));
    this.logger.error({ err: failure, group: this.group, topic: this.topic }, 'consumer stopped');
    this.#status = 'failed';
    // Called from inside a delivery, which leaving the group waits for: not awaited here.
    this.#closing ??= this.#shutdown('failed').then(() => {
      try {
        this.options.onError?.(failure);
      } catch (callbackError) {
        this.logger.error({ err: callbackError }, 'onError callback threw');
      }
    });
  }

  // ---------------------------------------------------------------------------------------------

  #checkRunning(action: string): void {
    if (this.#status !== 'running') {
      throw new EventLogUsageError(`${action}: the consumer is ${this.#status}`);
    }
  }

  async #commitOffsets(offsets: [number, number][], action: string): Promise<void> {
    await withDeadline(this.sendCommit(offsets), this.commitTimeoutMs, action);
  }

  /** How long a commit may take before it rejects. */
  protected get commitTimeoutMs(): number {
    return this.#context.operationTimeoutMs;
  }

  async #shutdown(status: ConsumerStatus): Promise<void> {
    if (this.#status === 'running') this.#status = status;
    clearTimeout(this.#readyTimer);
    this.#rejectReady(
      new EventLogUsageError(`group "${this.group}": the consumer was ${this.#status} before it joined`),
    );
    await this.leaveGroup();
    if (this.#assigned.length > 0) {
      this.#assigned = [];
      this.#notifyAssignment([]);
    }
    this.#context.onStopped(this);
  }

  /**
   * Where the partitions of a join start. On the first join a `start` other than `committed`
   * repositions the whole group; otherwise each starts at the group's commit, else at `initial`.
   */
  async #positionAfterJoin(partitions: number[], first: boolean): Promise<void> {
    const { lookup } = this.#context;
    const start = this.options.start ?? 'committed';
    if (first && start !== 'committed') {
      await this.reposition(await targetOffsets(lookup, this.topic, start));
      return;
    }
    if (partitions.length === 0) return;
    const committed = await lookup.committedOffsets(this.group, this.topic);
    const missing = partitions.filter((p) => (committed.get(p) ?? null) === null);
    const initial =
      missing.length > 0
        ? await targetOffsets(lookup, this.topic, initialOf(this.options))
        : new Map<number, number>();
    // ConsumeOptions.commitInitial: a partition that moves to another member (a second dispatcher
    // joining) would otherwise resolve `latest` again there and skip what was appended in between,
    // although ready() promised it.
    const pinned = (this.options.commitInitial ? missing : []).flatMap((p): [number, number][] => {
      const offset = initial.get(p);
      return offset === undefined ? [] : [[p, offset]];
    });
    if (pinned.length > 0) {
      await this.#commitOffsets(pinned, `commit the initial positions of group "${this.group}"`).catch(
        (error: unknown) =>
          this.logger.warn(
            { err: error, group: this.group, topic: this.topic },
            'could not commit the initial positions; a rebalance before the first commit resolves them again',
          ),
      );
    }
    for (const partition of partitions) {
      const mine = committed.get(partition) ?? null;
      const offset = mine ?? initial.get(partition);
      if (offset !== undefined) this.startAt(partition, offset, mine !== null);
    }
  }

  #notifyAssignment(partitions: number[]): void {
    try {
      this.options.onAssignment?.(partitions);
    } catch (error) {
      this.logger.error({ err: error }, 'onAssignment callback threw');
    }
  }
}
