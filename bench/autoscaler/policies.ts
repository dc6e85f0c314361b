// The three policies the benchmark compares. Eddy and "KPA alone" are the real decision code
// (createAutoscaler from @eddy/serving with settings from the real annotation parser), the second
// with `autoscaling.eddy.dev/backlog: "false"`. The KEDA-like scaler is written here.

import type { Autoscaler, DecisionReason } from '@eddy/serving';
import { createAutoscaler, scalingSettings } from '@eddy/serving';
import type { Observation, Policy } from './simulator.ts';

/**
 * Drives an Autoscaler the way the serving data plane does: every tick (1 s, its default) one
 * MetricSample with the mean concurrency of the simulator's steps and the request rate, then a
 * decision with the revision's lag; a poke (work at zero replicas) samples and decides at once.
 */
export class KnativePolicy implements Policy {
  readonly reasons = new Map<DecisionReason, number>();
  private readonly autoscaler: Autoscaler;
  private concurrencySum = 0;
  private steps = 0;
  private arrivals = 0;
  private lastTick = 0;
  readonly name: string;
  private readonly tickMs: number;
  private readonly backlogInFlightLimit: number | undefined;

  /** `backlogInFlightLimit`: passed to every decision (the optional DecisionInput field); undefined = not given. */
  constructor(
    name: string,
    annotations: Record<string, string>,
    containerConcurrency: number,
    options: { tickMs?: number; backlogInFlightLimit?: number } = {},
  ) {
    this.name = name;
    this.tickMs = options.tickMs ?? 1000;
    this.backlogInFlightLimit = options.backlogInFlightLimit;
    this.autoscaler = createAutoscaler(scalingSettings(annotations, containerConcurrency));
  }

  step(obs: Observation): number | undefined {
    this.concurrencySum += obs.concurrency;
    this.steps++;
    this.arrivals += obs.arrivals;
    if (obs.now - this.lastTick < this.tickMs) return undefined;
    const seconds = (obs.now - this.lastTick) / 1000;
    this.autoscaler.record({
      time: obs.now,
      concurrency: this.concurrencySum / this.steps,
      rps: this.arrivals / seconds,
    });
    this.concurrencySum = 0;
    this.steps = 0;
    this.arrivals = 0;
    this.lastTick = obs.now;
    return this.decide(obs);
  }

  poke(obs: Observation): number | undefined {
    this.autoscaler.record({ time: obs.now, concurrency: obs.concurrency, rps: 0 });
    return this.decide(obs);
  }

  private decide(obs: Observation): number {
    const d = this.autoscaler.decide({
      now: obs.now,
      readyReplicas: obs.readyReplicas,
      actualReplicas: obs.actualReplicas,
      lag: obs.lag,
      inFlight: obs.concurrency,
      routed: true,
      backlogInFlightLimit: this.backlogInFlightLimit,
    });
    this.reasons.set(d.reason, (this.reasons.get(d.reason) ?? 0) + 1);
    return d.desired;
  }
}

export interface KedaLikeOptions {
  /** KEDA Kafka scaler lagThreshold: target lag per replica. */
  lagThreshold: number;
  /** KEDA pollingInterval: activation (0 -> 1) and deactivation checks. */
  pollingMs: number;
  /** HPA --horizontal-pod-autoscaler-sync-period. */
  hpaSyncMs: number;
  /** KEDA cooldownPeriod: time since the trigger was last active before going to 0. */
  cooldownMs: number;
  /** HPA scale-down stabilization window (default behavior: 300 s). */
  downStabilizationMs: number;
  /** HPA globally-configured tolerance. */
  tolerance: number;
  maxReplicas: number;
  /** Where in its period each loop starts (a real cluster's loops are not aligned with the load). */
  pollingPhaseMs: number;
  hpaPhaseMs: number;
}

export const KEDA_DEFAULTS: Omit<KedaLikeOptions, 'maxReplicas' | 'pollingPhaseMs' | 'hpaPhaseMs'> = {
  lagThreshold: 10,
  pollingMs: 30_000,
  hpaSyncMs: 15_000,
  cooldownMs: 300_000,
  downStabilizationMs: 300_000,
  tolerance: 0.1,
};

/**
 * KEDA with a Kafka-style lag trigger in front of an HPA, with minReplicaCount 0:
 * - every pollingInterval KEDA checks the lag: > 0 marks the trigger active (and scales 0 -> 1);
 *   no lag for cooldownPeriod since it was last active scales to 0;
 * - every HPA sync while replicas > 0: the external metric is the total lag with an AverageValue
 *   target of lagThreshold, so usage ratio = lag / (lagThreshold x replicas); within the 10%
 *   tolerance nothing changes, else the recommendation is ceil(lag / lagThreshold), at least 1
 *   (HPA min) and at most maxReplicas;
 * - HPA's default behavior: scale up by at most max(100%, 4 pods) per 15 s period; scale down to the
 *   largest recommendation of the last 300 s (stabilization window).
 * Not modelled: the Kafka scaler's cap of one replica per partition (allowIdleConsumers=false),
 * metric caching, the HPA's readiness-based corrections (they apply to resource metrics only).
 */
export class KedaLikePolicy implements Policy {
  readonly name = 'KEDA-like lag scaler';
  private replicas = 0;
  private nextPoll: number;
  private nextSync: number;
  private lastActive: number | undefined;
  private recommendations: { at: number; value: number }[] = [];

  private readonly o: KedaLikeOptions;

  constructor(options: KedaLikeOptions) {
    this.o = options;
    const o = options;
    this.nextPoll = o.pollingPhaseMs;
    this.nextSync = o.hpaPhaseMs;
  }

  step(obs: Observation): number | undefined {
    const before = this.replicas;
    if (obs.now >= this.nextPoll) {
      this.nextPoll += this.o.pollingMs;
      if (obs.lag > 0) {
        this.lastActive = obs.now;
        if (this.replicas === 0) this.replicas = 1;
      } else if (
        this.replicas > 0 &&
        this.lastActive !== undefined &&
        obs.now - this.lastActive >= this.o.cooldownMs
      ) {
        this.replicas = 0;
        this.recommendations = [];
      }
    }
    if (obs.now >= this.nextSync) {
      this.nextSync += this.o.hpaSyncMs;
      if (this.replicas > 0) this.replicas = this.hpa(obs.now, obs.lag, this.replicas);
    }
    return this.replicas !== before ? this.replicas : undefined;
  }

  private hpa(now: number, lag: number, current: number): number {
    const ratio = lag / (this.o.lagThreshold * current);
    let recommendation =
      Math.abs(ratio - 1) <= this.o.tolerance ? current : Math.ceil(lag / this.o.lagThreshold);
    recommendation = Math.min(this.o.maxReplicas, Math.max(1, recommendation));
    this.recommendations.push({ at: now, value: recommendation });
    this.recommendations = this.recommendations.filter((r) => r.at > now - this.o.downStabilizationMs);
    if (recommendation < current) {
      return Math.min(current, Math.max(...this.recommendations.map((r) => r.value)));
    }
    return Math.min(recommendation, Math.max(current * 2, current + 4));
  }
}
