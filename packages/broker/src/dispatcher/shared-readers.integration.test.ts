// Many routes on one topic through the Kafka log's shared topic readers (@platformatic/kafka,
// `sharedReaders`), on the harness's real Kafka with real HTTP subscribers: each event reaches
// exactly its route; the process opens a handful of connections instead of a set per route; every
// route keeps its own consumer group (committed offsets = lag; deleted with the route); and two
// dispatchers (two logs, as two processes) split the topic's partitions and take over from each other.

import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import type { DispatchRoute, PlainEvent } from '@eddy/api';
import { Admin } from '@platformatic/kafka';
import pino from 'pino';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createDeliverer } from '../delivery/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import {
  createPlatformaticEventLog,
  type PlatformaticEventLog,
  sharedReaderGroup,
} from '../eventlog/platformatic/platformatic-event-log.js';
import { startSubscriber } from '../testing/subscriber.js';
import { waitFor } from '../testing/wait.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';

const quiet = pino({ level: 'silent' });
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

function openLog(): PlatformaticEventLog {
  const log = createPlatformaticEventLog({
    brokers: inject('kafkaBrokers'),
    logger: quiet,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    maxWaitTimeMs: 100,
    sharedReaders: true,
  });
  onTestFinished(() => log.close());
  return log;
}

function newDispatcher(log: EventLog, retryStateTopic: string): Dispatcher {
  const deliverer = createDeliverer({ logger: quiet });
  const dispatcher = createDispatcher({ log, deliverer, logger: quiet, lagIntervalMs: 0, retryStateTopic });
  onTestFinished(async () => {
    await dispatcher.close();
    await deliverer.close();
  });
  return dispatcher;
}

/** Route i takes events of type t<i> and gets them at <subscriber>/t/<i>. */
function routes(topic: string, count: number, subscriber: string, prefix: string): DispatchRoute[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'Trigger',
    namespace: 'it',
    name: `${prefix}-${i}`,
    id: `it/${prefix}-${i}`,
    topic,
    group: `${prefix}-group-${i}`,
    filter: { attributes: { type: `t${i}` } },
    subscriber: new URL(`t/${i}`, subscriber).href,
    reply: { kind: 'drop' },
    delivery: { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 10, timeoutMs: 10_000 },
    ordering: 'unordered',
    maxInFlight: 16,
    startFrom: 'earliest',
  }));
}

function probe(i: number, id: string): PlainEvent {
  return { specversion: '1.0', id, source: '/it', type: `t${i}`, partitionkey: id };
}

/** TCP sockets this process has open. */
function socketCount(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

/** Per path, how many requests the subscriber got. */
function perPath(received: { url: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of received) counts.set(r.url, (counts.get(r.url) ?? 0) + 1);
  return counts;
}

describe('dispatcher on shared topic readers (Kafka, @platformatic/kafka)', () => {
  it('300 routes: each event reaches exactly its route, connections stay few, each route has its own group', async () => {
    const sub = await startSubscriber();
    const log = openLog();
    const topic = unique('shared-many');
    await log.ensureTopic(topic, { partitions: 4 });
    const sockets = socketCount();
    const all = routes(topic, 300, sub.url, unique('r'));
    const dispatcher = newDispatcher(log, unique('retry-state'));
    await dispatcher.updateRoutes(all);
    // A member per route would hold a client and its connections each: 300+ sockets.
    expect(socketCount() - sockets).toBeLessThan(30);

    const probed = [0, 1, 7, 42, 99, 150, 222, 298, 299];
    await log.append(
      topic,
      probed.map((i) => probe(i, `p-${i}`)),
    );
    await waitFor('every probe delivered', () => probed.every((i) => perPath(sub.received).has(`/t/${i}`)));
    await new Promise((r) => setTimeout(r, 1_000)); // a duplicate or a stray delivery has time to show
    expect(Object.fromEntries(perPath(sub.received))).toEqual(
      Object.fromEntries(probed.map((i) => [`/t/${i}`, 1])),
    );

    // Every route committed its own group past the probes (the filtered ones too): its lag is 0.
    for (const i of [0, 5, 150, 299]) {
      await waitFor(`route ${i} committed`, async () =>
        (await log.lag(all[i]!.group, topic)).every((p) => p.committed === p.end),
      );
      expect(await dispatcher.lag(all[i]!.id)).toBe(0);
    }

    // The lag of every route in a few requests (the dispatcher's gauge refresh) says the same.
    const lags = await log.lagOfGroups(
      all.map((r) => r.group),
      topic,
    );
    expect(lags.size).toBe(all.length);
    for (const i of [0, 5, 150, 299])
      expect(lags.get(all[i]!.group)).toEqual(await log.lag(all[i]!.group, topic));

    // Removed routes' groups are deleted: no committed offsets left.
    const [gone, kept] = [all.slice(0, 10), all.slice(10)];
    await dispatcher.updateRoutes(kept, { deleteRemovedGroups: true });
    for (const route of gone.slice(0, 3)) {
      expect((await log.lag(route.group, topic)).every((p) => p.committed === null)).toBe(true);
    }
    // The others go on.
    await log.append(topic, [probe(10, 'after-10'), probe(0, 'after-0')]);
    await waitFor('the kept route delivered', () => perPath(sub.received).get('/t/10') === 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(perPath(sub.received).get('/t/0')).toBe(1);
  }, 120_000);

  it('two dispatchers split the partitions, each event once; when one stops the other takes over', async () => {
    const sub = await startSubscriber();
    const topic = unique('shared-two');
    const retryStateTopic = unique('retry-state');
    const logA = openLog();
    const logB = openLog();
    await logA.ensureTopic(topic, { partitions: 4 });
    const all = routes(topic, 50, sub.url, unique('r'));
    const a = newDispatcher(logA, retryStateTopic);
    const b = newDispatcher(logB, retryStateTopic);
    await Promise.all([a.updateRoutes(all), b.updateRoutes(all)]);
    const admin = new Admin({ clientId: 'it', bootstrapBrokers: inject('kafkaBrokers') });
    onTestFinished(() => admin.close());
    await waitFor('both readers in the shared reader group', async () => {
      const group = (await admin.describeGroups({ groups: [sharedReaderGroup(topic)] })).get(
        sharedReaderGroup(topic),
      );
      return String(group?.state).toUpperCase() === 'STABLE' && group?.members.size === 2;
    });

    const first = Array.from({ length: 40 }, (_, k) => probe(k % 50, `one-${k}`));
    await logA.append(topic, first);
    await waitFor('the first events delivered', () => sub.received.length >= first.length);
    await new Promise((r) => setTimeout(r, 1_000));
    const ids = sub.received.map((r) => String(r.headers['ce-id']));
    expect(ids.sort()).toEqual(first.map((e) => e.id).sort());
    for (const r of sub.received) expect(r.url).toBe(`/t/${String(r.headers['ce-type']).slice(1)}`);

    await b.close();
    const second = Array.from({ length: 40 }, (_, k) => probe(k % 50, `two-${k}`));
    await logA.append(topic, second);
    await waitFor('the second events delivered by the remaining dispatcher', () =>
      second.every((e) => sub.received.some((r) => r.headers['ce-id'] === e.id)),
    );
    // Only these were delivered again, if anything (at-least-once across the takeover), never the first.
    const again = sub.received.slice(first.length).map((r) => String(r.headers['ce-id']));
    expect(again.filter((id) => id.startsWith('one-'))).toEqual([]);
  }, 120_000);
});
