// Caps how fast a runtime starts replica processes (all revisions together): a token bucket of
// `perSecond` tokens refilled continuously, holding at most `burst`. A scale from 0 to 50 on a small
// machine then forks processes at a steady pace instead of all at once.

export interface StartRateOptions {
  /** Sustained starts per second. Default 10. */
  perSecond?: number;
  /** Starts allowed at once after a quiet period. Default = perSecond. */
  burst?: number;
}

export class StartLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt = Date.now();
  readonly #waiting: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: StartRateOptions = {}) {
    this.#perSecond = options.perSecond ?? 10;
    this.#burst = options.burst ?? Math.max(1, this.#perSecond);
    if (!(this.#perSecond > 0) || !Number.isFinite(this.#perSecond)) {
      throw new Error(`process runtime: startRate.perSecond must be a number > 0, got ${options.perSecond}`);
    }
    if (!(this.#burst >= 1) || !Number.isFinite(this.#burst)) {
      throw new Error(`process runtime: startRate.burst must be a number >= 1, got ${options.burst}`);
    }
    this.#tokens = this.#burst;
  }

  /** Runs `start` as soon as the rate allows; the returned function cancels it if it has not run. */
  schedule(start: () => void): () => void {
    let cancelled = false;
    const entry = () => {
      if (!cancelled) start();
    };
    this.#waiting.push(entry);
    this.#drain();
    return () => {
      cancelled = true;
      const index = this.#waiting.indexOf(entry);
      if (index >= 0) this.#waiting.splice(index, 1);
    };
  }

  /** Drops every waiting start and its timer. */
  clear(): void {
    this.#waiting.length = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #drain(): void {
    const now = Date.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#perSecond);
    this.#refilledAt = now;
    while (this.#waiting.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#waiting.shift()?.();
    }
    if (this.#waiting.length > 0 && !this.#timer) {
      const waitMs = Math.ceil(((1 - this.#tokens) / this.#perSecond) * 1000);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#drain();
      }, waitMs);
    }
  }
}
