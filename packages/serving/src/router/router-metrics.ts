// Prometheus metrics of the router. Metrics are looked up in the registry before being created, so
// several routers (tests, a restarted plane) can share one registry.

import { type LevelGauge, registeredLevelGauge } from '@eddy/runtime';
import { Counter, Histogram, type Registry } from 'prom-client';

type RevisionLabels = 'namespace' | 'revision';

export interface RouterMetrics {
  /** Requests that resolved to a revision, by status code (499 = client went away). */
  requests: Counter<RevisionLabels | 'code'>;
  /** Of them, those handed over by a component of this process (InProcessOrigins: no socket). */
  inProcess: Counter<RevisionLabels>;
  /** Arrival to the end of the response (queueing included). */
  duration: Histogram<RevisionLabels | 'code'>;
  /** Read from each revision's gate when scraped (level-gauge.ts). */
  queueDepth: LevelGauge<RevisionLabels>;
  inFlight: LevelGauge<RevisionLabels>;
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

export function routerMetrics(registry: Registry): RouterMetrics {
  const labelNames: RevisionLabels[] = ['namespace', 'revision'];
  return {
    requests:
      existing(registry, 'eddy_serving_requests_total') ??
      new Counter({
        name: 'eddy_serving_requests_total',
        help: 'Requests routed to a revision, by status code',
        labelNames: [...labelNames, 'code'],
        registers: [registry],
      }),
    inProcess:
      existing(registry, 'eddy_serving_in_process_requests_total') ??
      new Counter({
        name: 'eddy_serving_in_process_requests_total',
        help: 'Requests routed to a revision that came from this process without a socket (a dispatcher beside the router)',
        labelNames,
        registers: [registry],
      }),
    duration:
      existing(registry, 'eddy_serving_request_duration_seconds') ??
      new Histogram({
        name: 'eddy_serving_request_duration_seconds',
        help: 'Router request duration, arrival to the end of the response, queueing included',
        labelNames: [...labelNames, 'code'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
    queueDepth: registeredLevelGauge(
      registry,
      'eddy_serving_queue_depth',
      'Requests waiting in the router for a replica of the revision',
      labelNames,
    ),
    inFlight: registeredLevelGauge(
      registry,
      'eddy_serving_in_flight',
      'Requests being served by replicas of the revision',
      labelNames,
    ),
  };
}
