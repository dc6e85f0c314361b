// Crash-restart delays, like the kubelet's CrashLoopBackOff: doubling from `initialMs` up to `maxMs`,
// back to `initialMs` once a replica has stayed ready for `resetAfterReadyMs`.

export interface RestartBackoffOptions {
  /** First restart delay. Default 500 ms. */
  initialMs?: number;
  /** Upper bound. Default 30 000 ms. */
  maxMs?: number;
  /** A replica that stayed ready this long resets its backoff. Default 10 000 ms. */
  resetAfterReadyMs?: number;
}

export interface RestartBackoffBounds {
  initialMs: number;
  maxMs: number;
  resetAfterReadyMs: number;
}

export function restartBackoffBounds(options: RestartBackoffOptions = {}): RestartBackoffBounds {
  const bounds = {
    initialMs: options.initialMs ?? 500,
    maxMs: options.maxMs ?? 30_000,
    resetAfterReadyMs: options.resetAfterReadyMs ?? 10_000,
  };
  for (const [key, value] of Object.entries(bounds)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`process runtime: restartBackoff.${key} must be a number >= 0, got ${value}`);
    }
  }
  if (bounds.maxMs < bounds.initialMs) {
    throw new Error(
      `process runtime: restartBackoff.maxMs (${bounds.maxMs}) must be >= initialMs (${bounds.initialMs})`,
    );
  }
  return bounds;
}

export class RestartBackoff {
  readonly #bounds: RestartBackoffBounds;
  #next: number;

  constructor(bounds: RestartBackoffBounds) {
    this.#bounds = bounds;
    this.#next = bounds.initialMs;
  }

  /** The delay before the next restart; each call doubles the one after (up to maxMs). */
  next(): number {
    const delay = this.#next;
    this.#next = Math.min(this.#bounds.maxMs, Math.max(1, this.#next * 2));
    return delay;
  }

  reset(): void {
    this.#next = this.#bounds.initialMs;
  }
}
