import { describe, expect, it } from 'vitest';
import { compileCesql } from './index.js';
import { compileLike } from './like.js';

/**
 * Reference semantics, written independently of the matcher: dynamic programming over code points
 * (O(n·m) memory and time, fine for short strings).
 */
function referenceLike(value: string, pattern: string): boolean {
  const items: Array<{ kind: 'lit'; ch: string } | { kind: 'one' } | { kind: 'any' }> = [];
  const p = Array.from(pattern);
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\' && (p[i + 1] === '%' || p[i + 1] === '_')) {
      items.push({ kind: 'lit', ch: p[i + 1]! });
      i++;
    } else if (p[i] === '%') items.push({ kind: 'any' });
    else if (p[i] === '_') items.push({ kind: 'one' });
    else items.push({ kind: 'lit', ch: p[i]! });
  }
  const v = Array.from(value);
  // can[j] = the first i items match the first j characters
  let can = v.map(() => false);
  can = [true, ...can];
  for (const item of items) {
    const next = can.map(() => false);
    for (let j = 0; j <= v.length; j++) {
      if (item.kind === 'any') next[j] = can[j]! || (j > 0 && next[j - 1]!);
      else if (j > 0 && can[j - 1]) next[j] = item.kind === 'one' || v[j - 1] === item.ch;
    }
    can = next;
  }
  return can[v.length]!;
}

/** Deterministic pseudo-random generator (mulberry32), so a failure is reproducible. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('LIKE matcher', () => {
  it.each([
    ['abc', 'abc', true],
    ['abc', 'ab', false],
    ['ab', 'abc', false],
    ['', '', true],
    ['', '%', true],
    ['', '_', false],
    ['abc', '%', true],
    ['abc', 'a%', true],
    ['abc', '%c', true],
    ['abc', '%b%', true],
    ['abc', '%d%', false],
    ['abc', 'a%b%c', true],
    ['abc', 'a_c', true],
    ['abc', 'a__c', false],
    ['abc', '___', true],
    ['abc', '__', false],
    ['aXbXc', 'a%b%c', true],
    ['acb', 'a%b%c', false],
    ['mississippi', '%iss%ppi', true],
    ['mississippi', 'm%issi%issi%', false],
    ['a%b', 'a\\%b', true],
    ['aXb', 'a\\%b', false],
    ['a_b', 'a\\_b', true],
    ['aXb', 'a\\_b', false],
    ['ab\\c', 'ab\\c', true],
    ['a\\%', 'a\\\\%', true], // backslash before a backslash is literal; the second escapes '%'
    ['ABC', 'abc', false], // case-sensitive
    ['😀', '_', true], // '_' is one character (code point), not one UTF-16 unit
    ['a😀b', 'a_b', true],
    ['a😀b', 'a__b', false],
    ['x😀y😀z', '%😀z', true],
    ['x😀y😀z', '%_y_%', true],
  ])('%j LIKE %j is %s', (value, pattern, expected) => {
    expect(compileLike(pattern)(value)).toBe(expected);
    expect(referenceLike(value, pattern)).toBe(expected);
  });

  it('agrees with the reference on 20,000 random patterns and values', () => {
    const next = random(1234);
    const alphabet = ['a', 'b', '%', '_', '\\', '😀'];
    const pick = (n: number) =>
      Array.from(
        { length: Math.floor(next() * n) },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join('');
    for (let i = 0; i < 20_000; i++) {
      const pattern = pick(8);
      const value = pick(10).replaceAll('%', 'a').replaceAll('_', 'b');
      expect(compileLike(pattern)(value), `${JSON.stringify(value)} LIKE ${JSON.stringify(pattern)}`).toBe(
        referenceLike(value, pattern),
      );
    }
  });

  it('no backtracking blow-up: a pathological pattern against 200,000 characters stays fast', () => {
    const value = 'a'.repeat(200_000);
    const patterns = [
      '%a%a%a%a%a%a%a%a%b',
      '%_%_%_%_%_%_%_%_%b',
      'a%a%a%a%a%a%a%a%a%a%a%a%ab',
      '%aaaaaaaaaaaaaaaaaaab%',
    ];
    const started = performance.now();
    for (const pattern of patterns) expect(compileLike(pattern)(value)).toBe(false);
    const compiled = compileCesql("x LIKE '%a%a%a%a%a%a%a%a%b' OR x NOT LIKE '%a%a%a%a%a%a%a%a%a'");
    expect(compiled.evaluate({ x: value })).toEqual({ value: false, errors: [] });
    // A complexity guard, not a benchmark: a backtracking (regex-style) matcher needs astronomically long here,
    // the linear walk needs a few milliseconds.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
