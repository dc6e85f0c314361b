// Knative's KPA decision (pkg/autoscaler/scaling/autoscaler.go plus the bounds and scale-to-zero rules
// of its KPA reconciler), with Eddy's backlog signal folded in. Pure and clock-free: time comes only
// from samples and inputs, so the data plane, the unit tests and bench/autoscaler run the same code.
//
// One decision, in order:
//  1. stable and panic averages of the metric (concurrency or rps) over the stable window and the
//     panic window (stable x panic-window-percentage / 100), 1 s buckets (window-average.ts);
//  2. desiredStable = ceil(stable / (target x utilization)), desiredPanic likewise, each kept within
//     [floor(ready / max-scale-down-rate), ceil(max-scale-up-rate x ready)] with ready counted as at
//     least 1, and raised to activation-scale when > 0;
//  3. panic mode starts when desiredPanic / ready >= panic-threshold / 100 and ends once that has not
//     been true for a whole stable window; in panic the HTTP recommendation is the larger of the two
//     and never goes down;
//  4. backlog: ceil(lag / lag-target), at most what the dispatchers' in-flight bound can keep busy
//     when the data plane says it (backlogInFlightLimit), within the same rate limit and raised to
//     activation-scale; the larger of the HTTP and backlog recommendations wins;
//  5. scale-down delay: the largest value of the last delay window;
//  6. min-scale (initial-scale until first reached), max-scale (0 = unbounded);
//  7. zero only when no requests are in flight, after the revision was active for a stable window,
//     and after max(scale-to-zero grace, pod retention) of wanting zero; meanwhile it holds.
// A revision no route sends traffic to goes to 0 as soon as its in-flight requests are done.

import type { ScalingSettings } from '@eddy/api';
import type { Autoscaler, Decision, DecisionInput, DecisionReason, MetricSample } from './autoscaler.js';
import { checkScalingSettings } from './check-settings.js';
import { MaxWindow } from './max-window.js';
import { WindowAverage } from './window-average.js';

interface Candidate {
  value: number;
  reason: DecisionReason;
  detail: string;
}

/** Numbers in explanations: at most 2 decimals, no trailing zeros. */
function fmt(x: number): string {
  return String(Math.round(x * 100) / 100);
}

function seconds(ms: number): string {
  return `${fmt(ms / 1000)} s`;
}

/** ceil(a / b), ignoring float noise below 1e-9 (3 x 0.7 is 2.0999999999999996, and 2.1 / that is not above 1). */
function ceilRatio(a: number, b: number): number {
  return Math.ceil(Math.round((a / b) * 1e9) / 1e9);
}

function clamp(x: number, lower: number, upper: number): number {
  return Math.min(Math.max(x, lower), upper);
}

function checkNumber(where: string, name: string, v: unknown, integer = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v)))
    throw new Error(
      `invalid autoscaler ${where}: ${name} must be a finite ${integer ? 'integer' : 'number'} >= 0, got ${String(v)}`,
    );
}

function checkSample(sample: MetricSample): void {
  if (typeof sample.time !== 'number' || !Number.isFinite(sample.time))
    throw new Error(`invalid autoscaler sample: time must be a finite number, got ${String(sample.time)}`);
  checkNumber('sample', 'concurrency', sample.concurrency);
  checkNumber('sample', 'rps', sample.rps);
}

function checkInput(input: DecisionInput): void {
  if (typeof input.now !== 'number' || !Number.isFinite(input.now))
    throw new Error(`invalid autoscaler input: now must be a finite number, got ${String(input.now)}`);
  checkNumber('input', 'readyReplicas', input.readyReplicas, true);
  checkNumber('input', 'actualReplicas', input.actualReplicas, true);
  checkNumber('input', 'lag', input.lag);
  checkNumber('input', 'inFlight', input.inFlight);
  if (input.backlogInFlightLimit !== undefined)
    checkNumber('input', 'backlogInFlightLimit', input.backlogInFlightLimit);
  if (typeof input.routed !== 'boolean')
    throw new Error(`invalid autoscaler input: routed must be a boolean, got ${String(input.routed)}`);
}

export function createAutoscaler(initialSettings: ScalingSettings): Autoscaler {
  checkScalingSettings(initialSettings);
  let settings = initialSettings;
  const concurrency = new WindowAverage(settings.stableWindowMs);
  const rps = new WindowAverage(settings.stableWindowMs);
  const delayWindow = new MaxWindow();
  /** Knative's panicTime: the last time the panic condition held; undefined = not panicking. */
  let panicSince: number | undefined;
  let maxPanicPods = 0;
  /** The last desired value returned; undefined before the first decision. */
  let last: number | undefined;
  /** When the revision last went from zero to non-zero (Knative's PA "active" time). */
  let activeSince: number | undefined;
  /** When the recommendation first became zero after the active period (Knative's "inactive" time). */
  let inactiveSince: number | undefined;
  /** initial-scale counts until the revision first has that many ready replicas. */
  let initialized = false;

  function decide(input: DecisionInput): Decision {
    checkInput(input);
    const s = settings;
    const { now, routed } = input;
    if (input.readyReplicas >= s.initialScale) initialized = true;
    if (last === undefined) {
      // A new autoscaler for a revision that already runs (the data plane restarted, say) counts it as
      // active from now, so it does not drop to zero before a stable window has passed.
      last = input.actualReplicas;
      if (last > 0) activeSince = now;
    }

    // 1-2: the HTTP metric, Knative's formulas.
    const metric = s.metric === 'rps' ? rps : concurrency;
    const panicWindowMs = (s.stableWindowMs * s.panicWindowPercentage) / 100;
    const stable = metric.average(now, s.stableWindowMs);
    const panicValue = metric.average(now, panicWindowMs);
    const targetValue = s.target * s.targetUtilization;
    const ready = Math.max(1, input.readyReplicas);
    const maxUp = Math.ceil(s.maxScaleUpRate * ready);
    const maxDown = routed ? Math.floor(ready / s.maxScaleDownRate) : 0;
    const dspc = ceilRatio(stable, targetValue);
    const dppc = ceilRatio(panicValue, targetValue);
    let stableDesired = clamp(dspc, maxDown, maxUp);
    let panicDesired = clamp(dppc, maxDown, maxUp);
    const stableRaised = dspc > 0 && stableDesired < s.activationScale;
    if (stableRaised) stableDesired = s.activationScale;
    if (dppc > 0 && panicDesired < s.activationScale) panicDesired = s.activationScale;

    // 3: panic mode.
    const overThreshold = dppc / ready >= s.panicThresholdPercentage / 100;
    if (overThreshold) panicSince = now;
    else if (panicSince !== undefined && panicSince + s.stableWindowMs < now) {
      panicSince = undefined;
      maxPanicPods = 0;
    }
    const panic = panicSince !== undefined;

    const rateLimit = (raw: number, limited: number): string =>
      raw > limited
        ? `, limited by max-scale-up-rate ${fmt(s.maxScaleUpRate)} x ${ready} ready = ${maxUp}`
        : `, limited by max-scale-down-rate ${fmt(s.maxScaleDownRate)}: ${ready} ready / ${fmt(s.maxScaleDownRate)} = ${maxDown}`;

    let http: Candidate;
    if (!panic) {
      let detail = `stable ${s.metric} ${fmt(stable)} over ${seconds(s.stableWindowMs)} / (target ${fmt(s.target)} x ${fmt(s.targetUtilization)}) = ${dspc}`;
      let reason: DecisionReason = 'http';
      const limited = clamp(dspc, maxDown, maxUp);
      if (limited !== dspc) {
        reason = 'bounds';
        detail += rateLimit(dspc, limited);
      }
      if (stableRaised) {
        reason = 'bounds';
        detail += `, raised to activation-scale ${s.activationScale}`;
      }
      http = { value: stableDesired, reason, detail };
    } else {
      const want = Math.max(stableDesired, panicDesired);
      if (want > maxPanicPods) maxPanicPods = want;
      let detail = `panic: ${s.metric} ${fmt(panicValue)} over ${seconds(panicWindowMs)} / ${fmt(targetValue)} = ${dppc}`;
      detail += overThreshold
        ? ` (>= ${fmt(s.panicThresholdPercentage)}% of ${ready} ready)`
        : ` (panicking until ${seconds(s.stableWindowMs)} below ${fmt(s.panicThresholdPercentage)}%)`;
      if (want !== dppc) detail += `, ${want} after rate limits / stable ${dspc}`;
      if (maxPanicPods > want) detail += `; holding ${maxPanicPods}, no scale-down in panic`;
      http = { value: maxPanicPods, reason: 'panic', detail };
    }

    // 4: the backlog.
    const lagReplicas = s.backlog && input.lag > 0 ? ceilRatio(input.lag, s.lagTarget) : 0;
    let backlogRaw = lagReplicas;
    let backlogDetail = `backlog ${fmt(input.lag)} / lag-target ${fmt(s.lagTarget)} = ${lagReplicas}`;
    const limit = input.backlogInFlightLimit;
    if (lagReplicas > 0 && limit !== undefined && s.metric === 'concurrency') {
      const cap = Math.max(1, ceilRatio(limit, targetValue));
      if (cap < lagReplicas) {
        backlogRaw = cap;
        backlogDetail += `, at most ${fmt(limit)} in flight / ${fmt(targetValue)} = ${cap}`;
      }
    }
    let chosen = http;
    if (backlogRaw > 0) {
      let value = Math.min(backlogRaw, maxUp);
      let reason: DecisionReason = 'backlog';
      let detail = backlogDetail;
      if (value < backlogRaw) {
        reason = 'bounds';
        detail += rateLimit(backlogRaw, value);
      }
      if (value < s.activationScale) {
        value = s.activationScale;
        reason = 'bounds';
        detail += `, raised to activation-scale ${s.activationScale}`;
      }
      if (value > http.value) chosen = { value, reason, detail: `${detail} (http ${http.value})` };
    }
    let { value, reason, detail } = chosen;

    // 5: scale-down delay (not for an unrouted revision, as Knative skips it for unreachable ones).
    if (s.scaleDownDelayMs > 0 && routed) {
      const held = delayWindow.recordAndMax(now, value, s.scaleDownDelayMs);
      if (held > value) {
        detail = `scale-down-delay ${seconds(s.scaleDownDelayMs)} keeps ${held} (recommended ${value}: ${detail})`;
        value = held;
        reason = 'hold';
      }
    }

    // 6: min / initial / max scale.
    let lower = routed ? s.minScale : 0;
    let lowerName = `min-scale ${s.minScale}`;
    if (!initialized && routed && s.initialScale > lower) {
      lower = s.initialScale;
      lowerName = `initial-scale ${s.initialScale} (not reached yet)`;
    }
    if (value < lower) {
      detail = `${lowerName} (recommended ${value}: ${detail})`;
      value = lower;
      reason = 'bounds';
    }
    if (s.maxScale > 0 && value > s.maxScale) {
      detail = `${detail}, capped by max-scale ${s.maxScale}`;
      value = s.maxScale;
      reason = 'bounds';
    }

    // 7: zero.
    const wasUp = last !== undefined && last > 0;
    if (!routed) {
      if (input.inFlight > 0) {
        value = Math.max(1, Math.min(last ?? 1, input.readyReplicas));
        reason = 'hold';
        detail = `not routed; ${fmt(input.inFlight)} requests still in flight`;
      } else {
        value = 0;
        reason = 'bounds';
        detail = 'not routed: no route sends traffic to this revision';
      }
    } else if (value > 0) {
      inactiveSince = undefined;
      if (!wasUp) activeSince = now;
    } else if (input.inFlight > 0) {
      value = 1;
      reason = wasUp ? 'hold' : 'http';
      detail = `${fmt(input.inFlight)} requests in flight (${detail})`;
      if (!wasUp) activeSince = now;
    } else if (wasUp && activeSince !== undefined && now - activeSince < s.stableWindowMs) {
      value = 1;
      reason = 'hold';
      detail = `active for ${seconds(now - activeSince)} of the ${seconds(s.stableWindowMs)} stable window before scale to zero (${detail})`;
    } else if (wasUp) {
      inactiveSince ??= now;
      const wait = Math.max(s.scaleToZeroGraceMs, s.scaleToZeroRetentionMs);
      const waited = now - inactiveSince;
      if (waited < wait) {
        value = last ?? 1;
        reason = 'hold';
        detail = `no traffic: scale to zero in ${seconds(wait - waited)} (grace ${seconds(s.scaleToZeroGraceMs)}, retention ${seconds(s.scaleToZeroRetentionMs)})`;
      } else {
        detail = `no traffic for the stable window, then ${seconds(waited)}: scale to zero (${detail})`;
      }
    }
    last = value;

    return {
      desired: value,
      reason,
      detail,
      panic,
      httpDesired: http.value,
      backlogDesired: backlogRaw,
      // With the concurrency metric these are the averages step 1 already computed.
      stableConcurrency: metric === concurrency ? stable : concurrency.average(now, s.stableWindowMs),
      panicConcurrency: metric === concurrency ? panicValue : concurrency.average(now, panicWindowMs),
    };
  }

  return {
    get settings() {
      return settings;
    },
    record(sample: MetricSample): void {
      checkSample(sample);
      concurrency.record(sample.time, sample.concurrency);
      rps.record(sample.time, sample.rps);
    },
    decide,
    update(next: ScalingSettings): void {
      checkScalingSettings(next);
      settings = next;
    },
  };
}
