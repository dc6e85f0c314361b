// Crash loops: Knative's progress deadline (serving.knative.dev/progress-deadline, default 600 s). A
// revision that is wanted (replicas > 0) but has no ready replica for that long fails with
// ProgressDeadlineExceeded: the plane scales it to zero, so the runtime stops restarting it and
// neither backlog nor requests scale it up again. Only a new revision (a new deployment) starts
// fresh. The Kubernetes runtime reports the Deployment's own ProgressDeadlineExceeded, which counts
// the same. The rules: README "Crash loops".

import { DEFAULT_PROGRESS_DEADLINE_MS, PROGRESS_DEADLINE_ANNOTATION } from '@eddy/api';
import type { DeploymentFailure, DeploymentStatus } from '../runtime/runtime.js';

export const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';

export class ProgressDeadline {
  readonly deadlineMs: number;
  /** Since when replicas are wanted and none is ready; undefined = nothing pending. */
  #since: number | undefined;
  #exceeded: DeploymentFailure | undefined;

  constructor(deadlineMs = DEFAULT_PROGRESS_DEADLINE_MS) {
    this.deadlineMs = deadlineMs;
  }

  /** Set once the deadline passed; it stays (a revision is immutable, so trying again would fail again). */
  get exceeded(): DeploymentFailure | undefined {
    return this.#exceeded;
  }

  /**
   * Takes the replicas wanted now and the deployment's status; the failure once the deadline passed
   * (the first call that returns it is the moment it was exceeded).
   */
  observe(now: number, wanted: number, status: DeploymentStatus): DeploymentFailure | undefined {
    if (this.#exceeded) return this.#exceeded;
    if (status.failure?.reason === PROGRESS_DEADLINE_EXCEEDED) {
      this.#exceeded = status.failure;
      return this.#exceeded;
    }
    if (wanted === 0 || status.ready > 0) {
      this.#since = undefined;
      return undefined;
    }
    this.#since ??= now;
    if (now - this.#since < this.deadlineMs) return undefined;
    this.#exceeded = exceededFailure(this.deadlineMs, status.failure);
    return this.#exceeded;
  }
}

/** The failure the Revision reports: the deadline, then the last failure seen (exit code, log lines). */
export function exceededFailure(deadlineMs: number, cause: DeploymentFailure | undefined): DeploymentFailure {
  const last = cause ? `last failure: ${cause.reason}: ${cause.message}` : 'no replica failure was seen';
  return {
    reason: PROGRESS_DEADLINE_EXCEEDED,
    message: `no replica became ready within the progress deadline of ${deadlineMs / 1000}s (${PROGRESS_DEADLINE_ANNOTATION}); not restarted or scaled up again until a new revision: ${last}`,
    lastLogLines: cause?.lastLogLines ?? [],
    ...(cause?.exitCode !== undefined ? { exitCode: cause.exitCode } : {}),
    ...(cause?.signal !== undefined ? { signal: cause.signal } : {}),
  };
}
