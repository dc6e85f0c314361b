// KafkaSink under `eddy dev` against a real Kafka (KAFKA_BROKERS or the harness's): the Knative docs'
// two KafkaSink manifests (../shared/conformance/knative-docs-manifests/35-*, 36-*) with their
// bootstrapServers pointed at the test Kafka deliver HTTP events, binary and structured, into their
// topics, where a plain kafkajs consumer reads them and the cloudevents SDK's Kafka binding decodes
// the same events; a Trigger delivers to a KafkaSink by ref; a sink whose cluster cannot be reached is
// not Ready and answers 503 without acknowledging anything; an auth Secret with SASL over TLS reaches
// the secure harness; and `eddy dev --kafka` (ingress child processes) runs sinks too.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka as CeKafka, type KafkaMessage as CeKafkaMessage, type CloudEvent } from 'cloudevents';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { unique } from '../broker/helpers.ts';
import { freePorts } from '../harness/free-ports.ts';
import { type SecureKafka, startSecureKafka } from '../harness/kafka-secure.ts';
import { waitFor } from '../harness/wait.ts';
import { ROOT, type RunningDev, runEddy, spawnEddyDev } from './helpers.ts';

const CORPUS = resolve(ROOT, '../shared/conformance/knative-docs-manifests');
const DOCS = ['35-kafkasink-kafka-sink.yaml', '36-kafkasink-kafka-sink.yaml'].map((f) => join(CORPUS, f));
const corpusMissing = DOCS.find((f) => !existsSync(f));

/** A docs manifest made runnable here: its own name, topic and the test Kafka; else as written. */
function docsSink(
  file: string,
  name: string,
  topic: string,
  servers: string,
  edit = (t: string) => t,
): string {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain('my-cluster-kafka-bootstrap.kafka:9092');
  return edit(
    text
      .replace('name: my-kafka-sink', `name: ${name}`)
      .replace('topic: mytopic', `topic: ${topic}`)
      .replace('my-cluster-kafka-bootstrap.kafka:9092', servers),
  );
}

interface Read {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Every record of `topic` until `count` arrived, read by a new consumer group from the beginning. */
async function readTopic(config: KafkaConfig, topic: string, count: number): Promise<Read[]> {
  const kafka = new Kafka({ ...config, clientId: 'kafka-sink-test', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: unique('kafka-sink-reader'), maxWaitTimeInMs: 200 });
  const records: Read[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        records.push({ key: message.key?.toString() ?? null, value: message.value, headers });
      },
    });
    await waitFor(`${count} record(s) in topic ${topic}`, () => records.length >= count || undefined, {
      timeoutMs: 60_000,
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Creates `topics` as whoever manages a Knative user's Kafka would (the docs' sinks do not own theirs). */
async function createTopics(config: KafkaConfig, topics: string[]): Promise<void> {
  const admin = new Kafka({ ...config, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: 1 })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** What the cloudevents SDK's Kafka binding decodes a record to (it wants strings for header values). */
function sdkEvent(record: Read): CloudEvent<unknown> {
  return CeKafka.toEvent({
    key: record.key ?? undefined,
    value: record.value,
    headers: record.headers,
    body: record.value,
  } as unknown as CeKafkaMessage) as CloudEvent<unknown>;
}

interface SendOptions {
  mode: 'binary' | 'structured';
  id: string;
  type: string;
  data: unknown;
  contentType?: string;
}

const ATTRIBUTES = {
  source: '/kafka-sink-test',
  time: '2026-12-07T02:00:00.000Z',
  partitionkey: 'customer-7',
  region: 'eu',
};

/** POSTs one event in the HTTP binding's `mode`; the answer's status and body. */
async function send(url: string, o: SendOptions): Promise<{ status: number; body: string }> {
  const contentType = o.contentType ?? 'application/json';
  const body = Buffer.isBuffer(o.data) ? o.data : Buffer.from(JSON.stringify(o.data));
  const res =
    o.mode === 'binary'
      ? await fetch(url, {
          method: 'POST',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': o.id,
            'ce-type': o.type,
            'ce-source': ATTRIBUTES.source,
            'ce-time': ATTRIBUTES.time,
            'ce-partitionkey': ATTRIBUTES.partitionkey,
            'ce-region': ATTRIBUTES.region,
            'content-type': contentType,
          },
          body,
        })
      : await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents+json' },
          body: JSON.stringify({
            specversion: '1.0',
            id: o.id,
            type: o.type,
            ...ATTRIBUTES,
            datacontenttype: contentType,
            data: o.data,
          }),
        });
  return { status: res.status, body: await res.text() };
}

interface SinkStatus {
  ready?: { status: string; reason?: string; message?: string };
  url?: string;
}

async function sinkStatus(name: string, dataDir: string): Promise<SinkStatus> {
  const r = await runEddy(['get', 'kafkasink', name, '-o', 'json', '--data-dir', dataDir]);
  if (r.code !== 0) return {};
  const o = JSON.parse(r.stdout) as {
    status?: {
      conditions?: { type: string; status: string; reason?: string; message?: string }[];
      address?: { url: string };
    };
  };
  return {
    ...(o.status?.conditions ? { ready: o.status.conditions.find((c) => c.type === 'Ready') } : {}),
    ...(o.status?.address ? { url: o.status.address.url } : {}),
  } as SinkStatus;
}

async function readyAddress(name: string, dataDir: string): Promise<string> {
  return waitFor(
    `KafkaSink ${name} Ready with an address`,
    async () => {
      const s = await sinkStatus(name, dataDir);
      return s.ready?.status === 'True' ? s.url : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

function startDev(dir: string, args: string[], env: Record<string, string> = {}): RunningDev {
  const dev = spawnEddyDev(args, dir, env);
  onTestFinished(async () => {
    if (dev.child.exitCode === null) {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  });
  return dev;
}

/** The attributes a reader should find, whichever mode the sink wrote. */
function expectSameEvent(event: CloudEvent<unknown>, id: string, type: string): void {
  expect(event.id).toBe(id);
  expect(event.type).toBe(type);
  expect(event.source).toBe(ATTRIBUTES.source);
  expect(event.time).toBe(ATTRIBUTES.time);
  expect(event.region).toBe(ATTRIBUTES.region);
  expect(event.partitionkey).toBe(ATTRIBUTES.partitionkey);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eddy-kafka-sink-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(corpusMissing !== undefined)('KafkaSink under eddy dev (the docs manifests)', () => {
  it('delivers binary and structured events into the topics, through a Trigger too; an unreachable cluster is not Ready and answers 503', {
    timeout: 180_000,
  }, async () => {
    const servers = inject('kafkaBrokers').join(',');
    const kafkaConfig: KafkaConfig = { brokers: inject('kafkaBrokers') };
    const [binaryTopic, structuredTopic, defaultTopic] = ['ks-binary', 'ks-structured', 'ks-default'].map(
      unique,
    ) as [string, string, string];
    const [deadPort] = (await freePorts(1)) as [number];
    const work = mkdtempSync(join(dir, 'docs-'));
    writeFileSync(
      join(work, 'sinks.yaml'),
      [
        // 35: no contentMode (binary by default); 36: contentMode binary, and again as structured.
        docsSink(DOCS[0]!, 'docs-default', defaultTopic, servers),
        docsSink(DOCS[1]!, 'docs-binary', binaryTopic, servers),
        docsSink(DOCS[1]!, 'docs-structured', structuredTopic, servers, (t) =>
          t.replace(/contentMode: binary.*$/m, 'contentMode: structured'),
        ),
        docsSink(DOCS[0]!, 'unreachable', unique('ks-never'), `127.0.0.1:${deadPort}`),
        'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default, namespace: default}\n',
        [
          'apiVersion: eventing.knative.dev/v1',
          'kind: Trigger',
          'metadata: {name: to-kafka, namespace: default}',
          'spec:',
          '  broker: default',
          '  filter: {attributes: {type: via.trigger}}',
          '  subscriber:',
          '    ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: docs-default}',
          '',
        ].join('\n'),
      ].join('\n---\n'),
    );
    // Without numPartitions and replicationFactor the topic is the user's to create (Knative's rule):
    // two exist from the start, the third only once the sink said it is missing.
    await createTopics(kafkaConfig, [binaryTopic, structuredTopic]);
    const dataDir = join(work, '.eddy');
    const [port] = (await freePorts(1)) as [number];
    const dev = startDev(work, ['-f', 'sinks.yaml', '--port', String(port), '--data-dir', dataDir]);
    await dev.waitFor(/KafkaSink default\/docs-structured\s+Ready/, 90_000);
    const missing = await waitFor(
      'KafkaSink docs-default to miss its topic',
      async () => {
        const s = await sinkStatus('docs-default', dataDir);
        return s.ready?.status === 'False' ? s : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(missing.ready).toMatchObject({ reason: 'TopicNotPresent' });
    expect(missing.ready?.message).toContain(`topic "${defaultTopic}" on ${servers} does not exist`);
    expect((await send(missing.url!, { mode: 'binary', id: 'm-1', type: 'early', data: {} })).status).toBe(
      503,
    );
    await createTopics(kafkaConfig, [defaultTopic]);
    await readyAddress('docs-default', dataDir);

    // Binary-mode sink: ce_* headers, content-type, value = the data bytes unchanged.
    const binary = await readyAddress('docs-binary', dataDir);
    expect(binary).toBe(`http://127.0.0.1:${port}/kafkasinks/default/docs-binary`);
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    expect(
      (await send(binary, { mode: 'binary', id: 'b-1', type: 'order.created', data: { total: 12.5 } }))
        .status,
    ).toBe(202);
    expect(
      (await send(binary, { mode: 'structured', id: 'b-2', type: 'order.created', data: { n: 2 } })).status,
    ).toBe(202);
    expect(
      (
        await send(binary, {
          mode: 'binary',
          id: 'b-3',
          type: 'blob',
          data: bytes,
          contentType: 'application/octet-stream',
        })
      ).status,
    ).toBe(202);
    const binaryRecords = await readTopic(kafkaConfig, binaryTopic, 3);
    const byId = new Map(binaryRecords.map((r) => [r.headers.ce_id, r]));
    expect(byId.get('b-1')?.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'order.created',
      ce_source: ATTRIBUTES.source,
      ce_region: 'eu',
      'content-type': 'application/json',
    });
    expect(byId.get('b-1')?.key).toBe('customer-7');
    expect(byId.get('b-1')?.value?.toString()).toBe('{"total":12.5}');
    expect(Buffer.compare(byId.get('b-3')!.value!, bytes)).toBe(0);
    for (const [id, type, data] of [
      ['b-1', 'order.created', { total: 12.5 }],
      ['b-2', 'order.created', { n: 2 }],
    ] as const) {
      const event = sdkEvent(byId.get(id)!);
      expectSameEvent(event, id, type);
      expect(event.data).toEqual(data);
    }
    expect(Buffer.compare(sdkEvent(byId.get('b-3')!).data as Buffer, bytes)).toBe(0);

    // Structured-mode sink: the JSON event as the value.
    const structured = await readyAddress('docs-structured', dataDir);
    expect(
      (await send(structured, { mode: 'binary', id: 's-1', type: 'order.created', data: { a: [1, 2] } }))
        .status,
    ).toBe(202);
    expect(
      (await send(structured, { mode: 'structured', id: 's-2', type: 'order.paid', data: 'text' })).status,
    ).toBe(202);
    const structuredRecords = await readTopic(kafkaConfig, structuredTopic, 2);
    for (const record of structuredRecords) {
      expect(record.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
      expect(record.key).toBe('customer-7');
    }
    const decoded = new Map(structuredRecords.map((r) => [sdkEvent(r).id, sdkEvent(r)]));
    expectSameEvent(decoded.get('s-1')!, 's-1', 'order.created');
    expect(decoded.get('s-1')!.data).toEqual({ a: [1, 2] });
    expectSameEvent(decoded.get('s-2')!, 's-2', 'order.paid');
    expect(decoded.get('s-2')!.data).toBe('text');

    // A Trigger whose subscriber is the sink (35, binary by default) delivers into its topic.
    const brokerUrl = `http://127.0.0.1:${port}/default/default`;
    expect(
      (await send(brokerUrl, { mode: 'binary', id: 't-1', type: 'via.trigger', data: { via: 'trigger' } }))
        .status,
    ).toBe(202);
    const [viaTrigger] = await readTopic(kafkaConfig, defaultTopic, 1);
    const triggered = sdkEvent(viaTrigger!);
    expectSameEvent(triggered, 't-1', 'via.trigger');
    expect(triggered.data).toEqual({ via: 'trigger' });

    // Nobody listens on the dead port: not Ready, saying why; events get 503 and are not acknowledged.
    const down = await waitFor(
      'KafkaSink unreachable to be not Ready',
      async () => {
        const s = await sinkStatus('unreachable', dataDir);
        return s.ready?.status === 'False' ? s : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(down.ready).toMatchObject({ reason: 'FailedToCheckTopic' });
    expect(down.ready?.message).toContain(`127.0.0.1:${deadPort}`);
    const refused = await send(down.url!, { mode: 'binary', id: 'u-1', type: 'lost', data: {} });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error).toMatch(/kafka-sink default\/unreachable is not ready/);
  });
});

describe('KafkaSink with an auth Secret (SASL_SSL, SCRAM-SHA-512) on the secure harness', () => {
  let secure: SecureKafka;
  beforeAll(async () => {
    secure = await startSecureKafka();
  }, 240_000);
  afterAll(async () => {
    await secure?.stop();
  });

  it("reaches the cluster with Knative's Secret keys; a wrong password is not Ready", {
    timeout: 180_000,
  }, async () => {
    const topic = unique('ks-secure');
    const work = mkdtempSync(join(dir, 'secure-'));
    const secret = (name: string, password: string) =>
      [
        'apiVersion: v1',
        'kind: Secret',
        `metadata: {name: ${name}, namespace: default}`,
        'stringData:',
        '  protocol: SASL_SSL',
        '  sasl.mechanism: SCRAM-SHA-512',
        `  user: ${secure.username}`,
        `  password: ${password}`,
        '  ca.crt: |',
        ...secure.caPem
          .trim()
          .split('\n')
          .map((l) => `    ${l}`),
        '',
      ].join('\n');
    const sink = (name: string, secretName: string) =>
      `apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata: {name: ${name}, namespace: default}\nspec:\n  topic: ${topic}\n  numPartitions: 1\n  replicationFactor: 1\n  bootstrapServers: [${secure.listeners.saslSsl}]\n  auth: {secret: {ref: {name: ${secretName}}}}\n`;
    writeFileSync(
      join(work, 'secure.yaml'),
      [
        secret('kafka-auth', secure.password),
        secret('wrong-auth', 'not-the-password'),
        sink('secure', 'kafka-auth'),
        sink('wrong', 'wrong-auth'),
      ].join('\n---\n'),
    );
    const dataDir = join(work, '.eddy');
    const [port] = (await freePorts(1)) as [number];
    startDev(work, ['-f', 'secure.yaml', '--port', String(port), '--data-dir', dataDir]);
    const url = await readyAddress('secure', dataDir);
    expect(
      (await send(url, { mode: 'binary', id: 'sec-1', type: 'secure.event', data: { ok: true } })).status,
    ).toBe(202);
    const [record] = await readTopic(
      {
        brokers: [secure.listeners.saslSsl],
        ssl: { ca: [secure.caPem] },
        sasl: { mechanism: 'scram-sha-512', username: secure.username, password: secure.password },
      },
      topic,
      1,
    );
    expectSameEvent(sdkEvent(record!), 'sec-1', 'secure.event');

    const wrong = await waitFor(
      'KafkaSink wrong to be not Ready',
      async () => {
        const s = await sinkStatus('wrong', dataDir);
        return s.ready?.status === 'False' ? s : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(wrong.ready?.message).toMatch(/auth|SASL|password|credentials/i);
    expect(
      (await send(wrong.url!, { mode: 'binary', id: 'sec-2', type: 'secure.event', data: {} })).status,
    ).toBe(503);
  });
});

describe('KafkaSink under eddy dev --kafka --kafka-client kafkajs (ingress child processes)', () => {
  it('delivers an event into the topic through the ingress processes', { timeout: 180_000 }, async () => {
    const brokers = inject('kafkaBrokers');
    const topic = unique('ks-dev-kafka');
    const work = mkdtempSync(join(dir, 'dev-kafka-'));
    writeFileSync(
      join(work, 'sink.yaml'),
      `apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata: {name: archive, namespace: default}\nspec:\n  topic: ${topic}\n  bootstrapServers: [${brokers.join(',')}]\n  contentMode: structured\n  numPartitions: 2\n  replicationFactor: 1\n`,
    );
    const dataDir = join(work, '.eddy');
    const dev = startDev(work, [
      '-f',
      'sink.yaml',
      '--kafka',
      brokers.join(','),
      // The other client than the embedded run's default: the sinks' producers run on both.
      '--kafka-client',
      'kafkajs',
      '--port',
      '0',
      '--data-dir',
      dataDir,
    ]);
    const url = await readyAddress('archive', dataDir);
    // The ingress processes get the sink from the contract feed: retried until they run it.
    let last: { status: number; body: string } | undefined;
    await waitFor(
      'the ingress processes to accept the event',
      async () => {
        last = await send(url, { mode: 'binary', id: 'k-1', type: 'dev.kafka', data: { n: 1 } });
        return last.status === 202 || undefined;
      },
      {
        timeoutMs: 60_000,
        describe: () => `last answer: ${last?.status} ${last?.body}\n${dev.lines.join('\n')}`,
      },
    );
    const records = await readTopic({ brokers }, topic, 1);
    const event = sdkEvent(records[0]!);
    expectSameEvent(event, 'k-1', 'dev.kafka');
    expect(event.data).toEqual({ n: 1 });
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(meta?.partitions).toHaveLength(2);
    } finally {
      await admin.disconnect();
    }
  });
});
