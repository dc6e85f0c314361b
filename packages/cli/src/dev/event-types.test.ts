import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObservedEventType } from '@eddy/broker';
import { afterEach, describe, expect, it } from 'vitest';
import { EventTypeDiscovery, feedObservations, reconcileEventTypes } from './event-types.js';
import { FileResourceStore } from './file-resource-store.js';
import { writeChildren } from './reconcile-children.js';

const broker = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  namespace: 'default',
  name: 'default',
  resource: {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: { name: 'default', namespace: 'default' },
  },
};

const seen = (type: string, count = 1): ObservedEventType => ({
  kind: 'broker',
  namespace: 'default',
  name: 'default',
  type,
  source: '/orders',
  specversion: '1.0',
  firstSeen: 0,
  lastSeen: 0,
  count,
  rate: 0,
});

const discoveries: EventTypeDiscovery[] = [];
afterEach(() => {
  for (const d of discoveries.splice(0)) d.close();
});
const discovery = (observations: ObservedEventType[][], autoCreate: boolean, pollMs = 60_000) => {
  const d = new EventTypeDiscovery({ observations: () => observations, autoCreate, pollMs });
  discoveries.push(d);
  return d;
};

const eventTypeKeys = (store: FileResourceStore) =>
  store
    .list({ kind: 'EventType' })
    .map((e) => `${e.key} owner=${e.origin.type === 'owner' ? e.origin.owner : e.origin.type}`);

describe('reconcileEventTypes', () => {
  it('stores one EventType per observed kind when auto-create is on, owned by the broker, and is idempotent', () => {
    const store = FileResourceStore.open(mkdtempSync(join(tmpdir(), 'eddy-et-')));
    store.upsert(broker, { type: 'api' });
    const d = discovery([[seen('a')], [seen('a', 2), seen('b')]], true);
    reconcileEventTypes(store, store.contractInputs(), d);
    const keys = eventTypeKeys(store);
    expect(keys).toHaveLength(2);
    expect(
      keys.every(
        (k) => k.startsWith('EventType/default/et-default-') && k.endsWith('owner=Broker/default/default'),
      ),
    ).toBe(true);
    reconcileEventTypes(store, store.contractInputs(), d);
    expect(eventTypeKeys(store)).toEqual(keys);
    // The other reconcilers' stale-children sweeps leave them alone; deleting the broker deletes them.
    writeChildren(store, []);
    expect(eventTypeKeys(store)).toEqual(keys);
    store.deleteAll(['Broker/default/default']);
    expect(eventTypeKeys(store)).toEqual([]);
  });

  it('stores none when auto-create is off, yet gives the statuses', () => {
    const store = FileResourceStore.open(mkdtempSync(join(tmpdir(), 'eddy-et-')));
    store.upsert(broker, { type: 'api' });
    const statuses = reconcileEventTypes(store, store.contractInputs(), discovery([[seen('a')]], false));
    expect(eventTypeKeys(store)).toEqual([]);
    expect(statuses.size).toBe(0);
  });
});

describe('EventTypeDiscovery', () => {
  it('asks for a pass when the counts move, not otherwise', async () => {
    const observations = [[seen('a')]];
    const d = discovery(observations, false, 10);
    let calls = 0;
    d.onChange(() => calls++);
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(1);
    observations[0] = [seen('a', 5)];
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(2);
  });

  it("reads the ingress processes' feed reports, skipping members that sent none", () => {
    const members = [
      { id: 'ingress-1', component: 'ingress', lastSeen: 0, status: { eventTypes: [seen('a')] } },
      { id: 'ingress-2', component: 'ingress', lastSeen: 0 },
    ];
    expect(feedObservations(members)).toEqual([[seen('a')]]);
  });
});
