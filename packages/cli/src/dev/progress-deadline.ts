// `--progress-deadline`: the default of revisions without serving.knative.dev/progress-deadline, as
// Knative's config-deployment `progress-deadline` (README "Crash loops").

import type { ReconcileServingInput } from '@eddy/serving';

export function withProgressDeadline(
  input: ReconcileServingInput,
  progressDeadlineMs: number | undefined,
): ReconcileServingInput {
  if (progressDeadlineMs === undefined) return input;
  return { ...input, scalingPlatform: { ...input.scalingPlatform, progressDeadlineMs } };
}
