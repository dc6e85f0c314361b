// The control plane's side of contract distribution: it publishes each new contract (anything with
// a rising `generation`) and data-plane processes long-poll for one newer than theirs. Each poll
// also says which generation its process runs, so the feed knows its members and what each has
// applied: that is how a control plane aggregates the status of N processes (and waits for all of
// them before it does what must follow a change, such as deleting a removed route's group).
// HTTP-free: a host wires next() and report() to its server (see the CLI's admin server).

export interface Generational {
  generation: number;
}

/** What a data-plane process says about itself on every poll. */
export interface MemberReport {
  /** Stable for the process's life, e.g. `dispatcher-3-<pid>`. */
  id: string;
  /** e.g. `ingress`, `dispatcher`. */
  component: string;
  /** Generation the process runs; undefined before its first. */
  applied?: number;
  /** Why the last contract did not apply cleanly. */
  error?: string;
  /**
   * What the component reports about what it runs (e.g. each source's Ready condition, each
   * revision's replicas), pushed when it changes; a report without one keeps the last.
   */
  status?: unknown;
}

export interface MemberState extends MemberReport {
  lastSeen: number;
}

export class ContractFeed<T extends Generational> {
  #current: T | undefined;
  #waiters = new Set<() => void>();
  #closed = false;
  readonly #members = new Map<string, MemberState>();
  readonly #listeners = new Set<() => void>();
  readonly #memberTtlMs: number;
  readonly #now: () => number;

  /** A member not heard from for `memberTtlMs` (default 60 s: two polls) is gone. */
  constructor(options: { memberTtlMs?: number; now?: () => number } = {}) {
    this.#memberTtlMs = options.memberTtlMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  get current(): T | undefined {
    return this.#current;
  }

  /** Makes `contract` the one handed out; one that is not newer than the current is ignored. */
  publish(contract: T): boolean {
    if (this.#current !== undefined && contract.generation <= this.#current.generation) return false;
    this.#current = contract;
    this.#wake();
    return true;
  }

  /**
   * The current contract once its generation is above `after` (at once if it already is), or
   * undefined after `waitMs` or when `signal` aborts: the answer to one long poll.
   */
  next(after: number, waitMs: number, signal?: AbortSignal): Promise<T | undefined> {
    const newer = () =>
      this.#current !== undefined && this.#current.generation > after ? this.#current : undefined;
    const now = newer();
    if (now !== undefined || waitMs <= 0 || signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#waiters.delete(check);
        resolve(newer());
      };
      const check = () => {
        if (this.#closed || newer() !== undefined) done();
      };
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener('abort', done, { once: true });
      this.#waiters.add(check);
    });
  }

  report(member: MemberReport): void {
    const before = this.#members.get(member.id);
    const status = member.status !== undefined ? member.status : before?.status;
    const next: MemberState = {
      ...member,
      ...(status !== undefined ? { status } : {}),
      lastSeen: this.#now(),
    };
    this.#members.set(member.id, next);
    this.#wake();
    const changed =
      !before ||
      before.applied !== next.applied ||
      before.error !== next.error ||
      (member.status !== undefined && JSON.stringify(before.status) !== JSON.stringify(member.status));
    if (changed) this.#changed();
  }

  /** Members heard from within the TTL, optionally of one component. */
  members(component?: string): MemberState[] {
    const cutoff = this.#now() - this.#memberTtlMs;
    let expired = false;
    for (const [id, member] of this.#members)
      if (member.lastSeen < cutoff) {
        this.#members.delete(id);
        expired = true;
      }
    if (expired) queueMicrotask(() => this.#changed());
    return [...this.#members.values()].filter((m) => component === undefined || m.component === component);
  }

  /** Forgets a member at once (its process exited). */
  forget(id: string): void {
    if (this.#members.delete(id)) this.#changed();
  }

  /**
   * Calls `listener` when the members or what they report changed (one joined, left, applied a
   * generation, failed, or sent a new status): how a control plane learns it must recompute status.
   */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves true once at least `members` live members of `component` (default 1) are known and
   * every one runs `generation` or newer; false after `timeoutMs`.
   */
  async appliedBy(component: string, generation: number, timeoutMs: number, members = 1): Promise<boolean> {
    const all = () => {
      const live = this.members(component);
      return live.length >= Math.max(1, members) && live.every((m) => (m.applied ?? -1) >= generation);
    };
    if (all()) return true;
    if (this.#closed) return false;
    return new Promise((resolve) => {
      const check = () => {
        const applied = all();
        if (!applied && !this.#closed) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(applied);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Releases every waiter now (shutdown): polls answer with what is current, appliedBy with false. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
