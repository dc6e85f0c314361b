// `eddy dev` on Kafka with the broker and the sources as processes (in process here, the children
// real): a PingSource and a ContainerSource deliver through the broker to a Trigger's subscriber,
// their status comes back from the `eddy sources` process, the container's output reaches eddy dev's
// service output, and a SIGKILLed sources process is restarted and delivers again.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type DataValues, resourceKey } from '@eddy/api';
import { acceptReport } from '@eddy/runtime';
import { createSourceRegistry, type SourceDefinition } from '@eddy/sources';
import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { StatusResponse } from '../admin/protocol.js';
import { brokerSink, brokerYaml, nodeTemplate, triggerYaml } from '../testing/manifests.js';
import { startDevServer } from './dev-server.js';
import { RemoteSourceRunner } from './sources-process.js';
import { admin, Cleanups, startSubscriber } from './testing/dev-test-kit.js';
import { waitFor } from './testing/wait.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('eddy dev --kafka, the sources as a process', () => {
  it('runs sources in an `eddy sources` process: events flow, statuses come back, a SIGKILLed process is restarted', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const ns = `src-${randomUUID().slice(0, 8)}`;
    const printed: string[] = [];
    const output: string[] = [];
    const server = await startDevServer({
      dataDir: join(cleanups.tempDir('eddy-sources-'), '.eddy'),
      kafka: inject('kafkaBrokers'),
      brokerProcesses: { ingresses: 1, dispatchers: 1 },
      sourcesProcess: true,
      port: 0,
      serving: false,
      print: (line) => printed.push(line),
      serviceOutput: ({ revision, line }) => output.push(`${revision} | ${line}`),
    });
    cleanups.push(() => server.close());
    expect(printed).toContainEqual(
      expect.stringMatching(/^ {2}sources {2}as a process \(eddy sources; 1\/1 sources\)/),
    );

    const fixture = join(import.meta.dirname, '../../../sources/src/container/fixtures/emit-once.mjs');
    const manifest = [
      brokerYaml(),
      triggerYaml('pings', '{uri: SUB}'),
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: every-second}
spec:
  schedule: "* * * * * *"
  data: '{"hello": "world"}'
${brokerSink()}`,
      `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: emitter}
spec:
${nodeTemplate(fixture, '          env: [{name: MODE, value: serve}]\n')}${brokerSink()}`,
    ]
      .join('---\n')
      .replaceAll('SUB', `${sub.url}/in`)
      .replace(/metadata: \{name: ([^}]+)\}/g, `metadata: {name: $1, namespace: ${ns}}`);
    const applied = await admin(server, 'POST', '/v1/apply', { text: manifest, file: 'sources.yaml' });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);

    const pings = () => sub.received.filter((e) => e.type === 'dev.knative.sources.ping').length;
    await waitFor('pings through the broker', () => pings() >= 2, 40_000);
    await waitFor('the container event', () =>
      sub.received.some((e) => e.type === 'dev.eddy.test.container'),
    );
    await waitFor('the container output', () => output.find((l) => /^emitter \| sent from \d+/.test(l)));
    const ready = (kind: string, name: string) =>
      server.store
        .get(resourceKey(kind, ns, name))
        ?.resource.status?.conditions?.find((c) => c.type === 'Ready');
    await waitFor(
      'PingSource Ready in the store',
      () => ready('PingSource', 'every-second')?.status === 'True',
    );
    await waitFor(
      'ContainerSource Ready in the store',
      () => ready('ContainerSource', 'emitter')?.status === 'True',
    );

    const status = async () =>
      ((await admin(server, 'GET', '/v1/status')).body as unknown as StatusResponse).sourcesProcess;
    const before = await status();
    expect(before).toMatchObject({ id: 'sources-1', component: 'sources', sources: 2 });
    expect(before?.generation).toBeGreaterThanOrEqual(1);
    expect(before?.pid).toBeGreaterThan(0);

    process.kill(before?.pid ?? 0, 'SIGKILL');
    await waitFor('the restart line', () =>
      printed.find((l) => /^sources sources-1 exited \(signal SIGKILL\); restarting in 1 s/.test(l)),
    );
    await waitFor(
      'the sources process back on the contract',
      async () => {
        const now = await status();
        return now?.pid !== undefined && now.pid !== before?.pid && (now.generation ?? 0) >= 1;
      },
      30_000,
    );
    const afterRestart = pings();
    await waitFor('pings again after the restart', () => pings() >= afterRestart + 2, 30_000);
    await waitFor('PingSource Ready again', () => ready('PingSource', 'every-second')?.status === 'True');
  }, 120_000);
});

describe('RemoteSourceRunner (the control plane side, before its process runs)', () => {
  const ping = (name: string, spec: Record<string, unknown> = {}): SourceDefinition => ({
    apiVersion: 'sources.knative.dev/v1',
    kind: 'PingSource',
    namespace: 'demo',
    name,
    spec: { schedule: '* * * * *', ...spec },
    sink: 'http://127.0.0.1:1/demo/default',
  });
  const secrets = new Map<string, DataValues>([
    [
      'demo/tokens',
      new Map([
        ['a', Buffer.from('A')],
        ['unused', Buffer.from('X')],
      ]),
    ],
  ]);
  const runner = () => {
    const r = new RemoteSourceRunner({
      adapters: createSourceRegistry(),
      sourceAdapters: [],
      values: () => ({
        env: {},
        store: { secret: (ns, name) => secrets.get(`${ns}/${name}`), configMap: () => undefined },
      }),
      host: '127.0.0.1',
      logger: pino({ level: 'silent' }),
      print: () => {},
    });
    cleanups.push(() => r.close());
    return r;
  };

  it('refuses at once what the process would, and publishes the calls of one turn as one generation', async () => {
    const r = runner();
    await expect(r.apply({ ...ping('x'), kind: 'NoSuchSource' })).rejects.toThrow(
      /no source adapter for kind NoSuchSource/,
    );
    await expect(r.apply({ ...ping('x'), sink: 'not a url' })).rejects.toThrow(/sink/);
    expect(r.feed.current).toBeUndefined();

    const [a, b] = await Promise.all([
      r.apply(ping('a', { data: { secretKeyRef: { name: 'tokens', key: 'a' } } })),
      r.apply(ping('b')),
    ]);
    expect(a.ready).toMatchObject({ status: 'Unknown', reason: 'Starting' });
    expect(b.ready).toMatchObject({ status: 'Unknown', reason: 'Starting' });
    expect(r.feed.current?.generation).toBe(1);
    expect(r.feed.current?.sources.map((s) => s.name)).toEqual(['a', 'b']);
    // Only the referenced key travels, not the whole Secret.
    expect(r.feed.current?.values).toEqual({ secrets: { 'demo/tokens': { a: 'A' } }, configMaps: {} });
    // Unchanged: nothing published.
    await r.apply(ping('b'));
    expect(r.feed.current?.generation).toBe(1);

    // What the process reports counts once it runs the generation with the source's definition.
    const reported = (applied: number) =>
      acceptReport(r.feed, {
        id: 'sources-1',
        component: 'sources',
        applied,
        status: {
          sources: ['a', 'b'].map((name) => ({
            key: `PingSource/demo/${name}`,
            apiVersion: 'sources.knative.dev/v1',
            kind: 'PingSource',
            namespace: 'demo',
            name,
            ready: {
              type: 'Ready',
              status: 'True',
              reason: 'Started',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          })),
        },
      });
    reported(1);
    expect(r.statuses().map((s) => s.ready.status)).toEqual(['True', 'True']);
    await r.apply(ping('b', { data: 'changed' }));
    expect(r.feed.current?.generation).toBe(2);
    expect(r.statuses().map((s) => [s.name, s.ready.status])).toEqual([
      ['a', 'True'],
      ['b', 'Unknown'],
    ]);
    reported(2);
    expect(r.statuses().map((s) => s.ready.status)).toEqual(['True', 'True']);

    await r.remove('PingSource/demo/a');
    await r.remove('PingSource/demo/b');
    expect(r.statuses()).toEqual([]);
    await waitFor('one generation for both removals', () => r.feed.current?.generation === 3);
    expect(r.feed.current?.sources).toEqual([]);
  });
});
