import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredResource, Topology } from './protocol.js';
import { type ReportedProcessCounters, TopologySampler } from './topology-sampler.js';

const trigger: StoredResource = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name: 't', namespace: 'default', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { broker: 'default', subscriber: { uri: 'http://127.0.0.1:1/' } },
};
const broker: StoredResource = {
  ...trigger,
  kind: 'Broker',
  metadata: { ...trigger.metadata, name: 'default' },
  spec: {},
};

let sampler: TopologySampler | undefined;
afterEach(() => sampler?.stop());

/** The counters the broker's data plane registers (ingress-metrics.ts, dispatch-metrics.ts), in a real registry. */
function dataPlaneCounters(registry: Registry) {
  return {
    ingress: new Counter({
      name: 'eddy_ingress_events_total',
      help: 'h',
      labelNames: ['kind', 'namespace', 'name', 'outcome'],
      registers: [registry],
    }),
    dispatch: new Counter({
      name: 'eddy_dispatch_events_total',
      help: 'h',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    }),
  };
}

describe('TopologySampler', () => {
  it('turns the counters into per-second rates over its window, with the lag', async () => {
    const registry = new Registry();
    const c = dataPlaneCounters(registry);
    sampler = new TopologySampler(
      { resources: () => [broker, trigger], metrics: registry, lag: async () => 7 },
      { windowMs: 60_000 },
    );
    await sampler.sample();
    c.ingress.inc({ kind: 'broker', namespace: 'default', name: 'default', outcome: 'accepted' }, 10);
    c.ingress.inc({ kind: 'broker', namespace: 'default', name: 'default', outcome: 'rejected' }, 99);
    c.dispatch.inc({ route: 'default/t', outcome: 'delivered' }, 6);
    c.dispatch.inc({ route: 'default/t', outcome: 'filtered' }, 4);
    await new Promise((r) => setTimeout(r, 200));
    const t = await sampler.sample();
    const seconds = 10 / (t.nodes.find((n) => n.kind === 'Broker')?.rate ?? Number.NaN);
    // About 0.2 s passed between the samples: 10 accepted events are ~50/s (rejected ones do not count).
    expect(seconds).toBeGreaterThan(0.15);
    expect(seconds).toBeLessThan(1);
    const read = t.edges.find((e) => e.kind === 'route')?.rate ?? 0;
    const delivered = t.edges.find((e) => e.kind === 'subscriber')?.rate ?? 0;
    expect(read / delivered).toBeCloseTo(10 / 6, 1);
    expect(t.nodes.find((n) => n.kind === 'Trigger')?.lag).toBe(7);
  });

  it('tells its listeners only when the picture changed; no metrics, no rates; a failing lag is unknown', async () => {
    const resources = [broker, trigger];
    sampler = new TopologySampler({
      resources: () => resources,
      lag: async () => {
        throw new Error('no group');
      },
      notes: ['rates are elsewhere'],
    });
    const seen: Topology[] = [];
    sampler.subscribe((t) => seen.push(t));
    await sampler.sample();
    await sampler.sample();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.notes).toEqual(['rates are elsewhere']);
    expect(seen[0]?.edges.find((e) => e.kind === 'route')?.rate).toBeUndefined();
    expect(seen[0]?.nodes.find((n) => n.kind === 'Trigger')?.lag).toBeUndefined();
    resources.pop();
    await sampler.sample();
    expect(seen).toHaveLength(2);
    expect(seen[1]?.nodes.map((n) => n.kind)).toEqual(['Broker']);
  });

  it('samples on its own while a listener is subscribed, and not after stop()', async () => {
    const resources = [broker, trigger];
    sampler = new TopologySampler({ resources: () => resources }, { intervalMs: 20 });
    const seen: Topology[] = [];
    sampler.subscribe((t) => seen.push(t));
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toHaveLength(1);
    resources.pop();
    await new Promise((r) => setTimeout(r, 200));
    // Broker, Trigger and its URL subscriber; then the Broker alone.
    expect(seen.map((t) => t.nodes.length)).toEqual([3, 1]);
    sampler.stop();
    resources.push(trigger);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toHaveLength(2);
  });

  it('adds the counters processes reported to its own, per process: a restarted one counts from 0, never negative', async () => {
    const registry = new Registry();
    const local = dataPlaneCounters(registry);
    const accepted = (value: number) => ({
      name: 'eddy_ingress_events_total',
      labels: { kind: 'broker', namespace: 'default', name: 'default', outcome: 'accepted' },
      value,
    });
    const delivered = (value: number) => ({
      name: 'eddy_dispatch_events_total',
      labels: { route: 'default/t', outcome: 'delivered' },
      value,
    });
    let reported: ReportedProcessCounters[] = [
      { member: 'broker/ingress-1', counters: [accepted(100)] },
      { member: 'broker/dispatcher-1', counters: [delivered(50)] },
      { member: 'broker/dispatcher-2', counters: [delivered(20)] },
    ];
    sampler = new TopologySampler(
      { resources: () => [broker, trigger], metrics: registry, reported: () => reported },
      { windowMs: 60_000 },
    );
    await sampler.sample();
    local.ingress.inc({ kind: 'broker', namespace: 'default', name: 'default', outcome: 'accepted' }, 10);
    reported = [
      { member: 'broker/ingress-1', counters: [accepted(110)] },
      // +6; dispatcher-2 restarted and counted 4 since: +4 (summed over processes it would be -10).
      { member: 'broker/dispatcher-1', counters: [delivered(56)] },
      { member: 'broker/dispatcher-2', counters: [delivered(4)] },
      // Counters the topology does not use change nothing.
      { member: 'sources/sources-1', counters: [{ name: 'eddy_other_total', labels: {}, value: 9 }] },
    ];
    await new Promise((r) => setTimeout(r, 200));
    const t = await sampler.sample();
    // 10 accepted here + 10 reported: the broker's rate is 20 per elapsed time.
    const brokerRate = t.nodes.find((n) => n.kind === 'Broker')?.rate ?? Number.NaN;
    const seconds = 20 / brokerRate;
    expect(seconds).toBeGreaterThan(0.15);
    expect(seconds).toBeLessThan(1);
    const route = t.edges.find((e) => e.kind === 'route')?.rate ?? Number.NaN;
    const subscriber = t.edges.find((e) => e.kind === 'subscriber')?.rate ?? Number.NaN;
    // All reads were deliveries: 10 of them (6 + 4) to the broker's 20 accepted.
    expect(route / brokerRate).toBeCloseTo(0.5, 2);
    expect(subscriber / brokerRate).toBeCloseTo(0.5, 2);

    // The processes go away (their members expire): rates fall to 0, not below.
    reported = [];
    const gone = await sampler.sample();
    for (const e of gone.edges) if (e.rate !== undefined) expect(e.rate).toBeGreaterThanOrEqual(0);
    expect(gone.edges.find((e) => e.kind === 'route')?.rate).toBeGreaterThanOrEqual(0);
  });

  it('shows rates from reported counters alone (no registry in this process)', async () => {
    let value = 0;
    sampler = new TopologySampler({
      resources: () => [broker, trigger],
      reported: () => [
        {
          member: 'broker/dispatcher-1',
          counters: [
            {
              name: 'eddy_dispatch_events_total',
              labels: { route: 'default/t', outcome: 'delivered' },
              value,
            },
          ],
        },
      ],
    });
    const before = await sampler.sample();
    expect(before.edges.find((e) => e.kind === 'route')?.rate).toBe(0);
    value = 5;
    await new Promise((r) => setTimeout(r, 100));
    const after = await sampler.sample();
    expect(after.edges.find((e) => e.kind === 'route')?.rate).toBeGreaterThan(0);
    expect(after.edges.find((e) => e.kind === 'subscriber')?.rate).toBeGreaterThan(0);
  });
});
