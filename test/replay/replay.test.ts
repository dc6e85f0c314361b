/**
 * Replay end to end, in-process `eddy dev` on the embedded log and on the harness's real Kafka, with
 * real HTTP subscribers on 127.0.0.1: a window replay through one Trigger delivers exactly the
 * window's events that pass both filters, once each, with the `eddyreplay` extension, and no other
 * Trigger sees anything; a dry run counts without delivering; a failing subscriber's retries and
 * dead-letter sink apply and the status counts match.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type ReplayStatus, resourceKey } from '@eddy/api';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { type DevServer, startDevServer } from '../../packages/cli/src/dev/dev-server.ts';
import { admin, Cleanups, sendText } from '../../packages/cli/src/dev/testing/dev-test-kit.ts';
import { waitFor } from '../harness/wait.ts';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());
/** A broker name of its own per test: on the shared Kafka, topics and Trigger groups outlive a test. */
let B = 'default';
beforeEach(() => {
  B = `b-${randomUUID().slice(0, 8)}`;
});

interface Received {
  id: string;
  type: string;
  replay: string | undefined;
  /** performance.now() when it arrived. */
  at: number;
}

/** A subscriber that records every event and answers `status` (a function of the event id). */
async function subscriber(status: (id: string) => number = () => 202) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['ce-id']);
      received.push({
        id,
        type: String(req.headers['ce-type']),
        replay: req.headers['ce-eddyreplay'] as string | undefined,
        at: performance.now(),
      });
      res.statusCode = status(id);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

async function start(kafka: boolean, dispatchers?: number): Promise<DevServer> {
  const dir = cleanups.tempDir('eddy-replay-');
  const server = await startDevServer({
    dataDir: join(dir, '.eddy'),
    files: [],
    port: 0,
    print: () => {},
    serving: false,
    ...(kafka ? { kafka: inject('kafkaBrokers') } : {}),
    ...(dispatchers ? { brokerProcesses: { ingresses: 1, dispatchers } } : {}),
  });
  cleanups.push(() => server.close());
  return server;
}

async function apply(server: DevServer, text: string): Promise<void> {
  const r = await admin(server, 'POST', '/v1/apply', { text, file: 'test.yaml' });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function send(server: DevServer, broker: string, type: string, id: string): Promise<void> {
  expect(await sendText(server, broker, type, id, `data of ${id}`)).toBe(202);
}

/** `count` events of `type` (ids `<prefix>-<n>`), appended through the ingress in batches. */
async function sendBatch(
  server: DevServer,
  broker: string,
  type: string,
  prefix: string,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, count - i) }, (_, j) => ({
      specversion: '1.0',
      id: `${prefix}-${i + j}`,
      type,
      source: 'test',
      data: { n: i + j },
    }));
    const res = await request(`${server.ingressUrl}/default/${broker}`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(batch),
    });
    await res.body.text();
    expect(res.statusCode).toBe(202);
  }
}

/** A Broker named B with `count` events of `type` appended: the window they are in. */
async function brokerWindow(
  server: DevServer,
  type: string,
  prefix: string,
  count: number,
): Promise<{ from: number; to: number }> {
  await apply(server, `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: ${B}}\n`);
  await server.settled();
  const from = Date.now();
  await sendBatch(server, B, type, prefix, count);
  const to = Date.now() + 1;
  await new Promise((r) => setTimeout(r, 5));
  return { from, to };
}

/** A Replay of broker B's window [from, to) to a URL. */
const toUrl = (
  name: string,
  from: number,
  to: number,
  url: string,
  more = '',
) => `apiVersion: eventing.eddy.dev/v1alpha1
kind: Replay
metadata: {name: ${name}}
spec:
  broker: ${B}
  from: "${new Date(from).toISOString()}"
  to: "${new Date(to).toISOString()}"
  target: {destination: {uri: "${url}/"}}
${more}`;

function replayStatus(server: DevServer, name: string): ReplayStatus | undefined {
  return server.store.get(resourceKey('Replay', 'default', name))?.resource.status as
    | ReplayStatus
    | undefined;
}

const succeeded = (s: ReplayStatus | undefined) => s?.conditions.find((c) => c.type === 'Succeeded');

async function finished(server: DevServer, name: string, timeoutMs = 60_000): Promise<ReplayStatus> {
  await waitFor(
    `replay ${name} to finish`,
    () => {
      const c = succeeded(replayStatus(server, name));
      return c !== undefined && c.status !== 'Unknown';
    },
    timeoutMs,
  );
  return replayStatus(server, name)!;
}

const mesh = (broker: string, orders: string, audit: string, extra = '') => `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: ${broker}, annotations: {eddy.dev/partitions: "3"}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: orders}
spec:
  broker: ${broker}
  filters: [{prefix: {type: order.}}]
  subscriber: {uri: "${orders}/orders"}
${extra}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: audit}
spec:
  broker: ${broker}
  subscriber: {uri: "${audit}/audit"}
`;

const replay = (name: string, broker: string, from: number, to: number, more = '') => `
apiVersion: eventing.eddy.dev/v1alpha1
kind: Replay
metadata: {name: ${name}}
spec:
  broker: ${broker}
  from: "${new Date(from).toISOString()}"
  to: "${new Date(to).toISOString()}"
  target: {triggers: [orders]}
${more}
`;

describe.each([
  ['the embedded log', false],
  ['Kafka', true],
])('replay on %s', (_name, kafka) => {
  it('re-delivers exactly the window through one Trigger (both filters, once each), other Triggers see nothing; a dry run counts', {
    timeout: 180_000,
  }, async () => {
    const server = await start(kafka);
    const orders = await subscriber();
    const audit = await subscriber();
    await apply(server, mesh(B, orders.url, audit.url));
    await server.settled();

    await send(server, B, 'order.created', 'before-1');
    await waitFor('before-1 delivered', () => orders.received.length === 1 && audit.received.length === 1);
    const from = Date.now() + 5;
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 30; i++)
      await send(server, B, i % 3 === 0 ? 'audit.only' : i % 2 ? 'order.paid' : 'order.created', `in-${i}`);
    await waitFor('the window delivered live', () => audit.received.length === 31);
    await new Promise((r) => setTimeout(r, 20));
    const to = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await send(server, B, 'order.created', 'after-1');
    // Both Triggers' live deliveries done (orders: before-1, the 20 order.* of the window, after-1):
    // one still in flight when the count is taken would be counted as replayed.
    await waitFor('after-1 delivered', () => audit.received.length === 32 && orders.received.length >= 22);
    const liveOrders = orders.received.length;
    const liveAudit = audit.received.length;

    // The Replay's own filter narrows further: order.paid only.
    await apply(server, replay('paid-again', B, from, to, '  filters: [{exact: {type: order.paid}}]'));
    const status = await finished(server, 'paid-again');
    expect(succeeded(status)).toMatchObject({ status: 'True', reason: 'Completed' });
    const expected = Array.from({ length: 30 }, (_, i) => i)
      .filter((i) => i % 3 !== 0 && i % 2 === 1)
      .map((i) => `in-${i}`);
    const replayed = orders.received.slice(liveOrders);
    expect(replayed.map((e) => e.id).sort()).toEqual([...expected].sort());
    expect(new Set(replayed.map((e) => e.replay))).toEqual(new Set(['default/paid-again']));
    expect(audit.received.length).toBe(liveAudit);
    expect(status).toMatchObject({
      total: 30,
      matched: expected.length,
      delivered: expected.length,
      deadLettered: 0,
      failed: 0,
      skipped: 30 - expected.length,
    });
    expect(status.progress?.every((p) => p.offset === p.end)).toBe(true);
    expect(status.startTime).toBeDefined();
    expect(status.completionTime).toBeDefined();
    expect(Date.parse(status.lastReplayedTime!)).toBeLessThan(to);

    // A dry run counts what passes both filters, delivers nothing.
    await apply(server, replay('count-orders', B, from, to, '  dryRun: true'));
    const dry = await finished(server, 'count-orders');
    expect(dry).toMatchObject({ total: 30, matched: 20, delivered: 0, skipped: 10 });
    expect(orders.received.length).toBe(liveOrders + expected.length);
    expect(audit.received.length).toBe(liveAudit);
  });

  it("applies the Trigger's retries and dead-letter sink to replayed deliveries; counts match", {
    timeout: 180_000,
  }, async () => {
    const server = await start(kafka);
    // Fails odd events always; even ones on their first attempt only.
    const attempts = new Map<string, number>();
    const orders = await subscriber((id) => {
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      return Number(id.split('-')[1]) % 2 === 1 || n === 1 ? 503 : 202;
    });
    const audit = await subscriber();
    const dls = await subscriber();
    await apply(
      server,
      mesh(
        B,
        orders.url,
        audit.url,
        `  delivery: {retry: 2, backoffPolicy: linear, backoffDelay: PT0.05S, deadLetterSink: {uri: "${dls.url}/dls"}}`,
      ),
    );
    await server.settled();
    // Same events with ids the subscriber fails on, in a second window.
    const from2 = Date.now();
    for (let i = 0; i < 10; i++) await send(server, B, 'order.created', `r-${i}`);
    await waitFor('the batch seen by audit', () => audit.received.length === 10);
    // Every live attempt must have arrived before the count restarts: an even id's retry landing after
    // `attempts.clear()` would be counted against the replay.
    const settledLive = () =>
      dls.received.length === 5 &&
      Array.from({ length: 10 }, (_, i) => attempts.get(`r-${i}`) === (i % 2 === 1 ? 3 : 2)).every(Boolean);
    await waitFor('live deliveries of the second batch settled', settledLive, 30_000);
    const dlsBefore = dls.received.length;
    const to2 = Date.now() + 1;

    attempts.clear();
    await apply(server, replay('with-failures', B, from2, to2));
    const status = await finished(server, 'with-failures');
    expect(status).toMatchObject({
      total: 10,
      matched: 10,
      delivered: 5,
      deadLettered: 5,
      failed: 0,
      skipped: 0,
    });
    // Odd ids: 1 + 2 retries, then the dead-letter sink; even ids: one failure, then delivered.
    for (let i = 0; i < 10; i++) expect(attempts.get(`r-${i}`), `r-${i}`).toBe(i % 2 === 1 ? 3 : 2);
    const dead = dls.received.slice(dlsBefore);
    expect(dead.map((e) => e.id).sort()).toEqual(['r-1', 'r-3', 'r-5', 'r-7', 'r-9']);
    expect(new Set(dead.map((e) => e.replay))).toEqual(new Set(['default/with-failures']));
  });

  it('honours rate: the measured delivery rate over a 10 s replay is within 10% of the limit', {
    timeout: 120_000,
  }, async () => {
    const server = await start(kafka);
    const sink = await subscriber();
    const { from, to } = await brokerWindow(server, 'rate.test', 'r', 1_000);
    await apply(server, toUrl('paced', from, to, sink.url, '  rate: 100\n'));
    const status = await finished(server, 'paced', 60_000);
    expect(status).toMatchObject({ total: 1_000, delivered: 1_000 });
    const times = sink.received.filter((e) => e.replay !== undefined).map((e) => e.at);
    expect(times.length).toBe(1_000);
    const rate = ((times.length - 1) * 1000) / (times.at(-1)! - times[0]!);
    expect(rate).toBeGreaterThan(90);
    expect(rate).toBeLessThan(110);
  });

  it('live events keep flowing to their Triggers during a 50,000-event replay', {
    timeout: 300_000,
  }, async () => {
    const server = await start(kafka);
    const orders = await subscriber();
    const sink = await subscriber();
    await apply(
      server,
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: ${B}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: orders}
spec:
  broker: ${B}
  filters: [{prefix: {type: order.}}]
  subscriber: {uri: "${orders.url}/orders"}
`,
    );
    await server.settled();
    const from = Date.now();
    await sendBatch(server, B, 'bulk.event', 'b', 50_000);
    const to = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    await apply(server, toUrl('bulk', from, to, sink.url));
    await waitFor('the replay under way', () => sink.received.length > 0, 60_000);
    // While it runs: one live event every 100 ms.
    const sentDuring: string[] = [];
    for (let i = 0; sink.received.length < 50_000 && i < 600; i++) {
      const id = `live-${i}`;
      await send(server, B, 'order.created', id);
      sentDuring.push(id);
      await new Promise((r) => setTimeout(r, 100));
    }
    const status = await finished(server, 'bulk', 240_000);
    expect(status).toMatchObject({ total: 50_000, delivered: 50_000 });
    await waitFor('every live event delivered', () => orders.received.length >= sentDuring.length);
    const replayDoneAt = sink.received[49_999]!.at;
    const beforeReplayEnd = orders.received.filter((e) => e.at < replayDoneAt);
    expect(sentDuring.length).toBeGreaterThanOrEqual(3);
    // Every live event sent during the replay but the last one or two was delivered before it ended.
    expect(beforeReplayEnd.length).toBeGreaterThanOrEqual(sentDuring.length - 2);
    expect(orders.received.every((e) => e.replay === undefined)).toBe(true);
  });

  it('suspends and resumes where it was; deleting a running Replay cancels it and removes its consumer group', {
    timeout: 120_000,
  }, async () => {
    const server = await start(kafka);
    const sink = await subscriber();
    const seen = () => {
      const times = new Map<string, number>();
      for (const e of sink.received) times.set(e.id, (times.get(e.id) ?? 0) + 1);
      return times;
    };
    const { from, to } = await brokerWindow(server, 'pause.test', 'p', 300);
    const manifest = (name: string, suspend: boolean) =>
      toUrl(name, from, to, sink.url, `  rate: 50\n  suspend: ${suspend}\n`);
    await apply(server, manifest('pausable', false));
    await waitFor('some events replayed', () => seen().size >= 50, 30_000);
    await apply(server, manifest('pausable', true));
    await waitFor('Suspended', () => succeeded(replayStatus(server, 'pausable'))?.reason === 'Suspended');
    await server.settled();
    await new Promise((r) => setTimeout(r, 300));
    const atPause = seen().size;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(seen().size).toBe(atPause);
    expect(atPause).toBeLessThan(300);
    await apply(server, manifest('pausable', false));
    const status = await finished(server, 'pausable', 60_000);
    expect(status).toMatchObject({ total: 300, delivered: 300 });
    expect(seen().size).toBe(300);
    // Resumed from its checkpoint: at most what was in flight when it paused came twice.
    expect([...seen().values()].filter((n) => n > 1).length).toBeLessThanOrEqual(10);

    sink.received.length = 0;
    await apply(server, manifest('cancelled', false));
    await waitFor('the second replay under way', () => seen().size >= 20, 30_000);
    const plan = server.reconciler.eventingContract?.replays?.find((r) => r.name === 'cancelled');
    expect(plan).toBeDefined();
    const deleted = await admin(server, 'DELETE', '/v1/resources/Replay/default/cancelled');
    expect(deleted.status).toBe(200);
    await server.settled();
    await new Promise((r) => setTimeout(r, 300));
    const atCancel = seen().size;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(seen().size).toBe(atCancel);
    expect(atCancel).toBeLessThan(300);
    await waitFor('its consumer group deleted', async () => {
      const lag = await server.log.lag(plan!.targets[0]!.group, plan!.topic);
      return lag.every((p) => p.committed === null);
    });
  });
});

describe('replay on Kafka with two dispatcher processes', () => {
  it('splits the window between the processes: every event at least once, one status counting each once', {
    timeout: 180_000,
  }, async () => {
    const server = await start(true, 2);
    const orders = await subscriber();
    const audit = await subscriber();
    await apply(server, mesh(B, orders.url, audit.url));
    await server.settled();
    const from = Date.now();
    await sendBatch(server, B, 'order.created', 'm', 600);
    await waitFor('the window delivered live', () => audit.received.length === 600, 60_000);
    const to = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    const live = orders.received.length;
    await apply(server, replay('split', B, from, to));
    const status = await finished(server, 'split', 120_000);
    expect(status).toMatchObject({ total: 600, matched: 600, delivered: 600, skipped: 0 });
    expect(status.progress).toHaveLength(3);
    // Every event at least once. Both processes join the replay's group at its start; what one
    // delivered before the group rebalanced and before it could commit is delivered again by the
    // other (at least once, as for a Trigger's group), while the counts cover committed records only.
    const replayed = orders.received.slice(live);
    const times = new Map<string, number>();
    for (const e of replayed) times.set(e.id, (times.get(e.id) ?? 0) + 1);
    expect(times.size).toBe(600);
    expect([...times.values()].every((n) => n <= 2)).toBe(true);
  });
});
