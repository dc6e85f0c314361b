import type { BrokerRoute, KafkaSinkRoute } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { kafkaSinkClusterKey } from './kafka-sink-logs.js';
import { buildRouteTable, describeUnknownPath, sameTopicSpec } from './route-table.js';

const sink = (over: Partial<KafkaSinkRoute> = {}): KafkaSinkRoute => ({
  namespace: 'shop',
  name: 'archive',
  path: '/shop/archive',
  topic: 'orders',
  bootstrapServers: ['k1:9092'],
  contentMode: 'binary',
  security: {},
  ...over,
});

const broker = (namespace: string, name: string): BrokerRoute => ({
  namespace,
  name,
  path: `/${namespace}/${name}`,
  topic: `knative-broker-${namespace}-${name}`,
  partitions: 1,
});

describe('KafkaSink routes on the ingress', () => {
  it('are served under /kafkasinks, beside a Broker of the same name and a Broker in namespace "kafkasinks"', () => {
    const table = buildRouteTable([broker('shop', 'archive'), broker('kafkasinks', 'shop')], [], [sink()]);
    expect([...table.keys()].sort()).toEqual([
      '/kafkasinks/shop',
      '/kafkasinks/shop/archive',
      '/shop/archive',
    ]);
    expect(table.get('/kafkasinks/shop/archive')).toMatchObject({
      kind: 'kafka-sink',
      topic: 'orders',
      sink: sink(),
    });
    expect(table.get('/shop/archive')?.kind).toBe('broker');
  });

  it('refuse a path that does not match the name', () => {
    expect(() => buildRouteTable([], [], [sink({ path: '/shop/other' })])).toThrow(
      'ingress: kafka-sink shop/archive declares path "/shop/other", expected "/shop/archive"',
    );
  });

  it('a missing sink is named as one', () => {
    expect(describeUnknownPath('/kafkasinks/shop/gone')).toBe(
      'KafkaSink "gone" does not exist in namespace "shop" or is not running (no sink at /kafkasinks/shop/gone)',
    );
  });

  it('a changed cluster, auth, content mode or topic ownership restarts the route', () => {
    const route = (s: KafkaSinkRoute) => buildRouteTable([], [], [s]).get('/kafkasinks/shop/archive')!;
    expect(sameTopicSpec(route(sink()), route(sink()))).toBe(true);
    expect(sameTopicSpec(route(sink()), route(sink({ contentMode: 'structured' })))).toBe(false);
    expect(sameTopicSpec(route(sink()), route(sink({ bootstrapServers: ['k2:9092'] })))).toBe(false);
    expect(
      sameTopicSpec(route(sink()), route(sink({ createTopic: { partitions: 3, replicationFactor: 1 } }))),
    ).toBe(false);
  });

  it('share a producer per cluster and credentials, whatever the order of the servers', () => {
    const a = kafkaSinkClusterKey(sink({ bootstrapServers: ['k1:9092', 'k2:9092'] }));
    expect(kafkaSinkClusterKey(sink({ name: 'other', bootstrapServers: ['k2:9092', 'k1:9092'] }))).toBe(a);
    const sasl = { mechanism: 'plain' as const, username: 'u', password: 'p' };
    expect(
      kafkaSinkClusterKey(sink({ bootstrapServers: ['k1:9092', 'k2:9092'], security: { sasl } })),
    ).not.toBe(a);
  });
});
