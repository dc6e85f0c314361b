import { describe, expect, it } from 'vitest';
import { sleep } from './timers.js';
import { waitForWith } from './wait-for.js';

describe('waitFor', () => {
  it('returns the first truthy value of check', async () => {
    const waitFor = waitForWith({ timeoutMs: 5_000, intervalMs: 1 });
    let n = 0;
    await expect(waitFor('the third call', () => (++n === 3 ? n : undefined))).resolves.toBe(3);
  });

  it('rests after a slow check at least as long as the check took', async () => {
    const waitFor = waitForWith({ timeoutMs: 5_000, intervalMs: 1 });
    const calls: { start: number; end: number }[] = [];
    await waitFor('four slow checks', async () => {
      const start = Date.now();
      await sleep(80);
      calls.push({ start, end: Date.now() });
      return calls.length === 4;
    });
    for (let i = 1; i < calls.length; i++) {
      const previous = calls[i - 1]!;
      // Timers may fire late, never early (allow the clock's millisecond rounding).
      expect(calls[i]!.start - previous.end).toBeGreaterThanOrEqual(previous.end - previous.start - 2);
    }
  });

  it('names what never happened, with the described state', async () => {
    const waitFor = waitForWith({ timeoutMs: 50, intervalMs: 5 });
    await expect(waitFor('a miracle', () => false, { describe: () => ({ seen: 0 }) })).rejects.toThrow(
      'timed out after 50 ms waiting for a miracle; last state: {"seen":0}',
    );
  });
});
