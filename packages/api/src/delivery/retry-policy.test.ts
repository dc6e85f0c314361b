import { describe, expect, it } from 'vitest';
import type { ResolvedDelivery } from '../contract/data-plane-contract.js';
import {
  backoffMs,
  delayBeforeRetry,
  isRetryableStatus,
  MAX_DELAY_MS,
  parseRetryAfter,
  retryAfterApplies,
} from './retry-policy.js';

const linear: ResolvedDelivery = { retry: 5, backoffPolicy: 'linear', backoffDelayMs: 100 };
const exponential: ResolvedDelivery = { retry: 5, backoffPolicy: 'exponential', backoffDelayMs: 100 };

describe('retryable statuses', () => {
  it('retries 404, 408, 409, 429 and every 5xx, nothing else', () => {
    for (const status of [404, 408, 409, 429, 500, 502, 503, 504, 599])
      expect(isRetryableStatus(status)).toBe(true);
    for (const status of [100, 200, 202, 301, 302, 400, 401, 403, 405, 410, 413, 415, 422, 451]) {
      expect(isRetryableStatus(status)).toBe(false);
    }
  });
});

describe('backoff', () => {
  it('linear waits delay * n before retry n', () => {
    expect([1, 2, 3].map((n) => backoffMs(linear, n))).toEqual([100, 200, 300]);
  });

  it('exponential waits delay * 2^n before retry n (the Kafka broker exponent: the first retry already doubles)', () => {
    expect([1, 2, 3].map((n) => backoffMs(exponential, n))).toEqual([200, 400, 800]);
  });

  it('no delay configured = retry at once; huge exponents stay a valid timer', () => {
    expect(backoffMs({ ...exponential, backoffDelayMs: 0 }, 3)).toBe(0);
    expect(backoffMs(exponential, 80)).toBe(MAX_DELAY_MS);
    expect(() => backoffMs(linear, 0)).toThrow(/retry number must be >= 1/);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2024-06-01T12:00:00Z');

  it('reads delta-seconds and the three HTTP-date forms', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sat, 01 Jun 2024 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Saturday, 01-Jun-24 12:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Sat Jun  1 12:00:09 2024', now)).toBe(9000);
    expect(parseRetryAfter(['2', '9'], now)).toBe(2000);
  });

  it('a date in the past means no wait; garbage and absence mean no header', () => {
    expect(parseRetryAfter('Sat, 01 Jun 2024 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('counts only on 429 and 503, and only when retryAfterMax is set and > 0', () => {
    const withMax = { ...linear, retryAfterMaxMs: 10_000 };
    expect(retryAfterApplies(withMax, 429)).toBe(true);
    expect(retryAfterApplies(withMax, 503)).toBe(true);
    expect(retryAfterApplies(withMax, 500)).toBe(false);
    expect(retryAfterApplies(withMax, undefined)).toBe(false);
    expect(retryAfterApplies(linear, 429)).toBe(false);
    expect(retryAfterApplies({ ...linear, retryAfterMaxMs: 0 }, 429)).toBe(false);
  });

  it('takes the larger of backoff and the capped Retry-After', () => {
    const withMax = { ...linear, retryAfterMaxMs: 1_000 };
    expect(delayBeforeRetry(withMax, 1, { status: 429, retryAfterMs: 500 })).toBe(500);
    expect(delayBeforeRetry(withMax, 1, { status: 503, retryAfterMs: 60_000 })).toBe(1_000);
    // Shorter than the backoff: the backoff wins.
    expect(delayBeforeRetry(withMax, 3, { status: 429, retryAfterMs: 50 })).toBe(300);
    // Not opted in, or not 429/503: the backoff alone.
    expect(delayBeforeRetry(linear, 1, { status: 429, retryAfterMs: 60_000 })).toBe(100);
    expect(delayBeforeRetry(withMax, 1, { status: 500, retryAfterMs: 60_000 })).toBe(100);
  });

  it('caps the configured backoff at maxBackoffMs, not the Retry-After', () => {
    const withMax = { ...linear, retryAfterMaxMs: 1_000 };
    expect(delayBeforeRetry(linear, 5, {}, 250)).toBe(250);
    expect(delayBeforeRetry(linear, 1, {}, 250)).toBe(100);
    expect(delayBeforeRetry(withMax, 5, { status: 429, retryAfterMs: 800 }, 250)).toBe(800);
  });
});
