import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../testing/wait-until.js';
import type { SourceAdapter, SourceContext, SourceDefinition } from './adapter.js';
import { SourceRegistry } from './registry.js';
import { createSourceRunner, type SourceRunner, sourceKey } from './runner.js';

const quiet = pino({ level: 'silent' });

interface Probe {
  starts: SourceContext[];
  stops: { abortedFirst: boolean }[];
  failFirst: number;
}

function probeAdapter(probe: Probe): SourceAdapter {
  return {
    apiVersion: 'sources.example.com/v1',
    kind: 'ProbeSource',
    specSchema: { type: 'object', properties: { n: { type: 'integer' } } },
    start(context) {
      probe.starts.push(context);
      if (probe.starts.length <= probe.failFirst)
        throw new Error(`upstream refused attempt ${probe.starts.length}`);
      return {
        async stop() {
          probe.stops.push({ abortedFirst: context.signal.aborted });
        },
      };
    },
  };
}

const def = (spec: unknown = { n: 1 }): SourceDefinition => ({
  apiVersion: 'sources.example.com/v1',
  kind: 'ProbeSource',
  namespace: 'demo',
  name: 'probe',
  spec,
  sink: 'http://127.0.0.1:9/',
  annotations: { a: 'b' },
});

describe('source runner', () => {
  let runner: SourceRunner;
  afterEach(async () => {
    await runner?.close();
  });

  function setup(probe: Probe): SourceRunner {
    const adapters = new SourceRegistry();
    adapters.register(probeAdapter(probe));
    runner = createSourceRunner({ adapters, logger: quiet, restartDelayMs: 50 });
    return runner;
  }

  it('starts once per definition, restarts on change, stops (signal aborted first) on remove', async () => {
    const probe: Probe = { starts: [], stops: [], failFirst: 0 };
    setup(probe);
    const status = await runner.apply(def());
    expect(status).toMatchObject({
      key: 'ProbeSource/demo/probe',
      ready: { type: 'Ready', status: 'True', reason: 'Started' },
    });
    expect(probe.starts[0]).toMatchObject({
      namespace: 'demo',
      name: 'probe',
      spec: { n: 1 },
      annotations: { a: 'b' },
    });
    await runner.apply(def());
    expect(probe.starts).toHaveLength(1);
    await runner.apply(def({ n: 2 }));
    expect(probe.starts).toHaveLength(2);
    expect(probe.stops).toEqual([{ abortedFirst: true }]);
    expect(probe.starts[0]?.signal.aborted).toBe(true);
    await runner.remove(sourceKey(def()));
    expect(probe.stops).toHaveLength(2);
    expect(runner.statuses()).toEqual([]);
  });

  it('reports start failures as StartFailed and retries with backoff until the adapter starts', async () => {
    const probe: Probe = { starts: [], stops: [], failFirst: 2 };
    setup(probe);
    const status = await runner.apply(def());
    expect(status.ready).toMatchObject({
      status: 'False',
      reason: 'StartFailed',
      message: 'upstream refused attempt 1',
    });
    await waitUntil(() => runner.statuses()[0]?.ready.status === 'True', 5_000, 'Ready', 20).catch(() => {});
    expect(runner.statuses()[0]?.ready).toMatchObject({ status: 'True', reason: 'Started' });
    expect(probe.starts).toHaveLength(3);
  });

  it('turns setHealth into the Ready condition', async () => {
    const probe: Probe = { starts: [], stops: [], failFirst: 0 };
    setup(probe);
    await runner.apply(def());
    probe.starts[0]?.setHealth({
      ready: false,
      reason: 'UpstreamUnreachable',
      message: 'connection refused',
    });
    expect(runner.statuses()[0]?.ready).toMatchObject({
      status: 'False',
      reason: 'UpstreamUnreachable',
      message: 'connection refused',
    });
    probe.starts[0]?.setHealth({ ready: true });
    expect(runner.statuses()[0]?.ready.status).toBe('True');
  });

  it('carries the address an adapter publishes into its status while it is Ready, and drops it otherwise', async () => {
    const probe: Probe = { starts: [], stops: [], failFirst: 0 };
    setup(probe);
    await runner.apply(def());
    const context = probe.starts[0]!;
    expect(runner.statuses()[0]?.address).toBeUndefined();
    context.setAddress('http://127.0.0.1:8099');
    expect(runner.statuses()[0]).toMatchObject({
      ready: { status: 'True' },
      address: { url: 'http://127.0.0.1:8099/' },
    });
    context.setAddress(new URL('https://hooks.example.com/in?x=1'));
    expect(runner.statuses()[0]?.address).toEqual({ url: 'https://hooks.example.com/in?x=1' });
    // Not Ready: no address; Ready again: back.
    context.setHealth({ ready: false, reason: 'UpstreamUnreachable', message: 'down' });
    expect(runner.statuses()[0]?.address).toBeUndefined();
    context.setHealth({ ready: true });
    expect(runner.statuses()[0]?.address).toEqual({ url: 'https://hooks.example.com/in?x=1' });
    context.setAddress(undefined);
    expect(runner.statuses()[0]?.address).toBeUndefined();
    for (const bad of ['127.0.0.1:8099', '/relative', 'ftp://example.com/', '', 42]) {
      expect(() => context.setAddress(bad as string)).toThrow(
        /^setAddress: expected an absolute http:\/\/ or https:\/\/ URL, found /,
      );
    }
    expect(() => context.setAddress('nope')).toThrow('found "nope"');
    // A changed definition restarts the source: the old context's address is gone and cannot come back.
    context.setAddress('http://127.0.0.1:1/');
    await runner.apply(def({ n: 2 }));
    context.setAddress('http://127.0.0.1:2/');
    expect(runner.statuses()[0]?.address).toBeUndefined();
    probe.starts[1]?.setAddress('http://127.0.0.1:3/');
    expect(runner.statuses()[0]?.address).toEqual({ url: 'http://127.0.0.1:3/' });
    await runner.remove(sourceKey(def()));
    expect(runner.statuses()).toEqual([]);
  });

  it('drops the address when start() fails after publishing it', async () => {
    const adapters = new SourceRegistry();
    let attempts = 0;
    adapters.register({
      apiVersion: 'sources.example.com/v1',
      kind: 'FlakySource',
      start(context) {
        attempts++;
        context.setAddress(`http://127.0.0.1:${9000 + attempts}/`);
        if (attempts === 1) throw new Error('bind failed after listening');
        return { stop: async () => {} };
      },
    });
    runner = createSourceRunner({ adapters, logger: quiet, restartDelayMs: 20 });
    const first = await runner.apply({ ...def(), kind: 'FlakySource' });
    expect(first.ready).toMatchObject({ status: 'False', reason: 'StartFailed' });
    expect(first.address).toBeUndefined();
    await waitUntil(() => runner.statuses()[0]?.ready.status === 'True', 5_000, 'Ready', 10).catch(() => {});
    expect(runner.statuses()[0]?.address).toEqual({ url: 'http://127.0.0.1:9002/' });
  });

  it('rejects bad definitions without touching the running source', async () => {
    const probe: Probe = { starts: [], stops: [], failFirst: 0 };
    setup(probe);
    await runner.apply(def());
    await expect(runner.apply(def({ n: 'one' }))).rejects.toThrow(
      /ProbeSource: invalid spec: spec.n: must be integer/,
    );
    await expect(runner.apply({ ...def(), sink: 'nowhere' })).rejects.toThrow(
      /sink "nowhere" is not a valid URL/,
    );
    await expect(runner.apply({ ...def(), name: '' })).rejects.toThrow(/"name" must be a non-empty string/);
    await expect(runner.apply({ ...def(), sinkAcceptsBatch: 'yes' as unknown as boolean })).rejects.toThrow(
      /"sinkAcceptsBatch" must be a boolean, found "yes"/,
    );
    await expect(runner.apply({ ...def(), kind: 'GhostSource' })).rejects.toThrow(
      /no source adapter for kind GhostSource/,
    );
    expect(probe.starts).toHaveLength(1);
    expect(probe.stops).toHaveLength(0);
    expect(runner.statuses()[0]?.ready.status).toBe('True');
  });

  it('bounds a start() or stop() that never ends, so close() returns', async () => {
    const adapters = new SourceRegistry();
    adapters.register({
      ...probeAdapter({ starts: [], stops: [], failFirst: 0 }),
      kind: 'HangingStart',
      start: () => new Promise(() => {}),
    });
    adapters.register({
      ...probeAdapter({ starts: [], stops: [], failFirst: 0 }),
      kind: 'HangingStop',
      start: () => ({ stop: () => new Promise<void>(() => {}) }),
    });
    runner = createSourceRunner({ adapters, logger: quiet, stopTimeoutMs: 100 });
    void runner.apply({ ...def(), kind: 'HangingStart' });
    await runner.apply({ ...def(), kind: 'HangingStop' });
    expect(
      runner
        .statuses()
        .map((s) => s.ready.reason)
        .sort(),
    ).toEqual(['Started', 'Starting']);
    const started = performance.now();
    await runner.close();
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
