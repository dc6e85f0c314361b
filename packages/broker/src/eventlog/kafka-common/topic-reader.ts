// Many consumer groups on one topic read through ONE member: the shared topic reader. A Trigger's
// consumer group with a member of its own costs a client, connections, heartbeats and a long-poll
// fetch per Trigger; at 10,000 Triggers that is 10,000 sockets and joins, and the process falls over
// (bench/RESULTS.md). Consumers that ask for it (ConsumeOptions.sharedReader: the dispatcher's routes)
// instead become SharedMembers of the topic's reader:
//
// - The reader is a real member of its own group (`readerGroup`), which every process reading the
//   topic this way joins: Kafka spreads the topic's partitions over the processes, and a process's
//   share is what each of its shared members holds (split further between members of one group in the
//   same process). So N dispatcher processes still share the work, with rebalances as before.
// - Each shared member keeps its own group for its offsets only: it commits with memberless commits
//   (memberless-committer.ts), so the group's committed offsets are its lag, its start position and
//   what a restart resumes from, exactly as with a member of its own, and deleting the group works.
// - The reader fetches each partition from the lowest position any member needs and offers every
//   fetched batch to every member; a member takes the records at or after its own position. A new
//   member behind the reader moves the reader back (the others skip what they had).
// - Backpressure: a member queues at most MAX_QUEUED batches per partition behind the one its handler
//   runs; the reader's next fetch of a partition waits until every member took the current batch. So
//   memory is bounded, and the cost is that one slow member (a Trigger whose subscriber is slow and
//   whose in-flight slots are full) holds that partition for every member of the reader once its queue
//   is full. The dispatcher's unordered routes return from a batch once its records started, so only a
//   route at its maxInFlight (or an ordered one on a slow event) holds it.
//
// What differs from a member of its own: memberless commits carry no generation, so a commit of the
// previous owner still in flight at a rebalance is not fenced (it can land after the new owner read
// the offsets: delivered again, at-least-once holds); every process reading a topic this way must run
// the same routes on it (a partition's owner serves only its own routes); a seek of a group from a
// process without its shared member is overwritten by the process that has it.
import type pino from 'pino';
import type { ConsumeOptions, RecordBatch } from '../event-log.js';
import { type GroupMemberContext, KafkaGroupMember } from './group-member.js';
import type { MemberlessCommitter } from './memberless-committer.js';
import type { OffsetLookup } from './start-positions.js';

/** How long a shared member's commit may wait in the committer's queue and run, in all. */
const COMMIT_QUEUE_TIMEOUT_MS = 300_000;

/** Batches a member may hold per partition besides the one its handler runs. */
export const MAX_QUEUED = 2;

/** What the reader needs of the client's group member it runs on. */
export interface ReaderClient {
  readonly assigned: readonly number[];
  start(): Promise<void>;
  close(): Promise<void>;
  /** Moves partitions it holds back to `offsets` where they are further on, without committing. */
  rewind(offsets: Map<number, number>): void;
}

export interface TopicReaderOptions {
  topic: string;
  /** The reader's own group, shared by every process reading the topic this way. */
  group: string;
  logger: pino.Logger;
  /** Records per fetched batch offered to the members. */
  maxBatchSize: number;
  readyTimeoutMs: number;
  operationTimeoutMs: number;
  /** Offsets of the topic (the members' lookups go through their own context). */
  lookup: OffsetLookup;
  /** The client's group member for the reader. */
  createClient(context: GroupMemberContext): ReaderClient;
  /** Called once the reader stopped (last member gone, or failed) and left its group. */
  onClosed(reader: TopicReader): void;
}

export class TopicReader {
  readonly topic: string;
  readonly #options: TopicReaderOptions;
  /** In attach order (the split between members of one group follows it). */
  readonly #members = new Set<SharedMember>();
  /** The same members by group: a share is computed per member, thousands of times per join. */
  readonly #byGroup = new Map<string, SharedMember[]>();
  #client: ReaderClient | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The reader's partitions as last seen; undefined until its first join. */
  #assignment: readonly number[] | undefined;
  /** Moves when the assignment or the split changes: members are placed again. */
  #version = 0;
  readonly #placing = new Map<SharedMember, { version: number; done: Promise<void> }>();

  constructor(options: TopicReaderOptions) {
    this.topic = options.topic;
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds a member; it is placed (positioned on its share) once the reader knows its partitions. */
  attach(member: SharedMember): void {
    this.#members.add(member);
    const peers = this.#byGroup.get(member.group) ?? [];
    this.#byGroup.set(member.group, peers);
    peers.push(member);
    if (this.#client === undefined) {
      void this.#start();
      return;
    }
    if (this.#assignment === undefined) return; // the first join places every member
    if (this.#othersOfGroup(member)) {
      // The group's share is split again between its members here.
      this.#version++;
      void this.#placeAndRewind();
      return;
    }
    void this.#placed(member).then(() => this.rewindFor(member));
  }

  /** Removes a member; the last one closes the reader. */
  detach(member: SharedMember): void {
    if (!this.#members.delete(member)) return;
    this.#placing.delete(member);
    const peers = (this.#byGroup.get(member.group) ?? []).filter((m) => m !== member);
    if (peers.length > 0) this.#byGroup.set(member.group, peers);
    else this.#byGroup.delete(member.group);
    if (this.#members.size === 0) {
      void this.close();
      return;
    }
    if (this.#othersOfGroup(member) && this.#assignment !== undefined) {
      this.#version++;
      void this.#placeAndRewind();
    }
  }

  /** A member needs records from its positions: moves the reader back where it is further on. */
  rewindFor(member: SharedMember): void {
    this.#client?.rewind(member.positions());
  }

  async #start(): Promise<void> {
    const options: ConsumeOptions = {
      group: this.#options.group,
      topic: this.topic,
      start: 'committed',
      // Partitions no member holds (yet) are read from the end; a member placed later moves it back.
      initial: 'latest',
      maxBatchSize: this.#options.maxBatchSize,
      handler: (batch) => this.#fanOut(batch),
      onAssignment: (assigned) => {
        if (sameList(assigned, this.#assignment)) return;
        this.#assignment = [...assigned];
        this.#version++;
        void this.#placeAndRewind();
      },
      onError: (error) => this.#fail(error),
    };
    const { lookup } = this.#options;
    this.#client = this.#options.createClient({
      options,
      lookup: {
        topicOffsets: (topic) => lookup.topicOffsets(topic),
        offsetsForTimestamp: (topic, timestamp) => lookup.offsetsForTimestamp(topic, timestamp),
        // The reader's group never commits: where it starts is where its members need it to.
        committedOffsets: () => this.#startOffsets(),
      },
      logger: this.#options.logger,
      readyTimeoutMs: this.#options.readyTimeoutMs,
      operationTimeoutMs: this.#options.operationTimeoutMs,
      onStopped: () => {},
    });
    try {
      await this.#client.start();
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The reader joined with new partitions: every member is placed, then it starts at their lowest position. */
  async #startOffsets(): Promise<Map<number, number | null>> {
    const assignment = [...(this.#client?.assigned ?? [])];
    if (!sameList(assignment, this.#assignment)) {
      this.#assignment = assignment;
      this.#version++;
    }
    await this.#placeAll();
    const lowest = new Map<number, number | null>();
    for (const partition of assignment) lowest.set(partition, null);
    for (const member of this.#members) {
      for (const [partition, offset] of member.positions()) {
        const current = lowest.get(partition);
        if (current === undefined) continue;
        if (current === null || offset < current) lowest.set(partition, offset);
      }
    }
    return lowest;
  }

  /** Places every member on the current version, including members attached meanwhile. */
  async #placeAll(): Promise<void> {
    for (;;) {
      const version = this.#version;
      await Promise.all([...this.#members].map((m) => this.#placed(m)));
      if (version === this.#version && [...this.#members].every((m) => this.#isPlaced(m))) return;
    }
  }

  async #placeAndRewind(): Promise<void> {
    await this.#placeAll().catch(() => {});
    for (const member of this.#members) this.rewindFor(member);
  }

  #isPlaced(member: SharedMember): boolean {
    return this.#placing.get(member)?.version === this.#version;
  }

  #placed(member: SharedMember): Promise<void> {
    const current = this.#placing.get(member);
    if (current?.version === this.#version) return current.done;
    const done = member.place(this.#shareOf(member)).catch(() => {});
    this.#placing.set(member, { version: this.#version, done });
    return done;
  }

  /** The reader's partitions split between this process's members of the member's group, in attach order. */
  #shareOf(member: SharedMember): number[] {
    const assignment = this.#assignment ?? [];
    const peers = this.#byGroup.get(member.group) ?? [member];
    if (peers.length === 1) return [...assignment];
    const index = peers.indexOf(member);
    return assignment.filter((_, i) => i % peers.length === index);
  }

  /** Whether the member's group has other members here (present or just gone). */
  #othersOfGroup(member: SharedMember): boolean {
    const peers = this.#byGroup.get(member.group) ?? [];
    return peers.some((m) => m !== member);
  }

  /** Every member takes what it needs of the batch; the next fetch of the partition waits for all. */
  async #fanOut(batch: RecordBatch): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const member of this.#members) {
      const wait = member.offer(batch);
      if (wait !== undefined) waits.push(wait);
    }
    if (waits.length > 0) await Promise.all(waits);
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#options.logger.error({ err: error, topic: this.topic }, 'shared topic reader stopped');
    for (const member of [...this.#members]) member.readerFailed(error);
    void this.close();
  }

  /** Stops the reader (its members are gone or failed); resolves once its member left its group. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#client?.close();
      this.#options.onClosed(this);
    })();
    return this.#closing;
  }
}

function sameList(a: readonly number[], b: readonly number[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Queued {
  records: RecordBatch['records'];
  highWatermark: number;
  epoch: number;
}

/** How a shared member reaches its reader and commits. */
export interface SharedMemberDeps {
  reader: () => TopicReader;
  committer: MemberlessCommitter;
}

/**
 * A consumer of a group that reads through the topic's shared reader: the Consumer contract of
 * KafkaGroupMember (ready, start positions, commits, seeks, failure, close) with the reader's share
 * as its assignment and memberless commits for its group.
 */
export class SharedMember extends KafkaGroupMember {
  readonly #deps: SharedMemberDeps;
  #reader: TopicReader | undefined;
  /** Per held partition: the next offset to hand to the handler; unset until positioned. */
  readonly #positions = new Map<number, number>();
  readonly #held = new Set<number>();
  readonly #queues = new Map<number, Queued[]>();
  readonly #running = new Map<number, Promise<void>>();
  readonly #epochs = new Map<number, number>();
  readonly #spaceWaiters = new Map<number, (() => void)[]>();

  constructor(context: GroupMemberContext, deps: SharedMemberDeps) {
    super(context);
    this.#deps = deps;
  }

  async start(): Promise<void> {
    this.armReadyTimeout();
    this.#reader = this.#deps.reader();
    this.#reader.attach(this);
  }

  /** Takes `partitions` as this member's share; resolves once they are positioned. */
  place(partitions: number[]): Promise<void> {
    this.joined(partitions);
    return this.positioned;
  }

  /** Where this member needs records from, per positioned partition. */
  positions(): Map<number, number> {
    return new Map(this.#positions);
  }

  /** The reader stopped: this member fails (its owner starts a new one, on a new reader). */
  readerFailed(error: Error): void {
    this.fail(error);
  }

  /** Takes the records of `batch` at or after its position; a promise when its queue is full. */
  offer(batch: RecordBatch): Promise<void> | undefined {
    const { partition, records } = batch;
    const position = this.#positions.get(partition);
    const last = records.at(-1);
    if (position === undefined || last === undefined || last.offset < position || this.status !== 'running')
      return undefined;
    // Most members are at the reader's position: they share the batch's array.
    const mine = records[0]!.offset >= position ? records : records.filter((r) => r.offset >= position);
    this.#positions.set(partition, last.offset + 1);
    const queue = this.#queues.get(partition) ?? [];
    this.#queues.set(partition, queue);
    queue.push({
      records: mine,
      highWatermark: batch.highWatermark,
      epoch: this.#epochs.get(partition) ?? 0,
    });
    this.#pump(partition);
    if (queue.length <= MAX_QUEUED) return undefined;
    return new Promise((resolve) => {
      const waiters = this.#spaceWaiters.get(partition) ?? [];
      this.#spaceWaiters.set(partition, waiters);
      waiters.push(resolve);
    });
  }

  /**
   * A commit waits its turn behind the commits of every other group of the reader (thousands, each a
   * request of its own); each request is bounded by the client's own timeout, so only the wait is long.
   */
  protected override get commitTimeoutMs(): number {
    return COMMIT_QUEUE_TIMEOUT_MS;
  }

  protected sendCommit(offsets: [number, number][]): Promise<void> {
    return this.#deps.committer.commit(this.group, this.topic, offsets);
  }

  protected seekAssigned(offsets: Map<number, number>): void {
    for (const [partition, offset] of offsets) {
      if (!this.#held.has(partition)) continue;
      this.#drop(partition);
      this.#positions.set(partition, offset);
    }
    this.#reader?.rewindFor(this);
  }

  protected assign(partitions: number[]): number[] {
    const keep = new Set(partitions);
    for (const partition of [...this.#held]) {
      if (keep.has(partition)) continue;
      this.#drop(partition);
      this.#held.delete(partition);
    }
    const fresh = partitions.filter((p) => !this.#held.has(p));
    for (const partition of fresh) this.#held.add(partition);
    return fresh;
  }

  protected startAt(partition: number, offset: number): void {
    if (this.#held.has(partition) && !this.#positions.has(partition)) this.#positions.set(partition, offset);
  }

  protected async leaveGroup(): Promise<void> {
    this.#reader?.detach(this);
    for (const partition of [...this.#held]) this.#drop(partition);
    this.#held.clear();
    await Promise.all([...this.#running.values()].map((p) => p.catch(() => {})));
  }

  /** Forgets a partition's position and queue; a batch being delivered stops after its slice. */
  #drop(partition: number): void {
    this.#positions.delete(partition);
    this.#queues.delete(partition);
    this.#epochs.set(partition, (this.#epochs.get(partition) ?? 0) + 1);
    this.#releaseSpace(partition);
  }

  #releaseSpace(partition: number): void {
    const waiters = this.#spaceWaiters.get(partition);
    if (waiters === undefined) return;
    this.#spaceWaiters.delete(partition);
    for (const resolve of waiters) resolve();
  }

  #pump(partition: number): void {
    if (this.#running.has(partition)) return;
    const next = this.#queues.get(partition)?.shift();
    if (next === undefined) return;
    if ((this.#queues.get(partition)?.length ?? 0) <= MAX_QUEUED) this.#releaseSpace(partition);
    const run = this.#deliver(partition, next).finally(() => {
      this.#running.delete(partition);
      this.#pump(partition);
    });
    this.#running.set(partition, run);
  }

  async #deliver(partition: number, queued: Queued): Promise<void> {
    for (let i = 0; i < queued.records.length; i += this.maxBatchSize) {
      if (this.status !== 'running' || (this.#epochs.get(partition) ?? 0) !== queued.epoch) return;
      const slice =
        i === 0 && queued.records.length <= this.maxBatchSize
          ? queued.records
          : queued.records.slice(i, i + this.maxBatchSize);
      if (!(await this.handle(partition, slice, queued.highWatermark))) return;
    }
  }
}
