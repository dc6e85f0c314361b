// Smooth weighted round-robin (as in nginx): deterministic, so a 90/10 split is exact over every
// 10 requests, and the minority target is spread out instead of getting runs of requests.

export class WeightedSplit<T> {
  readonly #current: number[];
  readonly #total: number;

  readonly #targets: readonly { value: T; weight: number }[];

  constructor(targets: readonly { value: T; weight: number }[]) {
    this.#targets = targets;
    this.#current = targets.map(() => 0);
    this.#total = targets.reduce((sum, target) => sum + target.weight, 0);
  }

  get size(): number {
    return this.#targets.length;
  }

  /** Undefined when there is no target with a positive weight. */
  next(): T | undefined {
    if (this.#total <= 0) return undefined;
    let best = -1;
    for (let i = 0; i < this.#targets.length; i++) {
      this.#current[i]! += this.#targets[i]!.weight;
      if (best === -1 || this.#current[i]! > this.#current[best]!) best = i;
    }
    this.#current[best]! -= this.#total;
    return this.#targets[best]!.value;
  }
}
