// The autoscaling annotations of a revision template (`autoscaling.knative.dev/*`, Knative's
// config-autoscaler keys with their legacy camelCase spellings, and Eddy's `autoscaling.eddy.dev/*`):
// one table of key, legacy key, parser with its range, and default. `eddy validate` reports what a parser
// rejects, with its location (rules-serving.ts); packages/serving's scalingSettings parses with the same
// entries, so the two cannot disagree on what is valid.

import { DEFAULT_LAG_TARGET } from '../contract/serving-contract.js';
import { parseGoDuration } from './durations.js';

export const KNATIVE_AUTOSCALING_PREFIX = 'autoscaling.knative.dev/';
export const EDDY_AUTOSCALING_PREFIX = 'autoscaling.eddy.dev/';

export type AnnotationParse<T> = (text: string) => { ok: true; value: T } | { ok: false; message: string };

export interface AutoscalingAnnotation<T> {
  /** The full key, e.g. `autoscaling.knative.dev/min-scale`. */
  key: string;
  /** Knative's older camelCase spelling (`autoscaling.knative.dev/minScale`), read when `key` is absent. */
  legacyKey?: string;
  parse: AnnotationParse<T>;
  /** The value when the annotation is absent; undefined where it depends on other settings (`target`). */
  default?: T;
}

const show = (v: unknown) => JSON.stringify(v);
const HOUR_MS = 3_600_000;

const number =
  (min: number, max = Number.POSITIVE_INFINITY, exclusiveMin = false): AnnotationParse<number> =>
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
  (min: number): AnnotationParse<number> =>
  (text) => {
    if (!/^-?\d+$/.test(text.trim()))
      return { ok: false, message: `expected an integer, found ${show(text)}` };
    const n = Number(text);
    if (n < min) return { ok: false, message: `expected an integer >= ${min}, found ${text}` };
    return { ok: true, value: n };
  };

const duration =
  (minMs: number, maxMs: number, label: string): AnnotationParse<number> =>
  (text) => {
    const ms = parseGoDuration(text);
    if (ms === undefined)
      return { ok: false, message: `expected a duration such as "60s" or "1m30s", found ${show(text)}` };
    if (ms < minMs || ms > maxMs)
      return { ok: false, message: `expected a duration ${label}, found ${show(text)}` };
    if (ms % 1000 !== 0) return { ok: false, message: `expected whole seconds, found ${show(text)}` };
    return { ok: true, value: ms };
  };

const oneOf =
  <V extends string>(...values: V[]): AnnotationParse<V> =>
  (text) =>
    (values as string[]).includes(text)
      ? { ok: true, value: text as V }
      : { ok: false, message: `expected one of ${values.join(', ')}, found ${show(text)}` };

const trueOrFalse: AnnotationParse<boolean> = (text) => {
  const r = oneOf('true', 'false')(text);
  return r.ok ? { ok: true, value: r.value === 'true' } : r;
};

/** An annotation whose default does not depend on other settings. */
export type DefaultedAnnotation<T> = AutoscalingAnnotation<T> & { default: T };

const knative = <T>(
  name: string,
  parse: AnnotationParse<T>,
  defaultValue: T,
  legacyName?: string,
): DefaultedAnnotation<T> => ({
  key: KNATIVE_AUTOSCALING_PREFIX + name,
  ...(legacyName === undefined ? {} : { legacyKey: KNATIVE_AUTOSCALING_PREFIX + legacyName }),
  parse,
  default: defaultValue,
});

const knativeWithoutDefault = <T>(name: string, parse: AnnotationParse<T>): AutoscalingAnnotation<T> => ({
  key: KNATIVE_AUTOSCALING_PREFIX + name,
  parse,
});

const eddy = <T>(name: string, parse: AnnotationParse<T>, defaultValue: T): DefaultedAnnotation<T> => ({
  key: EDDY_AUTOSCALING_PREFIX + name,
  parse,
  default: defaultValue,
});

/** Every autoscaling annotation Eddy knows, with Knative's ranges and config-autoscaler defaults. */
export const AUTOSCALING_ANNOTATIONS = {
  class: knative(
    'class',
    oneOf('kpa.autoscaling.knative.dev', 'hpa.autoscaling.knative.dev'),
    'kpa.autoscaling.knative.dev',
  ),
  metric: knative('metric', oneOf('concurrency', 'rps', 'cpu', 'memory'), 'concurrency'),
  /** Default: containerConcurrency when > 0, else 100 (concurrency) or 200 (rps). */
  target: knativeWithoutDefault('target', number(0.01)),
  targetUtilizationPercentage: knative(
    'target-utilization-percentage',
    number(1, 100),
    70,
    'targetUtilizationPercentage',
  ),
  minScale: knative('min-scale', integer(0), 0, 'minScale'),
  maxScale: knative('max-scale', integer(0), 0, 'maxScale'),
  initialScale: knative('initial-scale', integer(0), 1, 'initialScale'),
  activationScale: knative('activation-scale', integer(1), 1),
  window: knative('window', duration(6000, HOUR_MS, 'between 6s and 1h'), 60_000),
  panicWindowPercentage: knative('panic-window-percentage', number(1, 100), 10, 'panicWindowPercentage'),
  panicThresholdPercentage: knative(
    'panic-threshold-percentage',
    number(110, 1000),
    200,
    'panicThresholdPercentage',
  ),
  scaleToZeroPodRetentionPeriod: knative(
    'scale-to-zero-pod-retention-period',
    duration(0, Number.MAX_SAFE_INTEGER, '>= 0s'),
    0,
  ),
  scaleDownDelay: knative('scale-down-delay', duration(0, HOUR_MS, 'between 0s and 1h'), 0),
  /** Validated only: Eddy's router has no activator to put in the path. */
  targetBurstCapacity: knativeWithoutDefault('target-burst-capacity', number(-1)),
  lagTarget: eddy('lag-target', number(0, Number.POSITIVE_INFINITY, true), DEFAULT_LAG_TARGET),
  backlog: eddy('backlog', trueOrFalse, true),
} as const;

const byKey = new Map<string, AutoscalingAnnotation<unknown>>();
for (const a of Object.values(AUTOSCALING_ANNOTATIONS) as AutoscalingAnnotation<unknown>[]) {
  byKey.set(a.key, a);
  if (a.legacyKey) byKey.set(a.legacyKey, a);
}

/** The table entry of a full annotation key (current or legacy spelling), if Eddy knows it. */
export function autoscalingAnnotation(key: string): AutoscalingAnnotation<unknown> | undefined {
  return byKey.get(key);
}

export type AnnotationRead<T> =
  | { key: string; ok: true; value: T }
  | { key: string; ok: false; message: string };

/** Reads one annotation: its key first, then its legacy key; undefined when neither is set. */
export function readAutoscalingAnnotation<T>(
  annotations: Readonly<Record<string, string>>,
  annotation: AutoscalingAnnotation<T>,
): AnnotationRead<T> | undefined {
  for (const key of [annotation.key, annotation.legacyKey]) {
    if (key === undefined) continue;
    const text = annotations[key];
    if (text !== undefined) return { key, ...annotation.parse(text) };
  }
  return undefined;
}

/** Why a metric cannot drive Eddy's (KPA-style) autoscaler, or undefined when it can. */
export function kpaMetricProblem(metric: string): string | undefined {
  return metric === 'concurrency' || metric === 'rps'
    ? undefined
    : `the KPA autoscaler scales on "concurrency" or "rps", found ${show(metric)}`;
}

/** Why min-scale and max-scale contradict each other (max-scale 0 means unbounded), or undefined. */
export function scaleBoundsProblem(minScale: number, maxScale: number): string | undefined {
  return maxScale > 0 && minScale > maxScale
    ? `max-scale (${maxScale}) must be >= min-scale (${minScale})`
    : undefined;
}
