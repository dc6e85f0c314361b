// The process runtime's small parts on their own: output lines, restart delays, the start-rate cap.

import { sleep } from '@eddy/runtime';
import { describe, expect, it } from 'vitest';
import { LineSplitter, LogTail, MAX_LINE_CHARS } from './log-tail.js';
import { RestartBackoff, restartBackoffBounds } from './restart-backoff.js';
import { StartLimiter } from './start-limiter.js';

describe('LineSplitter and LogTail', () => {
  it('cuts chunks into lines across chunk borders, tolerates CRLF, bounds long lines and flushes the rest', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.write('one\r\ntw');
    splitter.write('o\n\nthr');
    splitter.write('x'.repeat(MAX_LINE_CHARS * 2));
    splitter.end();
    expect(lines.slice(0, 3)).toEqual(['one', 'two', '']);
    expect(lines.slice(3).map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS, 3]);
    expect(lines.slice(3).join('')).toBe(`thr${'x'.repeat(MAX_LINE_CHARS * 2)}`);
  });

  it('keeps the last lines, oldest first', () => {
    const tail = new LogTail(3);
    for (const line of ['a', 'b', 'c', 'd']) tail.push(line);
    expect(tail.lines()).toEqual(['b', 'c', 'd']);
  });
});

describe('RestartBackoff', () => {
  it('doubles from initialMs up to maxMs and starts over after reset()', () => {
    const backoff = new RestartBackoff(restartBackoffBounds({ initialMs: 500, maxMs: 3000 }));
    expect([1, 2, 3, 4, 5].map(() => backoff.next())).toEqual([500, 1000, 2000, 3000, 3000]);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });

  it('rejects bounds that make no sense, naming the option', () => {
    expect(() => restartBackoffBounds({ initialMs: -1 })).toThrow(
      /restartBackoff\.initialMs must be a number >= 0/,
    );
    expect(() => restartBackoffBounds({ initialMs: 1000, maxMs: 10 })).toThrow(
      /restartBackoff\.maxMs \(10\) must be >= initialMs \(1000\)/,
    );
  });
});

describe('StartLimiter', () => {
  it('lets a burst through at once, then paces starts at perSecond; cancelled starts never run', async () => {
    const limiter = new StartLimiter({ perSecond: 10, burst: 2 });
    const started: number[] = [];
    const t0 = performance.now();
    const run = () => started.push(performance.now() - t0);
    for (let i = 0; i < 4; i++) limiter.schedule(run);
    const cancel = limiter.schedule(() => started.push(-1));
    cancel();
    expect(started).toHaveLength(2);
    await sleep(500);
    expect(started).toHaveLength(4);
    expect(started).not.toContain(-1);
    // The 3rd and 4th start about 100 ms apart (one token per 100 ms).
    expect(started[2]).toBeGreaterThanOrEqual(90);
    expect((started[3] ?? 0) - (started[2] ?? 0)).toBeGreaterThanOrEqual(90);
    limiter.clear();
  });

  it('rejects a rate that is not positive', () => {
    expect(() => new StartLimiter({ perSecond: 0 })).toThrow(/startRate\.perSecond must be a number > 0/);
  });
});
