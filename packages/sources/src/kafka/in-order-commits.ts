// The commit point of one partition while records finish out of order: the lowest record that is
// started and not finished, or one past the highest started when all are finished. A record that
// failed and must be read again is simply never finished, so the commit point stays on it.
//
// Deliberately minimal and local: the broker's dispatcher has a richer tracker
// (packages/broker/src/dispatcher/commit-tracker.ts) that @eddy/sources cannot import (it depends on
// @eddy/api only); moving that one to @eddy/api would let both share it.

export class InOrderCommits {
  /** Started, unfinished offsets, ascending (records start in offset order). */
  readonly #unfinished: number[] = [];
  #highest = -1;

  begin(offset: number): void {
    if (offset <= this.#highest)
      throw new RangeError(`in-order commits: offset ${offset} started after ${this.#highest}`);
    this.#highest = offset;
    this.#unfinished.push(offset);
  }

  finish(offset: number): void {
    const i = this.#unfinished.indexOf(offset);
    if (i >= 0) this.#unfinished.splice(i, 1);
  }

  /** The next offset to read that may be committed, or undefined before the first begin(). */
  get commitPoint(): number | undefined {
    if (this.#highest < 0) return undefined;
    return this.#unfinished[0] ?? this.#highest + 1;
  }
}
