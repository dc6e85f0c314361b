// One revision's admission control: which ready replica takes the next request (the least loaded one
// below containerConcurrency), the FIFO queue of requests waiting for capacity or for a first replica
// (the activator), and the time-weighted concurrency and arrival counts that the autoscaler reads.

import { namespacedKey } from '@eddy/api';
import type { Replica } from '../runtime/runtime.js';
import { type RouterShare, replicaCapacity, WHOLE_SHARE } from './capacity-split.js';
import type { RouterRevision } from './router.js';

export interface ReplicaSlot {
  readonly replica: Replica;
  inFlight: number;
  /** This router's share of the replica's containerConcurrency (capacity-split.ts); Infinity = unlimited. */
  capacity: number;
}

/** Why a request was refused or dropped before reaching a replica. */
export class GateError extends Error {
  constructor(
    readonly status: 503 | 504,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GateError';
  }
}

interface Waiter {
  resolve(slot: ReplicaSlot): void;
  reject(error: GateError): void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export interface Lease {
  readonly slot: ReplicaSlot;
  /** Gives the capacity back (idempotent). */
  release(): void;
}

export interface GateSnapshot {
  concurrency: number;
  arrivals: number;
  intervalMs: number;
  inFlight: number;
  queued: number;
}

export class RevisionGate {
  /** Ready replicas, in the order given. */
  #ready: ReplicaSlot[] = [];
  /** Every slot that is ready or still has requests in flight, so a replica that leaves and comes back keeps its count. */
  readonly #slots = new Map<string, ReplicaSlot>();
  readonly #queue: Waiter[] = [];
  #inFlightCount = 0;
  #queuedCount = 0;
  #rotation = 0;
  #removed = false;
  /** This router's place among the live routers (capacity-split.ts). */
  #share: RouterShare = WHOLE_SHARE;
  /** Set while the revision cannot get a replica: requests fail at once instead of waiting at zero. */
  #failure: string | undefined;
  // Stats since the last snapshot.
  #area = 0;
  #arrivals = 0;
  #lastChange: number;
  #lastSnapshot: number;

  readonly #maxQueue: number;
  readonly #onWaitingAtZero: () => void;

  constructor(
    public spec: RouterRevision,
    maxQueue: number,
    onWaitingAtZero: () => void,
    now: number = Date.now(),
  ) {
    this.#maxQueue = maxQueue;
    this.#onWaitingAtZero = onWaitingAtZero;
    this.#lastChange = now;
    this.#lastSnapshot = now;
  }

  get inFlight(): number {
    return this.#inFlightCount;
  }

  get queued(): number {
    return this.#queuedCount;
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  /** True while requests wait and no replica is ready (the activator's "needs a replica" state). */
  get waitingAtZero(): boolean {
    return this.#queuedCount > 0 && this.#ready.length === 0;
  }

  /** A new containerConcurrency applies at once (a raise lets queued requests go); queued deadlines stay. */
  updateSpec(spec: RouterRevision): void {
    this.spec = spec;
    this.#recomputeCapacity();
    this.#drain();
  }

  /** Another set of live routers: each replica's capacity here is this router's new share of it. */
  setShare(share: RouterShare): void {
    this.#share = share;
    this.#recomputeCapacity();
    this.#drain();
  }

  #recomputeCapacity(): void {
    for (const slot of this.#slots.values()) slot.capacity = this.#capacityOf(slot.replica.id);
  }

  #capacityOf(replicaId: string): number {
    return replicaCapacity(this.spec.containerConcurrency, this.#share, replicaId);
  }

  setFailure(reason: string | undefined): void {
    this.#failure = reason;
    if (reason === undefined || this.#ready.length > 0) return;
    for (const waiter of [...this.#queue])
      this.#dropWaiter(waiter, new GateError(503, this.#failureMessage(), 1));
  }

  #failureMessage(): string {
    return `revision ${this.#label()} has no ready replica: ${this.#failure}`;
  }

  setReplicas(replicas: readonly Replica[]): void {
    const next: ReplicaSlot[] = [];
    const seen = new Set<string>();
    for (const replica of replicas) {
      if (!replica.ready || seen.has(replica.id)) continue;
      seen.add(replica.id);
      const existing = this.#slots.get(replica.id);
      const slot: ReplicaSlot =
        existing && existing.replica.url === replica.url
          ? existing
          : { replica, inFlight: existing?.inFlight ?? 0, capacity: this.#capacityOf(replica.id) };
      this.#slots.set(replica.id, slot);
      next.push(slot);
    }
    for (const [id, slot] of this.#slots) {
      if (!seen.has(id) && slot.inFlight === 0) this.#slots.delete(id);
    }
    this.#ready = next;
    this.#drain();
  }

  /** Counts an arrival for the rps measurement. */
  arrived(): void {
    this.#arrivals++;
  }

  /**
   * A replica with free capacity, at once if one exists and nobody is queued ahead, else after waiting
   * in FIFO order until `deadline` (epoch ms). Rejects with 503 when the queue is full or the revision
   * is removed, 504 when the deadline passes. `signal` aborts the wait (client gone).
   */
  acquire(deadline: number, signal?: AbortSignal): Promise<Lease> {
    if (this.#removed)
      return Promise.reject(new GateError(503, `revision ${this.#label()} is not served any more`));
    if (this.#queue.length === 0) {
      const slot = this.#pick();
      if (slot) return Promise.resolve(this.#lease(slot, true));
    }
    if (this.#failure !== undefined && this.#ready.length === 0) {
      return Promise.reject(new GateError(503, this.#failureMessage(), 1));
    }
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        new GateError(
          503,
          `revision ${this.#label()} has ${this.#queue.length} requests queued (the limit)`,
          1,
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        done: false,
        resolve: (slot) => resolve(this.#lease(slot, false)),
        reject,
        timer: setTimeout(
          () => {
            this.#dropWaiter(
              waiter,
              new GateError(
                504,
                `revision ${this.#label()} had no free replica within its timeout of ${this.spec.timeoutMs} ms`,
              ),
            );
          },
          Math.max(0, deadline - Date.now()),
        ),
      };
      const onAbort = (): void =>
        this.#dropWaiter(waiter, new GateError(503, 'client went away while the request was queued'));
      if (signal) {
        if (signal.aborted) {
          clearTimeout(waiter.timer);
          reject(new GateError(503, 'client went away'));
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = waiter.resolve;
        const fail = waiter.reject;
        waiter.resolve = (slot) => {
          signal.removeEventListener('abort', onAbort);
          settle(slot);
        };
        waiter.reject = (error) => {
          signal.removeEventListener('abort', onAbort);
          fail(error);
        };
      }
      this.#accumulate(Date.now());
      this.#queuedCount++;
      this.#queue.push(waiter);
      if (this.#ready.length === 0) this.#onWaitingAtZero();
    });
  }

  /** Another ready replica with free capacity right now (for one retry after a connection error). */
  tryAcquireOther(exclude: ReplicaSlot): Lease | undefined {
    if (this.#removed) return undefined;
    const slot = this.#pick(exclude);
    return slot ? this.#lease(slot, true) : undefined;
  }

  /** The revision left the routing table (or the router closes): queued requests fail with 503; in-flight ones finish. */
  remove(reason = `revision ${this.#label()} was removed while the request waited`): void {
    this.#removed = true;
    for (const waiter of [...this.#queue]) this.#dropWaiter(waiter, new GateError(503, reason, 1));
  }

  snapshot(now: number = Date.now()): GateSnapshot {
    this.#accumulate(now);
    const intervalMs = Math.max(0, now - this.#lastSnapshot);
    const current = this.#inFlightCount + this.#queuedCount;
    const result: GateSnapshot = {
      concurrency: intervalMs > 0 ? this.#area / intervalMs : current,
      arrivals: this.#arrivals,
      intervalMs,
      inFlight: this.#inFlightCount,
      queued: this.#queuedCount,
    };
    this.#area = 0;
    this.#arrivals = 0;
    this.#lastSnapshot = Math.max(this.#lastSnapshot, now);
    return result;
  }

  #label(): string {
    return namespacedKey(this.spec.namespace, this.spec.name);
  }

  /** Least-loaded ready replica with free capacity; ties rotate so idle replicas share the work. */
  #pick(exclude?: ReplicaSlot): ReplicaSlot | undefined {
    const count = this.#ready.length;
    let best: ReplicaSlot | undefined;
    for (let i = 0; i < count; i++) {
      const slot = this.#ready[(this.#rotation + i) % count]!;
      if (slot === exclude || slot.inFlight >= slot.capacity) continue;
      if (!best || slot.inFlight < best.inFlight) best = slot;
    }
    if (best) this.#rotation = (this.#rotation + 1) % Math.max(1, count);
    return best;
  }

  #lease(slot: ReplicaSlot, fresh: boolean): Lease {
    // A queued request that gets a slot moves from queued to in flight in drain(); a fresh one adds to the level.
    if (fresh) {
      this.#accumulate(Date.now());
      slot.inFlight++;
      this.#inFlightCount++;
    }
    let released = false;
    return {
      slot,
      release: () => {
        if (released) return;
        released = true;
        this.#accumulate(Date.now());
        slot.inFlight--;
        this.#inFlightCount--;
        if (slot.inFlight === 0 && !this.#ready.includes(slot)) this.#slots.delete(slot.replica.id);
        this.#drain();
      },
    };
  }

  #drain(): void {
    while (this.#queue.length > 0) {
      const slot = this.#pick();
      if (!slot) return;
      const waiter = this.#queue.shift()!;
      waiter.done = true;
      clearTimeout(waiter.timer);
      this.#accumulate(Date.now());
      this.#queuedCount--;
      slot.inFlight++;
      this.#inFlightCount++;
      waiter.resolve(slot);
    }
  }

  #dropWaiter(waiter: Waiter, error: GateError): void {
    if (waiter.done) return;
    waiter.done = true;
    clearTimeout(waiter.timer);
    const index = this.#queue.indexOf(waiter);
    if (index !== -1) this.#queue.splice(index, 1);
    this.#accumulate(Date.now());
    this.#queuedCount--;
    waiter.reject(error);
  }

  /** Runs before every change of the levels: the concurrency stat's area counts the old level up to now. */
  #accumulate(now: number): void {
    if (now > this.#lastChange) {
      this.#area += (this.#inFlightCount + this.#queuedCount) * (now - this.#lastChange);
      this.#lastChange = now;
    }
  }
}
