// The dispatcher's commit, ordering, in-flight and route-update logic on the real embedded log,
// with a scripted deliverer object (the deliverer's HTTP behaviour is tested on its own; here each
// event's outcome and timing must be controlled exactly). End-to-end runs on both logs with real
// HTTP subscribers are in dispatcher.integration.test.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DispatchRoute, dataValue, type PlainEvent } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Deliverer, DeliveryOutcome, DeliveryRequest } from '../delivery/index.js';
import { type EmbeddedEventLog, openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import { waitFor } from '../testing/wait.js';
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  InvalidRouteError,
} from './dispatcher.js';
import { createLogRetryStateStore, createMemoryRetryStateStore } from './retry-state.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-dispatcher-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const quiet = pino({ level: 'silent' });

async function openLog(dataDir = join(root, `log-${++dirs}`)): Promise<EmbeddedEventLog> {
  const log = await openEmbeddedEventLog({ dataDir });
  onTestFinished(() => log.close());
  return log;
}

function route(overrides: Partial<DispatchRoute> = {}): DispatchRoute {
  const name = overrides.name ?? 't1';
  return {
    kind: 'Trigger',
    namespace: 'default',
    name,
    id: `default/${name}`,
    topic: 'broker-events',
    group: `trigger-${name}`,
    subscriber: 'http://127.0.0.1:1/unused',
    reply: { kind: 'drop' },
    delivery: { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 10 },
    ordering: 'unordered',
    maxInFlight: 10,
    startFrom: 'earliest',
    ...overrides,
  };
}

function event(i: number, extra: Record<string, unknown> = {}): PlainEvent {
  return {
    specversion: '1.0',
    id: `e-${i}`,
    source: '/test',
    type: 'dev.eddy.test',
    datacontenttype: 'application/json',
    data: Buffer.from(JSON.stringify({ i })),
    ...extra,
  };
}

interface Call {
  req: DeliveryRequest;
  id: string;
  settle: (outcome: DeliveryOutcome) => void;
}

/** A deliverer whose every call waits until the test settles it (or `auto` answers it). */
function scriptedDeliverer(
  auto?: (req: DeliveryRequest) => DeliveryOutcome | Promise<DeliveryOutcome> | undefined,
) {
  const calls: Call[] = [];
  let running = 0;
  let maxRunning = 0;
  const deliverer: Deliverer & { calls: Call[]; maxRunning: () => number; running: () => number } = {
    calls,
    maxRunning: () => maxRunning,
    running: () => running,
    async deliver(req) {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        const automatic = await auto?.(req);
        if (automatic !== undefined) return automatic;
        return await new Promise<DeliveryOutcome>((resolve) => {
          const call: Call = { req, id: req.event.id, settle: resolve };
          calls.push(call);
          req.signal?.addEventListener('abort', () => resolve({ kind: 'aborted', attempts: 0 }), {
            once: true,
          });
        });
      } finally {
        running--;
      }
    },
    async close() {},
  };
  return deliverer;
}

const delivered: DeliveryOutcome = { kind: 'delivered', status: 202, attempts: 1 };

function dispatcherOn(
  log: EventLog,
  deliverer: Deliverer,
  extra: Partial<DispatcherOptions> = {},
): Dispatcher {
  const dispatcher = createDispatcher({
    log,
    deliverer,
    logger: quiet,
    retryState: createMemoryRetryStateStore(),
    lagIntervalMs: 0,
    ...extra,
  });
  onTestFinished(() => dispatcher.close());
  return dispatcher;
}

async function committed(log: EventLog, group: string, topic = 'broker-events'): Promise<(number | null)[]> {
  return (await log.lag(group, topic)).map((p) => p.committed);
}

describe('dispatcher on the embedded log (scripted deliverer)', () => {
  it('commits filtered events without delivering them and counts every outcome', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    const outcomes: Record<string, DeliveryOutcome> = {
      'e-1': delivered,
      'e-3': { kind: 'dead-lettered', status: 500, attempts: 3 },
      'e-4': { kind: 'dropped', reason: 'no dead-letter sink', status: 500, attempts: 3 },
    };
    const deliverer = scriptedDeliverer((req) => outcomes[req.event.id]);
    const registry = new Registry();
    const dispatcher = dispatcherOn(log, deliverer, { registry });
    await dispatcher.updateRoutes([route({ filter: { filters: [{ exact: { kind: 'order' } }] } })]);
    await log.append('broker-events', [
      event(0),
      event(1, { kind: 'order' }),
      event(2),
      event(3, { kind: 'order' }),
      event(4, { kind: 'order' }),
    ]);
    await waitFor('all five committed', async () => (await committed(log, 'trigger-t1'))[0] === 5);
    expect(deliverer.calls).toHaveLength(0);
    const metrics = await registry.getSingleMetric('eddy_dispatch_events_total')!.get();
    const count = (outcome: string) => metrics.values.find((v) => v.labels.outcome === outcome)?.value;
    expect([count('filtered'), count('delivered'), count('dead_lettered'), count('dropped')]).toEqual([
      2, 1, 1, 1,
    ]);
  });

  it('unordered: keeps delivering behind a slow event but commits only up to it', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    const deliverer = scriptedDeliverer((req) => (req.event.id === 'e-2' ? undefined : delivered));
    const dispatcher = dispatcherOn(log, deliverer);
    await dispatcher.updateRoutes([route({ maxInFlight: 5 })]);
    await log.append(
      'broker-events',
      Array.from({ length: 20 }, (_, i) => event(i)),
    );
    await waitFor('the slow event to be in flight', () => deliverer.calls.length === 1);
    // Everything after the slow event was delivered (the slot it holds is the only one taken)...
    await waitFor('the others to finish', () => deliverer.running() === 1);
    await sleep(100);
    // ...but the group's committed offset stays on it.
    expect(await committed(log, 'trigger-t1')).toEqual([2]);
    deliverer.calls[0]!.settle(delivered);
    await waitFor('commit past the slow event', async () => (await committed(log, 'trigger-t1'))[0] === 20);
  });

  it('unordered: never more than maxInFlight deliveries at once, across partitions', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events', { partitions: 3 });
    const deliverer = scriptedDeliverer(async () => {
      await sleep(2);
      return delivered;
    });
    const dispatcher = dispatcherOn(log, deliverer);
    await dispatcher.updateRoutes([route({ maxInFlight: 4 })]);
    await log.append(
      'broker-events',
      Array.from({ length: 300 }, (_, i) => event(i)),
    );
    await waitFor('the backlog to drain', async () =>
      (await log.lag('trigger-t1', 'broker-events')).every((p) => p.lag === 0),
    );
    expect(deliverer.maxRunning()).toBe(4);
  });

  it('ordered: one event at a time per partition, partitions in parallel', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events', { partitions: 2 });
    const order: string[][] = [[], []];
    const deliverer = scriptedDeliverer();
    const dispatcher = dispatcherOn(log, deliverer);
    await dispatcher.updateRoutes([route({ ordering: 'ordered', maxInFlight: 50 })]);
    for (const p of [0, 1]) {
      await log.append(
        'broker-events',
        Array.from({ length: 5 }, (_, i) => event(p * 100 + i)),
        { partition: p },
      );
    }
    // Settle in arrival order; at every moment at most one call per partition is open.
    for (let settled = 0; settled < 10; ) {
      await waitFor('a delivery', () => deliverer.calls.length > 0);
      const open = deliverer.calls.splice(0);
      const byPartition = new Map<number, number>();
      for (const call of open) {
        const i = (dataValue(call.req.event) as { i: number }).i;
        const p = i >= 100 ? 1 : 0;
        byPartition.set(p, (byPartition.get(p) ?? 0) + 1);
        order[p]!.push(call.id);
      }
      expect([...byPartition.values()].every((n) => n === 1)).toBe(true);
      for (const call of open) call.settle(delivered);
      settled += open.length;
    }
    expect(order[0]).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-4']);
    expect(order[1]).toEqual(['e-100', 'e-101', 'e-102', 'e-103', 'e-104']);
    expect(deliverer.maxRunning()).toBe(2);
  });

  it('a reply to a topic is appended there; a reply with reply: drop is only counted', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    await log.ensureTopic('replies');
    const reply: PlainEvent = {
      specversion: '1.0',
      id: 'r-1',
      source: '/sub',
      type: 'dev.eddy.reply',
      data: 'ok',
    };
    const deliverer = scriptedDeliverer(() => ({ kind: 'delivered', status: 200, reply, attempts: 1 }));
    const registry = new Registry();
    const dispatcher = dispatcherOn(log, deliverer, { registry });
    await dispatcher.updateRoutes([
      route({ name: 'to-topic', reply: { kind: 'topic', topic: 'replies' } }),
      route({ name: 'dropping' }),
    ]);
    await log.append('broker-events', [event(1)]);
    await waitFor(
      'dropping route committed',
      async () => (await committed(log, 'trigger-dropping'))[0] === 1,
    );
    await waitFor('topic route committed', async () => (await committed(log, 'trigger-to-topic'))[0] === 1);
    const stored = await log.lag('nobody', 'replies');
    expect(stored[0]!.end).toBe(1);
    const replies = await registry.getSingleMetric('eddy_dispatch_replies_total')!.get();
    expect(
      replies.values.map((v) => [v.labels.route, v.labels.target, v.labels.outcome, v.value]).sort(),
    ).toEqual([
      ['default/dropping', 'none', 'dropped', 1],
      ['default/to-topic', 'topic', 'stored', 1],
    ]);
  });

  it('close aborts what is in flight, commits only finished events, and a new dispatcher resumes there', async () => {
    const dataDir = join(root, `log-${++dirs}`);
    let log = await openLog(dataDir);
    await log.ensureTopic('broker-events');
    const first = scriptedDeliverer((req) => (['e-3', 'e-6'].includes(req.event.id) ? undefined : delivered));
    const dispatcher = createDispatcher({ log, deliverer: first, logger: quiet, lagIntervalMs: 0 });
    await dispatcher.updateRoutes([route()]);
    await log.append(
      'broker-events',
      Array.from({ length: 10 }, (_, i) => event(i)),
    );
    await waitFor('two slow events in flight', () => first.calls.length === 2 && first.running() === 2);
    const signals = first.calls.map((c) => c.req.signal!);
    await dispatcher.close();
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(await committed(log, 'trigger-t1')).toEqual([3]);
    await log.close();

    log = await openLog(dataDir);
    const second = scriptedDeliverer(() => delivered);
    const seen: string[] = [];
    const recording: Deliverer = {
      deliver: (req) => {
        seen.push(req.event.id);
        return second.deliver(req);
      },
      close: async () => {},
    };
    const again = createDispatcher({ log, deliverer: recording, logger: quiet, lagIntervalMs: 0 });
    onTestFinished(() => again.close());
    await again.updateRoutes([route({ startFrom: 'latest' })]);
    await waitFor('the rest committed', async () => (await committed(log, 'trigger-t1'))[0] === 10);
    // From the committed offset (not "latest"): the unfinished e-3 and e-6, and the finished
    // events after e-3 that could not be committed yet (at-least-once).
    expect(seen).toEqual(['e-3', 'e-4', 'e-5', 'e-6', 'e-7', 'e-8', 'e-9']);
  });

  it('attempts survive a restart through the log-backed retry state, and final events clear it', async () => {
    const dataDir = join(root, `log-${++dirs}`);
    let log = await openLog(dataDir);
    await log.ensureTopic('broker-events');
    // A deliverer that fails twice per run, reports each failure, then waits (in backoff).
    const failingTwice: (attemptsBefore: number[]) => Deliverer = (attemptsBefore) => ({
      async deliver(req) {
        attemptsBefore.push(req.attemptsMade ?? 0);
        let attempts = req.attemptsMade ?? 0;
        for (let i = 0; i < 2; i++) {
          attempts++;
          await req.onAttemptFailed?.({
            attempt: attempts,
            status: 503,
            error: 'HTTP 503',
            nextDelayMs: 60_000,
          });
        }
        return new Promise((resolve) =>
          req.signal?.addEventListener('abort', () => resolve({ kind: 'aborted', attempts }), { once: true }),
        );
      },
      close: async () => {},
    });
    const seenFirst: number[] = [];
    let retryState = await createLogRetryStateStore({ log, topic: 'retry-state' });
    let dispatcher = createDispatcher({
      log,
      deliverer: failingTwice(seenFirst),
      logger: quiet,
      lagIntervalMs: 0,
      retryState,
    });
    await dispatcher.updateRoutes([route()]);
    await log.append('broker-events', [event(0)]);
    await waitFor(
      'two failures recorded',
      async () =>
        (await retryState.get({ group: 'trigger-t1', topic: 'broker-events', partition: 0, offset: 0 }))
          ?.attempts === 2,
    );
    await dispatcher.close();
    await retryState.close();
    await log.close();

    // A new process: new log handle, new store reading the state topic back.
    log = await openLog(dataDir);
    retryState = await createLogRetryStateStore({ log, topic: 'retry-state' });
    onTestFinished(() => retryState.close());
    const seenSecond: number[] = [];
    dispatcher = createDispatcher({
      log,
      deliverer: failingTwice(seenSecond),
      logger: quiet,
      lagIntervalMs: 0,
      retryState,
    });
    await dispatcher.updateRoutes([route()]);
    await waitFor('the event delivered again', () => seenSecond.length === 1);
    expect(seenFirst).toEqual([0]);
    expect(seenSecond).toEqual([2]);
    const key = { group: 'trigger-t1', topic: 'broker-events', partition: 0, offset: 0 };
    await waitFor('four attempts recorded', async () => (await retryState.get(key))?.attempts === 4);
    const state = await retryState.get(key);
    expect(state?.lastFailure).toEqual({ attempt: 4, status: 503, error: 'HTTP 503', nextDelayMs: 60_000 });
    expect(state?.notBefore).toBeGreaterThan(Date.now());
    await dispatcher.close();

    // A third run delivers: the state is deleted (tombstoned) and a fresh reader does not see it.
    dispatcher = createDispatcher({
      log,
      deliverer: scriptedDeliverer(() => delivered),
      logger: quiet,
      lagIntervalMs: 0,
      retryState,
    });
    await dispatcher.updateRoutes([route()]);
    await waitFor('delivered and committed', async () => (await committed(log, 'trigger-t1'))[0] === 1);
    await dispatcher.close();
    expect(await retryState.get(key)).toBeUndefined();
    const fresh = await createLogRetryStateStore({ log, topic: 'retry-state' });
    onTestFinished(() => fresh.close());
    await fresh.sync();
    expect(await fresh.get(key)).toBeUndefined();
  });

  it('a retry whose state another member wrote meanwhile is not sent: delivery goes on from that state', async () => {
    const log = await openLog(join(root, `log-${++dirs}`));
    await log.ensureTopic('broker-events');
    const retryState = createMemoryRetryStateStore();
    const key = { group: 'trigger-t1', topic: 'broker-events', partition: 0, offset: 0 };
    const seen: { attemptsMade: number; lastStatus: number | undefined }[] = [];
    let retriesSent = 0;
    const deliverer: Deliverer = {
      async deliver(req) {
        seen.push({ attemptsMade: req.attemptsMade ?? 0, lastStatus: req.lastFailure?.status });
        if (seen.length > 1) return { kind: 'dead-lettered', status: req.lastFailure?.status, attempts: 0 };
        await req.onAttemptFailed?.({ attempt: 1, status: 503, error: 'HTTP 503', nextDelayMs: 10 });
        // Meanwhile another member, which also thinks it owns the partition, used every attempt.
        await retryState.put(key, {
          attempts: 4,
          owner: 'another-member',
          lastFailure: { attempt: 4, status: 500, error: 'HTTP 500' },
        });
        await req.onAttemptStarting?.(2);
        retriesSent++;
        return delivered;
      },
      close: async () => {},
    };
    const dispatcher = dispatcherOn(log, deliverer, { retryState });
    await dispatcher.updateRoutes([route()]);
    await log.append('broker-events', [event(0)]);
    await waitFor('dead-lettered and committed', async () => (await committed(log, 'trigger-t1'))[0] === 1);
    expect(retriesSent).toBe(0);
    expect(seen).toEqual([
      { attemptsMade: 0, lastStatus: undefined },
      { attemptsMade: 4, lastStatus: 500 },
    ]);
  });

  it('applies a changed filter and subscriber in place: nothing re-read, nothing skipped', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    const deliverer = scriptedDeliverer(() => delivered);
    const seen: [string, string][] = [];
    const recording: Deliverer = {
      deliver: (req) => {
        seen.push([req.event.id, req.route.subscriber]);
        return deliverer.deliver(req);
      },
      close: async () => {},
    };
    const dispatcher = dispatcherOn(log, recording);
    await dispatcher.updateRoutes([
      route({ filter: { attributes: { type: 'a' } }, subscriber: 'http://127.0.0.1:1/old' }),
    ]);
    await log.append('broker-events', [event(0, { type: 'a' }), event(1, { type: 'b' })]);
    await waitFor('first two committed', async () => (await committed(log, 'trigger-t1'))[0] === 2);
    await dispatcher.updateRoutes([
      route({ filter: { attributes: { type: 'b' } }, subscriber: 'http://127.0.0.1:1/new' }),
    ]);
    await log.append('broker-events', [event(2, { type: 'a' }), event(3, { type: 'b' })]);
    await waitFor('all committed', async () => (await committed(log, 'trigger-t1'))[0] === 4);
    expect(seen).toEqual([
      ['e-0', 'http://127.0.0.1:1/old'],
      ['e-3', 'http://127.0.0.1:1/new'],
    ]);
  });

  it('a removed route stops and keeps its offsets unless asked to delete them', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    const deliverer = scriptedDeliverer(() => delivered);
    const dispatcher = dispatcherOn(log, deliverer);
    await dispatcher.updateRoutes([route({ name: 'a' }), route({ name: 'b' })]);
    await log.append('broker-events', [event(0)]);
    await waitFor(
      'both committed',
      async () =>
        (await committed(log, 'trigger-a'))[0] === 1 && (await committed(log, 'trigger-b'))[0] === 1,
    );
    await dispatcher.updateRoutes([route({ name: 'b' })]);
    expect(dispatcher.routes().map((r) => r.id)).toEqual(['default/b']);
    expect(await committed(log, 'trigger-a')).toEqual([1]);
    await dispatcher.updateRoutes([], { deleteRemovedGroups: true });
    expect(await committed(log, 'trigger-b')).toEqual([null]);
    expect(dispatcher.routes()).toEqual([]);
  });

  it('reports lag per route, from where a "latest" route started', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    await log.append('broker-events', [event(0), event(1)]);
    const deliverer = scriptedDeliverer((req) => (req.event.id === 'e-3' ? undefined : delivered));
    const registry = new Registry();
    const dispatcher = dispatcherOn(log, deliverer, { registry, lagIntervalMs: 20 });
    await dispatcher.updateRoutes([route({ startFrom: 'latest' })]);
    expect(await dispatcher.lag('default/t1')).toBe(0);
    await log.append('broker-events', [event(2), event(3), event(4)]);
    await waitFor('commit up to the slow event', async () => (await committed(log, 'trigger-t1'))[0] === 3);
    expect(await dispatcher.lag('default/t1')).toBe(2);
    await waitFor('the lag gauge', async () => {
      const gauge = await registry.getSingleMetric('eddy_dispatch_lag')!.get();
      return gauge.values.some((v) => v.labels.route === 'default/t1' && v.value === 2);
    });
    await expect(dispatcher.lag('default/none')).rejects.toThrow(/no route "default\/none"/);
  });

  it('a new route starts at its startFrom timestamp; a restarted one at its committed offset', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    await log.append('broker-events', [event(0), event(1)]);
    await sleep(20);
    const cut = Date.now();
    await sleep(20);
    await log.append('broker-events', [event(2), event(3)]);
    const seen: string[] = [];
    const deliverer = scriptedDeliverer((req) => {
      seen.push(req.event.id);
      return delivered;
    });
    const dispatcher = dispatcherOn(log, deliverer);
    await dispatcher.updateRoutes([route({ startFrom: { timestamp: cut } })]);
    await waitFor('committed to the end', async () => (await committed(log, 'trigger-t1'))[0] === 4);
    expect(seen).toEqual(['e-2', 'e-3']);
  });

  it('restarts a route whose consumer failed, from the committed offsets', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    await log.append('broker-events', [event(0), event(1)]);
    const inner = createMemoryRetryStateStore();
    let syncs = 0;
    // The first sync fails (as if the state topic were unreadable): the batch must not be
    // delivered without it, the consumer stops, and the dispatcher starts it again.
    const flaky = {
      ...inner,
      sync: async () => {
        syncs++;
        if (syncs === 1) throw new Error('state topic unavailable');
      },
    };
    const seen: string[] = [];
    const deliverer = scriptedDeliverer((req) => {
      seen.push(req.event.id);
      return delivered;
    });
    const dispatcher = dispatcherOn(log, deliverer, { retryState: flaky });
    await dispatcher.updateRoutes([route()]);
    await waitFor('committed after the restart', async () => (await committed(log, 'trigger-t1'))[0] === 2);
    expect(syncs).toBe(2);
    expect(seen).toEqual(['e-0', 'e-1']);
  });

  it('a seek back while an event is in flight: joins it, re-delivers the others, never commits past it', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    const seen: string[] = [];
    const deliverer = scriptedDeliverer((req) => {
      seen.push(req.event.id);
      return req.event.id === 'e-1' ? undefined : delivered;
    });
    const dispatcher = dispatcherOn(log, deliverer);
    await dispatcher.updateRoutes([route()]);
    await log.append('broker-events', [event(0)]);
    await sleep(20);
    const atSlow = Date.now();
    await log.append('broker-events', [event(1), event(2), event(3)]);
    await waitFor('e-1 held, the rest delivered', () => seen.length === 4 && deliverer.running() === 1);
    expect(await committed(log, 'trigger-t1')).toEqual([1]);
    // Re-reading starts at the event still in flight (as after a rebalance, from the committed offset).
    await log.seekGroupToTimestamp('trigger-t1', 'broker-events', atSlow);
    await waitFor('e-2 and e-3 delivered again', () => seen.length === 6);
    await sleep(50);
    expect(seen).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-2', 'e-3']);
    expect(await committed(log, 'trigger-t1')).toEqual([1]);
    deliverer.calls[0]!.settle(delivered);
    await waitFor('commit past e-1', async () => (await committed(log, 'trigger-t1'))[0] === 4);
    expect(seen).toHaveLength(6);
  });

  it('two dispatchers in one group split the partitions on a rebalance; every event is delivered and committed', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events', { partitions: 4 });
    const seen = new Map<string, number>();
    const byDispatcher = [0, 0];
    const slowly = (which: number) =>
      scriptedDeliverer(async (req) => {
        await sleep(3);
        if (req.signal?.aborted) return { kind: 'aborted', attempts: 0 };
        seen.set(req.event.id, (seen.get(req.event.id) ?? 0) + 1);
        byDispatcher[which]!++;
        return delivered;
      });
    const first = dispatcherOn(log, slowly(0));
    await first.updateRoutes([route({ maxInFlight: 3 })]);
    await log.append(
      'broker-events',
      Array.from({ length: 200 }, (_, i) => event(i)),
    );
    await waitFor('the first dispatcher to get going', () => seen.size >= 20);
    const second = dispatcherOn(log, slowly(1));
    await second.updateRoutes([route({ maxInFlight: 3 })]);
    await waitFor('every partition committed to its end', async () =>
      (await log.lag('trigger-t1', 'broker-events')).every((p) => p.lag === 0),
    );
    expect(seen.size).toBe(200);
    // Both members did part of the work.
    expect(byDispatcher.every((n) => n > 0)).toBe(true);
    await first.close();
    await second.close();
    expect((await log.lag('trigger-t1', 'broker-events')).every((p) => p.lag === 0)).toBe(true);
  });

  it('rejects invalid routes before changing anything, naming the route and field', async () => {
    const log = await openLog();
    await log.ensureTopic('broker-events');
    const dispatcher = dispatcherOn(
      log,
      scriptedDeliverer(() => delivered),
    );
    await dispatcher.updateRoutes([route({ name: 'ok' })]);
    expect(() =>
      dispatcher.updateRoutes([route({ name: 'ok' }), route({ name: 'bad', maxInFlight: 0 })]),
    ).toThrow(InvalidRouteError);
    expect(() => dispatcher.updateRoutes([route({ name: 'bad', maxInFlight: 0 })])).toThrow(
      'routes[0] (default/bad).maxInFlight: expected an integer >= 1, got 0',
    );
    expect(() => dispatcher.updateRoutes([route({ name: 'bad', ttl: 256 })])).toThrow(
      'routes[0] (default/bad).ttl: expected an integer from 1 to 255, got 256',
    );
    expect(() => dispatcher.updateRoutes([route({ name: 'x' }), route({ name: 'x' })])).toThrow(
      /duplicate route id "default\/x"/,
    );
    expect(() =>
      dispatcher.updateRoutes([route({ filter: { filters: [{ cesql: "type = 'a' AND" }] } })]),
    ).toThrow(/routes\[0\] \(default\/t1\)\.filter\.filters\[0\]\.cesql: invalid CESQL expression/);
    expect(dispatcher.routes().map((r) => r.id)).toEqual(['default/ok']);
  });
});
