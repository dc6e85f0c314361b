// Prometheus metrics of the ingress. Several ingresses may share one registry (tests, a process
// serving two), so every metric is fetched from the registry before it is created.
//
// Labels: kind (broker | channel), namespace, name. Requests to paths that match no route carry
// empty namespace/name, so arbitrary paths cannot blow up label cardinality.

import { Counter, Histogram, type Registry } from 'prom-client';

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

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function ingressMetrics(registry: Registry): IngressMetrics {
  const durationName = 'eddy_ingress_request_duration_seconds';
  const duration =
    (registry.getSingleMetric(durationName) as Histogram<RouteLabels | 'code'> | undefined) ??
    new Histogram({
      name: durationName,
      help: 'Ingress request duration, arrival to response (202 = durable in the log)',
      labelNames: ['kind', 'namespace', 'name', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
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
