import type { PlainEvent } from '@eddy/api';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { dispatchMetrics } from '../dispatcher/dispatch-metrics.js';
import {
  type DataPlaneStatusReport,
  EVENT_TYPE_RATE_WINDOW_MS,
  EventTypeRecorder,
  rateOf,
  reportDataPlaneStatus,
} from './event-type-recorder.js';
import { ingressMetrics } from './ingress-metrics.js';
import type { IngressRoute } from './route-table.js';

const route = (name: string, kind: IngressRoute['kind'] = 'broker'): IngressRoute => ({
  kind,
  namespace: 'default',
  name,
  path: kind === 'broker' ? `/default/${name}` : `/channels/default/${name}`,
  topic: `t-${name}`,
  partitions: 1,
  retentionMs: undefined,
  replicationFactor: undefined,
  config: undefined,
});

const event = (type: string, source = '/orders', extra: Partial<PlainEvent> = {}): PlainEvent => ({
  specversion: '1.0',
  id: `${Math.random()}`,
  type,
  source,
  ...extra,
});

const T0 = Date.parse('2026-12-07T10:00:00Z');

async function metric(registry: Registry, name: string): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric(name)?.get();
  return Object.fromEntries((m?.values ?? []).map((v) => [JSON.stringify(v.labels), v.value]));
}

describe('EventTypeRecorder', () => {
  it('records each (route, type, source, dataschema) once, counting events and first/last seen', () => {
    const r = new EventTypeRecorder();
    r.record(route('default'), [event('order.created'), event('order.created')], T0);
    r.record(
      route('default'),
      [event('order.created', '/orders', { dataschema: 'https://s/v1' })],
      T0 + 1000,
    );
    r.record(route('default'), [event('order.paid')], T0 + 2000);
    r.record(route('orders', 'channel'), [event('order.created')], T0 + 3000);
    r.record(route('default'), [event('order.created')], T0 + 4000);
    expect(r.size).toBe(4);
    const snap = r.snapshot(T0 + 4000).map(({ rate: _rate, ...o }) => o);
    expect(snap).toEqual([
      {
        kind: 'broker',
        namespace: 'default',
        name: 'default',
        type: 'order.created',
        source: '/orders',
        specversion: '1.0',
        firstSeen: T0,
        lastSeen: T0 + 4000,
        count: 3,
      },
      {
        kind: 'broker',
        namespace: 'default',
        name: 'default',
        type: 'order.created',
        source: '/orders',
        schema: 'https://s/v1',
        specversion: '1.0',
        firstSeen: T0 + 1000,
        lastSeen: T0 + 1000,
        count: 1,
      },
      expect.objectContaining({ name: 'default', type: 'order.paid', count: 1 }),
      expect.objectContaining({ kind: 'channel', name: 'orders', type: 'order.created', count: 1 }),
    ]);
  });

  it('keeps at most maxEntries kinds and counts the events of the others as dropped (limit)', async () => {
    const registry = new Registry();
    const r = new EventTypeRecorder({ maxEntries: 2, registry });
    r.record(route('default'), [event('a'), event('b'), event('c'), event('c'), event('a')], T0);
    expect(r.size).toBe(2);
    expect(r.snapshot(T0).map((o) => [o.type, o.count])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(await metric(registry, 'eddy_ingress_event_types_dropped_total')).toEqual({
      '{"reason":"limit"}': 2,
    });
    expect(await metric(registry, 'eddy_ingress_event_types')).toEqual({ '{}': 2 });
  });

  it('does not keep attribute values longer than maxAttributeLength (too_long)', async () => {
    const registry = new Registry();
    const r = new EventTypeRecorder({ maxAttributeLength: 10, registry });
    r.record(
      route('default'),
      [
        event('x'.repeat(11)),
        event('ok', '/'.repeat(11)),
        event('ok', '/', { dataschema: 's'.repeat(11) }),
        event('ok'),
      ],
      T0,
    );
    expect(r.snapshot(T0).map((o) => o.type)).toEqual(['ok']);
    expect(await metric(registry, 'eddy_ingress_event_types_dropped_total')).toEqual({
      '{"reason":"too_long"}': 3,
    });
  });

  it('forgets the routes a contract no longer serves, freeing their room', () => {
    const r = new EventTypeRecorder({ maxEntries: 2 });
    r.record(route('a'), [event('x'), event('y')], T0);
    r.retainRoutes(new Set(['/default/b']));
    expect(r.size).toBe(0);
    r.record(route('b'), [event('x')], T0);
    expect(r.snapshot(T0).map((o) => `${o.name} ${o.type}`)).toEqual(['b x']);
  });

  it('gives events/s over the last minute, falling to zero once the events stop', () => {
    const r = new EventTypeRecorder();
    for (let s = 0; s < 60; s++) r.record(route('default'), [event('tick'), event('tick')], T0 + s * 1000);
    const rate = (at: number) => r.snapshot(at)[0]?.rate ?? Number.NaN;
    expect(rate(T0 + 59_999)).toBeCloseTo(2, 1);
    // Half a window later, half of the last full window still counts.
    expect(rate(T0 + EVENT_TYPE_RATE_WINDOW_MS * 1.5)).toBeCloseTo(1, 1);
    expect(rate(T0 + EVENT_TYPE_RATE_WINDOW_MS * 2)).toBe(0);
    expect(rate(T0 + EVENT_TYPE_RATE_WINDOW_MS * 5)).toBe(0);
  });

  it('rateOf counts the previous window in proportion to what the sliding window still covers', () => {
    expect(rateOf({ windowStart: 0, windowCount: 30, previousCount: 60 }, 30_000)).toBeCloseTo(
      (30 + 30) / 60,
    );
  });
});

describe('reportDataPlaneStatus', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const accepted = { kind: 'broker', namespace: 'default', name: 'default', outcome: 'accepted' };

  it("sends an ingress's event types and rate counters as ONE report, only when one moved, at most once an interval", async () => {
    const registry = new Registry();
    const ingress = ingressMetrics(registry);
    const recorder = new EventTypeRecorder();
    const reports: DataPlaneStatusReport[] = [];
    const stop = reportDataPlaneStatus({
      observedEventTypes: () => recorder.snapshot(Date.now()),
      registry,
      report: (s) => reports.push(s),
      intervalMs: 40,
    });
    try {
      // Thirty events within one interval: one report carrying both.
      for (let i = 0; i < 30; i++) {
        recorder.record(route('default'), [event('order.created')], Date.now());
        ingress.events.inc(accepted);
      }
      await sleep(70);
      expect(reports).toHaveLength(1);
      expect(reports[0]?.eventTypes?.[0]).toMatchObject({ type: 'order.created', count: 30 });
      expect(reports[0]?.counters).toEqual([
        { name: 'eddy_ingress_events_total', labels: accepted, value: 30 },
      ]);
      // Nothing moves: nothing is sent (rates decaying alone do not count).
      await sleep(150);
      expect(reports).toHaveLength(1);
      // A counter alone moves (a rejected event, no new kind): its value goes out with the event types.
      ingress.events.inc({ ...accepted, outcome: 'rejected' });
      await sleep(80);
      expect(reports).toHaveLength(2);
      expect(reports[1]?.eventTypes).toHaveLength(1);
      expect(reports[1]?.counters).toHaveLength(2);
    } finally {
      stop();
    }
  });

  it("sends a dispatcher's counters without event types", async () => {
    const registry = new Registry();
    const dispatch = dispatchMetrics(registry);
    const reports: DataPlaneStatusReport[] = [];
    const stop = reportDataPlaneStatus({ registry, report: (s) => reports.push(s), intervalMs: 30 });
    try {
      dispatch.events.inc({ route: 'default/t', outcome: 'delivered' }, 4);
      await sleep(60);
      expect(reports.at(-1)).toEqual({
        counters: [
          {
            name: 'eddy_dispatch_events_total',
            labels: { route: 'default/t', outcome: 'delivered' },
            value: 4,
          },
        ],
      });
    } finally {
      stop();
    }
  });
});
