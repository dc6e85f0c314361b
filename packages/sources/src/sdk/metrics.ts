// Prometheus metrics of every source, one set of series per source (labels kind/namespace/name).

import { Counter, Gauge, type Registry } from 'prom-client';
import type { SourceMetrics } from './adapter.js';

/** Why an event was not delivered (the `reason` label of eddy_source_events_failed_total). */
export type FailureReason =
  /** The sink answered a status that is not retried (e.g. 400). */
  | 'rejected'
  /** Every attempt failed with a retryable status, a timeout or a network error. */
  | 'retries_exhausted'
  /** The event cannot be encoded for HTTP (e.g. an attribute value no header can carry). */
  | 'unencodable'
  /** Upstream data that could not become an event (counted by the adapter through malformed()). */
  | 'malformed'
  /** Dropped by the adapter because too many earlier events are still being retried (dropped()). */
  | 'overloaded';

/** What the emitter records; adapters see the SourceMetrics part. */
export interface SourceMetricsRecorder extends SourceMetrics {
  delivered(count?: number): void;
  failed(reason: FailureReason, count?: number): void;
  /** Drops this source's series (the source was removed). */
  remove(): void;
}

export interface SourceLabels {
  kind: string;
  namespace: string;
  name: string;
}

interface MetricSet {
  received: Counter<'kind' | 'namespace' | 'name'>;
  delivered: Counter<'kind' | 'namespace' | 'name'>;
  failed: Counter<'kind' | 'namespace' | 'name' | 'reason'>;
  lag: Gauge<'kind' | 'namespace' | 'name'>;
}

const sets = new WeakMap<Registry, MetricSet>();

/** The metric families of a registry, created once per registry (prom-client rejects duplicates). */
function metricSet(registry: Registry): MetricSet {
  const existing = sets.get(registry);
  if (existing) return existing;
  const labelNames = ['kind', 'namespace', 'name'] as const;
  const set: MetricSet = {
    received: new Counter({
      name: 'eddy_source_events_received_total',
      help: 'Events or messages a source took from upstream.',
      labelNames,
      registers: [registry],
    }),
    delivered: new Counter({
      name: 'eddy_source_events_delivered_total',
      help: 'Events a source delivered to its sink (the sink answered 2xx).',
      labelNames,
      registers: [registry],
    }),
    failed: new Counter({
      name: 'eddy_source_events_failed_total',
      help: 'Events a source could not deliver, by reason (rejected, retries_exhausted, unencodable, malformed, overloaded).',
      labelNames: [...labelNames, 'reason'],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'eddy_source_upstream_lag',
      help: 'Upstream backlog of a source (Kafka consumer lag, queue depth), where upstream exposes one.',
      labelNames,
      registers: [registry],
    }),
  };
  sets.set(registry, set);
  return set;
}

export function sourceMetrics(registry: Registry, labels: SourceLabels): SourceMetricsRecorder {
  const m = metricSet(registry);
  const l = { kind: labels.kind, namespace: labels.namespace, name: labels.name };
  // Zero series from the start, so dashboards and rate() see a source before its first event.
  m.received.inc(l, 0);
  m.delivered.inc(l, 0);
  return {
    received: (count = 1) => m.received.inc(l, count),
    malformed: (count = 1) => m.failed.inc({ ...l, reason: 'malformed' }, count),
    dropped: (count = 1) => m.failed.inc({ ...l, reason: 'overloaded' }, count),
    setLag: (value) => m.lag.set(l, value),
    delivered: (count = 1) => m.delivered.inc(l, count),
    failed: (reason, count = 1) => m.failed.inc({ ...l, reason }, count),
    remove() {
      m.received.remove(l);
      m.delivered.remove(l);
      m.lag.remove(l);
      for (const reason of [
        'rejected',
        'retries_exhausted',
        'unencodable',
        'malformed',
        'overloaded',
      ] as const) {
        m.failed.remove({ ...l, reason });
      }
    },
  };
}
