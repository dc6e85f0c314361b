// The router's pure parts: address resolution and label clashes, the weighted split, header rewriting.

import { describe, expect, it } from 'vitest';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';
import type { RouterRevision } from './router.js';
import {
  buildRoutingTable,
  checkRoutingInput,
  describeUnknownAddress,
  resolveAddress,
} from './routing-table.js';
import { WeightedSplit } from './weighted-split.js';

function revision(name: string, namespace = 'default'): RouterRevision {
  return { namespace, name, containerConcurrency: 0, timeoutMs: 1000 };
}

describe('routing table', () => {
  const table = buildRoutingTable(
    [revision('hello-00001'), revision('hello-00002'), revision('other-00001', 'prod')],
    [
      {
        namespace: 'default',
        name: 'hello',
        traffic: [
          { revisionName: 'hello-00001', percent: 100, tag: 'current' },
          { revisionName: 'hello-00002', percent: 0, tag: 'next' },
        ],
      },
    ],
  );

  it('resolves path addresses, stripping the prefix and keeping the query', () => {
    expect(resolveAddress(table, '127.0.0.1:8080', '/default/hello/a/b?x=1')).toMatchObject({
      destination: { kind: 'route', route: 'hello', targets: [{ revision: 'hello-00001', percent: 100 }] },
      prefix: '/default/hello',
      forwardPath: '/a/b?x=1',
    });
    expect(resolveAddress(table, undefined, '/default/hello')?.forwardPath).toBe('/');
    expect(resolveAddress(table, undefined, '/default/hello?x')?.forwardPath).toBe('/?x');
    expect(resolveAddress(table, undefined, '/default/hello/')?.forwardPath).toBe('/');
    expect(resolveAddress(table, undefined, '/default/next-hello/x')?.destination).toMatchObject({
      kind: 'tag',
      tag: 'next',
      revision: 'hello-00002',
    });
    expect(resolveAddress(table, undefined, '/prod/other-00001')?.destination).toMatchObject({
      kind: 'revision',
      revision: 'other-00001',
    });
    expect(resolveAddress(table, undefined, '/default/nope/x')).toBeUndefined();
    expect(resolveAddress(table, undefined, '/prod/hello')).toBeUndefined();
    expect(resolveAddress(table, undefined, '/healthz')).toBeUndefined();
  });

  it('resolves Host addresses only when the label exists, ignoring IPs, ports and case', () => {
    expect(resolveAddress(table, 'Hello.Default.example.com:80', '/x?y')).toMatchObject({
      destination: { kind: 'route', route: 'hello' },
      prefix: '',
      forwardPath: '/x?y',
    });
    expect(resolveAddress(table, 'current-hello.default', '/')?.destination).toMatchObject({ kind: 'tag' });
    expect(resolveAddress(table, 'other-00001.prod.svc', '/')?.destination).toMatchObject({
      kind: 'revision',
    });
    // An unknown Host falls back to the path.
    expect(resolveAddress(table, 'nope.default.example.com', '/default/hello/z')).toMatchObject({
      prefix: '/default/hello',
      forwardPath: '/z',
    });
    expect(resolveAddress(table, '10.0.0.1', '/x')).toBeUndefined();
    expect(resolveAddress(table, '[::1]:80', '/x')).toBeUndefined();
    expect(resolveAddress(table, 'localhost', '/x')).toBeUndefined();
  });

  it('gives a clashing label to the route, then the tag, then the revision, and reports the clash', () => {
    const clashing = buildRoutingTable(
      [revision('hello'), revision('next-hello'), revision('x-00001')],
      [
        {
          namespace: 'default',
          name: 'hello',
          traffic: [{ revisionName: 'x-00001', percent: 100, tag: 'next' }],
        },
      ],
    );
    expect(clashing.labels.get('default')?.get('hello')).toMatchObject({ kind: 'route' });
    expect(clashing.labels.get('default')?.get('next-hello')).toMatchObject({ kind: 'tag' });
    expect(clashing.clashes).toEqual([
      'address "next-hello" in namespace "default" is claimed by tag "next" of route default/hello and revision default/next-hello; tag "next" of route default/hello wins',
      'address "hello" in namespace "default" is claimed by route default/hello and revision default/hello; route default/hello wins',
    ]);
  });

  it('says why an address is unknown', () => {
    expect(describeUnknownAddress(undefined, '/ns/x/y?z')).toBe(
      'no route, tag or revision "x" in namespace "ns"',
    );
    expect(describeUnknownAddress('a.b.example', '/')).toBe(
      'path "/" is not /<namespace>/<route|tag-route|revision>/... and Host "a.b.example" names no "a" in namespace "b"',
    );
  });
});

describe('routing input check', () => {
  it('names the revision or route and the field that is wrong', () => {
    expect(() => checkRoutingInput([{ ...revision('a'), containerConcurrency: -1 }], [])).toThrow(
      'router.update: revision default/a: containerConcurrency must be an integer >= 0 (0 = unlimited), got -1',
    );
    expect(() => checkRoutingInput([{ ...revision('a'), timeoutMs: 0 }], [])).toThrow(
      'router.update: revision default/a: timeoutMs must be a positive number of milliseconds, got 0',
    );
    expect(() => checkRoutingInput([{ ...revision('a'), idleTimeoutMs: Number.NaN }], [])).toThrow(
      'idleTimeoutMs must be a positive number',
    );
    expect(() => checkRoutingInput([revision('a'), revision('a')], [])).toThrow(
      'router.update: revision default/a is listed twice',
    );
    expect(() =>
      checkRoutingInput(
        [],
        [{ namespace: 'default', name: 'r', traffic: [{ revisionName: 'a', percent: -5 }] }],
      ),
    ).toThrow('router.update: route default/r: traffic[0].percent must be a number >= 0, got -5');
    expect(() =>
      checkRoutingInput([revision('a')], [{ namespace: 'default', name: 'r', traffic: [] }]),
    ).not.toThrow();
  });
});

describe('weighted split', () => {
  it('is exact over every full cycle and spreads the minority out', () => {
    const split = new WeightedSplit([
      { value: 'a', weight: 90 },
      { value: 'b', weight: 10 },
    ]);
    const picks = Array.from({ length: 1000 }, () => split.next());
    expect(picks.filter((pick) => pick === 'b')).toHaveLength(100);
    for (let i = 0; i < 1000; i += 10) {
      expect(picks.slice(i, i + 10).filter((pick) => pick === 'b')).toHaveLength(1);
    }
  });

  it('handles three targets and no targets', () => {
    const split = new WeightedSplit([
      { value: 'a', weight: 33 },
      { value: 'b', weight: 33 },
      { value: 'c', weight: 34 },
    ]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const pick = split.next()!;
      counts.set(pick, (counts.get(pick) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 33, b: 33, c: 34 });
    expect(new WeightedSplit<string>([]).next()).toBeUndefined();
  });
});

describe('forwarded headers', () => {
  it('drops hop-by-hop headers and those Connection names, keeps the rest in order', () => {
    const out = upstreamRequestHeaders(
      [
        'Host',
        'h.example',
        'Connection',
        'keep-alive, X-Private',
        'X-Private',
        'secret',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Expect',
        '100-continue',
        'traceparent',
        '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'Cookie',
        'a=1',
        'Cookie',
        'b=2',
      ],
      { clientAddress: '127.0.0.1', protocol: 'http', prefix: '/ns/svc' },
    );
    expect(out).toEqual([
      'Host',
      'h.example',
      'traceparent',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'Cookie',
      'a=1',
      'Cookie',
      'b=2',
      'x-forwarded-for',
      '127.0.0.1',
      'x-forwarded-proto',
      'http',
      'x-forwarded-host',
      'h.example',
      'x-forwarded-prefix',
      '/ns/svc',
    ]);
  });

  it('extends X-Forwarded-For and -Prefix from a proxy in front, keeps its Proto and Host', () => {
    const out = upstreamRequestHeaders(
      [
        'Host',
        'inner',
        'X-Forwarded-For',
        '1.1.1.1',
        'X-Forwarded-For',
        '2.2.2.2',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'outer.example',
        'X-Forwarded-Prefix',
        '/api/',
      ],
      { clientAddress: '3.3.3.3', protocol: 'http', prefix: '/ns/svc' },
    );
    expect(out).toEqual([
      'Host',
      'inner',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'outer.example',
      'x-forwarded-for',
      '1.1.1.1, 2.2.2.2, 3.3.3.3',
      'x-forwarded-prefix',
      '/api/ns/svc',
    ]);
  });

  it('drops hop-by-hop response headers', () => {
    expect(
      downstreamResponseHeaders({
        connection: 'close, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
      }),
    ).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });
});
