// Counters a data-plane process reports to its control plane in its contract-feed status, so a control
// plane whose data plane runs in other processes (eddy dev --kafka) can show rates from them: the
// values of the named prom-client counters, with their labels, at most `maxSeries` series (a process
// with thousands of routes must not make every status report megabytes).

import type { Registry } from 'prom-client';

/** One series of a counter, as reported. */
export interface ReportedCounter {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The part of a member's status that carries counters. */
export interface CounterStatus {
  counters?: ReportedCounter[];
}

/** The counters a dashboard turns into rates: ingress accepted, dispatch outcomes, source deliveries. */
export const RATE_COUNTERS = [
  'eddy_ingress_events_total',
  'eddy_dispatch_events_total',
  'eddy_source_events_delivered_total',
] as const;

export const DEFAULT_REPORTED_SERIES = 2000;

/** The series of the counters `names` in `registry` (those it lacks are skipped), at most `maxSeries`. */
export async function readCounters(
  registry: Registry,
  names: readonly string[] = RATE_COUNTERS,
  maxSeries = DEFAULT_REPORTED_SERIES,
): Promise<ReportedCounter[]> {
  const out: ReportedCounter[] = [];
  for (const name of names) {
    const metric = registry.getSingleMetric(name);
    if (!metric) continue;
    const { values } = (await metric.get()) as {
      values: { value: number; labels: Record<string, string | number | undefined> }[];
    };
    for (const v of values) {
      if (out.length >= maxSeries) return out;
      const labels: Record<string, string> = {};
      for (const [k, l] of Object.entries(v.labels)) if (l !== undefined) labels[k] = String(l);
      out.push({ name, labels, value: v.value });
    }
  }
  return out;
}

/** A signature of counter values that moves whenever one does (for a status reporter). */
export function countersSignature(counters: readonly ReportedCounter[]): string {
  let total = 0;
  for (const c of counters) total += c.value;
  return `${counters.length}:${total}`;
}

/** The counters in a member's reported status; malformed entries are skipped, none is []. */
export function reportedCounters(status: unknown): ReportedCounter[] {
  const counters = (status as CounterStatus | null | undefined)?.counters;
  if (!Array.isArray(counters)) return [];
  return counters.filter(
    (c): c is ReportedCounter =>
      c !== null &&
      typeof c === 'object' &&
      typeof c.name === 'string' &&
      typeof c.value === 'number' &&
      Number.isFinite(c.value) &&
      c.labels !== null &&
      typeof c.labels === 'object',
  );
}
