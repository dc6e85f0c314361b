// emitBatch() into a real Eddy broker ingress (embedded log): batch POSTs when the sink is known to
// take them, every event stored intact; a malformed event inside a batch fails alone; a batch
// retried while the ingress comes back arrives whole.

import { dataValue, type PlainEvent, toHttpBinary } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { createEmitter, type EventInit, sourceMetrics } from '@eddy/sources';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { mixedEvent } from '../../packages/sources/src/testing/mixed-events.ts';
import { type EddyIngress, startEddyIngress } from './eddy-ingress.ts';

const fast = { retry: 3, backoffPolicy: 'linear' as const, backoffDelayMs: 50, timeoutMs: 5_000 };
const labels = { kind: 'TestSource', namespace: 'demo', name: 'batch' };

async function metricValue(registry: Registry, name: string, extra: Record<string, string> = {}) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { labels: Record<string, unknown>; value: number }[];
  const want = { ...labels, ...extra };
  return values.find((v) => Object.entries(want).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

function expectIntact(stored: PlainEvent, i: number): void {
  const sent = mixedEvent(i);
  expect(stored.id).toBe(sent.id);
  expect(stored.source).toBe(sent.source);
  expect(stored.type).toBe(sent.type);
  expect(stored.time).toBe(sent.time);
  expect(stored.specversion).toBe('1.0');
  const attrs = stored as unknown as Record<string, unknown>;
  expect(attrs.seq).toBe(String(i));
  expect(attrs.team).toBe('blue');
  expect(attrs.region).toBe('eu west');
  // What a subscriber will get as the body: the data's bytes.
  const body = toHttpBinary(stored).body;
  if (i % 4 === 0) {
    expect(stored.datacontenttype).toBe('application/json');
    expect(dataValue(stored)).toEqual({ n: i, text: 'wörld' });
    expect(body.toString()).toBe(JSON.stringify({ n: i, text: 'wörld' }));
  } else if (i % 4 === 1) {
    expect(stored.subject).toBe(`s-${i}`);
    expect(dataValue(stored)).toBe(`line ${i}`);
    expect(body).toEqual(Buffer.from(`line ${i}`));
  } else if (i % 4 === 2) {
    expect(Buffer.isBuffer(stored.data)).toBe(true);
    expect(body).toEqual(Buffer.from([i % 256, 0, 255, 10]));
  } else {
    expect(stored).not.toHaveProperty('data');
    expect(stored.dataschema).toBe('https://example.com/schema');
    // Typed in a batch; binary mode (the one-by-one fallback) carries every attribute as a string.
    expect(String(attrs.flag)).toBe('true');
    expect(String(attrs.count)).toBe(String(i));
  }
}

/**
 * A 0.3 event whose data claims to be base64 but is not: a complete event, so the emitter sends it
 * as given, and every Eddy ingress refuses it.
 */
const malformed: PlainEvent = {
  specversion: '0.3',
  id: 'bad-1',
  source: '/test/source',
  type: 'dev.eddy.test.batch',
  datacontentencoding: 'base64',
  data: '!!! not base64 !!!',
};

describe('emitter.emitBatch into an Eddy ingress', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  async function ingress(options?: Parameters<typeof startEddyIngress>[0]): Promise<EddyIngress> {
    const started = await startEddyIngress(options);
    closers.push(() => started.close());
    return started;
  }

  /** A batching emitter into `sink` with ceOverrides, counting into its own registry. */
  function batchEmitter(sink: string) {
    const registry = new Registry();
    const emitter = createEmitter({
      sink,
      acceptsBatch: true,
      ceOverrides: { extensions: { team: 'blue', region: 'eu west' } },
      policy: fast,
      metrics: sourceMetrics(registry, labels),
    });
    return { registry, emitter };
  }

  it('sends 1,100 events to a real Eddy ingress in 3 batch POSTs; every event is stored intact', async () => {
    const broker = await ingress();
    const { registry, emitter } = batchEmitter(broker.url);
    expect(emitter.batching).toBe(true);
    const events = Array.from({ length: 1_100 }, (_, i) => mixedEvent(i));
    const outcomes = await emitter.emitBatch(events);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1_100);
    // 500 + 500 + 100: the event bound, each one durable append answered 202.
    expect(await broker.requests()).toBe(3);
    expect(await broker.requests(202)).toBe(3);
    expect(await metricValue(registry, 'eddy_source_events_delivered_total')).toBe(1_100);
    const stored = await broker.stored();
    expect(stored).toHaveLength(1_100);
    const byId = new Map(stored.map((e) => [e.id, e]));
    for (let i = 0; i < 1_100; i++) expectIntact(byId.get(`ev-${i}`)!, i);
    expect((byId.get('ev-3') as unknown as Record<string, unknown>).count).toBe(3);
    expect((byId.get('ev-3') as unknown as Record<string, unknown>).flag).toBe(true);
  });

  it('a malformed event inside a batch fails alone: the others are stored, it is reported as rejected', async () => {
    const broker = await ingress();
    const { registry, emitter } = batchEmitter(broker.url);
    const events: (EventInit | PlainEvent)[] = Array.from({ length: 40 }, (_, i) => mixedEvent(i));
    events.splice(17, 0, malformed);
    const outcomes = await emitter.emitBatch(events);
    const bad = outcomes[17];
    expect(bad?.ok).toBe(false);
    if (bad && !bad.ok) {
      expect(bad.error.reason).toBe('rejected');
      expect(bad.error.status).toBe(400);
    }
    expect(outcomes.filter((o) => o.ok)).toHaveLength(40);
    // A batch holds one specversion: the 0.3 event goes in a batch of its own between the two 1.0
    // batches; that batch is refused (400) and its event, sent alone, refused again.
    expect(await broker.requests(400)).toBe(2);
    expect(await broker.requests(202)).toBe(2);
    expect(await metricValue(registry, 'eddy_source_events_failed_total', { reason: 'rejected' })).toBe(1);
    expect(await metricValue(registry, 'eddy_source_events_delivered_total')).toBe(40);
    const stored = await broker.stored();
    expect(stored).toHaveLength(40);
    const byId = new Map(stored.map((e) => [e.id, e]));
    for (let i = 0; i < 40; i++) expectIntact(byId.get(`ev-${i}`)!, i);
  });

  it('sink down: nothing is accepted; a batch retried while it comes back arrives whole', async () => {
    const broker = await ingress({ down: true });
    const emitter = createEmitter({ sink: broker.url, acceptsBatch: true, policy: fast });
    const events = Array.from({ length: 30 }, (_, i) => mixedEvent(i));
    const failed = await emitter.emitBatch(events);
    expect(failed.filter((o) => o.ok)).toHaveLength(0);
    expect(new Set(failed.map((o) => (o.ok ? 'ok' : o.error.reason)))).toEqual(
      new Set(['retries_exhausted']),
    );

    const patient = createEmitter({
      sink: broker.url,
      acceptsBatch: true,
      policy: {
        retry: 20,
        backoffPolicy: 'linear',
        backoffDelayMs: 100,
        maxBackoffMs: 100,
        timeoutMs: 5_000,
      },
    });
    const sending = patient.emitBatch(events);
    await sleep(500);
    await broker.up();
    const outcomes = await sending;
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(await broker.requests(202)).toBe(1);
    expect((await broker.stored()).map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
  });
});
