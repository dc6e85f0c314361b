// The Knative docs' Sequence and Parallel samples (../shared/conformance/knative-docs-manifests) run
// unchanged under `eddy dev --kafka` (channels, subscriptions and replies on a real Kafka), their
// Services being local processes that transform the event as the samples' images do
// (fixtures/flow-service.mjs). Also a Sequence on KafkaChannels, Knative's per-child statuses and
// `eddy describe` listing a flow's children.

import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { waitFor } from '../harness/wait.ts';
import { ROOT, runEddy, sendJsonEvent, spawnEddyDev } from './helpers.ts';

const CORPUS = resolve(ROOT, '../shared/conformance/knative-docs-manifests');
const present = existsSync(join(CORPUS, 'index.json'));
if (!present) console.warn(`knative-docs corpus not found at ${CORPUS}: skipping the flows docs samples`);

const SERVICE = join(ROOT, 'test/cli/fixtures/flow-service.mjs');
const dir = mkdtempSync(join(tmpdir(), 'eddy-flows-docs-'));
afterAll(() => {
  if (!process.env.EDDY_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

const eventsFile = (service: string, namespace = 'default') =>
  join(dir, 'events', `${namespace}-${service}.jsonl`);

/** A Knative Service running the fixture with `env`, one replica kept up so the test does not wait on cold starts. */
function service(name: string, env: Record<string, string>, namespace?: string): string {
  const vars = Object.entries(env)
    .map(([k, v]) => `            - {name: ${k}, value: ${JSON.stringify(v)}}`)
    .join('\n');
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}${namespace ? `\n  namespace: ${namespace}` : ''}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1"}
    spec:
      containers:
        - command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(SERVICE)}]
          env:
${vars}
`;
}

const display = (name: string, namespace = 'default') =>
  service(name, { ROLE: 'display', EVENTS_FILE: eventsFile(name, namespace) }, namespace);

/** A corpus file's documents with `namespace` set, as `kubectl apply -n` would. */
function inNamespace(file: string, namespace: string): string {
  return parseAllDocuments(readFileSync(join(CORPUS, file), 'utf8'))
    .map((d) => {
      d.setIn(['metadata', 'namespace'], namespace);
      return d.toString();
    })
    .join('---\n');
}

interface Seen {
  attributes: Record<string, string>;
  data: { id?: string; n?: number; message?: string };
}
const seen = (service: string, namespace = 'default'): Seen[] =>
  existsSync(eventsFile(service, namespace))
    ? readFileSync(eventsFile(service, namespace), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Seen)
    : [];

const send = (url: string, type: string, data: unknown) => sendJsonEvent(url, type, data, '/flows-docs-test');

describe.skipIf(!present)("the Knative docs' flows samples on Kafka", () => {
  it('Sequences reply step by step (to a Service and to a Broker), Parallels branch by filter, KafkaChannels carry a Sequence', {
    timeout: 240_000,
  }, async () => {
    mkdirSync(join(dir, 'events'));
    mkdirSync(join(dir, 'manifests'));
    const m = (file: string, text: string) => writeFileSync(join(dir, 'manifests', file), text);
    // The docs' manifests as they are.
    for (const file of [
      '33-sequence-sequence-reply-to-event-display.yaml',
      '54-parallel-parallel.yaml',
      '55-parallel-parallel.yaml',
    ])
      m(file, readFileSync(join(CORPUS, file), 'utf8'));
    // The sequence-with-broker-trigger sample uses the same Sequence name: it runs in its own namespace.
    m('52-sequence-sequence.yaml', inNamespace('52-sequence-sequence.yaml', 'with-broker'));
    m('53-trigger-trigger.yaml', inNamespace('53-trigger-trigger.yaml', 'with-broker'));
    const appenders = (namespace?: string, lastType?: string) =>
      [0, 1, 2].map((i) =>
        service(
          ['first', 'second', 'third'][i] as string,
          {
            ROLE: 'append',
            MESSAGE: ` - Handled by ${i}`,
            ...(i === 2 && lastType ? { TYPE: lastType } : {}),
          },
          namespace,
        ),
      );
    m(
      'services.yaml',
      [
        ...appenders(),
        display('event-display'),
        service('even-filter', { ROLE: 'filter', PARITY: 'even' }),
        service('odd-filter', { ROLE: 'filter', PARITY: 'odd' }),
        service('even-transformer', { ROLE: 'transform', MESSAGE: 'we are even!', TYPE: 'even' }),
        service('odd-transformer', { ROLE: 'transform', MESSAGE: 'this is odd!', TYPE: 'odd' }),
        service('me-even-odd-switcher', { ROLE: 'switcher' }),
        service('me-even-transformer', { ROLE: 'transform', MESSAGE: 'we are even!', TYPE: 'even' }),
        service('me-odd-transformer', { ROLE: 'transform', MESSAGE: 'this is odd!', TYPE: 'odd' }),
        display('me-event-display'),
      ].join('---\n'),
    );
    m(
      'with-broker.yaml',
      [
        'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default, namespace: with-broker}\n',
        ...appenders('with-broker', 'samples.http.mod3'),
        display('event-display', 'with-broker'),
        `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: display, namespace: with-broker}
spec:
  broker: default
  filter: {attributes: {type: samples.http.mod3}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: event-display}}
`,
      ].join('---\n'),
    );
    m(
      'kafka-steps.yaml',
      `apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: {name: kafka-steps}
spec:
  channelTemplate:
    apiVersion: messaging.knative.dev/v1beta1
    kind: KafkaChannel
    spec: {numPartitions: 2, replicationFactor: 1}
  steps:
    - ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: first}
    - ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: second}
  reply: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: event-display}}
`,
    );

    const dataDir = join(dir, '.eddy');
    const dev = spawnEddyDev(
      [
        '-f',
        join(dir, 'manifests'),
        '--kafka',
        inject('kafkaBrokers').join(','),
        '--port',
        '0',
        '--data-dir',
        dataDir,
      ],
      dir,
    );
    const get = async (kind: string, name: string, namespace = 'default') => {
      const r = await runEddy(['get', kind, name, '-n', namespace, '-o', 'json', '--data-dir', dataDir]);
      return r.code === 0 ? (JSON.parse(r.stdout) as { status?: Record<string, unknown> }) : undefined;
    };
    const addressOf = (kind: string, name: string, namespace = 'default') =>
      waitFor(
        `${kind} ${namespace}/${name} Ready with an address`,
        async () => {
          const status = (await get(kind, name, namespace))?.status as
            | { conditions?: { type: string; status: string }[]; address?: { url: string } }
            | undefined;
          return status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
            ? status.address?.url
            : undefined;
        },
        { timeoutMs: 120_000, describe: () => dev.lines.slice(-40).join('\n') },
      );
    try {
      // Every Service up first: a delivery that fails is dropped (the samples set no retries).
      const services = [
        ...readFileSync(join(dir, 'manifests', 'services.yaml'), 'utf8').matchAll(/^ {2}name: (\S+)$/gm),
      ]
        .map((x) => `default/${x[1]}`)
        .concat(['first', 'second', 'third', 'event-display'].map((n) => `with-broker/${n}`));
      await waitFor(
        'every Service Ready',
        () => services.every((s) => dev.lines.some((l) => l.startsWith(`Service ${s}  Ready`))),
        { timeoutMs: 120_000, describe: () => dev.lines.slice(-40).join('\n') },
      );
      const sequence = await addressOf('sequence', 'sequence');
      expect(await send(sequence, 'samples.http.text', { id: 'seq-1', message: 'Hello' })).toBe(202);
      const parallel = await addressOf('parallel', 'odd-even-parallel');
      for (const n of [2, 3]) expect(await send(parallel, 'samples.number', { id: `par-${n}`, n })).toBe(202);
      const exclusive = await addressOf('parallel', 'me-odd-even-parallel');
      for (const n of [4, 5]) expect(await send(exclusive, 'samples.number', { id: `me-${n}`, n })).toBe(202);
      const onKafka = await addressOf('sequence', 'kafka-steps');
      expect(await send(onKafka, 'samples.http.text', { id: 'kafka-1', message: 'Hi' })).toBe(202);
      await addressOf('sequence', 'sequence', 'with-broker');
      const broker = await addressOf('broker', 'default', 'with-broker');
      expect(await send(broker, 'dev.knative.sources.ping', { id: 'ping-1', message: 'Ping' })).toBe(202);

      const byId = (service: string, id: string, namespace?: string) =>
        seen(service, namespace).filter((s) => s.data.id === id);
      const expected: [string, string, string?][] = [
        ['event-display', 'seq-1'],
        ['event-display', 'par-2'],
        ['event-display', 'par-3'],
        ['me-event-display', 'me-4'],
        ['me-event-display', 'me-5'],
        ['event-display', 'kafka-1'],
        ['event-display', 'ping-1', 'with-broker'],
      ];
      const missing = () =>
        expected.filter(([svc, id, ns]) => byId(svc, id, ns).length === 0).map(([, id]) => id);
      await waitFor('every sample delivered to its display', () => missing().length === 0, {
        timeoutMs: Number(process.env.EDDY_FLOWS_WAIT_MS ?? 90_000),
        describe: () => `missing: ${missing().join(', ')}\n${dev.lines.slice(-40).join('\n')}`,
      });
      // Sequence -> Service: each step's reply is the next step's input.
      expect(byId('event-display', 'seq-1').map((s) => s.data.message)).toEqual([
        'Hello - Handled by 0 - Handled by 1 - Handled by 2',
      ]);
      // Parallel: each filter passes one of the two; each transformer's reply goes to the Parallel's reply.
      expect(
        ['par-2', 'par-3'].flatMap((id) =>
          byId('event-display', id).map((s) => `${s.attributes.type}:${s.data.message}`),
        ),
      ).toEqual(['even:we are even!', 'odd:this is odd!']);
      // Mutual exclusivity: the switcher's /0 and /1 (cluster-local URIs of an Eddy Service) split them.
      expect(
        ['me-4', 'me-5'].flatMap((id) =>
          byId('me-event-display', id).map((s) => `${s.attributes.type}:${s.data.message}`),
        ),
      ).toEqual(['even:we are even!', 'odd:this is odd!']);
      // On KafkaChannels.
      expect(byId('event-display', 'kafka-1').map((s) => s.data.message)).toEqual([
        'Hi - Handled by 0 - Handled by 1',
      ]);
      // Broker -> Trigger -> Sequence -> reply into the Broker -> Trigger -> display.
      expect(byId('event-display', 'ping-1', 'with-broker').map((s) => s.data.message)).toEqual([
        'Ping - Handled by 0 - Handled by 1 - Handled by 2',
      ]);

      // Knative's per-child statuses.
      const status = (await get('sequence', 'sequence'))?.status as {
        channelStatuses: { channel: { kind: string; name: string }; ready: { status: string } }[];
        subscriptionStatuses: { subscription: { name: string }; ready: { status: string } }[];
        conditions: { type: string; status: string }[];
      };
      expect(
        status.channelStatuses.map((c) => `${c.channel.kind}/${c.channel.name}=${c.ready.status}`),
      ).toEqual([
        'InMemoryChannel/sequence-kn-sequence-0=True',
        'InMemoryChannel/sequence-kn-sequence-1=True',
        'InMemoryChannel/sequence-kn-sequence-2=True',
      ]);
      expect(status.subscriptionStatuses.map((s) => `${s.subscription.name}=${s.ready.status}`)).toEqual([
        'sequence-kn-sequence-0=True',
        'sequence-kn-sequence-1=True',
        'sequence-kn-sequence-2=True',
      ]);
      expect(status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
        'Addressable=True',
        'ChannelsReady=True',
        'Ready=True',
        'SubscriptionsReady=True',
      ]);
      const par = (await get('parallel', 'odd-even-parallel'))?.status as {
        ingressChannelStatus: { channel: { name: string } };
        branchStatuses: {
          filterSubscriptionStatus: { subscription: { name: string }; ready: { status: string } };
        }[];
      };
      expect(par.ingressChannelStatus.channel.name).toBe('odd-even-parallel-kn-parallel');
      expect(par.branchStatuses.map((b) => b.filterSubscriptionStatus.ready.status)).toEqual([
        'True',
        'True',
      ]);

      // describe lists the children; the KafkaChannels are KafkaChannels.
      const described = await runEddy(['describe', 'sequence', 'kafka-steps', '--data-dir', dataDir]);
      expect(described.code).toBe(0);
      expect(described.stdout).toMatch(/Children:/);
      expect(described.stdout).toMatch(/KafkaChannel\s+kafka-steps-kn-sequence-0\s+True/);
      expect(described.stdout).toMatch(/KafkaChannel\s+kafka-steps-kn-sequence-1\s+True/);
      expect(described.stdout).toMatch(/Subscription\s+kafka-steps-kn-sequence-1\s+True/);
    } catch (e) {
      appendFileSync(join(tmpdir(), 'eddy-flows-docs.log'), dev.lines.join('\n'));
      throw e;
    } finally {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  });
});
