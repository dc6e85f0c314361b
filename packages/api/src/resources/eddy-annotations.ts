/**
 * Eddy's annotations on eventing resources, and the one parser per annotation that both `eddy validate`
 * (the semantic rules) and the control plane (computeContract) use, so the two never disagree on what a
 * valid value is.
 */
import { parseIsoDuration } from './durations.js';
import { show } from './rule-context.js';

/** Knative's Kafka broker annotation: `ordered` (one in flight per partition) or `unordered`. */
export const DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';
/** Broker / KafkaChannel-less channels: number of partitions of the topic (a positive integer). */
export const PARTITIONS_ANNOTATION = 'eddy.dev/partitions';
/** Broker / channels: retention of the topic, an ISO-8601 duration (`P7D`, `PT12H`). */
export const RETENTION_ANNOTATION = 'eddy.dev/retention';
/** Trigger / Subscription: events in flight at once for unordered delivery (a positive integer). */
export const MAX_IN_FLIGHT_ANNOTATION = 'eddy.dev/max-in-flight';
/** Trigger / Subscription: where a new consumer group starts: `earliest`, `latest` or an RFC 3339 time. */
export const START_FROM_ANNOTATION = 'eddy.dev/start-from';

/**
 * Broker: how many times an event may come back into the Broker as a Trigger's reply (Knative's broker
 * TTL, carried in the `knativebrokerttl` extension); an integer from 1 to MAX_BROKER_TTL.
 */
export const BROKER_TTL_ANNOTATION = 'eddy.dev/broker-ttl';
/** Knative's broker TTL extension attribute (eventing pkg/broker/ttl.go), so Knative senders interoperate. */
export const BROKER_TTL_EXTENSION = 'knativebrokerttl';
/** Knative's MT broker ingress default (MAX_TTL). */
export const DEFAULT_BROKER_TTL = 255;
export const MAX_BROKER_TTL = 255;

/** Upper bounds that keep a typo (an extra zero or three) from becoming a resource problem. */
export const MAX_PARTITIONS = 10_000;
export const MAX_IN_FLIGHT = 100_000;

export type AnnotationResult<T> = { ok: true; value: T } | { ok: false; message: string };

const INTEGER = /^\+?\d+$/;

function positiveInteger(text: string, max: number): AnnotationResult<number> {
  const n = INTEGER.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max)
    return { ok: false, message: `expected an integer from 1 to ${max}, found ${show(text)}` };
  return { ok: true, value: n };
}

export function parsePartitionsAnnotation(text: string): AnnotationResult<number> {
  return positiveInteger(text, MAX_PARTITIONS);
}

export function parseBrokerTtlAnnotation(text: string): AnnotationResult<number> {
  return positiveInteger(text, MAX_BROKER_TTL);
}

export function parseMaxInFlightAnnotation(text: string): AnnotationResult<number> {
  return positiveInteger(text, MAX_IN_FLIGHT);
}

/** Retention in milliseconds; must be greater than zero. */
export function parseRetentionAnnotation(text: string): AnnotationResult<number> {
  const d = parseIsoDuration(text.trim());
  if (!d || d.negative || d.ms <= 0)
    return {
      ok: false,
      message: `expected a positive ISO-8601 duration such as "P7D" or "PT12H", found ${show(text)}`,
    };
  return { ok: true, value: Math.round(d.ms) };
}

export function parseDeliveryOrderAnnotation(text: string): AnnotationResult<'ordered' | 'unordered'> {
  if (text === 'ordered' || text === 'unordered') return { ok: true, value: text };
  return { ok: false, message: `expected "ordered" or "unordered", found ${show(text)}` };
}

// RFC 3339 date-time: a full date, `T` (or `t`/space is not allowed by Kubernetes' own parser, so neither
// here), a time with optional fraction, and a mandatory offset so the instant is unambiguous.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

export type StartFromValue = 'earliest' | 'latest' | { timestamp: number };

export function parseStartFromAnnotation(text: string): AnnotationResult<StartFromValue> {
  if (text === 'earliest' || text === 'latest') return { ok: true, value: text };
  const m = RFC3339.exec(text);
  const fail = {
    ok: false as const,
    message: `expected "earliest", "latest" or an RFC 3339 timestamp such as "2024-05-01T10:00:00Z", found ${show(text)}`,
  };
  if (!m) return fail;
  const [, , month, day, hour, minute, second, , , offH, offM] = m;
  const inRange =
    Number(month) >= 1 &&
    Number(month) <= 12 &&
    Number(day) >= 1 &&
    Number(day) <= 31 &&
    Number(hour) <= 23 &&
    Number(minute) <= 59 &&
    Number(second) <= 59 &&
    (offH === undefined || Number(offH) <= 23) &&
    (offM === undefined || Number(offM) <= 59);
  const ms = Date.parse(text.toUpperCase());
  if (!inRange || !Number.isFinite(ms)) return fail;
  // Date.parse rolls 2024-02-30 over into March; a date that does not exist is a typo.
  const date = new Date(`${text.slice(0, 10)}T00:00:00Z`);
  if (date.toISOString().slice(0, 10) !== text.slice(0, 10)) return fail;
  return { ok: true, value: { timestamp: ms } };
}
