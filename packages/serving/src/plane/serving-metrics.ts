// Per-revision serving metrics on one prom-client registry (labels namespace, revision).

import { Counter, Gauge, type Registry } from 'prom-client';
import type { Decision } from '../autoscaler/autoscaler.js';
import type { DeploymentStatus } from '../runtime/runtime.js';

export interface ServingMetrics {
  replicas(namespace: string, revision: string, status: DeploymentStatus): void;
  traffic(namespace: string, revision: string, concurrency: number, rps: number): void;
  lag(namespace: string, revision: string, lag: number): void;
  decision(namespace: string, revision: string, decision: Decision): void;
  /** Drops a removed revision's series. */
  remove(namespace: string, revision: string): void;
}

const labelNames = ['namespace', 'revision'] as const;

export function createServingMetrics(registry: Registry): ServingMetrics {
  const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers: [registry] });
  const desired = gauge('eddy_serving_desired_replicas', 'Replicas the autoscaler wants for a revision.');
  const ready = gauge('eddy_serving_ready_replicas', 'Replicas of a revision passing readiness.');
  const actual = gauge('eddy_serving_actual_replicas', 'Replica processes of a revision that exist.');
  const concurrency = gauge(
    'eddy_serving_concurrency',
    'Average requests in flight or queued for a revision over the last tick.',
  );
  const rps = gauge('eddy_serving_rps', 'Requests per second to a revision over the last tick.');
  const lag = gauge('eddy_serving_lag', 'Backlog (unprocessed events) attributed to a revision.');
  const panic = gauge('eddy_serving_panic_mode', '1 while the autoscaler of a revision is in panic mode.');
  const decisions = new Counter({
    name: 'eddy_serving_scaling_decisions_total',
    help: 'Autoscaler decisions per revision by reason (http, panic, backlog, bounds, hold).',
    labelNames: [...labelNames, 'reason'],
    registers: [registry],
  });
  const gauges = [desired, ready, actual, concurrency, rps, lag, panic];
  const reasons: Decision['reason'][] = ['http', 'panic', 'backlog', 'bounds', 'hold'];
  return {
    replicas(namespace, revision, status) {
      desired.set({ namespace, revision }, status.desired);
      ready.set({ namespace, revision }, status.ready);
      actual.set({ namespace, revision }, status.actual);
    },
    traffic(namespace, revision, c, r) {
      concurrency.set({ namespace, revision }, c);
      rps.set({ namespace, revision }, r);
    },
    lag(namespace, revision, value) {
      lag.set({ namespace, revision }, value);
    },
    decision(namespace, revision, decision) {
      panic.set({ namespace, revision }, decision.panic ? 1 : 0);
      decisions.inc({ namespace, revision, reason: decision.reason });
    },
    remove(namespace, revision) {
      for (const g of gauges) g.remove({ namespace, revision });
      for (const reason of reasons) decisions.remove({ namespace, revision, reason });
    },
  };
}
