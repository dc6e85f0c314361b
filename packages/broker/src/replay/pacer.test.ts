import { describe, expect, it } from 'vitest';
import { Pacer } from './pacer.js';

describe('Pacer', () => {
  it('spaces starts 1/rate apart without a burst, and restarts from now after idling', async () => {
    const pacer = new Pacer(200);
    const signal = new AbortController().signal;
    const started = performance.now();
    for (let i = 0; i < 21; i++) await pacer.wait(signal);
    // 20 intervals of 5 ms: never sooner (a burst), whatever the machine.
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
  });

  it('a fired signal ends a wait at once, and a bad rate is refused', async () => {
    const pacer = new Pacer(0.01);
    const abort = new AbortController();
    await pacer.wait(abort.signal);
    const waiting = pacer.wait(abort.signal);
    abort.abort();
    await waiting;
    expect(() => new Pacer(0)).toThrow(/rate must be > 0/);
  });
});
