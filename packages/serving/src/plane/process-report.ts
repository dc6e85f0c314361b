// What a serving process tells the control plane about itself (ContractWatch.report, a POST to the
// serving feed), and how the control plane reads it back (the CLI's RemoteServingPlane): the plane's
// statuses() and, per revision, its recent autoscaler decisions for `eddy describe`. Both sides use
// this module, so the report has one shape.

import { namespacedKey } from '@eddy/api';
import type { RevisionRuntimeStatus, ServingDataPlane, TimedDecision } from './serving-plane.js';

/** Decisions reported per revision (the newest); the plane itself keeps more. */
export const REPORTED_DECISIONS = 20;

export interface ServingProcessReport {
  revisions: RevisionRuntimeStatus[];
  /** By `<namespace>/<revision>`, newest last. */
  decisions: Record<string, TimedDecision[]>;
}

export function servingProcessReport(
  plane: Pick<ServingDataPlane, 'statuses' | 'decisions'>,
): ServingProcessReport {
  const revisions = plane.statuses();
  const decisions: Record<string, TimedDecision[]> = {};
  for (const { namespace, name } of revisions) {
    const recent = plane.decisions(namespace, name).slice(-REPORTED_DECISIONS);
    if (recent.length > 0) decisions[namespacedKey(namespace, name)] = recent;
  }
  return { revisions, decisions };
}

/** A member's reported status as a report; undefined (not a throw) when it is not one. */
export function asServingProcessReport(status: unknown): ServingProcessReport | undefined {
  if (!status || typeof status !== 'object') return undefined;
  const s = status as Partial<ServingProcessReport>;
  if (!Array.isArray(s.revisions) || !s.decisions || typeof s.decisions !== 'object') return undefined;
  return s as ServingProcessReport;
}

/** One revision's reported decisions. */
export function reportedDecisions(
  report: ServingProcessReport | undefined,
  namespace: string,
  revision: string,
): TimedDecision[] {
  return report?.decisions[namespacedKey(namespace, revision)] ?? [];
}
