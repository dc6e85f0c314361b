// The runtime's Prometheus metrics. Several runtimes may share one registry (tests, or a runtime per
// plane), so the metric objects are made once per registry and the replica-count gauge is computed
// at scrape time from every runtime that registered a source.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ReplicaState = 'starting' | 'ready' | 'not_ready' | 'terminating';

export interface ReplicaCount {
  namespace: string;
  revision: string;
  state: ReplicaState;
  count: number;
}

export interface RuntimeMetrics {
  restarts: Counter<'namespace' | 'revision'>;
  startSeconds: Histogram<'namespace' | 'revision'>;
  /** Adds a source of replica counts for the gauge; returns its removal. */
  addSource(source: () => ReplicaCount[]): () => void;
}

const byRegistry = new WeakMap<Registry, RuntimeMetrics>();

export function runtimeMetrics(registry: Registry): RuntimeMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const sources = new Set<() => ReplicaCount[]>();
  new Gauge({
    name: 'eddy_serving_replicas',
    help: 'Replica processes of a revision by state (starting, ready, not_ready, terminating).',
    labelNames: ['namespace', 'revision', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const source of sources) {
        for (const { namespace, revision, state, count } of source()) {
          this.inc({ namespace, revision, state }, count);
        }
      }
    },
  });
  const metrics: RuntimeMetrics = {
    restarts: new Counter({
      name: 'eddy_serving_replica_restarts_total',
      help: 'Replica processes restarted after they exited unexpectedly or could not be started.',
      labelNames: ['namespace', 'revision'],
      registers: [registry],
    }),
    startSeconds: new Histogram({
      name: 'eddy_serving_replica_start_seconds',
      help: 'Time from spawning a replica process to its first passed readiness probe.',
      labelNames: ['namespace', 'revision'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    addSource(source) {
      sources.add(source);
      return () => sources.delete(source);
    },
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
