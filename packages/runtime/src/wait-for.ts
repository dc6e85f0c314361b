// Polling until something holds, failing with what never happened: the one wait-until of every
// package's tests and of test/ (each picks its defaults with waitForWith).

import { sleep } from './timers.js';

export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs?: number;
  /** Time between checks. */
  intervalMs?: number;
  /** What to add to the timeout error: the state that did not come about (a string as it is, else JSON). */
  describe?: () => unknown;
  /** An error from `check` counts as "not yet" (the last one is named on timeout) instead of failing at once. */
  ignoreErrors?: boolean;
}

export type WaitFor = <T>(
  what: string,
  check: () => T | Promise<T>,
  options?: number | WaitOptions,
) => Promise<Exclude<T, false | 0 | '' | null | undefined>>;

/**
 * A waitFor with these defaults: it calls `check` until it returns a truthy value, and returns that
 * value; it throws naming `what` after the timeout. `options` may be just the timeout in ms.
 */
export function waitForWith(defaults: { timeoutMs: number; intervalMs: number }): WaitFor {
  return (what, check, options = {}) =>
    pollUntil(what, check, typeof options === 'number' ? { timeoutMs: options } : options, defaults);
}

/** waitFor with a 15 s timeout, checking every 50 ms. */
export const waitFor: WaitFor = waitForWith({ timeoutMs: 15_000, intervalMs: 50 });

async function pollUntil<T>(
  what: string,
  check: () => T | Promise<T>,
  o: WaitOptions,
  defaults: { timeoutMs: number; intervalMs: number },
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const timeoutMs = o.timeoutMs ?? defaults.timeoutMs;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const started = Date.now();
    try {
      const value = await check();
      if (value) return value as Exclude<T, false | 0 | '' | null | undefined>;
    } catch (error) {
      if (!o.ignoreErrors) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const state = o.describe?.();
      const shown =
        state === undefined
          ? ''
          : typeof state === 'string'
            ? `\n${state}`
            : `; last state: ${JSON.stringify(state)}`;
      const error = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${error}${shown}`);
    }
    // A slow check (a CLI process spawned, a whole listing read) is not repeated back to back: on a
    // small machine that polling would take the CPU from the very thing being waited for.
    await sleep(Math.max(o.intervalMs ?? defaults.intervalMs, Date.now() - started));
  }
}
