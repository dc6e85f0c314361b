// DeliverySpec (ISO-8601 strings, a dead-letter Destination) -> ResolvedDelivery (milliseconds, a URL).

import {
  type AddressResolver,
  type ConditionSet,
  type DeliverySpec,
  parseIsoDuration,
  type ResolvedDelivery,
  resolveDestination,
} from '@eddy/api';

/**
 * What applies when the chosen DeliverySpec leaves a field out, following the Kafka broker's control
 * plane: no retries, exponential backoff, a 1 s base delay (its `DEFAULT_BACKOFF_DELAY_MS`), the
 * dispatcher's own timeout, Retry-After not capped (so not honoured: see ResolvedDelivery).
 */
export const DEFAULT_BACKOFF_DELAY_MS = 1000;

/** Used when neither the consumer nor its broker/channel has a DeliverySpec (Knative: no retries). */
export const DEFAULT_RESOLVED_DELIVERY: Readonly<Omit<ResolvedDelivery, 'deadLetterSink'>> = Object.freeze({
  retry: 0,
  backoffPolicy: 'exponential',
  backoffDelayMs: DEFAULT_BACKOFF_DELAY_MS,
});

export interface DeliveryDefaults {
  /** The whole delivery when no DeliverySpec applies. */
  delivery: Omit<ResolvedDelivery, 'deadLetterSink'>;
  /** Base delay when a DeliverySpec has no `backoffDelay`. */
  backoffDelayMs: number;
  /** Per-attempt timeout when a DeliverySpec (or the default delivery) has none. */
  timeoutMs?: number;
}

export type DeliveryResult =
  | { ok: true; delivery: ResolvedDelivery }
  /** `field` is `deadLetterSink` when the sink could not be resolved, else the bad duration's field. */
  | { ok: false; field: string; message: string };

function durationMs(
  value: string | undefined,
  field: string,
  opts: { positive?: boolean } = {},
): { ok: true; ms: number | undefined } | { ok: false; field: string; message: string } {
  if (value === undefined) return { ok: true, ms: undefined };
  const d = parseIsoDuration(value);
  if (!d || d.negative || (opts.positive && d.ms === 0))
    return {
      ok: false,
      field,
      message: `${field}: expected a ${opts.positive ? 'positive' : 'non-negative'} ISO-8601 duration such as "PT0.5S", found ${JSON.stringify(value)}`,
    };
  return { ok: true, ms: Math.round(d.ms) };
}

/**
 * Resolves the DeliverySpec that applies (already chosen as a whole: the Trigger's or Subscription's if
 * it has one, else its Broker's or Channel's) in the namespace of the resource that declared it.
 */
export function resolveDelivery(
  spec: DeliverySpec | undefined,
  namespace: string,
  resolver: AddressResolver,
  defaults: DeliveryDefaults,
): DeliveryResult {
  if (!spec) {
    const d: ResolvedDelivery = { ...defaults.delivery };
    if (d.timeoutMs === undefined && defaults.timeoutMs !== undefined) d.timeoutMs = defaults.timeoutMs;
    return { ok: true, delivery: d };
  }
  const delay = durationMs(spec.backoffDelay, 'backoffDelay');
  if (!delay.ok) return delay;
  const timeout = durationMs(spec.timeout, 'timeout', { positive: true });
  if (!timeout.ok) return timeout;
  const retryAfterMax = durationMs(spec.retryAfterMax, 'retryAfterMax');
  if (!retryAfterMax.ok) return retryAfterMax;
  const delivery: ResolvedDelivery = {
    retry: spec.retry ?? 0,
    backoffPolicy: spec.backoffPolicy ?? 'exponential',
    backoffDelayMs: delay.ms ?? defaults.backoffDelayMs,
  };
  const timeoutMs = timeout.ms ?? defaults.timeoutMs;
  if (timeoutMs !== undefined) delivery.timeoutMs = timeoutMs;
  if (retryAfterMax.ms !== undefined) delivery.retryAfterMaxMs = retryAfterMax.ms;
  if (spec.deadLetterSink) {
    const dls = resolveDestination(spec.deadLetterSink, namespace, resolver);
    if (!dls.ok) return { ok: false, field: 'deadLetterSink', message: dls.message };
    delivery.deadLetterSink = dls.url;
    if (dls.audience) delivery.deadLetterSinkAudience = dls.audience;
    if (dls.caCerts !== undefined) delivery.deadLetterSinkCACerts = dls.caCerts;
  }
  return { ok: true, delivery };
}

/** Marks ConfigParsed False when the delivery did not parse (a dead-letter sink is another condition). */
export function markDeliveryParse(
  set: ConditionSet,
  result: DeliveryResult | undefined,
  owner: string,
): void {
  if (!result) return;
  if (!result.ok && result.field !== 'deadLetterSink')
    set.markFalse('ConfigParsed', 'InvalidDelivery', `${owner}spec.delivery.${result.message}`);
}

/** Marks DeadLetterSinkResolved; returns the sink's URL when there is one. */
export function markDeadLetterSink(
  set: ConditionSet,
  result: DeliveryResult | undefined,
  what: string,
): string | undefined {
  if (result && !result.ok && result.field === 'deadLetterSink') {
    set.markFalse(
      'DeadLetterSinkResolved',
      'DeadLetterSinkResolveFailed',
      `failed to resolve ${what}: ${result.message}`,
    );
    return undefined;
  }
  const dls = result?.ok ? result.delivery.deadLetterSink : undefined;
  if (dls) set.markTrue('DeadLetterSinkResolved');
  else
    set.markTrue(
      'DeadLetterSinkResolved',
      'DeadLetterSinkNotConfigured',
      'No dead letter sink is configured.',
    );
  return dls;
}
