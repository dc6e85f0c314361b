// Offset commits of groups that have no member (the groups of consumers reading through a shared
// topic reader, topic-reader.ts): Kafka takes an OffsetCommit with generation -1 and no member id for
// a group without live members. With thousands of such groups on one topic, every fetched batch
// moves every group's position, and one request per group per batch would flood the coordinator and
// the client's request queue. So commits are coalesced per group (the newest offset of a partition
// wins; a commit asked for while one of the same group is in flight goes in the next request) and a
// fixed number of requests is in flight at once. A group's requests never overlap, so an older
// offset cannot land after a newer one.

/** Sends one memberless OffsetCommit for `group` on `topic`. */
export type SendMemberlessCommit = (
  group: string,
  topic: string,
  offsets: [number, number][],
) => Promise<void>;

interface Pending {
  group: string;
  topic: string;
  offsets: Map<number, number>;
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** Default requests in flight: enough to keep a coordinator busy, few enough for one connection's queue. */
export const DEFAULT_COMMIT_CONCURRENCY = 16;

export class MemberlessCommitter {
  readonly #send: SendMemberlessCommit;
  readonly #concurrency: number;
  /** Per group and topic: what waits for the next request. */
  readonly #pending = new Map<string, Pending>();
  /** Keys with a request in flight: their pending commits wait for it. */
  readonly #inFlight = new Set<string>();
  /** Keys with pending commits and no request in flight, in arrival order. */
  readonly #ready: string[] = [];
  #running = 0;

  constructor(send: SendMemberlessCommit, concurrency = DEFAULT_COMMIT_CONCURRENCY) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`MemberlessCommitter: concurrency must be an integer >= 1, got ${concurrency}`);
    }
    this.#send = send;
    this.#concurrency = concurrency;
  }

  /** Requests in flight now (for tests and metrics). */
  get inFlight(): number {
    return this.#running;
  }

  /** Resolves once a request carrying these offsets (or newer ones of the same partitions) succeeded. */
  commit(group: string, topic: string, offsets: [number, number][]): Promise<void> {
    const key = `${group}\u0000${topic}`;
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = { group, topic, offsets: new Map(), waiters: [] };
      this.#pending.set(key, pending);
      if (!this.#inFlight.has(key)) this.#ready.push(key);
    }
    for (const [partition, offset] of offsets) pending.offsets.set(partition, offset);
    const done = new Promise<void>((resolve, reject) => pending.waiters.push({ resolve, reject }));
    this.#pump();
    return done;
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift()!;
      const pending = this.#pending.get(key);
      if (pending === undefined) continue;
      this.#pending.delete(key);
      this.#inFlight.add(key);
      this.#running++;
      this.#send(pending.group, pending.topic, [...pending.offsets]).then(
        () => this.#settled(key, pending, undefined),
        (error: unknown) => this.#settled(key, pending, error ?? new Error('commit failed')),
      );
    }
  }

  #settled(key: string, sent: Pending, error: unknown): void {
    this.#running--;
    this.#inFlight.delete(key);
    if (this.#pending.has(key)) this.#ready.push(key);
    for (const waiter of sent.waiters) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
    this.#pump();
  }
}
