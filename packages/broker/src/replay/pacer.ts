// At most `rate` starts per second, evenly spaced (no bursts): each start is given the next free slot
// of a schedule 1/rate apart, so a replay's measured rate is the limit from the first second on.

import { sleep } from '@eddy/runtime';

export class Pacer {
  #intervalMs: number;
  #nextAt = 0;

  constructor(ratePerSecond: number) {
    this.#intervalMs = intervalOf(ratePerSecond);
  }

  set rate(ratePerSecond: number) {
    this.#intervalMs = intervalOf(ratePerSecond);
  }

  /** Resolves at this caller's slot (at once when the signal fires). */
  async wait(signal: AbortSignal): Promise<void> {
    const now = performance.now();
    // An idle pacer does not save up slots: the schedule restarts from now.
    const at = Math.max(now, this.#nextAt);
    this.#nextAt = at + this.#intervalMs;
    if (at > now) await sleep(at - now, signal);
  }
}

function intervalOf(ratePerSecond: number): number {
  if (!(ratePerSecond > 0)) throw new RangeError(`Pacer: rate must be > 0, got ${ratePerSecond}`);
  return 1000 / ratePerSecond;
}
