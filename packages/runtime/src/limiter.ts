// At most `max` async operations at once; the rest wait in order. A controller's writes to an API
// server go through one, so a burst of objects cannot put thousands of requests in flight at once.

export class Limiter {
  readonly #max: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`Limiter: max must be an integer >= 1, got ${max}`);
    this.#max = max;
  }

  /** Operations running or waiting. */
  get pending(): number {
    return this.#running + this.#waiting.length;
  }

  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await operation();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
