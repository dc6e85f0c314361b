import { describe, expect, it } from 'vitest';
import { bearerMatches, sameSecret } from './secret-compare.js';

describe('secret comparison', () => {
  it('accepts exactly the secret', () => {
    expect(sameSecret('s3cret', 's3cret')).toBe(true);
    expect(sameSecret('s3cre', 's3cret')).toBe(false);
    expect(sameSecret('s3creT', 's3cret')).toBe(false);
    expect(sameSecret('', 's3cret')).toBe(false);
  });

  it('accepts only "Bearer <token>"', () => {
    expect(bearerMatches('Bearer abc', 'abc')).toBe(true);
    expect(bearerMatches('bearer abc', 'abc')).toBe(false);
    expect(bearerMatches('Bearer abcd', 'abc')).toBe(false);
    expect(bearerMatches('abc', 'abc')).toBe(false);
    expect(bearerMatches(undefined, 'abc')).toBe(false);
  });
});
