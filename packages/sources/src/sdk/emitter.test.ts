import { dataValue, type PlainEvent } from '@eddy/api';
import { CloudEvent } from 'cloudevents';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSink, type TestSink } from '../testing/test-sink.js';
import { createEmitter, EmitError } from './emitter.js';
import { sourceMetrics } from './metrics.js';

const fast = { retry: 3, backoffPolicy: 'linear' as const, backoffDelayMs: 50, timeoutMs: 2_000 };

/** JSON data as bytes (as an adapter passing an upstream event on has it): sent unchanged. */
const DATA = Buffer.from('{ "hello": "wörld" }');

function event(extra: Record<string, unknown> = {}): PlainEvent {
  return {
    specversion: '1.0',
    id: 'e-1',
    source: '/test/source',
    type: 'dev.eddy.test',
    datacontenttype: 'application/json',
    data: DATA,
    ...extra,
  };
}

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { labels: Record<string, unknown>; value: number }[];
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

describe('source emitter', () => {
  let sink: TestSink;
  beforeEach(async () => {
    sink = await startTestSink();
  });
  afterEach(async () => {
    await sink.close();
  });

  it('POSTs in binary mode with ceOverrides applied (overrides win over the event extensions)', async () => {
    const emitter = createEmitter({
      sink: `${sink.url}ns/broker?x=1`,
      ceOverrides: { extensions: { team: 'blue', region: 'eu west' } },
      policy: fast,
    });
    const result = await emitter.send(event({ team: 'red', subject: 'ünïcode' }));
    expect(result).toEqual({ status: 202 });
    expect(sink.requests).toHaveLength(1);
    const [req] = sink.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/ns/broker?x=1');
    expect(req?.headers['ce-id']).toBe('e-1');
    expect(req?.headers['ce-specversion']).toBe('1.0');
    expect(req?.headers['ce-type']).toBe('dev.eddy.test');
    expect(req?.headers['ce-source']).toBe('/test/source');
    expect(req?.headers['ce-team']).toBe('blue');
    expect(req?.headers['ce-region']).toBe('eu%20west');
    expect(req?.headers['ce-subject']).toBe('%C3%BCn%C3%AFcode');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.body).toEqual(DATA);
    // A complete event is sent as given: no time (nor anything else) added.
    expect(req?.headers).not.toHaveProperty('ce-time');
    const [received] = sink.accepted();
    expect(received?.subject).toBe('ünïcode');
    expect(received?.region).toBe('eu west');
  });

  it('retries 5xx and 429 with the configured backoff, then resolves on 2xx', async () => {
    const registry = new Registry();
    const metrics = sourceMetrics(registry, { kind: 'TestSource', namespace: 'ns', name: 'a' });
    const statuses = [503, 429, 500];
    sink.respond = (_r, n) => ({ status: statuses[n] ?? 200 });
    const emitter = createEmitter({ sink: sink.url, policy: fast, metrics });
    await expect(emitter.send(event())).resolves.toEqual({ status: 200 });
    expect(sink.requests).toHaveLength(4);
    const gaps = sink.requests.slice(1).map((r, i) => r.at - (sink.requests[i]?.at ?? 0));
    // linear: 50, 100, 150 ms before retries 1, 2, 3 (timer slack allowed, never shorter)
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(50 * (i + 1) - 5);
    });
    expect(await metricValue(registry, 'eddy_source_events_delivered_total', { name: 'a' })).toBe(1);
  });

  it('honours Retry-After on 429 up to retryAfterMaxMs', async () => {
    sink.respond = (_r, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 202 });
    const emitter = createEmitter({
      sink: sink.url,
      policy: { ...fast, backoffDelayMs: 10, retryAfterMaxMs: 5_000 },
    });
    await emitter.send(event());
    const [first, second] = sink.requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('abandons an attempt after timeoutMs and retries it', async () => {
    sink.respond = (_r, n) => (n === 0 ? { status: 202, delayMs: 5_000 } : { status: 202 });
    const emitter = createEmitter({
      sink: sink.url,
      policy: { ...fast, timeoutMs: 200, backoffDelayMs: 10 },
    });
    const started = performance.now();
    await expect(emitter.send(event())).resolves.toEqual({ status: 202 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(sink.requests).toHaveLength(2);
  });

  it('does not retry other 4xx: rejects with reason "rejected" and counts the failure', async () => {
    const registry = new Registry();
    const metrics = sourceMetrics(registry, { kind: 'TestSource', namespace: 'ns', name: 'b' });
    sink.respond = () => ({ status: 400, body: 'bad event: no way' });
    const emitter = createEmitter({ sink: sink.url, policy: fast, metrics });
    const error = await emitter.send(event()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmitError);
    expect(error).toMatchObject({ reason: 'rejected', status: 400, attempts: 1 });
    expect((error as Error).message).toMatch(/HTTP 400: bad event: no way \(not retried\)/);
    expect(sink.requests).toHaveLength(1);
    expect(await metricValue(registry, 'eddy_source_events_failed_total', { reason: 'rejected' })).toBe(1);
  });

  it('rejects (never resolves) when the sink stays down past the retries', async () => {
    await sink.down();
    const emitter = createEmitter({ sink: sink.url, policy: { ...fast, retry: 2, backoffDelayMs: 20 } });
    const error = await emitter.send(event()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmitError);
    expect(error).toMatchObject({ reason: 'retries_exhausted', attempts: 3 });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('rides out a sink outage shorter than the retries', async () => {
    await sink.down();
    const emitter = createEmitter({ sink: sink.url, policy: { ...fast, retry: Infinity, maxBackoffMs: 50 } });
    const sending = emitter.send(event());
    setTimeout(() => void sink.up(), 300);
    await expect(sending).resolves.toEqual({ status: 202 });
    expect(sink.accepted().map((e) => e.id)).toEqual(['e-1']);
  });

  it('rejects with reason "aborted" when the per-send or the source signal aborts', async () => {
    sink.respond = () => ({ status: 503 });
    const source = new AbortController();
    const emitter = createEmitter({
      sink: sink.url,
      policy: { ...fast, retry: Infinity },
      signal: source.signal,
    });
    const perSend = new AbortController();
    const one = emitter.send(event(), { signal: perSend.signal }).catch((e: unknown) => e);
    const two = emitter.send(event({ id: 'e-2' })).catch((e: unknown) => e);
    setTimeout(() => perSend.abort(), 120);
    setTimeout(() => source.abort(), 240);
    const started = performance.now();
    expect(await one).toMatchObject({ name: 'EmitError', reason: 'aborted' });
    expect(await two).toMatchObject({ name: 'EmitError', reason: 'aborted' });
    expect(performance.now() - started).toBeLessThan(1_000);
    await expect(emitter.send(event())).rejects.toMatchObject({ reason: 'aborted', attempts: 0 });
  });

  it('accepts plain event data: fills id, time and specversion; rejects invalid attributes', async () => {
    const emitter = createEmitter({ sink: sink.url, policy: fast });
    await emitter.send({
      source: '/plain',
      type: 'dev.eddy.plain',
      data: 'text',
      datacontenttype: 'text/plain',
    });
    const [received] = sink.accepted();
    expect(received).toMatchObject({
      source: '/plain',
      type: 'dev.eddy.plain',
      specversion: '1.0',
      datacontenttype: 'text/plain',
    });
    expect(dataValue(received!)).toBe('text');
    expect(received?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.now() - Date.parse(String(received?.time))).toBeLessThan(5_000);
    await expect(emitter.send({ source: '/plain', type: 'x', 'Bad-Name': 'v' })).rejects.toMatchObject({
      name: 'EmitError',
      reason: 'unencodable',
      attempts: 0,
    });
    expect(sink.requests).toHaveLength(1);
  });

  it("accepts a `cloudevents` SDK CloudEvent (a third-party adapter's) and sends it as given", async () => {
    const emitter = createEmitter({ sink: sink.url, policy: fast });
    const sdkEvent = new CloudEvent({
      id: 'sdk-1',
      source: '/third/party',
      type: 'dev.eddy.sdk',
      datacontenttype: 'application/octet-stream',
      data: Buffer.from([0, 1, 254, 255]),
      color: 'red',
    });
    await emitter.send(sdkEvent);
    const [req] = sink.requests;
    expect(req?.headers['ce-id']).toBe('sdk-1');
    expect(req?.headers['ce-color']).toBe('red');
    // The SDK's time is part of the event it built; its base64 copy of the data is not an attribute.
    expect(req?.headers['ce-time']).toBe(sdkEvent.time);
    expect(req?.headers).not.toHaveProperty('ce-data_base64');
    expect(req?.body).toEqual(Buffer.from([0, 1, 254, 255]));
  });

  it('rejects a bad sink URL or ceOverrides at creation, naming the field', () => {
    expect(() => createEmitter({ sink: 'not a url' })).toThrow(/sink "not a url" is not a valid URL/);
    expect(() => createEmitter({ sink: 'ftp://x/' })).toThrow(/not an http\(s\) URL/);
    expect(() => createEmitter({ sink: sink.url, ceOverrides: { extensions: { Bad_Name: 'x' } } })).toThrow(
      /ceOverrides\.extensions\.Bad_Name/,
    );
    expect(() => createEmitter({ sink: sink.url, ceOverrides: { extensions: { id: 'x' } } })).toThrow(
      /ceOverrides\.extensions\.id/,
    );
  });
});
