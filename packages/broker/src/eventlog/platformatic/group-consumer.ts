// One member of a consumer group on @platformatic/kafka. The client runs the group membership
// (JoinGroup/SyncGroup, heartbeats on its own timer, automatic rejoin on a rebalance) and the raw
// Fetch; this class runs its own fetch loop over the assigned partitions instead of the client's
// MessagesStream, because the EventLog contract needs what that stream does not give: a partition's
// next batch only after the handler promise for the previous one settled (backpressure per
// partition, other partitions go on), seeks of a live member, and positions resolved before ready().
// Offsets are committed only through commit() (no autocommit). What the Consumer contract adds on
// top of the client (ready, positions, seeks, failure, close) is KafkaGroupMember's.
import { sleep } from '@eddy/runtime';
import { Consumer as KafkaConsumer, type RecordsBatch } from '@platformatic/kafka';
import type { LogRecord } from '../event-log.js';
import { type GroupMemberContext, KafkaGroupMember } from '../kafka-common/group-member.js';
import { hasProtocolError, withDeadline } from '../kafka-common/kafka-errors.js';
import type { PlatformaticSecurity } from './connection-security.js';

export interface GroupConsumerConfig {
  clientId: string;
  bootstrapBrokers: string[];
  security: PlatformaticSecurity;
  connectTimeoutMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
}

/** Batch attribute bit: the record timestamps are the broker's append time (the batch's maxTimestamp). */
const LOG_APPEND_TIME = 0x08;
/** Batch attribute bit: a transaction marker, not a record. */
const CONTROL_BATCH = 0x20;
const PARTITION_MAX_BYTES = 1024 * 1024;

export interface PartitionState {
  /** The next offset to fetch; undefined until the member knows where to start. */
  position: bigint | undefined;
  /** Moves on every seek and assignment change: a batch fetched under an older epoch is stale. */
  epoch: number;
}

/**
 * Whether a partition's fetch answer may go to the handler: not if the partition was revoked,
 * sought or rewound since the request (its epoch moved), is being delivered, or moved on (another
 * fetch from the same position already delivered these records). The last happened when a round's
 * fetch to one leader failed while another leader's was in flight: the next round asked again, and
 * the later of the two answers delivered a batch twice (test/broker/faults.test.ts, a Kafka node
 * SIGKILLed: 130-380 duplicates where none belonged).
 */
export function isCurrentFetch(
  asked: { position: bigint; epoch: number },
  state: PartitionState | undefined,
  running: boolean,
): state is PartitionState {
  return state !== undefined && !running && state.epoch === asked.epoch && state.position === asked.position;
}

export class PlatformaticGroupConsumer extends KafkaGroupMember {
  readonly #client: KafkaConsumer<Buffer, Buffer, Buffer, Buffer>;
  readonly #partitions = new Map<number, PartitionState>();
  /**
   * The handler chain of the batch being delivered, per partition. Kept apart from the assignment:
   * a partition revoked and assigned back while its handler still runs stays busy until it settles.
   */
  readonly #running = new Map<number, Promise<void>>();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #config: GroupConsumerConfig;
  readonly #readyTimeoutMs: number;

  constructor(context: GroupMemberContext, config: GroupConsumerConfig) {
    super(context);
    this.#config = config;
    this.#readyTimeoutMs = context.readyTimeoutMs;
    this.#client = new KafkaConsumer<Buffer, Buffer, Buffer, Buffer>({
      clientId: config.clientId,
      bootstrapBrokers: config.bootstrapBrokers,
      ...config.security,
      groupId: this.group,
      connectTimeout: config.connectTimeoutMs,
      timeout: Math.min(30_000, context.operationTimeoutMs),
      retries: 5,
      retryDelay: 200,
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      autocommit: false,
      autocreateTopics: false,
      minBytes: 1,
      maxWaitTime: config.maxWaitTimeMs,
    });
  }

  /** Joins the group and starts the fetch loop; ready() tells when the first positioning is done. */
  async start(): Promise<void> {
    const action = `consume "${this.topic}" as group "${this.group}"`;
    // A failed rejoin is reported as an 'error' event; without a listener it would throw.
    this.#client.on('error', (error: Error) => {
      this.logger.warn({ err: error, group: this.group }, 'Kafka consumer error event');
    });
    this.#client.on('consumer:group:join', (payload) => {
      const assignment = payload.assignments?.find((a) => a.topic === this.topic);
      this.joined(assignment?.partitions ?? []);
    });
    this.armReadyTimeout();
    try {
      this.#client.topics.track(this.topic);
      // Resolves after the first JoinGroup + SyncGroup (the join event has fired by then).
      const joining = this.#client.joinGroup({
        sessionTimeout: this.#config.sessionTimeoutMs,
        rebalanceTimeout: this.#config.sessionTimeoutMs,
        heartbeatInterval: this.#config.heartbeatIntervalMs,
      });
      await withDeadline(joining, this.#readyTimeoutMs, action);
    } catch (error) {
      await this.abandonStart(error, action, () => this.#client.close(true).catch(() => {}));
    }
    this.#loop = this.#fetchLoop();
  }

  protected async sendCommit(offsets: [number, number][]): Promise<void> {
    await this.#client.commit({
      offsets: offsets.map(([partition, offset]) => ({
        topic: this.topic,
        partition,
        offset: BigInt(offset),
        leaderEpoch: -1,
      })),
    });
  }

  /** A batch being delivered on a moved partition is cut short: the rest of it is stale. */
  protected seekAssigned(offsets: Map<number, number>): void {
    for (const [partition, state] of this.#partitions) {
      const offset = offsets.get(partition);
      if (offset === undefined) continue;
      state.position = BigInt(offset);
      state.epoch++;
    }
  }

  /**
   * Partitions this member keeps go on from where they are (a running batch included); revoked
   * ones stop; new ones start from the group's commit once positioned.
   */
  protected assign(partitions: number[]): number[] {
    for (const [partition, state] of this.#partitions) {
      if (!partitions.includes(partition)) {
        state.epoch++;
        this.#partitions.delete(partition);
      }
    }
    const fresh = partitions.filter((p) => !this.#partitions.has(p));
    for (const partition of fresh) this.#partitions.set(partition, { position: undefined, epoch: 0 });
    return fresh;
  }

  /**
   * Moves partitions this member holds back to `offsets` where it is further on, without committing
   * (a shared topic reader whose new member needs older records; topic-reader.ts).
   */
  rewind(offsets: Map<number, number>): void {
    let moved = false;
    for (const [partition, offset] of offsets) {
      const state = this.#partitions.get(partition);
      if (state?.position === undefined || BigInt(offset) >= state.position) continue;
      state.position = BigInt(offset);
      state.epoch++;
      moved = true;
    }
    if (moved) this.wake();
  }

  protected startAt(partition: number, offset: number): void {
    const state = this.#partitions.get(partition);
    if (state && state.position === undefined) state.position = BigInt(offset);
  }

  protected async leaveGroup(): Promise<void> {
    this.wake();
    // The loop ends within one fetch wait; running handlers are waited for, then the member leaves.
    await this.#loop?.catch(() => {});
    await Promise.all([...this.#running.values()].map((p) => p.catch(() => {})));
    await this.#client.close().catch(async (error: unknown) => {
      this.logger.warn({ err: error, group: this.group }, 'error while leaving the consumer group');
      await this.#client.close(true).catch(() => {});
    });
    this.#partitions.clear();
  }

  protected override wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Waits for a wake-up (a handler finished, a join, a seek, close) or `ms`. */
  async #idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #fetchLoop(): Promise<void> {
    let failures = 0;
    while (this.status === 'running') {
      await Promise.race([this.positioned, this.#idle(this.#config.maxWaitTimeMs)]);
      if (this.status !== 'running') return;
      const idle = [...this.#partitions].filter(
        ([p, s]) => s.position !== undefined && !this.#running.has(p),
      );
      if (idle.length === 0) {
        await this.#idle(this.#config.maxWaitTimeMs);
        continue;
      }
      try {
        await this.#fetchOnce(idle.map(([partition]) => partition));
        failures = 0;
      } catch (error) {
        if (this.status !== 'running') return;
        failures++;
        this.logger.warn({ err: error, group: this.group, topic: this.topic }, 'fetch failed; retrying');
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  /** One Fetch per leader for the idle partitions; hands what came back to the handlers. */
  async #fetchOnce(partitions: number[]): Promise<void> {
    const metadata = await this.#client.metadata({ topics: [this.topic] });
    const topicMetadata = metadata.topics.get(this.topic);
    if (!topicMetadata) throw new Error(`no metadata for topic "${this.topic}"`);
    const byLeader = new Map<number, number[]>();
    for (const partition of partitions) {
      const leader = topicMetadata.partitions[partition]?.leader;
      if (leader === undefined || leader < 0) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
    }
    // Every leader's fetch settles before this round ends, even when one fails (a dead leader):
    // the next round must not ask again for partitions whose answer is still on its way.
    const fetches = await Promise.allSettled(
      [...byLeader].map(async ([node, nodePartitions]) => {
        const requested = new Map<number, { position: bigint; epoch: number }>();
        for (const partition of nodePartitions) {
          const state = this.#partitions.get(partition);
          if (state?.position !== undefined)
            requested.set(partition, { position: state.position, epoch: state.epoch });
        }
        if (requested.size === 0) return;
        let response: Awaited<ReturnType<KafkaConsumer<Buffer, Buffer, Buffer, Buffer>['fetch']>>;
        try {
          response = await this.#client.fetch({
            node,
            maxWaitTime: this.#config.maxWaitTimeMs,
            minBytes: 1,
            topics: [
              {
                topicId: topicMetadata.id,
                partitions: [...requested].map(([partition, { position }]) => ({
                  partition,
                  fetchOffset: position,
                  partitionMaxBytes: PARTITION_MAX_BYTES,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                })),
              },
            ],
          });
        } catch (error) {
          if (this.#resetOutOfRange(error, requested)) return;
          throw error;
        }
        for (const topicResponse of response.responses) {
          for (const partitionResponse of topicResponse.partitions) {
            const partition = partitionResponse.partitionIndex;
            const asked = requested.get(partition);
            const state = this.#partitions.get(partition);
            if (!asked || !isCurrentFetch(asked, state, this.#running.has(partition))) continue;
            const records = this.#records(partition, partitionResponse.records ?? [], asked.position);
            if (records.next === undefined) continue;
            state.position = records.next;
            if (records.records.length === 0) continue;
            const highWatermark = Number(partitionResponse.highWatermark);
            const epoch = state.epoch;
            const running = this.#deliver(partition, records.records, highWatermark, epoch).finally(() => {
              this.#running.delete(partition);
              this.wake();
            });
            this.#running.set(partition, running);
          }
        }
      }),
    );
    const failed = fetches.find((f) => f.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * A position outside the retained range (retention deleted it, or the topic was recreated):
   * below the log start it moves to the first retained record (at-least-once: skip nothing that
   * still exists), above the end to the end.
   */
  #resetOutOfRange(error: unknown, requested: Map<number, { position: bigint; epoch: number }>): boolean {
    if (!hasProtocolError(error, 'OFFSET_OUT_OF_RANGE')) return false;
    const response = (
      error as {
        response?: {
          responses?: {
            partitions: {
              partitionIndex: number;
              errorCode: number;
              logStartOffset: bigint;
              highWatermark: bigint;
            }[];
          }[];
        };
      }
    ).response;
    let moved = false;
    for (const topicResponse of response?.responses ?? []) {
      for (const p of topicResponse.partitions) {
        const asked = requested.get(p.partitionIndex);
        const state = this.#partitions.get(p.partitionIndex);
        if (p.errorCode === 0 || !asked || !state || state.epoch !== asked.epoch) continue;
        state.position = asked.position < p.logStartOffset ? p.logStartOffset : p.highWatermark;
        moved = true;
      }
    }
    return moved;
  }

  /** The records of the fetched batches at or after `from`, and the next position. */
  #records(
    partition: number,
    batches: RecordsBatch[],
    from: bigint,
  ): { records: LogRecord[]; next: bigint | undefined } {
    const records: LogRecord[] = [];
    let next: bigint | undefined;
    for (const batch of batches) {
      next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
      if (batch.attributes & CONTROL_BATCH) continue;
      for (const record of batch.records) {
        const offset = batch.firstOffset + BigInt(record.offsetDelta);
        // A fetch returns whole batches: records before the position were delivered already.
        if (offset < from) continue;
        // With LogAppendTime the broker stamps the batch, not the records (their deltas keep the
        // producer's times): the append time is the batch's maxTimestamp.
        const timestamp =
          batch.attributes & LOG_APPEND_TIME
            ? batch.maxTimestamp
            : batch.firstTimestamp + record.timestampDelta;
        const decoded = this.#toRecord(partition, offset, timestamp, record);
        if (decoded) records.push(decoded);
      }
    }
    return { records, next };
  }

  #toRecord(
    partition: number,
    offset: bigint,
    timestamp: bigint,
    record: RecordsBatch['records'][number],
  ): LogRecord | undefined {
    const headers: Record<string, Buffer> = {};
    for (const [key, value] of record.headers) {
      if (key !== null && value !== null) headers[key.toString('utf8')] = value;
    }
    return this.decode(partition, offset, Number(timestamp), {
      key: record.key,
      value: record.value,
      headers,
    });
  }

  /** The handler, one slice of at most maxBatchSize at a time, until done or the batch goes stale. */
  async #deliver(
    partition: number,
    records: LogRecord[],
    highWatermark: number,
    epoch: number,
  ): Promise<void> {
    for (let i = 0; i < records.length; i += this.maxBatchSize) {
      const state = this.#partitions.get(partition);
      if (this.status !== 'running' || !state || state.epoch !== epoch) return;
      const slice = records.slice(i, i + this.maxBatchSize);
      if (!(await this.handle(partition, slice, highWatermark))) return;
    }
  }
}
