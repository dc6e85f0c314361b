// Prometheus metrics of the ingress. Several ingresses may share one registry (tests, a process
// serving two), so every metric is fetched from the registry before it is created.
//
// Labels: kind (broker | channel), namespace, name. Requests to paths that match no route carry
// empty namespace/name, so arbitrary paths cannot blow up label cardinality.

import type { Counter, Histogram, Registry } from 'prom-client';
import { registeredCounter as counter, registeredHistogram } from '../metrics/registered-metric.js';

type RouteLabels = 'kind' | 'namespace' | 'name';

export interface IngressMetrics {
  /**
   * Events by outcome: accepted (durable), rejected (4xx), unavailable (503), error (500). A
   * request whose events could not be read counts as one.
   */
  events: Counter<RouteLabels | 'outcome'>;
  /** Rejected or failed requests by reason (an HttpBindingError code, too_large, unknown_route, ...). */
  rejected: Counter<RouteLabels | 'reason'>;
  /** Seconds from the request's arrival to the response, by status code. */
  duration: Histogram<RouteLabels | 'code'>;
  /** Request body bytes received. */
  bytes: Counter<RouteLabels>;
}

export function ingressMetrics(registry: Registry): IngressMetrics {
  const duration = registeredHistogram(
    registry,
    'eddy_ingress_request_duration_seconds',
    'Ingress request duration, arrival to response (202 = durable in the log)',
    ['kind', 'namespace', 'name', 'code'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  return {
    events: counter(registry, 'eddy_ingress_events_total', 'Events received by the ingress, by outcome', [
      'kind',
      'namespace',
      'name',
      'outcome',
    ]),
    rejected: counter(registry, 'eddy_ingress_rejected_total', 'Ingress requests not accepted, by reason', [
      'kind',
      'namespace',
      'name',
      'reason',
    ]),
    duration,
    bytes: counter(
      registry,
      'eddy_ingress_request_bytes_total',
      'Request body bytes received by the ingress',
      ['kind', 'namespace', 'name'],
    ),
  };
}
