// The autoscaler's contract: per revision, the data plane feeds it one metric sample per tick (from the
// router) and asks for a decision (with the revision's backlog and ready replicas). The decision logic
// is pure and clock-free (time is an input), so the same code runs in the data plane, in unit tests with
// hand-computed cases and in bench/autoscaler's simulator.

import type { ScalingSettings } from '@eddy/api';

/** What the router measured for a revision over one tick. */
export interface MetricSample {
  /** End of the sampled interval, ms (any monotonic clock; the decider only compares them). */
  time: number;
  /** Average concurrent requests over the interval (in flight at replicas + queued at the activator). */
  concurrency: number;
  /** Requests per second over the interval. */
  rps: number;
}

export interface DecisionInput {
  now: number;
  /** Replicas passing readiness now. */
  readyReplicas: number;
  /** Replicas that exist now (ready or starting); used to avoid piling up cold starts. */
  actualReplicas: number;
  /** Events of backlog attributed to this revision (sum of lag x share); 0 when none feeds it. */
  lag: number;
  /** Requests in flight at replicas or queued at the activator right now. */
  inFlight: number;
  /** False for a revision no route sends traffic to: it goes to zero whatever min-scale says. */
  routed: boolean;
  /**
   * Optional (added by the autoscaler work): how many events of this revision's backlog the feeding
   * dispatchers can have in flight at once (sum of each route's maxInFlight x share). With the
   * concurrency metric the backlog recommendation is then at most ceil(limit / (target x utilization)),
   * what KPA would ask for once that many are in flight: replicas beyond it would wait idle. Undefined
   * = unknown, no cap.
   */
  backlogInFlightLimit?: number;
}

export type DecisionReason =
  /** The stable-window HTTP recommendation decided. */
  | 'http'
  /** Panic mode: the panic-window recommendation, never below the current scale. */
  | 'panic'
  /** Backlog (lag / lag-target) was larger than the HTTP recommendation, or lag > 0 kept/brought it up from zero. */
  | 'backlog'
  /** min-scale, max-scale, max-scale-up/down rate, initial-scale or activation-scale clamped the value. */
  | 'bounds'
  /** Holding the previous value: scale-down delay, scale-to-zero grace or retention period not over. */
  | 'hold';

export interface Decision {
  desired: number;
  reason: DecisionReason;
  /** A short human explanation for logs and `eddy describe`, e.g. `backlog 4200 / lag-target 100 = 42, capped by max-scale 10`. */
  detail: string;
  panic: boolean;
  /** The recommendations before bounds, for metrics. */
  httpDesired: number;
  backlogDesired: number;
  stableConcurrency: number;
  panicConcurrency: number;
}

export interface Autoscaler {
  readonly settings: ScalingSettings;
  record(sample: MetricSample): void;
  decide(input: DecisionInput): Decision;
  /** New settings (annotation change) keep the recorded samples. */
  update(settings: ScalingSettings): void;
}
