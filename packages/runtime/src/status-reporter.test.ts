import { afterEach, describe, expect, it } from 'vitest';
import { type StatusReporter, startStatusReporter } from './status-reporter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let reporter: StatusReporter | undefined;
afterEach(() => reporter?.stop());

describe('startStatusReporter', () => {
  it('sends when the signature moved, at most once an interval, and again after refreshMs anyway', async () => {
    let value = 1;
    const sent: number[] = [];
    reporter = startStatusReporter({
      build: () => value,
      signature: String,
      send: (v) => sent.push(v),
      intervalMs: 50,
      refreshMs: 600,
    });
    await sleep(130);
    expect(sent).toEqual([1]);
    // Ten changes within one interval go out as one report with the last value.
    for (let i = 0; i < 10; i++) value++;
    await sleep(60);
    expect(sent).toEqual([1, 11]);
    // Nothing moves: nothing is sent until the refresh.
    await sleep(200);
    expect(sent).toEqual([1, 11]);
    await sleep(500);
    expect(sent).toEqual([1, 11, 11]);
  });

  it('flush() sends a moved status at once; a build that throws is reported and the reporter goes on', async () => {
    let value = 1;
    const sent: number[] = [];
    const errors: string[] = [];
    reporter = startStatusReporter({
      build: () => {
        if (value === 2) throw new Error('registry gone');
        return value;
      },
      signature: String,
      send: (v) => sent.push(v),
      onError: (e) => errors.push((e as Error).message),
      intervalMs: 10_000,
    });
    await reporter.flush();
    await reporter.flush();
    expect(sent).toEqual([1]);
    value = 2;
    await reporter.flush();
    expect(errors).toEqual(['registry gone']);
    value = 3;
    await reporter.flush();
    expect(sent).toEqual([1, 3]);
  });

  it('refuses intervals that make no sense', () => {
    expect(() =>
      startStatusReporter({ build: () => 1, signature: String, send: () => {}, intervalMs: 0 }),
    ).toThrow(/intervalMs must be > 0/);
  });
});
