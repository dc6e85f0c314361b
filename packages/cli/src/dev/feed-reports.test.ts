// The broker and sources processes of `eddy dev --kafka` report their counters every ~2 s (for the
// dashboard's rates). Those reports go to the same contract feeds the reconcile loop reads (event
// types from the ingresses, source statuses from the sources processes): this measures that counters
// alone never cause a reconcile pass, while what the loop does care about still does.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventLog, type ObservedEventType, openEmbeddedEventLog } from '@eddy/broker';
import type { ReportedCounter } from '@eddy/runtime';
import { createSourceRegistry, type SourceStatus } from '@eddy/sources';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedBrokerPlane } from '../planes/feed-broker-plane.js';
import { EventTypeDiscovery, feedObservations } from './event-types.js';
import { FileResourceStore } from './file-resource-store.js';
import { Reconciler } from './reconciler.js';
import { RemoteSourceRunner } from './sources-process.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const seen = (count: number): ObservedEventType => ({
  kind: 'broker',
  namespace: 'default',
  name: 'default',
  type: 'order.created',
  source: '/orders',
  specversion: '1.0',
  firstSeen: 1,
  lastSeen: 1,
  count,
  rate: count / 60,
});
const counter = (name: string, labels: Record<string, string>, value: number): ReportedCounter => ({
  name,
  labels,
  value,
});

describe('feed status reports in the reconcile loop', () => {
  it('counters reported every few ms cause no reconcile pass; new event types and source statuses do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-feed-reports-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const logger = pino({ level: 'silent' });
    const log: EventLog = await openEmbeddedEventLog({ dataDir: join(dir, 'log') });
    cleanups.push(() => log.close());
    const broker = new FeedBrokerPlane({ url: 'http://127.0.0.1:1', log, logger, expected: () => 0 });
    cleanups.push(() => broker.close());
    const sources = new RemoteSourceRunner({
      adapters: createSourceRegistry(),
      sourceAdapters: [],
      values: () => ({ env: {} }),
      external: true,
      host: '127.0.0.1',
      logger,
      print: () => {},
    });
    cleanups.push(() => sources.close());
    const discovery = new EventTypeDiscovery({
      observations: () => feedObservations(broker.feed.members('ingress')),
      autoCreate: false,
      pollMs: 10,
    });
    cleanups.push(() => discovery.close());

    const store = FileResourceStore.open(dir);
    store.upsert(
      {
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Broker',
        namespace: 'default',
        name: 'default',
        resource: {
          apiVersion: 'eventing.knative.dev/v1',
          kind: 'Broker',
          metadata: { name: 'default', namespace: 'default' },
        },
      },
      { type: 'api' },
    );
    store.upsert(
      {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'PingSource',
        namespace: 'default',
        name: 'heartbeat',
        resource: {
          apiVersion: 'sources.knative.dev/v1',
          kind: 'PingSource',
          metadata: { name: 'heartbeat', namespace: 'default' },
          spec: {
            schedule: '* * * * *',
            sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } },
          },
        },
      },
      { type: 'api' },
    );
    let passes = 0;
    const inputs = store.contractInputs.bind(store);
    store.contractInputs = () => {
      passes++;
      return inputs();
    };
    const registry = createSourceRegistry();
    const reconciler = new Reconciler({
      store,
      broker,
      runner: sources,
      eventTypes: discovery,
      isSourceKind: (apiVersion, kind) => registry.has(apiVersion, kind),
      logger,
      sourcePollMs: 10,
    });
    cleanups.push(() => reconciler.close());
    reconciler.start();
    await reconciler.idle();
    const [starting] = sources.statuses();
    expect(starting?.ready.status).toBe('Unknown');
    const generation = sources.feed.current?.generation ?? 0;

    const ingress = (count: number, accepted: number) =>
      broker.feed.report({
        id: 'ingress-1',
        component: 'ingress',
        applied: broker.feed.current?.generation ?? 0,
        status: {
          eventTypes: [seen(count)],
          counters: [
            counter(
              'eddy_ingress_events_total',
              { kind: 'broker', namespace: 'default', name: 'default', outcome: 'accepted' },
              accepted,
            ),
          ],
        },
      });
    const dispatcher = (delivered: number) =>
      broker.feed.report({
        id: 'dispatcher-1',
        component: 'dispatcher',
        applied: broker.feed.current?.generation ?? 0,
        status: {
          counters: [
            counter('eddy_dispatch_events_total', { route: 'default/t', outcome: 'delivered' }, delivered),
          ],
        },
      });
    const ready: SourceStatus = {
      ...(starting as SourceStatus),
      ready: { type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() },
    };
    const sourcesMember = (delivered: number) =>
      sources.feed.report({
        id: 'sources-1',
        component: 'sources',
        applied: generation,
        status: {
          shard: '0/1',
          sources: [ready],
          counters: [
            counter(
              'eddy_source_events_delivered_total',
              { kind: 'PingSource', namespace: 'default', name: 'heartbeat' },
              delivered,
            ),
          ],
        },
      });

    // What the loop cares about: the first event types and the source turning Ready.
    ingress(1, 1);
    dispatcher(0);
    sourcesMember(0);
    await sleep(150);
    await reconciler.idle();
    const settled = passes;
    expect(settled).toBeGreaterThan(1);
    expect(sources.statuses()[0]?.ready.status).toBe('True');

    // Counters alone, 60 reports from each process: no pass.
    for (let i = 1; i <= 60; i++) {
      ingress(1, 1 + i);
      dispatcher(i);
      sourcesMember(i);
      await sleep(5);
    }
    await sleep(150);
    await reconciler.idle();
    expect(passes).toBe(settled);

    // The control: a count of an event type moving is still a pass (the registry's statuses).
    ingress(2, 100);
    await sleep(150);
    await reconciler.idle();
    expect(passes).toBe(settled + 1);
  });
});
