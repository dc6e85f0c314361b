// Prometheus metrics of the deliverer. Several deliverers may share one registry (one per
// dispatcher, tests), so every metric is fetched from the registry before it is created
// (registered-metric.ts).

import type { Counter, Histogram, Registry } from 'prom-client';
import {
  registeredCounter as counter,
  registeredHistogram as histogram,
} from '../metrics/registered-metric.js';

export interface DeliveryMetrics {
  /** Subscriber attempts: status_class = 2xx..5xx, `timeout` or `network_error`. */
  attempts: Counter<'route' | 'status_class'>;
  /** Dead-letter sink attempts, same classes. */
  deadLetterAttempts: Counter<'route' | 'status_class'>;
  /** Final outcomes: delivered, dead-lettered, dropped, aborted. */
  outcomes: Counter<'route' | 'outcome'>;
  /** Seconds per subscriber attempt (request sent to response read, or failure). */
  latency: Histogram<'route'>;
  deadLettered: Counter<'route'>;
  /** reason = no_dead_letter_sink | dead_letter_sink_failed | unencodable_event. */
  dropped: Counter<'route' | 'reason'>;
}

export function deliveryMetrics(registry: Registry): DeliveryMetrics {
  return {
    attempts: counter(registry, 'eddy_dispatch_attempts_total', 'HTTP delivery attempts to subscribers', [
      'route',
      'status_class',
    ]),
    deadLetterAttempts: counter(
      registry,
      'eddy_dispatch_dead_letter_attempts_total',
      'HTTP delivery attempts to dead-letter sinks',
      ['route', 'status_class'],
    ),
    outcomes: counter(registry, 'eddy_dispatch_outcomes_total', 'Final delivery outcomes per event', [
      'route',
      'outcome',
    ]),
    latency: histogram(
      registry,
      'eddy_dispatch_latency_seconds',
      'Duration of one delivery attempt to a subscriber',
      ['route'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    ),
    deadLettered: counter(
      registry,
      'eddy_dispatch_dead_lettered_total',
      'Events accepted by a dead-letter sink',
      ['route'],
    ),
    dropped: counter(
      registry,
      'eddy_dispatch_dropped_total',
      'Events given up on without a dead-letter sink taking them',
      ['route', 'reason'],
    ),
  };
}
