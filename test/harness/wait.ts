// The one wait-until for the tests under test/: poll a condition, fail naming what never happened.

import { sleep } from '@eddy/runtime';

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_INTERVAL_MS = 50;

export interface WaitOptions {
  /** Give up after this long; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Time between checks; default DEFAULT_INTERVAL_MS. */
  intervalMs?: number;
  /** What to add to the timeout error: the state that did not come about (a string as it is, else JSON). */
  describe?: () => unknown;
  /** An error from `check` counts as "not yet" (the last one is named on timeout) instead of failing at once. */
  ignoreErrors?: boolean;
}

/**
 * Calls `check` until it returns a truthy value, and returns that value; throws naming `what` after
 * the timeout. `options` may be just the timeout in ms.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  options: number | WaitOptions = {},
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const o = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
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
    await sleep(o.intervalMs ?? DEFAULT_INTERVAL_MS);
  }
}
