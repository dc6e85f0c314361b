import { once } from 'node:events';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataValue } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSourceRegistry } from '../builtins.js';
import { startTestSink, type TestSink } from '../testing/test-sink.js';
import type { SourceAdapter } from './adapter.js';
import { SourceRegistry } from './registry.js';
import { createSourceRunner, type SourceRunner, sourceKey } from './runner.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const example = fileURLToPath(new URL('../../../../examples/source-adapter/', import.meta.url));
const quiet = pino({ level: 'silent' });

const noop: SourceAdapter = {
  apiVersion: 'sources.example.com/v1',
  kind: 'NoopSource',
  start: () => ({ stop: async () => {} }),
};

describe('source registry', () => {
  it('has the built-ins and names what is registered when a kind is unknown', () => {
    const registry = createSourceRegistry();
    expect(registry.get('sources.knative.dev/v1beta2', 'PingSource').kind).toBe('PingSource');
    expect(registry.has('sources.knative.dev/v1', 'ContainerSource')).toBe(true);
    expect(() => registry.get('sources.example.com/v1', 'MysterySource')).toThrow(
      /no source adapter for kind MysterySource \(sources.example.com\/v1\); registered kinds: .*PingSource.*registry.loadPackage/,
    );
    expect(() => registry.get('sources.knative.dev/v2', 'PingSource')).toThrow(
      /PingSource is not served as sources.knative.dev\/v2; registered apiVersions: sources.knative.dev\/v1, sources.knative.dev\/v1beta2/,
    );
  });

  it('rejects malformed adapters and duplicate registrations with the reason', () => {
    const registry = new SourceRegistry();
    registry.register(noop);
    expect(() => registry.register(noop)).toThrow(
      /sources.example.com\/v1 NoopSource is already registered \(by register\(\)\)/,
    );
    registry.register({ ...noop, start: noop.start }, { replace: true });
    expect(() => registry.register({ ...noop, kind: 'lowercase' })).toThrow(
      /"kind" must be a CamelCase kind name/,
    );
    expect(() => registry.register({ ...noop, apiVersion: [] })).toThrow(
      /"apiVersion" must be a "group\/version" string/,
    );
    expect(() => registry.register({ ...noop, apiVersion: 'v1' })).toThrow(
      /apiVersion "v1" is not "group\/version"/,
    );
    expect(() =>
      registry.register({ ...noop, kind: 'Other', start: 'x' } as unknown as SourceAdapter),
    ).toThrow(/Other: "start" must be a function, found "x"/);
    expect(() => registry.register({ ...noop, kind: 'Schemed', specSchema: { type: 'nonsense' } })).toThrow(
      /Schemed: specSchema is not a valid JSON Schema/,
    );
  });

  it('explains why a package cannot be loaded', async () => {
    const registry = new SourceRegistry();
    await expect(registry.loadPackage('./does-not-exist', { from: fixtures })).rejects.toThrow(
      /package "\.\/does-not-exist": .*does-not-exist does not exist/,
    );
    await expect(registry.loadPackage('eddy-source-not-installed', { from: fixtures })).rejects.toThrow(
      /package "eddy-source-not-installed": not installed \(looked in \d+ node_modules folders/,
    );
    await expect(registry.loadPackage('./no-default', { from: fixtures })).rejects.toThrow(
      /no-default\/index.js has no default export \(expected a source adapter or an array of them\)/,
    );
    await expect(registry.loadPackage('./not-an-adapter', { from: fixtures })).rejects.toThrow(
      /package "\.\/not-an-adapter": default export \[1\] is not a source adapter: BrokenSource: "start" must be a function/,
    );
    await expect(registry.loadPackage('./throws-on-import', { from: fixtures })).rejects.toThrow(
      /importing .*throws-on-import\/index.js failed: this adapter package fails while loading/,
    );
    // Nothing of a rejected package is registered.
    expect(registry.kinds()).toEqual([]);
  });

  it('follows the package exports conditions (import) over main', async () => {
    const registry = new SourceRegistry();
    const [adapter] = await registry.loadPackage('./conditional-exports', { from: fixtures });
    expect(adapter?.kind).toBe('ConditionalSource');
  });

  it('loads the example adapter package by path and by installed name', async () => {
    const byPath = new SourceRegistry();
    const loaded = await byPath.loadPackage(example);
    expect(loaded.map((a) => a.kind)).toEqual(['HttpPollSource']);
    expect(byPath.has('sources.example.com/v1alpha1', 'HttpPollSource')).toBe(true);
    // A third-party package declares how its kind runs across sources processes.
    expect(byPath.placement('sources.example.com/v1alpha1', 'HttpPollSource')).toBe('once');

    const project = await mkdtemp(join(tmpdir(), 'eddy-sources-'));
    try {
      await mkdir(join(project, 'node_modules'), { recursive: true });
      await symlink(example, join(project, 'node_modules', 'eddy-source-http-poll'), 'dir');
      const byName = new SourceRegistry();
      await byName.loadPackage('eddy-source-http-poll', { from: join(project, 'app', 'nested') });
      expect(byName.has('sources.example.com/v1alpha1', 'HttpPollSource')).toBe(true);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});

describe('the example HttpPollSource through the runner', () => {
  let sink: TestSink;
  let upstream: Server;
  let runner: SourceRunner;
  afterEach(async () => {
    await runner?.close();
    await sink?.close();
    upstream?.closeAllConnections();
    upstream?.close();
  });

  it('validates its spec, emits on change, and re-sends what the sink did not accept', async () => {
    sink = await startTestSink();
    let body = '{"version":1}';
    upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    }).listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/status`;

    const adapters = createSourceRegistry();
    await adapters.loadPackage(example);
    const registry = new Registry();
    runner = createSourceRunner({ adapters, registry, logger: quiet });
    const base = {
      apiVersion: 'sources.example.com/v1alpha1',
      kind: 'HttpPollSource',
      namespace: 'demo',
      name: 'poller',
      sink: sink.url,
      delivery: { retry: 0, backoffPolicy: 'linear' as const, backoffDelayMs: 10 },
    };
    const invalid = runner.apply({ ...base, spec: { url: 'ftp://nope', every: 1 } });
    await expect(invalid).rejects.toThrow(/HttpPollSource: invalid spec: .*spec.url: must match pattern/);
    await expect(invalid).rejects.toThrow(/spec: must NOT have additional properties \("every"\)/);
    expect(runner.statuses()).toEqual([]);

    const status = await runner.apply({
      ...base,
      spec: { url, intervalSeconds: 0.05, sink: { uri: sink.url } },
    });
    expect(status.ready.status).toBe('True');
    await sink.waitFor((r) => r.length >= 1);
    const [first] = sink.accepted();
    expect(first).toMatchObject({ type: 'dev.example.httppoll.changed', source: url });
    expect(dataValue(first!)).toEqual({ version: 1 });

    // The sink refuses: the change is not acked, so it is sent again until accepted.
    sink.respond = (_r, n) => (n < 4 ? { status: 400 } : { status: 202 });
    body = '{"version":2}';
    await sink.waitFor((r) => r.length >= 5);
    const accepted = sink.accepted();
    expect(accepted.map((e) => (dataValue(e) as { version: number }).version)).toEqual([1, 2]);
    const ids = sink.requests.slice(1, 5).map((r) => r.headers['ce-id']);
    expect(new Set(ids).size).toBe(1);

    // Upstream errors make the source not Ready, with the reason.
    body = 'not json';
    await sleep(200);
    upstream.closeAllConnections();
    upstream.close();
    await sleep(200);
    expect(runner.statuses()[0]?.ready).toMatchObject({ status: 'False', reason: 'UpstreamUnreachable' });
    const metrics = await registry.getSingleMetricAsString('eddy_source_events_failed_total');
    expect(metrics).toMatch(/reason="malformed"} 1/);
    expect(metrics).toMatch(/reason="rejected"} [34]/);
  });
});

describe('a third-party adapter that listens for HTTP', () => {
  let sink: TestSink;
  let runner: SourceRunner;
  afterEach(async () => {
    await runner?.close();
    await sink?.close();
  });

  it('publishes its endpoint with setAddress(): status.address while it runs, gone once it stops', async () => {
    sink = await startTestSink();
    const adapters = createSourceRegistry();
    await adapters.loadPackage('./webhook-adapter', { from: fixtures });
    runner = createSourceRunner({ adapters, logger: quiet });
    const definition = {
      apiVersion: 'sources.example.com/v1alpha1',
      kind: 'WebhookSource',
      namespace: 'demo',
      name: 'hooks',
      spec: { eventType: 'com.example.hook', sink: { uri: sink.url } },
      sink: sink.url,
    };
    const status = await runner.apply(definition);
    expect(status.ready).toMatchObject({ status: 'True', reason: 'Started' });
    const url = status.address?.url ?? '';
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"hello":"hook"}',
    });
    expect(res.status).toBe(202);
    await sink.waitFor((r) => r.length >= 1);
    const [event] = sink.accepted();
    expect(event).toMatchObject({ type: 'com.example.hook', source: '/webhooks/demo/hooks' });
    expect(dataValue(event!)).toEqual({ hello: 'hook' });

    await runner.remove(sourceKey(definition));
    expect(runner.statuses()).toEqual([]);
    await expect(fetch(url, { method: 'POST', body: 'x' })).rejects.toThrow();
  });
});
