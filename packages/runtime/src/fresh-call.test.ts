import { describe, expect, it } from 'vitest';
import { freshCall } from './fresh-call.js';

describe('freshCall', () => {
  it('runs once for callers arriving together, and once more for those arriving while it runs', async () => {
    let runs = 0;
    const gates: (() => void)[] = [];
    const call = freshCall(async () => {
      const run = ++runs;
      await new Promise<void>((resolve) => gates.push(resolve));
      return run;
    });
    const first = call();
    await Promise.resolve();
    const second = [call(), call(), call()];
    await new Promise((r) => setImmediate(r));
    expect(runs).toBe(1);
    gates.shift()!();
    expect(await first).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(runs).toBe(2);
    gates.shift()!();
    expect(await Promise.all(second)).toEqual([2, 2, 2]);
  });

  it('a failed run rejects its callers only; the next call runs again', async () => {
    let fail = true;
    const call = freshCall(async () => {
      if (fail) throw new Error('boom');
      return 'ok';
    });
    await expect(call()).rejects.toThrow('boom');
    fail = false;
    await expect(call()).resolves.toBe('ok');
  });
});
