// In-order commits with out-of-order completions, for one partition (shared by the broker's
// dispatcher and the KafkaSource adapter). Events start in offset order
// and may finish in any order; the offset that may be committed is the lowest unfinished one (or
// one past the highest started when nothing is unfinished), so a committed offset never passes an
// event whose outcome is not final. Memory is the set of unfinished offsets only (bounded by the
// in-flight limit), not the finished ones behind a slow event.

export class CommitTracker {
  /** Unfinished offsets in increasing order (they start in order). */
  readonly #unfinished: number[] = [];
  /** Highest offset started; -1 before the first. */
  #highest = -1;
  /** Last offset handed out by takeCommit(); commits never go backwards within a tracker. */
  #committed: number;

  /** `committed` = the partition's committed offset when the tracker starts, if known. */
  constructor(committed = -1) {
    this.#committed = committed;
  }

  get highestStarted(): number {
    return this.#highest;
  }

  /** The lowest offset not final yet: the unfinished minimum, or one past the highest started. */
  get lowestUnfinished(): number {
    return this.#unfinished[0] ?? this.#highest + 1;
  }

  get unfinishedCount(): number {
    return this.#unfinished.length;
  }

  /** Whether `offset` was started here and has not finished. */
  isUnfinished(offset: number): boolean {
    return this.#indexOf(offset) >= 0;
  }

  /** Starts an event; offsets must increase. */
  begin(offset: number): void {
    if (offset <= this.#highest) {
      throw new RangeError(
        `commit tracker: offset ${offset} started after ${this.#highest}; offsets must increase`,
      );
    }
    this.#highest = offset;
    this.#unfinished.push(offset);
  }

  /**
   * An event final as soon as it starts (filtered out): begin() and finish() without the bookkeeping,
   * for the many records a route skips.
   */
  pass(offset: number): void {
    this.begin(offset);
    this.#unfinished.pop();
  }

  /** Marks an event's outcome final. */
  finish(offset: number): void {
    const index = this.#indexOf(offset);
    if (index >= 0) this.#unfinished.splice(index, 1);
  }

  /** Where the partition may be committed now (the next offset to read); undefined before any begin(). */
  get commitPoint(): number | undefined {
    return this.#highest < 0 ? undefined : this.lowestUnfinished;
  }

  /** The offset to commit now (the next one to read), or undefined when it did not advance. */
  takeCommit(): number | undefined {
    if (this.#highest < 0) return undefined;
    const next = this.#unfinished[0] ?? this.#highest + 1;
    if (next <= this.#committed) return undefined;
    this.#committed = next;
    return next;
  }

  /** Forgets a takeCommit() whose commit failed, so the next takeCommit() offers it again. */
  commitFailed(offset: number, previous: number): void {
    if (this.#committed === offset) this.#committed = previous;
  }

  get committed(): number {
    return this.#committed;
  }

  #indexOf(offset: number): number {
    const list = this.#unfinished;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const value = list[mid]!;
      if (value === offset) return mid;
      if (value < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
