import type { BrokerRoute, ChannelRoute, PlainEvent } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { buildRouteTable, channelIngressPath, describeUnknownPath } from './route-table.js';
import { validTraceparent, withTraceContext } from './trace-context.js';

const broker = (namespace: string, name: string): BrokerRoute => ({
  namespace,
  name,
  path: `/${namespace}/${name}`,
  topic: `t-${namespace}-${name}`,
  partitions: 1,
});
const channel = (namespace: string, name: string): ChannelRoute => ({
  ...broker(namespace, name),
  kind: 'InMemoryChannel',
  topic: `c-${namespace}-${name}`,
});

describe('ingress route table', () => {
  it('serves brokers at /<ns>/<name> and channels under /channels, even when names coincide', () => {
    const table = buildRouteTable(
      [broker('ns', 'default'), broker('channels', 'x')],
      [channel('ns', 'default')],
    );
    expect([...table.keys()].sort()).toEqual(['/channels/ns/default', '/channels/x', '/ns/default']);
    expect(table.get('/channels/ns/default')?.kind).toBe('channel');
    expect(table.get('/channels/x')?.kind).toBe('broker');
    expect(channelIngressPath({ namespace: 'a', name: 'b' })).toBe('/channels/a/b');
  });

  it('refuses duplicate paths, bad names and paths that do not match the route', () => {
    expect(() => buildRouteTable([broker('ns', 'b'), broker('ns', 'b')], [])).toThrow(
      'ingress: broker ns/b and broker ns/b both map to path "/ns/b"',
    );
    expect(() => buildRouteTable([broker('ns', 'B')], [])).toThrow(/name "B" is not a valid Kubernetes name/);
    expect(() => buildRouteTable([{ ...broker('ns', 'b'), path: '/ns/b/' }], [])).toThrow(
      'ingress: broker ns/b declares path "/ns/b/", expected "/ns/b"',
    );
  });

  it('says which broker or channel is missing', () => {
    expect(describeUnknownPath('/ns/x')).toBe(
      'broker "x" does not exist in namespace "ns" (no broker at /ns/x)',
    );
    expect(describeUnknownPath('/channels/ns/x')).toMatch(/^channel "x" does not exist in namespace "ns"/);
    expect(describeUnknownPath('/')).toMatch(/^no broker, channel or KafkaSink at \/: brokers are at/);
  });
});

describe('ingress trace context', () => {
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('accepts valid traceparents and ignores invalid ones', () => {
    expect(validTraceparent(` ${parent} `)).toBe(parent);
    expect(validTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future')).toBeDefined();
    for (const bad of [
      'garbage',
      `${parent}-extra`, // version 00 has exactly four fields
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    ]) {
      expect(validTraceparent(bad), bad).toBeUndefined();
    }
  });

  it('adds traceparent/tracestate only to events without their own, keeping data and time', () => {
    const plain: PlainEvent = {
      specversion: '1.0',
      id: '1',
      source: '/s',
      type: 't',
      time: '2018-04-05T03:56:24Z',
      data: Buffer.from([1, 2]),
    };
    const own: PlainEvent = { specversion: '1.0', id: '2', source: '/s', type: 't', traceparent: 'mine' };
    const [a, b] = withTraceContext([plain, own], parent, 'k=v');
    // The event plus the trace context, nothing else: the original is not changed.
    expect(a).toEqual({ ...plain, traceparent: parent, tracestate: 'k=v' });
    expect(plain).not.toHaveProperty('traceparent');
    expect(a?.data).toBe(plain.data);
    expect(b).toBe(own);
    expect(withTraceContext([plain], 'nope', undefined)[0]).toBe(plain);
  });
});
