// The dispatcher end to end on BOTH event logs (embedded in a temp dir, and the harness's real
// Kafka) with the real deliverer and real HTTP subscribers on 127.0.0.1: filtered routing,
// replies re-entering the broker topic, in-order commits behind a slow event, ordered delivery,
// resuming after a restart without losing events or resetting retry attempts, and a large
// backlog consumed with bounded in-flight.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DispatchRoute, PlainEvent } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { createDeliverer, type Deliverer } from '../delivery/index.js';
import { openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import { type EventLog, EventLogUnavailableError } from '../eventlog/event-log.js';
import { createKafkaEventLog } from '../eventlog/kafka/kafka-event-log.js';
import { createPlatformaticEventLog } from '../eventlog/platformatic/platformatic-event-log.js';
import { type ReceivedRequest, startSubscriber } from '../testing/subscriber.js';
import { waitFor } from '../testing/wait.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';

const quiet = pino({ level: 'silent' });
const root = mkdtempSync(join(tmpdir(), 'eddy-dispatcher-it-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** A log plus a way to get "the same log after a restart" (new handle on the same data). */
interface LogEnv {
  log: EventLog;
  restart(): Promise<EventLog>;
}

const factories: [string, () => Promise<LogEnv>][] = [
  [
    'embedded',
    async () => {
      const dataDir = join(root, unique('log'));
      let log: EventLog = await openEmbeddedEventLog({ dataDir });
      onTestFinished(() => log.close());
      return {
        log,
        async restart() {
          await log.close();
          log = await openEmbeddedEventLog({ dataDir });
          return log;
        },
      };
    },
  ],
  [
    'kafka',
    async () => {
      const brokers = inject('kafkaBrokers');
      const open = () =>
        createKafkaEventLog({
          brokers,
          logger: quiet,
          sessionTimeoutMs: 10_000,
          heartbeatIntervalMs: 1_000,
          maxWaitTimeMs: 100,
        });
      let log: EventLog = open();
      onTestFinished(() => log.close());
      return {
        log,
        async restart() {
          await log.close();
          log = open();
          return log;
        },
      };
    },
  ],
  [
    'kafka (@platformatic/kafka, shared readers)',
    async () => {
      const brokers = inject('kafkaBrokers');
      const open = () =>
        createPlatformaticEventLog({
          brokers,
          logger: quiet,
          sessionTimeoutMs: 10_000,
          heartbeatIntervalMs: 1_000,
          maxWaitTimeMs: 100,
          sharedReaders: true,
        });
      let log: EventLog = open();
      onTestFinished(() => log.close());
      return {
        log,
        async restart() {
          await log.close();
          log = open();
          return log;
        },
      };
    },
  ],
];

interface Received {
  id: string;
  type: string;
  partition: string | undefined;
}

interface Subscriber {
  url: string;
  received: Received[];
  maxConcurrent: () => number;
}

type Respond = (event: Received, res: ServerResponse) => void | Promise<void>;

/** The binary-mode CloudEvent attributes these tests look at. */
const receivedEvent = (request: ReceivedRequest): Received => ({
  id: String(request.headers['ce-id']),
  type: String(request.headers['ce-type']),
  partition: request.headers['ce-lane'] as string | undefined,
});

/** A real HTTP subscriber that records binary-mode CloudEvents and its concurrency. */
async function subscriber(
  respond: Respond = (_e, res) => void res.writeHead(202).end(),
): Promise<Subscriber> {
  const sub = await startSubscriber((request, res) => respond(receivedEvent(request), res));
  return {
    url: sub.url,
    get received() {
      return sub.received.map(receivedEvent);
    },
    maxConcurrent: sub.maxInFlight,
  };
}

function makeRoute(topic: string, name: string, overrides: Partial<DispatchRoute>): DispatchRoute {
  return {
    kind: 'Trigger',
    namespace: 'it',
    name,
    id: `it/${name}`,
    topic,
    group: unique(`group-${name}`),
    subscriber: 'http://127.0.0.1:1/',
    reply: { kind: 'topic', topic },
    delivery: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 10, timeoutMs: 10_000 },
    ordering: 'unordered',
    maxInFlight: 16,
    startFrom: 'earliest',
    ...overrides,
  };
}

function event(id: string, type = 'dev.eddy.test', extra: Record<string, unknown> = {}): PlainEvent {
  return {
    specversion: '1.0',
    id,
    source: '/it',
    type,
    datacontenttype: 'application/json',
    data: Buffer.from(JSON.stringify({ id })),
    ...extra,
  };
}

function newDeliverer(): Deliverer {
  const deliverer = createDeliverer({ logger: quiet });
  onTestFinished(() => deliverer.close());
  return deliverer;
}

function newDispatcher(log: EventLog, deliverer: Deliverer, retryStateTopic: string): Dispatcher {
  const dispatcher = createDispatcher({ log, deliverer, logger: quiet, lagIntervalMs: 0, retryStateTopic });
  onTestFinished(() => dispatcher.close());
  return dispatcher;
}

/**
 * Runs an offset lookup, trying again on EventLogUnavailableError: kafkajs' fetchTopicOffsets
 * sometimes fails with a TypeError (an empty ListOffsets round) on a busy machine, and the Kafka log
 * reports that as "unavailable" at once.
 */
async function retrying<T>(lookup: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await lookup();
    } catch (error) {
      if (!(error instanceof EventLogUnavailableError) || attempt >= 20) throw error;
      await sleep(50);
    }
  }
}

async function committedSum(log: EventLog, route: DispatchRoute): Promise<number> {
  const partitions = await retrying(() => log.lag(route.group, route.topic));
  return partitions.reduce((sum, p) => sum + (p.committed ?? 0), 0);
}

describe.each(factories)('dispatcher on the %s log, real HTTP subscribers', (_kind, createEnv) => {
  it('routes by filter, and a reply re-enters the broker topic where another trigger picks it up', async () => {
    const { log } = await createEnv();
    const topic = unique('broker');
    await log.ensureTopic(topic, { partitions: 2 });
    // The order service answers each order with a confirmation event (binary mode, 200).
    const orders = await subscriber((e, res) => {
      res
        .writeHead(200, {
          'ce-specversion': '1.0',
          'ce-id': `confirm-${e.id}`,
          'ce-source': '/orders',
          'ce-type': 'order.confirmed',
          'content-type': 'application/json',
        })
        .end(JSON.stringify({ for: e.id }));
    });
    const confirmations = await subscriber();
    const nothing = await subscriber();
    const routes = [
      makeRoute(topic, 'orders', {
        subscriber: orders.url,
        filter: { filters: [{ prefix: { type: 'order.cre' } }] },
      }),
      makeRoute(topic, 'confirmations', {
        subscriber: confirmations.url,
        filter: { attributes: { type: 'order.confirmed' } },
      }),
      makeRoute(topic, 'nothing', {
        subscriber: nothing.url,
        filter: { filters: [{ cesql: "source = '/nowhere'" }] },
      }),
    ];
    const dispatcher = newDispatcher(log, newDeliverer(), unique('retry'));
    await dispatcher.updateRoutes(routes);
    await log.append(topic, [
      event('o-1', 'order.created'),
      event('x-1', 'user.created'),
      event('o-2', 'order.created'),
    ]);
    await waitFor('both confirmations', () => confirmations.received.length === 2);
    // 3 appended + 2 replies stored in the same topic; every route commits all 5.
    for (const route of routes)
      await waitFor(`${route.id} commits`, async () => (await committedSum(log, route)) === 5);
    expect(orders.received.map((e) => e.id).sort()).toEqual(['o-1', 'o-2']);
    expect(confirmations.received.map((e) => e.id).sort()).toEqual(['confirm-o-1', 'confirm-o-2']);
    expect(nothing.received).toEqual([]);
  });

  it("a Subscription's reply goes to its reply URL", async () => {
    const { log } = await createEnv();
    const topic = unique('channel');
    await log.ensureTopic(topic);
    const service = await subscriber((e, res) => {
      res
        .writeHead(200, {
          'ce-specversion': '1.0',
          'ce-id': `reply-${e.id}`,
          'ce-source': '/service',
          'ce-type': 'dev.eddy.reply',
        })
        .end();
    });
    const replies = await subscriber();
    const route = makeRoute(topic, 'sub', {
      kind: 'Subscription',
      subscriber: service.url,
      reply: { kind: 'url', url: replies.url },
    });
    const dispatcher = newDispatcher(log, newDeliverer(), unique('retry'));
    await dispatcher.updateRoutes([route]);
    await log.append(topic, [event('m-1'), event('m-2')]);
    await waitFor('both committed', async () => (await committedSum(log, route)) === 2);
    expect(replies.received.map((e) => e.id).sort()).toEqual(['reply-m-1', 'reply-m-2']);
    // Nothing was written back to the channel's topic.
    expect((await retrying(() => log.lag(route.group, topic)))[0]!.end).toBe(2);
  });

  it('unordered: keeps delivering past a slow event, and commits stop right before it', async () => {
    const { log } = await createEnv();
    const topic = unique('broker');
    await log.ensureTopic(topic);
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = await subscriber(async (e, res) => {
      if (e.id === 'e-3') await released;
      res.writeHead(202).end();
    });
    const route = makeRoute(topic, 'slow', { subscriber: slow.url, maxInFlight: 4 });
    const dispatcher = newDispatcher(log, newDeliverer(), unique('retry'));
    await dispatcher.updateRoutes([route]);
    await log.append(
      topic,
      Array.from({ length: 30 }, (_, i) => event(`e-${i}`)),
    );
    await waitFor('every event to reach the subscriber', () => slow.received.length === 30);
    await waitFor('commit up to the slow event', async () => (await committedSum(log, route)) === 3);
    await sleep(200);
    expect(await committedSum(log, route)).toBe(3);
    expect(await retrying(() => dispatcher.lag(route.id))).toBe(27);
    release();
    await waitFor('commit past the slow event', async () => (await committedSum(log, route)) === 30);
  });

  it('ordered: strictly one at a time, in offset order, per partition', async () => {
    const { log } = await createEnv();
    const topic = unique('broker');
    await log.ensureTopic(topic, { partitions: 2 });
    const perLane = new Map<string, number>();
    let overlap = false;
    const sub = await subscriber(async (e, res) => {
      const lane = e.partition ?? '?';
      if ((perLane.get(lane) ?? 0) > 0) overlap = true;
      perLane.set(lane, (perLane.get(lane) ?? 0) + 1);
      await sleep(5);
      perLane.set(lane, perLane.get(lane)! - 1);
      res.writeHead(202).end();
    });
    const route = makeRoute(topic, 'ordered', { subscriber: sub.url, ordering: 'ordered', maxInFlight: 50 });
    const dispatcher = newDispatcher(log, newDeliverer(), unique('retry'));
    await dispatcher.updateRoutes([route]);
    for (const lane of [0, 1]) {
      await log.append(
        topic,
        Array.from({ length: 25 }, (_, i) => event(`p${lane}-${i}`, 'dev.eddy.test', { lane: String(lane) })),
        { partition: lane },
      );
    }
    await waitFor('all committed', async () => (await committedSum(log, route)) === 50);
    expect(overlap).toBe(false);
    for (const lane of ['0', '1']) {
      expect(sub.received.filter((e) => e.partition === lane).map((e) => e.id)).toEqual(
        Array.from({ length: 25 }, (_, i) => `p${lane}-${i}`),
      );
    }
    // Never more than one per partition (whether the two overlap depends on how the log fetches).
    expect(sub.maxConcurrent()).toBeLessThanOrEqual(2);
  });

  it('a restarted dispatcher resumes from committed offsets: nothing lost, retry attempts not reset', async () => {
    const env = await createEnv();
    let log = env.log;
    const topic = unique('broker');
    await log.ensureTopic(topic);
    const retryStateTopic = unique('retry');
    let failingAttempts = 0;
    const sub = await subscriber((e, res) => {
      if (e.id === 'bad') {
        failingAttempts++;
        res.writeHead(503).end();
        return;
      }
      res.writeHead(202).end();
    });
    const dls = await subscriber();
    const route = makeRoute(topic, 'restart', {
      subscriber: sub.url,
      delivery: {
        retry: 4,
        backoffPolicy: 'linear',
        backoffDelayMs: 300,
        timeoutMs: 5_000,
        deadLetterSink: dls.url,
      },
    });
    const first = newDispatcher(log, newDeliverer(), retryStateTopic);
    await first.updateRoutes([route]);
    await log.append(topic, [
      event('a'),
      event('bad'),
      ...Array.from({ length: 20 }, (_, i) => event(`c-${i}`)),
    ]);
    await waitFor('two failed attempts', () => failingAttempts === 2);
    // Stop during the backoff before the third attempt (the first backoff is 300 ms, the second 600 ms).
    await sleep(50);
    await first.close();
    const attemptsBefore = failingAttempts;
    expect(attemptsBefore).toBe(2);
    expect(await committedSum(log, route)).toBe(1);

    log = await env.restart();
    const second = newDispatcher(log, newDeliverer(), retryStateTopic);
    await second.updateRoutes([{ ...route, startFrom: 'latest' }]);
    await waitFor('the failing event to be dead-lettered', () => dls.received.length === 1, 25_000);
    await waitFor('everything committed', async () => (await committedSum(log, route)) === 22);
    // retry: 4 = five attempts in all, across both runs (not 2 + 5).
    expect(failingAttempts).toBe(5);
    expect(dls.received.map((e) => e.id)).toEqual(['bad']);
    const ids = new Set(sub.received.map((e) => e.id));
    expect(ids).toEqual(new Set(['a', 'bad', ...Array.from({ length: 20 }, (_, i) => `c-${i}`)]));
  }, 40_000);

  it('consumes a backlog of 20,000 events with never more than maxInFlight requests at once', async () => {
    const { log } = await createEnv();
    const topic = unique('broker');
    await log.ensureTopic(topic, { partitions: 4 });
    const total = 20_000;
    for (let start = 0; start < total; start += 2_000) {
      await log.append(
        topic,
        Array.from({ length: 2_000 }, (_, i) => event(`b-${start + i}`)),
      );
    }
    // Answering a moment later lets requests overlap, so the bound is actually exercised.
    const sub = await subscriber((_e, res) => void setImmediate(() => res.writeHead(202).end()));
    const route = makeRoute(topic, 'backlog', { subscriber: sub.url, maxInFlight: 8 });
    const dispatcher = newDispatcher(log, newDeliverer(), unique('retry'));
    await dispatcher.updateRoutes([route]);
    expect(await retrying(() => dispatcher.lag(route.id))).toBeGreaterThan(0);
    await waitFor('the backlog committed', async () => (await committedSum(log, route)) === total, 28_000);
    expect(new Set(sub.received.map((e) => e.id)).size).toBe(total);
    expect(sub.maxConcurrent()).toBeLessThanOrEqual(8);
    expect(sub.maxConcurrent()).toBeGreaterThan(1);
    expect(await retrying(() => dispatcher.lag(route.id))).toBe(0);
  }, 40_000);
});
