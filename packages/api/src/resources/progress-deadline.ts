// Knative's `serving.knative.dev/progress-deadline`: how long a Revision may take to get its replicas
// ready before it is failed with ProgressDeadlineExceeded instead of being restarted forever (Knative:
// the Deployment's progressDeadlineSeconds, config-deployment `progress-deadline`, default 600 s).
// One parser for `eddy validate`, the serving reconciler and the `--progress-deadline` flag.

import { parseGoDuration } from './durations.js';
import type { AnnotationResult } from './eddy-annotations.js';
import { show } from './rule-context.js';

export const PROGRESS_DEADLINE_ANNOTATION = 'serving.knative.dev/progress-deadline';
/** Knative's (and Kubernetes') default. */
export const DEFAULT_PROGRESS_DEADLINE_MS = 600_000;

/** A Go duration (`5s`, `10m`, `1h30m`) in whole seconds, greater than zero, as Knative validates it; milliseconds. */
export function parseProgressDeadline(text: string): AnnotationResult<number> {
  const ms = parseGoDuration(text.trim());
  if (ms === undefined)
    return { ok: false, message: `expected a duration such as "600s", "10m" or "1h", found ${show(text)}` };
  if (ms <= 0) return { ok: false, message: `must be greater than zero, found ${show(text)}` };
  if (ms % 1000 !== 0)
    return {
      ok: false,
      message: `must be whole seconds (Kubernetes' progressDeadlineSeconds), found ${show(text)}`,
    };
  return { ok: true, value: ms };
}
