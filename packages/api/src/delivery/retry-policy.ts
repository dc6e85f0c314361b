// When to retry and how long to wait: Knative's delivery semantics in one place, shared by the
// broker's deliverer and the source emitter (@eddy/sources), so both follow the same table.
//
// Sources (read, not copied): knative/specs data-plane.md (response table), knative/eventing
// pkg/kncloudevents/retries.go (SelectiveRetry, Retry-After handling) and
// eventing-kafka-broker's WebClientCloudEventSender (isRetryableStatusCode, computeRetryPolicy).

import type { ResolvedDelivery } from '../contract/data-plane-contract.js';

/** setTimeout fires at once for longer delays, so every computed wait is clamped to this. */
export const MAX_DELAY_MS = 2_147_483_647;

/**
 * Statuses worth another attempt: 404 (endpoint not ready yet), 408, 409 (processing in
 * progress), 429 and every 5xx. Other 4xx, 3xx and 1xx are final failures. Both Knative
 * implementations agree on this set (the spec table lists 404/409/429/5xx; 408 was added by
 * both dispatchers).
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/** 2xx = the subscriber took the event. */
export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * The configured backoff before retry `retryNumber` (1 = the first retry, i.e. the second
 * attempt): linear `delay * n`, exponential `delay * 2^n`. This is the Kafka broker's formula;
 * Knative's channel-based broker (go-retryablehttp) uses n - 1 instead, so its first linear retry
 * is immediate. The contract documents n from 1, as the Kafka broker and the API reference do.
 */
export function backoffMs(delivery: ResolvedDelivery, retryNumber: number): number {
  if (retryNumber < 1) throw new RangeError(`retry number must be >= 1, got ${retryNumber}`);
  const base = delivery.backoffDelayMs;
  if (!(base > 0)) return 0;
  const raw = delivery.backoffPolicy === 'linear' ? base * retryNumber : base * 2 ** retryNumber;
  return Math.min(raw, MAX_DELAY_MS);
}

/**
 * Parses a Retry-After header (RFC 9110 10.2.3): delta-seconds or an HTTP-date. Returns the
 * wait in milliseconds (0 for a date in the past), or undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowMs = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_DELAY_MS);
  // Every HTTP-date form starts with a day name; Date.parse alone would take "-5" for a year.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return undefined;
  // asctime-date carries no zone but is GMT by definition; Date.parse would read it as local time.
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(text);
  const at = Date.parse(asctime ? `${text} GMT` : text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_DELAY_MS);
}

/**
 * Whether a response's Retry-After counts: only on 429 and 503 (Knative reads it for nothing
 * else), and only when the delivery sets `retryAfterMax` (Knative's opt-in while the feature is
 * experimental; 0 = ignore).
 */
export function retryAfterApplies(delivery: ResolvedDelivery, status: number | undefined): boolean {
  return (
    delivery.retryAfterMaxMs !== undefined &&
    delivery.retryAfterMaxMs > 0 &&
    (status === 429 || status === 503)
  );
}

/**
 * The wait before retry `retryNumber`: the configured backoff, or the subscriber's Retry-After
 * (capped by `retryAfterMax`) when that is longer. Knative takes the larger of the two, so a
 * Retry-After can stretch the wait but never shorten it. `maxBackoffMs` caps the configured backoff
 * only (the source emitter's, for its unbounded retries); the Retry-After keeps its own cap.
 */
export function delayBeforeRetry(
  delivery: ResolvedDelivery,
  retryNumber: number,
  failure: { status?: number; retryAfterMs?: number },
  maxBackoffMs = MAX_DELAY_MS,
): number {
  const backoff = Math.min(backoffMs(delivery, retryNumber), maxBackoffMs);
  if (failure.retryAfterMs === undefined || !retryAfterApplies(delivery, failure.status)) return backoff;
  const capped = Math.min(failure.retryAfterMs, delivery.retryAfterMaxMs ?? 0);
  return Math.max(backoff, capped);
}
