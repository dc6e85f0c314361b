import { describe, expect, it } from 'vitest';
import type { StoredResource } from './protocol.js';
import { buildTopology, EMPTY_STATS, filterText, type TopologyStats } from './topology.js';

const AT = new Date('2026-01-02T03:04:05.000Z');

function resource(
  kind: string,
  name: string,
  spec: Record<string, unknown> = {},
  extra: {
    ready?: 'True' | 'False';
    labels?: Record<string, string>;
    status?: Record<string, unknown>;
    owner?: string;
  } = {},
): StoredResource {
  return {
    apiVersion: 'x/v1',
    kind,
    metadata: {
      name,
      namespace: 'default',
      generation: 1,
      creationTimestamp: AT.toISOString(),
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.owner
        ? { ownerReferences: [{ apiVersion: 'flows.knative.dev/v1', kind: extra.owner, name: 'seq' }] }
        : {}),
    },
    spec,
    status: {
      ...(extra.ready
        ? {
            conditions: [
              {
                type: 'Ready',
                status: extra.ready,
                ...(extra.ready === 'False' ? { reason: 'Boom', message: 'it broke' } : {}),
              },
            ],
          }
        : {}),
      ...extra.status,
    },
  };
}

const svc = (name: string) => ({ ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name } });

/** The quickstart's shape: a source, a broker, two triggers (one filtered, one with a dead-letter sink), services, revisions. */
const QUICKSTART: StoredResource[] = [
  resource('Broker', 'default', {}, { ready: 'True' }),
  resource(
    'PingSource',
    'heartbeat',
    { sink: { ref: { kind: 'Broker', name: 'default' } } },
    { ready: 'True' },
  ),
  resource(
    'ContainerSource',
    'shop',
    { sink: { ref: { kind: 'Broker', name: 'default' } } },
    { ready: 'True' },
  ),
  resource('Trigger', 'all', { broker: 'default', subscriber: svc('display') }, { ready: 'True' }),
  resource(
    'Trigger',
    'orders',
    {
      broker: 'default',
      filters: [{ cesql: "type LIKE 'order.%'" }, { exact: { source: '/shop' } }],
      subscriber: svc('processor'),
      delivery: { deadLetterSink: { ...svc('display'), uri: '/dead-letters' } },
    },
    { ready: 'False' },
  ),
  resource(
    'Service',
    'display',
    {},
    { ready: 'True', status: { traffic: [{ revisionName: 'display-00001', percent: 100 }] } },
  ),
  resource('Service', 'processor', {}, { ready: 'True' }),
  resource(
    'Revision',
    'display-00001',
    {},
    { ready: 'True', labels: { 'serving.knative.dev/service': 'display' } },
  ),
  resource('Configuration', 'display', {}, { ready: 'True' }),
  resource('Secret', 'token'),
];

const STATS: TopologyStats = {
  windowSeconds: 10,
  ingress: new Map([['broker/default/default', 2.5]]),
  routes: new Map([
    ['default/all', { read: 2.5, delivered: 2.4, lag: 3 }],
    ['default/orders', { read: 2.5, delivered: 0.123, lag: 0 }],
  ]),
  sources: new Map([
    ['PingSource/default/heartbeat', 0.016],
    ['ContainerSource/default/shop', 0],
  ]),
  revisions: new Map([
    [
      'default/display-00001',
      {
        actual: 1,
        desired: 2,
        ready: 1,
        rps: 2.4,
        decision: { at: 'T', desired: 2, reason: 'backlog', detail: 'lag 3' },
      },
    ],
  ]),
};

describe('buildTopology', () => {
  const topology = buildTopology(QUICKSTART, STATS, AT);
  const node = (id: string) => topology.nodes.find((n) => n.id === id);
  const edge = (id: string) => topology.edges.find((e) => e.id === id);

  it('draws every resource on the event paths as a node, not Secrets or a Service’s plumbing', () => {
    expect(topology.nodes.map((n) => n.id)).toEqual([
      'Broker/default/default',
      'ContainerSource/default/shop',
      'PingSource/default/heartbeat',
      'Revision/default/display-00001',
      'Service/default/display',
      'Service/default/processor',
      'Trigger/default/all',
      'Trigger/default/orders',
    ]);
    expect(topology.at).toBe(AT.toISOString());
    expect(node('PingSource/default/heartbeat')?.role).toBe('source');
    expect(node('Broker/default/default')?.role).toBe('mesh');
    expect(node('Trigger/default/all')?.role).toBe('route');
  });

  it('links source -> broker -> trigger -> service -> revision with their rates', () => {
    expect(edge('PingSource/default/heartbeat->Broker/default/default:sink')?.rate).toBe(0.02);
    expect(edge('Broker/default/default->Trigger/default/all:route')?.rate).toBe(2.5);
    expect(edge('Trigger/default/all->Service/default/display:subscriber')?.rate).toBe(2.4);
    expect(edge('Trigger/default/orders->Service/default/processor:subscriber')?.rate).toBe(0.12);
    expect(edge('Trigger/default/orders->Service/default/display:dead-letter')).toBeDefined();
    expect(edge('Service/default/display->Revision/default/display-00001:traffic')).toMatchObject({
      percent: 100,
      rate: 2.4,
    });
    expect(node('Broker/default/default')?.rate).toBe(2.5);
  });

  it('shows no rate for a source whose own process sends (Eddy cannot count it)', () => {
    expect(edge('ContainerSource/default/shop->Broker/default/default:sink')?.rate).toBeUndefined();
    expect(node('ContainerSource/default/shop')?.rate).toBeUndefined();
  });

  it('carries Ready, lag, filters, replicas and the last decision', () => {
    expect(node('Trigger/default/orders')).toMatchObject({
      ready: 'False',
      reason: 'Boom: it broke',
      lag: 0,
      filter: "type LIKE 'order.%' AND exact source=/shop",
    });
    expect(node('Trigger/default/all')).toMatchObject({ ready: 'True', lag: 3 });
    expect(node('Trigger/default/all')?.filter).toBeUndefined();
    expect(node('Revision/default/display-00001')).toMatchObject({
      replicas: { actual: 1, desired: 2, ready: 1 },
      decision: { desired: 2, reason: 'backlog' },
    });
  });

  it('shows a kind it does not know as a node, and a dangling reference as a not-ready node', () => {
    const t = buildTopology(
      [
        resource(
          'EventType',
          'order-created',
          { reference: { kind: 'Broker', name: 'default' } },
          { ready: 'True' },
        ),
        resource('Trigger', 't', { broker: 'missing', subscriber: { uri: 'http://example.com/hook' } }),
      ],
      EMPTY_STATS,
      AT,
    );
    expect(t.nodes.find((n) => n.id === 'EventType/default/order-created')).toMatchObject({
      role: 'other',
      ready: 'True',
    });
    expect(t.nodes.find((n) => n.id === 'Broker/default/missing')).toMatchObject({
      ready: 'False',
      reason: expect.stringMatching(/NotFound/),
    });
    expect(t.nodes.find((n) => n.id === 'url:http://example.com/hook')).toMatchObject({ kind: 'URL' });
    expect(t.nodes.find((n) => n.id === 'Trigger/default/t')?.ready).toBe('Unknown');
    expect(t.edges.map((e) => e.id)).toEqual([
      'Broker/default/missing->Trigger/default/t:route',
      'Trigger/default/t->url:http://example.com/hook:subscriber',
    ]);
  });

  it('links a flow to its children and a Subscription from its channel to its subscriber and reply', () => {
    const t = buildTopology(
      [
        resource('Sequence', 'seq', {}, { ready: 'True' }),
        resource('InMemoryChannel', 'seq-kn-sequence-0', {}, { owner: 'Sequence' }),
        resource(
          'Subscription',
          'seq-kn-sequence-0',
          {
            channel: {
              apiVersion: 'messaging.knative.dev/v1',
              kind: 'InMemoryChannel',
              name: 'seq-kn-sequence-0',
            },
            subscriber: svc('step'),
            reply: { ref: { kind: 'InMemoryChannel', name: 'seq-kn-sequence-1' } },
          },
          { owner: 'Sequence' },
        ),
      ],
      {
        ...EMPTY_STATS,
        routes: new Map([['subscriptions/default/seq-kn-sequence-0', { read: 1, delivered: 1, lag: 5 }]]),
      },
      AT,
    );
    expect(t.edges.map((e) => e.id)).toEqual([
      'InMemoryChannel/default/seq-kn-sequence-0->Subscription/default/seq-kn-sequence-0:route',
      'Sequence/default/seq->InMemoryChannel/default/seq-kn-sequence-0:owns',
      'Sequence/default/seq->Subscription/default/seq-kn-sequence-0:owns',
      'Subscription/default/seq-kn-sequence-0->InMemoryChannel/default/seq-kn-sequence-1:reply',
      'Subscription/default/seq-kn-sequence-0->Service/default/step:subscriber',
    ]);
    expect(t.nodes.find((n) => n.id === 'Subscription/default/seq-kn-sequence-0')?.lag).toBe(5);
    expect(t.nodes.find((n) => n.id === 'Sequence/default/seq')?.role).toBe('flow');
  });

  it('is deterministic: the same input gives the same JSON', () => {
    expect(JSON.stringify(buildTopology([...QUICKSTART].reverse(), STATS, AT))).toBe(
      JSON.stringify(topology),
    );
  });
});

describe('filterText', () => {
  it('summarizes the attributes filter and the new filters dialects', () => {
    expect(filterText({ filter: { attributes: { type: 'a', source: 'b' } } })).toBe('type=a, source=b');
    expect(
      filterText({ filters: [{ any: [{ prefix: { type: 'x.' } }, { not: { suffix: { type: '.y' } } }] }] }),
    ).toBe('any(prefix type=x., not(suffix type=.y))');
    expect(filterText({})).toBeUndefined();
  });
});
