// emitBatch() without a real Eddy ingress (test/sources/emitter-batch.test.ts has those): batch POSTs
// within the byte limit, one binary POST per event when the sink takes no batches, and what an
// event that was not accepted does to the ones after it.

import { afterEach, describe, expect, it } from 'vitest';
import { mixedEvent } from '../testing/mixed-events.js';
import { startTestSink, type TestSink } from '../testing/test-sink.js';
import { createEmitter } from './emitter.js';

const fast = { retry: 3, backoffPolicy: 'linear' as const, backoffDelayMs: 50, timeoutMs: 5_000 };

describe('emitter.emitBatch', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  async function sink(): Promise<TestSink> {
    const started = await startTestSink();
    closers.push(() => started.close());
    return started;
  }

  it('keeps every batch POST within maxBatchBytes, in order', async () => {
    const target = await sink();
    const emitter = createEmitter({
      sink: target.url,
      acceptsBatch: true,
      maxBatchBytes: 8_192,
      policy: fast,
    });
    const events = Array.from({ length: 60 }, (_, i) => ({
      id: `big-${i}`,
      source: '/s',
      type: 't',
      datacontenttype: 'text/plain',
      data: 'x'.repeat(900),
    }));
    const outcomes = await emitter.emitBatch(events, { ordered: true });
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(target.requests.length).toBeGreaterThan(5);
    expect(target.requests.length).toBeLessThan(60);
    for (const r of target.requests) {
      expect(r.headers['content-type']).toBe('application/cloudevents-batch+json; charset=utf-8');
      expect(r.body.length).toBeLessThanOrEqual(8_192);
    }
    expect(target.accepted().map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it('without sinkAcceptsBatch: one binary-mode POST per event, ceOverrides applied', async () => {
    const target = await sink();
    const emitter = createEmitter({
      sink: target.url,
      ceOverrides: { extensions: { team: 'blue' } },
      policy: fast,
    });
    expect(emitter.batching).toBe(false);
    const events = Array.from({ length: 12 }, (_, i) => mixedEvent(i));
    const outcomes = await emitter.emitBatch(events, { ordered: true });
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(target.requests).toHaveLength(12);
    target.requests.forEach((r, i) => {
      expect(r.headers['ce-id']).toBe(`ev-${i}`);
      expect(r.headers['ce-team']).toBe('blue');
      expect(String(r.headers['content-type'] ?? '')).not.toContain('cloudevents');
    });
  });

  it('ordered: after an event that was not accepted, the later ones are skipped, not sent', async () => {
    const target = await sink();
    target.respond = (req) => ({ status: req.headers['ce-id'] === 'ev-2' ? 503 : 202 });
    const emitter = createEmitter({ sink: target.url, policy: { ...fast, retry: 1 } });
    const outcomes = await emitter.emitBatch(
      Array.from({ length: 5 }, (_, i) => mixedEvent(i)),
      { ordered: true },
    );
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.reason))).toEqual([
      'ok',
      'ok',
      'retries_exhausted',
      'skipped',
      'skipped',
    ]);
    expect(target.requests.map((r) => r.headers['ce-id'])).toEqual(['ev-0', 'ev-1', 'ev-2', 'ev-2']);
  });
});
