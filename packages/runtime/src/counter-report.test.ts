import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { countersSignature, readCounters, reportedCounters } from './counter-report.js';

describe('readCounters / reportedCounters', () => {
  it('reads only the named counters, with their labels as strings, at most maxSeries', async () => {
    const registry = new Registry();
    const dispatch = new Counter({
      name: 'eddy_dispatch_events_total',
      help: 'h',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    });
    new Counter({ name: 'eddy_other_total', help: 'h', registers: [registry] }).inc(5);
    dispatch.inc({ route: 'a/t', outcome: 'delivered' }, 3);
    dispatch.inc({ route: 'a/u', outcome: 'filtered' });
    const all = await readCounters(registry);
    expect(all).toEqual([
      { name: 'eddy_dispatch_events_total', labels: { route: 'a/t', outcome: 'delivered' }, value: 3 },
      { name: 'eddy_dispatch_events_total', labels: { route: 'a/u', outcome: 'filtered' }, value: 1 },
    ]);
    expect(await readCounters(registry, ['eddy_dispatch_events_total'], 1)).toHaveLength(1);
    expect(countersSignature(all)).not.toBe(countersSignature(all.slice(1)));
    // What a control plane reads back from a status: malformed entries skipped.
    expect(
      reportedCounters({ counters: [...all, { name: 'x' }, null, { name: 'y', labels: {}, value: 'NaN' }] }),
    ).toEqual(all);
    expect(reportedCounters({ eventTypes: [] })).toEqual([]);
    expect(reportedCounters(undefined)).toEqual([]);
  });
});
