// `eddy dev` on Kafka with the broker and the sources as processes (in process here, the children
// real): a PingSource and a ContainerSource deliver through the broker to a Trigger's subscriber,
// their status comes back from the `eddy sources` process, the container's output reaches eddy dev's
// service output, and a SIGKILLed sources process is restarted and delivers again. With `--sources 2`:
// a PingSource on its owner, an SqsSource (ElasticMQ) on both members with its status merged from
// theirs, and the owner SIGKILLed: not Ready naming it, then Ready again with pings resuming.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type DataValues, resourceKey } from '@eddy/api';
import { acceptReport } from '@eddy/runtime';
import { createSourceRegistry, type SourceDefinition, sourceOwner } from '@eddy/sources';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { sqsSdk } from '../../../../test/harness/sqs-sdk.ts';
import { sqsTestQueues } from '../../../sources/src/testing/sqs-test-queues.js';
import type { Condition, StatusResponse } from '../admin/protocol.js';
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

describe('eddy dev --kafka --sources 2', () => {
  const queues = sqsTestQueues(sqsSdk, { endpoint: inject('sqsEndpoint'), region: inject('sqsRegion') });
  beforeAll(() => queues.open());
  afterAll(() => queues.close());

  it("merges the members' statuses; SIGKILLing the PingSource's owner makes it not Ready naming the member, until the restart", async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const ns = `shards-${randomUUID().slice(0, 8)}`;
    const printed: string[] = [];
    const server = await startDevServer({
      dataDir: join(cleanups.tempDir('eddy-sources-'), '.eddy'),
      kafka: inject('kafkaBrokers'),
      brokerProcesses: { ingresses: 1, dispatchers: 1 },
      sourcesProcess: { members: 2, extraArgs: ['--status-interval-ms', '100'] },
      port: 0,
      serving: false,
      print: (line) => printed.push(line),
    });
    cleanups.push(() => server.close());
    expect(printed).toContainEqual(
      expect.stringMatching(/^ {2}sources {2}as processes \(eddy sources; 2\/2 sources\)/),
    );

    const queue = await queues.createQueue();
    const manifest = [
      brokerYaml(),
      triggerYaml('all', '{uri: SUB}'),
      `apiVersion: v1
kind: Secret
metadata: {name: aws}
stringData: {id: eddy-key, secret: eddy-secret}
`,
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: every-second}
spec:
  schedule: "* * * * * *"
${brokerSink()}`,
      `apiVersion: sources.eddy.dev/v1alpha1
kind: SqsSource
metadata: {name: orders}
spec:
  queueUrl: ${queue.url}
  region: ${inject('sqsRegion')}
  endpoint: ${inject('sqsEndpoint')}
  waitTimeSeconds: 1
  credentials:
    accessKeyId: {secretKeyRef: {name: aws, key: id}}
    secretAccessKey: {secretKeyRef: {name: aws, key: secret}}
${brokerSink()}`,
    ]
      .join('---\n')
      .replaceAll('SUB', `${sub.url}/in`)
      .replace(/metadata: \{name: ([^}]+)\}/g, `metadata: {name: $1, namespace: ${ns}}`);
    const applied = await admin(server, 'POST', '/v1/apply', { text: manifest, file: 'sources.yaml' });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);

    const ready = (kind: string, name: string) =>
      server.store
        .get(resourceKey(kind, ns, name))
        ?.resource.status?.conditions?.find((c) => c.type === 'Ready');
    await waitFor('PingSource Ready', () => ready('PingSource', 'every-second')?.status === 'True', 40_000);
    await waitFor('SqsSource Ready on both members', () => ready('SqsSource', 'orders')?.status === 'True');
    const pings = () => sub.received.filter((e) => e.type === 'dev.knative.sources.ping');
    await waitFor('pings through the broker', () => pings().length >= 2, 30_000);
    const sent = await queues.send(queue.url, 'order 1');
    await waitFor('the SQS message through the broker', () => sub.received.some((e) => e.id === sent));

    // Placement as /v1/status shows it: the SqsSource on both, the PingSource on its owner only.
    const owner = sourceOwner(`PingSource/${ns}/every-second`, 2);
    const ownerId = `sources-${owner + 1}`;
    const status = async () =>
      ((await admin(server, 'GET', '/v1/status')).body as unknown as StatusResponse).sourcesProcesses ?? [];
    const members = await status();
    expect(members.map((m) => [m.id, m.shard, m.sources])).toEqual([
      ['sources-1', '0/2', owner === 0 ? 2 : 1],
      ['sources-2', '1/2', owner === 1 ? 2 : 1],
    ]);
    const killed = members[owner]?.pid ?? 0;
    expect(killed).toBeGreaterThan(0);

    // Every 50 ms, what the store says about both sources from the kill on.
    const seen: { ping?: Condition; sqs?: Condition }[] = [];
    const watch = setInterval(() => {
      seen.push({ ping: ready('PingSource', 'every-second'), sqs: ready('SqsSource', 'orders') });
    }, 50);
    cleanups.push(() => clearInterval(watch));
    process.kill(killed, 'SIGKILL');
    const named = new RegExp(`sources process ${ownerId} \\(shard ${owner}/2\\)`);
    await waitFor('the PingSource not Ready, naming the member', () =>
      seen.find((s) => s.ping?.status !== 'True' && named.test(s.ping?.message ?? '')),
    );
    await waitFor('the restart line', () =>
      printed.find((l) => l.startsWith(`sources ${ownerId} exited (signal SIGKILL); restarting in 1 s`)),
    );
    await waitFor(
      'the member back',
      async () => {
        const back = (await status())[owner];
        return back?.pid !== undefined && back.pid !== killed && (back.generation ?? 0) >= 1;
      },
      30_000,
    );
    const afterRestart = pings().length;
    await waitFor('pings again after the restart', () => pings().length >= afterRestart + 2, 30_000);
    await waitFor('PingSource Ready again', () => ready('PingSource', 'every-second')?.status === 'True');
    await waitFor('SqsSource Ready again', () => ready('SqsSource', 'orders')?.status === 'True');
    clearInterval(watch);
    const down = seen.find((s) => s.ping?.status === 'False');
    expect(down?.ping).toMatchObject({ reason: 'SourcesProcessDown' });
    expect(down?.ping?.message).toMatch(named);
    // The SqsSource ran on the killed member too: not Ready meanwhile, naming it, the other one Ready.
    const sqsDown = seen.find((s) => s.sqs?.status !== 'True');
    expect(sqsDown?.sqs?.message).toMatch(named);
    expect(sqsDown?.sqs?.message).toMatch(/\(1 of 2 members Ready\)$/);
    // Ticks were never sent twice: one event per scheduled time.
    const times = pings().map((e) => String(e.headers['ce-time']));
    expect(new Set(times).size).toBe(times.length);
  }, 150_000);
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
  const runner = (members?: number) => {
    const r = new RemoteSourceRunner({
      ...(members ? { members } : {}),
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
  it("merges N members' reports: a once-placed source from its owner, an every-member one Ready only when all are", async () => {
    const r = runner(2);
    const sqs: SourceDefinition = {
      ...ping('orders'),
      apiVersion: 'sources.eddy.dev/v1alpha1',
      kind: 'SqsSource',
      spec: { queueUrl: 'http://127.0.0.1:1/000000000000/orders', region: 'us-east-1' },
    };
    await Promise.all([r.apply(ping('tick')), r.apply(sqs)]);
    const owner = sourceOwner('PingSource/demo/tick', 2);
    const condition = (status: 'True' | 'False', reason: string, message?: string) => ({
      type: 'Ready' as const,
      status,
      reason,
      ...(message ? { message } : {}),
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    const report = (index: number, sources: { d: SourceDefinition; ready: ReturnType<typeof condition> }[]) =>
      acceptReport(r.feed, {
        id: `sources-${index + 1}`,
        component: 'sources',
        applied: 1,
        status: {
          shard: `${index}/2`,
          sources: sources.map(({ d, ready }) => ({
            key: `${d.kind}/${d.namespace}/${d.name}`,
            apiVersion: d.apiVersion,
            kind: d.kind,
            namespace: d.namespace,
            name: d.name,
            ready,
          })),
        },
      });
    const byName = () => Object.fromEntries(r.statuses().map((s) => [s.name, s.ready]));
    // Only the owner has reported: the PingSource is Ready, the SqsSource waits for the other member.
    report(owner, [
      { d: ping('tick'), ready: condition('True', 'Started') },
      { d: sqs, ready: condition('True', 'Started') },
    ]);
    const other = 1 - owner;
    expect(byName().tick).toMatchObject({ status: 'True' });
    expect(byName().orders).toMatchObject({ status: 'Unknown', reason: 'Starting' });
    expect(byName().orders?.message).toBe(
      `waiting for sources process sources-${other + 1} (shard ${other}/2) to run generation 1 (1 of 2 members Ready)`,
    );
    // The other member cannot reach the queue: the SqsSource says so, naming it.
    report(other, [{ d: sqs, ready: condition('False', 'QueueNotFound', 'no such queue') }]);
    expect(byName().orders).toMatchObject({
      status: 'False',
      reason: 'QueueNotFound',
      message: `sources-${other + 1} (shard ${other}/2): no such queue (1 of 2 members Ready)`,
    });
    expect(byName().tick).toMatchObject({ status: 'True' });
    report(other, [{ d: sqs, ready: condition('True', 'Started') }]);
    expect(byName().orders).toMatchObject({ status: 'True' });
    expect(r.info().map((m) => [m.id, m.shard, m.sources])).toEqual([
      ['sources-1', '0/2', owner === 0 ? 2 : 1],
      ['sources-2', '1/2', owner === 1 ? 2 : 1],
    ]);
  });
});
