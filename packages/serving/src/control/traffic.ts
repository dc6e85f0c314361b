// A Route's traffic block resolved to revisions, Knative's way: `revisionName` names a revision that
// must exist and be ready; `configurationName` (and `latestRevision: true`) means that configuration's
// latest READY revision. A missing target makes AllTrafficAssigned False (RevisionMissing /
// ConfigurationMissing); a target that is not ready yet makes it Unknown (or False when it failed).

import type { ServingTrafficTarget, TrafficTarget } from '@eddy/api';

/** A traffic target after TrafficTarget defaulting (latestRevision = no revisionName, percent 0). */
export interface DesiredTarget {
  tag?: string;
  revisionName?: string;
  configurationName?: string;
  latestRevision: boolean;
  percent: number;
}

export interface RevisionView {
  ready: boolean;
  failed: boolean;
}

export interface ConfigurationView {
  latestReadyRevisionName?: string;
  failed: boolean;
}

export interface TrafficLookups {
  revision(name: string): RevisionView | undefined;
  configuration(name: string): ConfigurationView | undefined;
}

export interface TrafficProblem {
  status: 'False' | 'Unknown';
  reason: string;
  message: string;
}

export type TrafficResult =
  | { ok: true; traffic: ServingTrafficTarget[] }
  | { ok: false; problem: TrafficProblem };

const show = (v: unknown) => JSON.stringify(v);

export function desiredTargets(traffic: readonly TrafficTarget[] | undefined): DesiredTarget[] {
  return (traffic ?? []).map((t) => ({
    ...(t.tag !== undefined ? { tag: t.tag } : {}),
    ...(t.revisionName ? { revisionName: t.revisionName } : {}),
    ...(t.configurationName ? { configurationName: t.configurationName } : {}),
    latestRevision: t.latestRevision ?? !t.revisionName,
    percent: t.percent ?? 0,
  }));
}

/** The rules `eddy validate` enforces, for resources that did not go through it. */
export function trafficSpecProblem(targets: readonly DesiredTarget[]): string | undefined {
  const problems: string[] = [];
  const sum = targets.reduce((s, t) => s + t.percent, 0);
  if (sum !== 100) problems.push(`spec.traffic: traffic percents sum to ${sum}, expected 100`);
  const tags = new Map<string, number>();
  targets.forEach((t, i) => {
    if (t.percent < 0 || t.percent > 100)
      problems.push(`spec.traffic[${i}].percent: expected 0..100, found ${t.percent}`);
    if (t.tag === undefined) return;
    const first = tags.get(t.tag);
    if (first !== undefined)
      problems.push(`spec.traffic[${i}].tag: duplicate tag ${show(t.tag)} (also traffic[${first}].tag)`);
    else tags.set(t.tag, i);
  });
  targets.forEach((t, i) => {
    if (!t.revisionName && !t.configurationName)
      problems.push(`spec.traffic[${i}]: expected one of revisionName and configurationName, found neither`);
  });
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/**
 * Resolves every target; the first missing target wins, then the first failed one, then the first one
 * that is not ready yet (Knative reports missing targets at once and defers unready ones).
 */
export function resolveTraffic(targets: readonly DesiredTarget[], lookups: TrafficLookups): TrafficResult {
  const resolved: ServingTrafficTarget[] = [];
  const missing: TrafficProblem[] = [];
  const failed: TrafficProblem[] = [];
  const pending: TrafficProblem[] = [];
  for (const t of targets) {
    const tag = t.tag !== undefined ? { tag: t.tag } : {};
    if (t.revisionName) {
      const rev = lookups.revision(t.revisionName);
      if (!rev)
        missing.push({
          status: 'False',
          reason: 'RevisionMissing',
          message: `Revision ${show(t.revisionName)} referenced in traffic not found.`,
        });
      else if (rev.failed)
        failed.push({
          status: 'False',
          reason: 'RevisionMissing',
          message: `Revision ${show(t.revisionName)} failed to become ready.`,
        });
      else if (!rev.ready)
        pending.push({
          status: 'Unknown',
          reason: 'RevisionMissing',
          message: `Revision ${show(t.revisionName)} is not yet ready.`,
        });
      else resolved.push({ revisionName: t.revisionName, percent: t.percent, ...tag, latestRevision: false });
      continue;
    }
    const name = t.configurationName ?? '';
    const config = lookups.configuration(name);
    if (!config) {
      missing.push({
        status: 'False',
        reason: 'ConfigurationMissing',
        message: `Configuration ${show(name)} referenced in traffic not found.`,
      });
      continue;
    }
    const latest = config.latestReadyRevisionName;
    if (latest === undefined) {
      if (config.failed)
        failed.push({
          status: 'False',
          reason: 'RevisionMissing',
          message: `Configuration ${show(name)} does not have any ready Revision.`,
        });
      else
        pending.push({
          status: 'Unknown',
          reason: 'RevisionMissing',
          message: `Configuration ${show(name)} is waiting for a Revision to become ready.`,
        });
      continue;
    }
    resolved.push({ revisionName: latest, percent: t.percent, ...tag, latestRevision: true });
  }
  const problem = missing[0] ?? failed[0] ?? pending[0];
  return problem ? { ok: false, problem } : { ok: true, traffic: resolved };
}
