// A revision's autoscaling annotations (`autoscaling.knative.dev/*`, `autoscaling.eddy.dev/*`) resolved
// into ScalingSettings with Knative's defaults (config-autoscaler) and platform overrides. The ranges are
// the ones `eddy validate` enforces (packages/api/src/resources/rules-serving.ts); a value outside them
// is reported as a problem here and replaced by its default, so a resource that skipped validation
// still gets a usable, explained result.

import { DEFAULT_LAG_TARGET, parseGoDuration, type ScalingSettings } from '@eddy/api';

export const KNATIVE_AUTOSCALING_PREFIX = 'autoscaling.knative.dev/';
export const LAG_TARGET_ANNOTATION = 'autoscaling.eddy.dev/lag-target';
export const BACKLOG_ANNOTATION = 'autoscaling.eddy.dev/backlog';

/** Knative config-autoscaler defaults. */
export const DEFAULT_CONCURRENCY_TARGET = 100;
export const DEFAULT_RPS_TARGET = 200;
export const DEFAULT_TARGET_UTILIZATION = 0.7;
export const DEFAULT_STABLE_WINDOW_MS = 60_000;
export const DEFAULT_PANIC_WINDOW_PERCENTAGE = 10;
export const DEFAULT_PANIC_THRESHOLD_PERCENTAGE = 200;
export const DEFAULT_MAX_SCALE_UP_RATE = 1000;
export const DEFAULT_MAX_SCALE_DOWN_RATE = 2;
export const DEFAULT_SCALE_TO_ZERO_GRACE_MS = 30_000;
export const DEFAULT_INITIAL_SCALE = 1;

const HOUR_MS = 3_600_000;

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

type Parse<T> = (text: string) => { ok: true; value: T } | { ok: false; message: string };

const number =
  (min: number, max = Number.POSITIVE_INFINITY, exclusiveMin = false): Parse<number> =>
  (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n))
      return { ok: false, message: `expected a number, found ${show(text)}` };
    if (exclusiveMin ? n <= min : n < min)
      return { ok: false, message: `expected a number ${exclusiveMin ? '>' : '>='} ${min}, found ${text}` };
    if (n > max) return { ok: false, message: `expected a number <= ${max}, found ${text}` };
    return { ok: true, value: n };
  };

const integer =
  (min: number): Parse<number> =>
  (text) => {
    if (!/^-?\d+$/.test(text.trim()))
      return { ok: false, message: `expected an integer, found ${show(text)}` };
    const n = Number(text);
    if (n < min) return { ok: false, message: `expected an integer >= ${min}, found ${text}` };
    return { ok: true, value: n };
  };

const duration =
  (minMs: number, maxMs: number, label: string): Parse<number> =>
  (text) => {
    const ms = parseGoDuration(text);
    if (ms === undefined)
      return { ok: false, message: `expected a duration such as "60s" or "1m30s", found ${show(text)}` };
    if (ms < minMs || ms > maxMs)
      return { ok: false, message: `expected a duration ${label}, found ${show(text)}` };
    if (ms % 1000 !== 0) return { ok: false, message: `expected whole seconds, found ${show(text)}` };
    return { ok: true, value: ms };
  };

const metric: Parse<'concurrency' | 'rps'> = (text) =>
  text === 'concurrency' || text === 'rps'
    ? { ok: true, value: text }
    : { ok: false, message: `the KPA autoscaler scales on "concurrency" or "rps", found ${show(text)}` };

const bool: Parse<boolean> = (text) =>
  text === 'true' || text === 'false'
    ? { ok: true, value: text === 'true' }
    : { ok: false, message: `expected "true" or "false", found ${show(text)}` };

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
  /** Reads a Knative key (kebab first, then its legacy camelCase spelling) or a full key. */
  const read = <T>(keys: string[], parse: Parse<T>): T | undefined => {
    for (const key of keys) {
      const text = a[key];
      if (text === undefined) continue;
      const r = parse(text);
      if (r.ok) return r.value;
      problems.push({ annotation: key, message: r.message });
      return undefined;
    }
    return undefined;
  };
  const knative = (...names: string[]) => names.map((n) => KNATIVE_AUTOSCALING_PREFIX + n);

  const graceMs = platform.scaleToZeroGraceMs ?? DEFAULT_SCALE_TO_ZERO_GRACE_MS;
  if (!Number.isFinite(graceMs) || graceMs < 0)
    throw new RangeError(`scalingSettings: platform.scaleToZeroGraceMs must be >= 0, got ${show(graceMs)}`);
  const cc = Number.isFinite(containerConcurrency) && containerConcurrency > 0 ? containerConcurrency : 0;

  const m = read(knative('metric'), metric) ?? 'concurrency';
  let target = m === 'rps' ? DEFAULT_RPS_TARGET : cc > 0 ? cc : DEFAULT_CONCURRENCY_TARGET;
  const explicitTarget = read(knative('target'), number(0.01));
  if (explicitTarget !== undefined) target = cc > 0 ? Math.min(explicitTarget, cc) : explicitTarget;

  const utilization = read(
    knative('target-utilization-percentage', 'targetUtilizationPercentage'),
    number(1, 100),
  );
  let minScale = read(knative('min-scale', 'minScale'), integer(0)) ?? 0;
  const maxScale = read(knative('max-scale', 'maxScale'), integer(0)) ?? 0;
  if (maxScale > 0 && minScale > maxScale) {
    problems.push({
      annotation: `${KNATIVE_AUTOSCALING_PREFIX}max-scale`,
      message: `max-scale (${maxScale}) must be >= min-scale (${minScale})`,
    });
    minScale = maxScale;
  }
  let initialScale = read(knative('initial-scale', 'initialScale'), integer(0)) ?? DEFAULT_INITIAL_SCALE;
  if (initialScale === 0 && !platform.allowZeroInitialScale) initialScale = 1;

  return {
    settings: {
      metric: m,
      target,
      targetUtilization: (utilization ?? DEFAULT_TARGET_UTILIZATION * 100) / 100,
      stableWindowMs:
        read(knative('window'), duration(6000, HOUR_MS, 'between 6s and 1h')) ?? DEFAULT_STABLE_WINDOW_MS,
      panicWindowPercentage:
        read(knative('panic-window-percentage', 'panicWindowPercentage'), number(1, 100)) ??
        DEFAULT_PANIC_WINDOW_PERCENTAGE,
      panicThresholdPercentage:
        read(knative('panic-threshold-percentage', 'panicThresholdPercentage'), number(110, 1000)) ??
        DEFAULT_PANIC_THRESHOLD_PERCENTAGE,
      maxScaleUpRate: platformRate('maxScaleUpRate', platform.maxScaleUpRate, DEFAULT_MAX_SCALE_UP_RATE),
      maxScaleDownRate: platformRate(
        'maxScaleDownRate',
        platform.maxScaleDownRate,
        DEFAULT_MAX_SCALE_DOWN_RATE,
      ),
      minScale,
      maxScale,
      initialScale,
      activationScale: read(knative('activation-scale'), integer(1)) ?? 1,
      scaleDownDelayMs: read(knative('scale-down-delay'), duration(0, HOUR_MS, 'between 0s and 1h')) ?? 0,
      scaleToZeroRetentionMs:
        read(knative('scale-to-zero-pod-retention-period'), duration(0, Number.MAX_SAFE_INTEGER, '>= 0s')) ??
        0,
      scaleToZeroGraceMs: graceMs,
      lagTarget:
        read([LAG_TARGET_ANNOTATION], number(0, Number.POSITIVE_INFINITY, true)) ?? DEFAULT_LAG_TARGET,
      backlog: read([BACKLOG_ANNOTATION], bool) ?? true,
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
