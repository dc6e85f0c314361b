// Delivery against real HTTP subscribers and dead-letter sinks on 127.0.0.1 (node:http servers).
// Timing assertions are lower bounds (with a few ms of tolerance) plus loose upper bounds only
// where the point is "does not wait that long".

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type DispatchRoute,
  dataValue,
  type PlainEvent,
  parseHttpRequest,
  type ResolvedDelivery,
} from '@eddy/api';
import { type InProcessAnswer, InProcessOrigins, type InProcessRequest, sleep } from '@eddy/runtime';
import { Registry } from 'prom-client';
import { request as undiciRequest } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AttemptFailure, createDeliverer, type Deliverer, type DeliveryOutcome } from './deliverer.js';

interface Received {
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number, body: Buffer) => void;

interface TestServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];

async function startServer(handler: Handler): Promise<TestServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', headers: req.headers, body, at: performance.now() });
      handler(req, res, received.length, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const s: TestServer = {
    url: `http://127.0.0.1:${port}/sink`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(s);
  return s;
}

/** A URL nobody listens on: bind a port, then release it. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/gone`;
}

const status =
  (code: number, body = '', headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(code, headers);
    res.end(body);
  };

/**
 * Writes `byte` as fast as the client reads, and stops on its own after 64 MiB so a broken bound
 * in the deliverer cannot hang the test run.
 */
function writeEndlessBody(
  res: ServerResponse,
  byte: number,
  onWrite: (bytes: number) => void = () => {},
): void {
  const chunk = Buffer.alloc(16 * 1024, byte);
  let written = 0;
  const pump = (): void => {
    while (written < 64 * 1024 * 1024 && !res.destroyed) {
      written += chunk.length;
      onWrite(chunk.length);
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function route(subscriber: string, delivery: Partial<ResolvedDelivery> = {}): DispatchRoute {
  return {
    kind: 'Trigger',
    namespace: 'default',
    name: 't1',
    id: 'default/t1',
    topic: 'broker-default',
    group: 'trigger-default-t1',
    subscriber,
    reply: { kind: 'drop' },
    delivery: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 1, ...delivery },
    ordering: 'unordered',
    maxInFlight: 10,
    startFrom: 'latest',
  };
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** JSON data as an event from ingress carries it: the bytes the producer sent (not re-serialized). */
const TEST_DATA = Buffer.from('{ "hello": "world", "n": 1.0 }');

function testEvent(extra: Record<string, unknown> = {}): PlainEvent {
  return {
    specversion: '1.0',
    id: 'evt-1',
    source: '/test/source',
    type: 'com.example.test',
    time: '2024-05-06T07:08:09Z',
    subject: 'sub-1',
    datacontenttype: 'application/json',
    data: TEST_DATA,
    traceparent: TRACEPARENT,
    myext: 'ext-value',
    ...extra,
  };
}

/** An event's attributes and data as a plain object, for comparisons. */
function attributesOf(event: PlainEvent): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined));
}

/** What a dead-letter sink received, decoded with the project's HTTP binding. */
function dlsEvent(received: Received): Record<string, unknown> {
  const { mode, events } = parseHttpRequest(received.headers, received.body);
  expect(mode).toBe('binary');
  return attributesOf(events[0]!);
}

function gaps(received: Received[]): number[] {
  return received.slice(1).map((r, i) => r.at - received[i]!.at);
}

let deliverer: Deliverer;
let registry: Registry;

beforeAll(() => {
  registry = new Registry();
  deliverer = createDeliverer({ registry, defaultTimeoutMs: 5_000 });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await deliverer.close();
});

describe('request', () => {
  it('POSTs the event in binary mode with Prefer: reply and the trace context header', async () => {
    const sub = await startServer(status(202));
    const outcome = await deliverer.deliver({ event: testEvent(), route: route(sub.url) });
    expect(outcome).toEqual({ kind: 'delivered', status: 202, reply: undefined, attempts: 1 });
    expect(sub.received).toHaveLength(1);
    const { method, headers, body } = sub.received[0]!;
    expect(method).toBe('POST');
    expect(headers.prefer).toBe('reply');
    expect(headers.traceparent).toBe(TRACEPARENT);
    expect(headers['ce-traceparent']).toBe(TRACEPARENT);
    expect(headers['ce-specversion']).toBe('1.0');
    expect(headers['ce-id']).toBe('evt-1');
    expect(headers['ce-source']).toBe('/test/source');
    expect(headers['ce-type']).toBe('com.example.test');
    expect(headers['ce-subject']).toBe('sub-1');
    expect(headers['ce-myext']).toBe('ext-value');
    expect(headers['content-type']).toMatch(/^application\/json/);
    expect(body).toEqual(TEST_DATA);
  });

  it('reuses keep-alive connections to one subscriber', async () => {
    const ports = new Set<number>();
    const sub = await startServer((req, res) => {
      ports.add(req.socket.remotePort ?? -1);
      res.writeHead(202).end();
    });
    for (let i = 0; i < 20; i++) await deliverer.deliver({ event: testEvent(), route: route(sub.url) });
    expect(sub.received).toHaveLength(20);
    // undici's pool may open a second connection while the first is being released; beyond
    // that every request rides an existing keep-alive connection.
    expect(ports.size).toBeLessThanOrEqual(2);
  });
});

describe('response table', () => {
  it.each([404, 408, 409, 429, 500, 503])('retries %i', async (code) => {
    const sub = await startServer((req, res, n) =>
      status(n === 1 ? code : 200)(req, res, n, Buffer.alloc(0)),
    );
    const outcome = await deliverer.deliver({ event: testEvent(), route: route(sub.url, { retry: 2 }) });
    expect(outcome).toMatchObject({ kind: 'delivered', status: 200, attempts: 2 });
    expect(sub.received).toHaveLength(2);
  });

  it.each([400, 401, 403, 405, 413, 415, 422, 301])('does not retry %i', async (code) => {
    const sub = await startServer(status(code, 'nope', code === 301 ? { location: '/elsewhere' } : {}));
    const failures: AttemptFailure[] = [];
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3 }),
      onAttemptFailed: (f) => {
        failures.push(f);
      },
    });
    expect(outcome).toMatchObject({ kind: 'dropped', status: code, attempts: 1 });
    expect((outcome as { reason: string }).reason).toMatch(/not retried/);
    expect(sub.received).toHaveLength(1);
    expect(failures).toEqual([{ attempt: 1, status: code, error: `HTTP ${code}`, nextDelayMs: undefined }]);
  });

  it('makes exactly retry + 1 attempts and reports each failure before the backoff', async () => {
    const sub = await startServer(status(500));
    const failures: AttemptFailure[] = [];
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3, backoffDelayMs: 5 }),
      onAttemptFailed: async (f) => {
        // The next attempt must not start before this callback is done.
        await sleep(20);
        expect(sub.received).toHaveLength(f.attempt);
        failures.push(f);
      },
    });
    expect(outcome).toMatchObject({ kind: 'dropped', status: 500, attempts: 4 });
    expect((outcome as { reason: string }).reason).toMatch(
      /failed after 4 attempt\(s\): HTTP 500; no dead-letter sink/,
    );
    expect(sub.received).toHaveLength(4);
    expect(failures.map((f) => [f.attempt, f.status, f.nextDelayMs])).toEqual([
      [1, 500, 5],
      [2, 500, 10],
      [3, 500, 15],
      [4, 500, undefined],
    ]);
  });

  it('retry 0 = exactly one attempt', async () => {
    const sub = await startServer(status(503));
    const outcome = await deliverer.deliver({ event: testEvent(), route: route(sub.url, { retry: 0 }) });
    expect(outcome).toMatchObject({ kind: 'dropped', attempts: 1 });
    expect(sub.received).toHaveLength(1);
  });
});

describe('backoff timing', () => {
  it('linear: waits delay * n before retry n', async () => {
    const sub = await startServer(status(500));
    await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3, backoffPolicy: 'linear', backoffDelayMs: 40 }),
    });
    const g = gaps(sub.received);
    expect(g).toHaveLength(3);
    expect(g[0]).toBeGreaterThanOrEqual(40 - 5);
    expect(g[1]).toBeGreaterThanOrEqual(80 - 5);
    expect(g[2]).toBeGreaterThanOrEqual(120 - 5);
  });

  it('exponential: waits delay * 2^n before retry n', async () => {
    const sub = await startServer(status(503));
    await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 20 }),
    });
    const g = gaps(sub.received);
    expect(g).toHaveLength(3);
    expect(g[0]).toBeGreaterThanOrEqual(40 - 5);
    expect(g[1]).toBeGreaterThanOrEqual(80 - 5);
    expect(g[2]).toBeGreaterThanOrEqual(160 - 5);
  });
});

describe('Retry-After', () => {
  it('honours delta-seconds when retryAfterMax allows it', async () => {
    const sub = await startServer((req, res, n) =>
      status(n === 1 ? 429 : 202, '', n === 1 ? { 'retry-after': '1' } : {})(req, res, n, Buffer.alloc(0)),
    );
    const failures: AttemptFailure[] = [];
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 1, backoffDelayMs: 10, retryAfterMaxMs: 5_000 }),
      onAttemptFailed: (f) => {
        failures.push(f);
      },
    });
    expect(outcome).toMatchObject({ kind: 'delivered', attempts: 2 });
    expect(failures[0]).toMatchObject({ status: 429, retryAfterMs: 1000, nextDelayMs: 1000 });
    expect(gaps(sub.received)[0]).toBeGreaterThanOrEqual(1000 - 5);
  });

  it('honours an HTTP-date', async () => {
    const sub = await startServer((req, res, n) => {
      // HTTP-dates have one-second resolution: two seconds ahead is at least one second away.
      const at = new Date(Date.now() + 2_000).toUTCString();
      status(n === 1 ? 503 : 202, '', n === 1 ? { 'retry-after': at } : {})(req, res, n, Buffer.alloc(0));
    });
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 1, backoffDelayMs: 10, retryAfterMaxMs: 10_000 }),
    });
    expect(outcome).toMatchObject({ kind: 'delivered', attempts: 2 });
    expect(gaps(sub.received)[0]).toBeGreaterThanOrEqual(1000 - 5);
  });

  it('caps it at retryAfterMax', async () => {
    const sub = await startServer((req, res, n) =>
      status(n === 1 ? 429 : 202, '', n === 1 ? { 'retry-after': '3600' } : {})(req, res, n, Buffer.alloc(0)),
    );
    const failures: AttemptFailure[] = [];
    const started = performance.now();
    await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 1, backoffDelayMs: 10, retryAfterMaxMs: 300 }),
      onAttemptFailed: (f) => {
        failures.push(f);
      },
    });
    expect(failures[0]).toMatchObject({ retryAfterMs: 3_600_000, nextDelayMs: 300 });
    expect(gaps(sub.received)[0]).toBeGreaterThanOrEqual(300 - 5);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('is ignored without retryAfterMax (Knative opt-in)', async () => {
    const sub = await startServer((req, res, n) =>
      status(n === 1 ? 429 : 202, '', n === 1 ? { 'retry-after': '3600' } : {})(req, res, n, Buffer.alloc(0)),
    );
    const failures: AttemptFailure[] = [];
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 1, backoffDelayMs: 10 }),
      onAttemptFailed: (f) => {
        failures.push(f);
      },
    });
    expect(outcome).toMatchObject({ kind: 'delivered', attempts: 2 });
    expect(failures[0]).toMatchObject({ retryAfterMs: 3_600_000, nextDelayMs: 10 });
  });
});

describe('timeouts and network errors', () => {
  it('aborts an attempt after the per-attempt timeout and retries it', async () => {
    const sub = await startServer(() => {
      // Never answers.
    });
    const failures: AttemptFailure[] = [];
    const started = performance.now();
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 1, backoffDelayMs: 10, timeoutMs: 150 }),
      onAttemptFailed: (f) => {
        failures.push(f);
      },
    });
    const elapsed = performance.now() - started;
    expect(outcome).toMatchObject({ kind: 'dropped', status: undefined, attempts: 2 });
    expect(sub.received).toHaveLength(2);
    expect(failures[0]!.error).toMatch(/no complete response within 150 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(2 * 150 + 10 - 5);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('the timeout covers a body that never ends', async () => {
    const sub = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/cloudevents+json' });
      res.write('{"specversion":"1.0",');
    });
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 0, timeoutMs: 150 }),
    });
    expect(outcome).toMatchObject({ kind: 'dropped', attempts: 1 });
    expect((outcome as { reason: string }).reason).toMatch(/no complete response within 150 ms/);
  });

  it('retries connection errors (closed port)', async () => {
    const url = await closedPortUrl();
    const failures: AttemptFailure[] = [];
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(url, { retry: 2, backoffDelayMs: 5 }),
      onAttemptFailed: (f) => {
        failures.push(f);
      },
    });
    expect(outcome).toMatchObject({ kind: 'dropped', status: undefined, attempts: 3 });
    expect(failures).toHaveLength(3);
    expect(failures[0]!.error).toMatch(/ECONNREFUSED/);
    expect(failures[0]!.status).toBeUndefined();
  });

  it('an invalid subscriber URL is a final failure that still reaches the dead-letter sink', async () => {
    const dls = await startServer(status(202));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route('not a url', { retry: 3, deadLetterSink: dls.url }),
    });
    expect(outcome).toMatchObject({ kind: 'dead-lettered', attempts: 1 });
    expect(dlsEvent(dls.received[0]!).knativeerrordest).toBe('not a url');
  });
});

describe('dead-letter sink', () => {
  it('receives the event unchanged plus knativeerrordest, knativeerrorcode, knativeerrordata', async () => {
    const errorBody = `{"error":"boom","padding":"${'p'.repeat(2000)}"}`;
    const sub = await startServer(
      status(500, errorBody, { 'content-type': 'application/json', 'kne-reason': 'database down' }),
    );
    const dls = await startServer(status(202));
    const event = testEvent();
    const outcome = await deliverer.deliver({
      event,
      route: route(sub.url, { retry: 1, backoffDelayMs: 5, deadLetterSink: dls.url }),
    });
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 500, attempts: 2 });
    expect(dls.received).toHaveLength(1);
    const received = dls.received[0]!;
    // Binary mode, like every delivery; the sink's answer is not processed, so no reply is asked for.
    expect(received.headers['ce-id']).toBe('evt-1');
    expect(received.headers.prefer).toBeUndefined();
    const { knativeerrordest, knativeerrorcode, knativeerrordata, reason, ...rest } = dlsEvent(received);
    expect(rest).toEqual(attributesOf(event));
    expect(knativeerrordest).toBe(sub.url);
    expect(knativeerrorcode).toBe('500');
    expect(Buffer.from(knativeerrordata as string, 'base64').toString()).toBe(errorBody.slice(0, 1024));
    expect(reason).toBe('database down');
  });

  it('gets only knativeerrordest when the last attempt had no response', async () => {
    const url = await closedPortUrl();
    const dls = await startServer(status(200));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(url, { retry: 1, backoffDelayMs: 5, deadLetterSink: dls.url }),
    });
    expect(outcome).toEqual({ kind: 'dead-lettered', status: undefined, attempts: 2 });
    const received = dlsEvent(dls.received[0]!);
    expect(received.knativeerrordest).toBe(url);
    expect(received).not.toHaveProperty('knativeerrorcode');
    expect(received).not.toHaveProperty('knativeerrordata');
  });

  it('goes to the sink at once after a non-retryable status', async () => {
    const sub = await startServer(status(400, 'bad event'));
    const dls = await startServer(status(202));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 5, backoffDelayMs: 1000, deadLetterSink: dls.url }),
    });
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 400, attempts: 1 });
    expect(sub.received).toHaveLength(1);
    const received = dlsEvent(dls.received[0]!);
    expect(received.knativeerrorcode).toBe('400');
    expect(Buffer.from(received.knativeerrordata as string, 'base64').toString()).toBe('bad event');
  });

  it('is retried with the same policy, and a failing sink means dropped', async () => {
    const sub = await startServer(status(500));
    const dls = await startServer(status(503));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 2, backoffDelayMs: 5, deadLetterSink: dls.url }),
    });
    expect(outcome).toMatchObject({ kind: 'dropped', status: 500, attempts: 3 });
    expect((outcome as { reason: string }).reason).toMatch(
      /failed after 3 attempt\(s\): HTTP 500; dead-letter sink .* failed after 3 attempt\(s\): HTTP 503/,
    );
    expect(sub.received).toHaveLength(3);
    expect(dls.received).toHaveLength(3);
  });

  it('an unreachable sink means dropped', async () => {
    const sub = await startServer(status(500));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 0, deadLetterSink: await closedPortUrl() }),
    });
    expect(outcome).toMatchObject({ kind: 'dropped', status: 500, attempts: 1 });
    expect((outcome as { reason: string }).reason).toMatch(/dead-letter sink .* ECONNREFUSED/);
  });
});

describe('resuming after a restart', () => {
  it('attemptsMade counts toward retry + 1', async () => {
    const sub = await startServer(status(500));
    const failures: AttemptFailure[] = [];
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3, backoffDelayMs: 5 }),
      attemptsMade: 2,
      onAttemptFailed: (f) => {
        failures.push(f);
      },
    });
    expect(sub.received).toHaveLength(2);
    expect(outcome).toMatchObject({ kind: 'dropped', attempts: 4 });
    // Retry numbers continue too: the third attempt follows retry 3's backoff.
    expect(failures.map((f) => [f.attempt, f.nextDelayMs])).toEqual([
      [3, 15],
      [4, undefined],
    ]);
  });

  it('all attempts already made: straight to the dead-letter sink with the persisted status', async () => {
    const sub = await startServer(status(500));
    const dls = await startServer(status(202));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3, deadLetterSink: dls.url }),
      attemptsMade: 4,
      lastFailure: { attempt: 4, status: 503, error: 'HTTP 503' },
    });
    expect(sub.received).toHaveLength(0);
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 503, attempts: 4 });
    expect(dlsEvent(dls.received[0]!).knativeerrorcode).toBe('503');
  });

  it('a persisted final failure (no nextDelayMs) is not retried', async () => {
    const sub = await startServer(status(202));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3 }),
      attemptsMade: 1,
      lastFailure: { attempt: 1, status: 400, error: 'HTTP 400' },
    });
    expect(sub.received).toHaveLength(0);
    expect(outcome).toMatchObject({ kind: 'dropped', status: 400, attempts: 1 });
  });

  it('a failing onAttemptFailed fails deliver() before any retry', async () => {
    const sub = await startServer(status(500));
    await expect(
      deliverer.deliver({
        event: testEvent(),
        route: route(sub.url, { retry: 3 }),
        onAttemptFailed: () => Promise.reject(new Error('offset store down')),
      }),
    ).rejects.toThrow('offset store down');
    expect(sub.received).toHaveLength(1);
  });

  it('notBefore delays the first attempt', async () => {
    const sub = await startServer(status(202));
    const started = performance.now();
    await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 1 }),
      attemptsMade: 1,
      notBefore: Date.now() + 100,
    });
    expect(sub.received[0]!.at - started).toBeGreaterThanOrEqual(100 - 5);
  });
});

describe('abort', () => {
  it('stops waiting for a backoff at once', async () => {
    const sub = await startServer(status(500));
    const controller = new AbortController();
    const started = performance.now();
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 5, backoffDelayMs: 10_000 }),
      signal: controller.signal,
      onAttemptFailed: () => {
        setTimeout(() => controller.abort(), 50);
      },
    });
    expect(outcome).toEqual({ kind: 'aborted', attempts: 1 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(sub.received).toHaveLength(1);
  });

  it('cancels a request in flight', async () => {
    const sub = await startServer(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 5, timeoutMs: 10_000 }),
      signal: controller.signal,
    });
    expect(outcome).toEqual({ kind: 'aborted', attempts: 1 });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('an already aborted signal makes no attempt', async () => {
    const sub = await startServer(status(202));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url),
      signal: AbortSignal.abort(),
    });
    expect(outcome).toEqual({ kind: 'aborted', attempts: 0 });
    expect(sub.received).toHaveLength(0);
  });

  it('close() aborts running deliveries and refuses new ones', async () => {
    const own = createDeliverer({ registry: new Registry() });
    const sub = await startServer(status(500));
    const running = own.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3, backoffDelayMs: 10_000 }),
    });
    await sleep(100);
    await own.close();
    expect(await running).toEqual({ kind: 'aborted', attempts: 1 });
    await expect(own.deliver({ event: testEvent(), route: route(sub.url) })).rejects.toThrow(/closed/);
  });
});

describe('replies', () => {
  const replyEvent = {
    specversion: '1.0',
    id: 'reply-1',
    source: '/replier',
    type: 'com.example.reply',
    time: '2024-05-06T07:08:10Z',
    datacontenttype: 'application/json',
    replyext: 'r',
    data: { answer: 42 },
  };

  function expectReply(outcome: DeliveryOutcome): PlainEvent {
    expect(outcome.kind).toBe('delivered');
    const reply = (outcome as { reply?: PlainEvent }).reply;
    expect(reply).toBeDefined();
    return reply!;
  }

  it('returns a binary-mode reply intact', async () => {
    const sub = await startServer(
      status(200, JSON.stringify(replyEvent.data), {
        'ce-specversion': '1.0',
        'ce-id': 'reply-1',
        'ce-source': '/replier',
        'ce-type': 'com.example.reply',
        'ce-time': '2024-05-06T07:08:10Z',
        'ce-replyext': 'r',
        'content-type': 'application/json',
      }),
    );
    const reply = expectReply(await deliverer.deliver({ event: testEvent(), route: route(sub.url) }));
    expect(reply.id).toBe('reply-1');
    expect(reply.source).toBe('/replier');
    expect(reply.type).toBe('com.example.reply');
    expect(reply.specversion).toBe('1.0');
    expect(reply.datacontenttype).toBe('application/json');
    expect((reply as unknown as Record<string, unknown>).replyext).toBe('r');
    expect(dataValue(reply)).toEqual({ answer: 42 });
    expect(reply.data).toEqual(Buffer.from(JSON.stringify(replyEvent.data)));
  });

  it('returns a structured-mode reply intact', async () => {
    const sub = await startServer(
      status(200, JSON.stringify(replyEvent), {
        'content-type': 'application/cloudevents+json; charset=utf-8',
      }),
    );
    const reply = expectReply(await deliverer.deliver({ event: testEvent(), route: route(sub.url) }));
    expect(reply.id).toBe('reply-1');
    expect(reply.type).toBe('com.example.reply');
    expect((reply as unknown as Record<string, unknown>).replyext).toBe('r');
    expect(dataValue(reply)).toEqual({ answer: 42 });
    expect(reply.data).toEqual(Buffer.from(JSON.stringify(replyEvent.data)));
  });

  it('a 2xx without an event is plain success; a 202 is never a reply', async () => {
    const plain = await startServer(status(200, '{"ok":true}', { 'content-type': 'application/json' }));
    expect(await deliverer.deliver({ event: testEvent(), route: route(plain.url) })).toEqual({
      kind: 'delivered',
      status: 200,
      reply: undefined,
      attempts: 1,
    });
    const accepted = await startServer(
      status(202, JSON.stringify(replyEvent), { 'content-type': 'application/cloudevents+json' }),
    );
    expect(await deliverer.deliver({ event: testEvent(), route: route(accepted.url) })).toMatchObject({
      kind: 'delivered',
      status: 202,
      reply: undefined,
    });
  });

  it('an invalid reply event fails the delivery without retry (Knative), and the sink sees why', async () => {
    const sub = await startServer(
      status(200, '{"a":1}', {
        'ce-specversion': '1.0',
        'ce-source': '/x',
        'ce-type': 't',
        'content-type': 'application/json',
      }),
    );
    const dls = await startServer(status(202));
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 3, deadLetterSink: dls.url }),
    });
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 200, attempts: 1 });
    expect(sub.received).toHaveLength(1);
    const received = dlsEvent(dls.received[0]!);
    expect(received.knativeerrorcode).toBe('200');
    expect(Buffer.from(received.knativeerrordata as string, 'base64').toString()).toBe('{"a":1}');
  });

  it('a malformed structured reply is an invalid reply', async () => {
    const sub = await startServer(
      status(200, '{not json', { 'content-type': 'application/cloudevents+json' }),
    );
    const outcome = await deliverer.deliver({ event: testEvent(), route: route(sub.url, { retry: 2 }) });
    expect(outcome).toMatchObject({ kind: 'dropped', status: 200, attempts: 1 });
    expect((outcome as { reason: string }).reason).toMatch(
      /invalid reply event: invalid JSON body at position 1/,
    );
  });

  it('a reply above maxReplyBytes is refused without reading it all (declared length)', async () => {
    const small = createDeliverer({ registry: new Registry(), maxReplyBytes: 1024 });
    try {
      const big = JSON.stringify({ ...replyEvent, data: { blob: 'b'.repeat(10_000) } });
      const sub = await startServer(status(200, big, { 'content-type': 'application/cloudevents+json' }));
      const outcome = await small.deliver({ event: testEvent(), route: route(sub.url) });
      expect(outcome).toMatchObject({ kind: 'dropped', status: 200, attempts: 1 });
      expect((outcome as { reason: string }).reason).toMatch(/exceeds the 1024-byte limit/);
    } finally {
      await small.close();
    }
  });

  it('an endless chunked reply is cut at maxReplyBytes', async () => {
    const small = createDeliverer({ registry: new Registry(), maxReplyBytes: 64 * 1024 });
    let written = 0;
    try {
      const sub = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/cloudevents+json' });
        writeEndlessBody(res, 0x20, (bytes) => {
          written += bytes;
        });
      });
      const started = performance.now();
      const outcome = await small.deliver({
        event: testEvent(),
        route: route(sub.url, { timeoutMs: 10_000 }),
      });
      expect(outcome).toMatchObject({ kind: 'dropped', status: 200, attempts: 1 });
      expect((outcome as { reason: string }).reason).toMatch(/reply exceeds the 65536-byte limit/);
      expect(performance.now() - started).toBeLessThan(5_000);
      // The server stopped long before its own 64 MiB limit (socket buffers hold a few MiB at most).
      expect(written).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await small.close();
    }
  });

  it('an endless error body does not hold the attempt', async () => {
    const sub = await startServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      writeEndlessBody(res, 0x41);
    });
    const dls = await startServer(status(202));
    const started = performance.now();
    const outcome = await deliverer.deliver({
      event: testEvent(),
      route: route(sub.url, { retry: 0, timeoutMs: 10_000, deadLetterSink: dls.url }),
    });
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 500, attempts: 1 });
    expect(performance.now() - started).toBeLessThan(5_000);
    const data = Buffer.from(dlsEvent(dls.received[0]!).knativeerrordata as string, 'base64');
    expect(data).toEqual(Buffer.alloc(1024, 0x41));
  });
});

describe('metrics', () => {
  it('counts attempts by status class, outcomes, dead letters, drops and latency per route', async () => {
    const reg = new Registry();
    const own = createDeliverer({ registry: reg });
    // A second deliverer on the same registry shares the metrics instead of failing.
    const twin = createDeliverer({ registry: reg });
    try {
      const ok = await startServer(status(202));
      const failing = await startServer(status(503));
      const dls = await startServer(status(202));
      const r = (url: string, d: Partial<ResolvedDelivery> = {}): DispatchRoute => ({
        ...route(url, d),
        id: 'ns/m',
      });
      await own.deliver({ event: testEvent(), route: r(ok.url) });
      await twin.deliver({
        event: testEvent(),
        route: r(failing.url, { retry: 1, deadLetterSink: dls.url }),
      });
      await own.deliver({ event: testEvent(), route: r(failing.url) });
      const text = await reg.metrics();
      expect(text).toContain('eddy_dispatch_attempts_total{route="ns/m",status_class="2xx"} 1');
      expect(text).toContain('eddy_dispatch_attempts_total{route="ns/m",status_class="5xx"} 3');
      expect(text).toContain('eddy_dispatch_dead_letter_attempts_total{route="ns/m",status_class="2xx"} 1');
      expect(text).toContain('eddy_dispatch_outcomes_total{route="ns/m",outcome="delivered"} 1');
      expect(text).toContain('eddy_dispatch_outcomes_total{route="ns/m",outcome="dead-lettered"} 1');
      expect(text).toContain('eddy_dispatch_outcomes_total{route="ns/m",outcome="dropped"} 1');
      expect(text).toContain('eddy_dispatch_dead_lettered_total{route="ns/m"} 1');
      expect(text).toContain('eddy_dispatch_dropped_total{route="ns/m",reason="no_dead_letter_sink"} 1');
      expect(text).toContain('eddy_dispatch_latency_seconds_count{route="ns/m"} 4');
    } finally {
      await own.close();
      await twin.close();
    }
  });
});

describe('origins served in this process (inProcess)', () => {
  /**
   * An origin nobody listens on, served in-process by forwarding to a real server: a delivery that
   * reaches the server went through the handler (over the network it would be refused).
   */
  async function servedInProcess(handler: Handler) {
    const backend = await startServer(handler);
    const target = new URL(await closedPortUrl());
    const origins = new InProcessOrigins();
    const calls: InProcessRequest[] = [];
    let refusal: InProcessAnswer | undefined;
    origins.register(target.origin, async (request) => {
      calls.push(request);
      if (refusal) return refusal;
      const response = await undiciRequest(`${new URL(backend.url).origin}${request.path}`, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: request.signal,
      });
      return { kind: 'response', response };
    });
    const local = createDeliverer({ registry: new Registry(), inProcess: origins });
    return {
      backend,
      url: target.href,
      calls,
      local,
      refuse: (answer: InProcessAnswer | undefined) => {
        refusal = answer;
      },
      [Symbol.asyncDispose]: () => local.close(),
    };
  }

  it('hands the request to the handler (headers, body, path) and reads its response, reply included', async () => {
    const reply = { 'ce-specversion': '1.0', 'ce-id': 'r-1', 'ce-source': '/reply', 'ce-type': 'reply.t' };
    await using served = await servedInProcess((_req, res) => res.writeHead(200, reply).end('answer'));
    const outcome = await served.local.deliver({ event: testEvent(), route: route(served.url) });
    expect(outcome).toMatchObject({ kind: 'delivered', status: 200, attempts: 1 });
    expect((outcome as { reply?: PlainEvent }).reply).toMatchObject({ id: 'r-1', type: 'reply.t' });
    expect(served.calls).toHaveLength(1);
    expect(served.calls[0]).toMatchObject({ method: 'POST', path: '/gone', host: new URL(served.url).host });
    expect(served.backend.received[0]!.headers['ce-id']).toBe('evt-1');
    expect(served.backend.received[0]!.headers.prefer).toBe('reply');
    expect(served.backend.received[0]!.body).toEqual(TEST_DATA);
  });

  it('sends a request the handler declines over the network to the same address', async () => {
    const listening = await startServer(status(202));
    const origins = new InProcessOrigins();
    let asked = 0;
    origins.register(new URL(listening.url).origin, async () => {
      asked++;
      return { kind: 'declined' };
    });
    const local = createDeliverer({ registry: new Registry(), inProcess: origins });
    try {
      const outcome = await local.deliver({ event: testEvent(), route: route(listening.url) });
      expect(outcome).toMatchObject({ kind: 'delivered', status: 202, attempts: 1 });
      expect(asked).toBe(1);
      expect(listening.received).toHaveLength(1);
      expect(listening.received[0]!.headers['ce-id']).toBe('evt-1');
    } finally {
      await local.close();
    }
  });

  it('treats a refusal as the same HTTP answer: retried per its status, then dead-lettered with it', async () => {
    await using served = await servedInProcess(status(202));
    const dls = await startServer(status(202));
    served.refuse({
      kind: 'refused',
      status: 503,
      message: 'revision default/x has no ready replica',
      retryAfterSeconds: 1,
    });
    const outcome = await served.local.deliver({
      event: testEvent(),
      route: route(served.url, { retry: 2, backoffDelayMs: 5, deadLetterSink: dls.url }),
    });
    expect(outcome).toEqual({ kind: 'dead-lettered', status: 503, attempts: 3 });
    const dead = dlsEvent(dls.received[0]!);
    expect(dead.knativeerrorcode).toBe('503');
    expect(Buffer.from(dead.knativeerrordata as string, 'base64').toString()).toBe(
      'revision default/x has no ready replica\n',
    );
    served.refuse({ kind: 'refused', status: 404, message: 'no route' });
    expect(
      await served.local.deliver({ event: testEvent(), route: route(served.url, { retry: 3 }) }),
    ).toMatchObject({
      kind: 'dropped',
      status: 404,
      attempts: 4, // 404 is retried, as over HTTP (Knative's retry criteria)
    });
  });
});
