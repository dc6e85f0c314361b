// A revision's autoscaling annotations (`autoscaling.knative.dev/*`, `autoscaling.eddy.dev/*`) resolved
// into ScalingSettings with Knative's defaults (config-autoscaler) and platform overrides. The keys,
// ranges and defaults are @eddy/api's AUTOSCALING_ANNOTATIONS, the table `eddy validate` checks with; a
// value outside them is reported as a problem here and replaced by its default, so a resource that
// skipped validation still gets a usable, explained result.

import {
  AUTOSCALING_ANNOTATIONS as A,
  type AutoscalingAnnotation,
  type DefaultedAnnotation,
  KNATIVE_AUTOSCALING_PREFIX,
  kpaMetricProblem,
  readAutoscalingAnnotation,
  type ScalingSettings,
  scaleBoundsProblem,
} from '@eddy/api';

export { KNATIVE_AUTOSCALING_PREFIX };
export const LAG_TARGET_ANNOTATION = A.lagTarget.key;
export const BACKLOG_ANNOTATION = A.backlog.key;

/** Knative config-autoscaler defaults that no single annotation carries. */
export const DEFAULT_CONCURRENCY_TARGET = 100;
export const DEFAULT_RPS_TARGET = 200;
export const DEFAULT_MAX_SCALE_UP_RATE = 1000;
export const DEFAULT_MAX_SCALE_DOWN_RATE = 2;
export const DEFAULT_SCALE_TO_ZERO_GRACE_MS = 30_000;

/** Platform-wide settings (Knative's config-autoscaler ConfigMap), not per-revision annotations. */
export interface ScalingPlatform {
  /** `scale-to-zero-grace-period`; default 30 000. */
  scaleToZeroGraceMs?: number;
  /** `max-scale-up-rate`; default 1000; must be > 1. */
  maxScaleUpRate?: number;
  /** `max-scale-down-rate`; default 2; must be > 1. */
  maxScaleDownRate?: number;
  /** `allow-zero-initial-scale`; default false: `initial-scale: "0"` then counts as 1, as Knative's webhook would not admit it. */
  allowZeroInitialScale?: boolean;
  /** Knative config-deployment `progress-deadline` (`--progress-deadline`), for revisions without the annotation; default 600 000. */
  progressDeadlineMs?: number;
}

export interface ScalingProblem {
  /** The full annotation key, e.g. `autoscaling.knative.dev/min-scale`. */
  annotation: string;
  message: string;
}

export interface ParsedScalingSettings {
  settings: ScalingSettings;
  /** Invalid annotation values (each replaced by its default in `settings`). */
  problems: ScalingProblem[];
}

const show = (v: unknown) => JSON.stringify(v);

function platformRate(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 1)
    throw new RangeError(`scalingSettings: platform.${name} must be a number > 1, got ${show(value)}`);
  return value;
}

/**
 * Resolves a revision's scaling settings and reports invalid annotation values. `containerConcurrency`
 * is the revision's (0 = unlimited): it is the default concurrency target when > 0 and caps an explicit
 * `target` (Knative's ResolveMetricTarget does the same, for either metric).
 */
export function parseScalingSettings(
  annotations: Readonly<Record<string, string>> | undefined,
  containerConcurrency: number,
  platform: ScalingPlatform = {},
): ParsedScalingSettings {
  const problems: ScalingProblem[] = [];
  const a = annotations ?? {};
  /** The annotation's value, or undefined (absent, or invalid: then reported) for the caller's default. */
  const value = <T>(annotation: AutoscalingAnnotation<T>): T | undefined => {
    const r = readAutoscalingAnnotation(a, annotation);
    if (r && !r.ok) problems.push({ annotation: r.key, message: r.message });
    return r?.ok ? r.value : undefined;
  };
  /** Likewise, with the table's default. */
  const read = <T>(annotation: DefaultedAnnotation<T>): T => value(annotation) ?? annotation.default;

  const graceMs = platform.scaleToZeroGraceMs ?? DEFAULT_SCALE_TO_ZERO_GRACE_MS;
  if (!Number.isFinite(graceMs) || graceMs < 0)
    throw new RangeError(`scalingSettings: platform.scaleToZeroGraceMs must be >= 0, got ${show(graceMs)}`);
  const cc = Number.isFinite(containerConcurrency) && containerConcurrency > 0 ? containerConcurrency : 0;

  let m = read(A.metric);
  const metricProblem = kpaMetricProblem(m);
  if (metricProblem) {
    problems.push({ annotation: A.metric.key, message: metricProblem });
    m = A.metric.default;
  }
  const metric = m === 'rps' ? 'rps' : 'concurrency';
  let target = metric === 'rps' ? DEFAULT_RPS_TARGET : cc > 0 ? cc : DEFAULT_CONCURRENCY_TARGET;
  const explicitTarget = value(A.target);
  if (explicitTarget !== undefined) target = cc > 0 ? Math.min(explicitTarget, cc) : explicitTarget;

  const utilization = read(A.targetUtilizationPercentage);
  let minScale = read(A.minScale);
  const maxScale = read(A.maxScale);
  const bounds = scaleBoundsProblem(minScale, maxScale);
  if (bounds) {
    problems.push({ annotation: A.maxScale.key, message: bounds });
    minScale = maxScale;
  }
  let initialScale = read(A.initialScale);
  if (initialScale === 0 && !platform.allowZeroInitialScale) initialScale = 1;

  return {
    settings: {
      metric,
      target,
      targetUtilization: utilization / 100,
      stableWindowMs: read(A.window),
      panicWindowPercentage: read(A.panicWindowPercentage),
      panicThresholdPercentage: read(A.panicThresholdPercentage),
      maxScaleUpRate: platformRate('maxScaleUpRate', platform.maxScaleUpRate, DEFAULT_MAX_SCALE_UP_RATE),
      maxScaleDownRate: platformRate(
        'maxScaleDownRate',
        platform.maxScaleDownRate,
        DEFAULT_MAX_SCALE_DOWN_RATE,
      ),
      minScale,
      maxScale,
      initialScale,
      activationScale: read(A.activationScale),
      scaleDownDelayMs: read(A.scaleDownDelay),
      scaleToZeroRetentionMs: read(A.scaleToZeroPodRetentionPeriod),
      scaleToZeroGraceMs: graceMs,
      lagTarget: read(A.lagTarget),
      backlog: read(A.backlog),
    },
    problems,
  };
}

/** ScalingSettings of a revision; invalid annotation values fall back to their defaults (see parseScalingSettings). */
export function scalingSettings(
  annotations: Readonly<Record<string, string>> | undefined,
  containerConcurrency: number,
  platform?: ScalingPlatform,
): ScalingSettings {
  return parseScalingSettings(annotations, containerConcurrency, platform).settings;
}
