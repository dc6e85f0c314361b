// Progress: a live line rewritten in place on a terminal, a line every few seconds otherwise, count
// and total with a percentage, and the live line cleared before the command's final line.

import { describe, expect, it } from 'vitest';
import { Progress } from './progress.js';

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('Progress', () => {
  it('without a terminal: one line every intervalMs, with the total when known', () => {
    const c = clock();
    const written: string[] = [];
    const p = new Progress({
      label: 'exporting ns/b',
      tty: false,
      write: (t) => written.push(t),
      now: c.now,
    });
    p.total = 200;
    p.update(10);
    c.advance(4999);
    p.update(20);
    expect(written).toEqual([]);
    c.advance(1);
    p.update(50, ', 3 matching');
    c.advance(1000);
    p.update(60);
    expect(written).toEqual(['exporting ns/b: 50/200 events (25%), 3 matching\n']);
    p.done();
    expect(written).toHaveLength(1);
  });

  it('on a terminal: the line is rewritten in place, and cleared at the end', () => {
    const c = clock();
    const written: string[] = [];
    const p = new Progress({
      label: 'importing into ns/b',
      tty: true,
      write: (t) => written.push(t),
      now: c.now,
    });
    c.advance(100);
    p.update(7);
    c.advance(50);
    p.update(8);
    c.advance(50);
    p.update(9);
    expect(written).toEqual([
      '\r\x1b[Kimporting into ns/b: 7 events',
      '\r\x1b[Kimporting into ns/b: 9 events',
    ]);
    p.done();
    expect(written.at(-1)).toBe('\r\x1b[K');
  });
});
