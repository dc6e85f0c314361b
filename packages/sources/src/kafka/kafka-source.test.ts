// KafkaSource end to end: the harness's real Kafka, the real runner/emitter, a real HTTP sink.

import { type PlainEvent, toKafkaBinary } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SourceDefinition } from '../sdk/adapter.js';
import { sourceKey } from '../sdk/runner.js';
import { kafkaTestTopics } from '../testing/kafka-test-topics.js';
import { closeSourceTestBed, startSourceTestBed, useSourceTestBed } from '../testing/source-test-bed.js';
import { testSourceDefinition } from '../testing/test-source-definition.js';
import { uniqueName as unique } from '../testing/unique-name.js';
import { waitUntil as until } from '../testing/wait-until.js';
import { createKafkaSourceAdapter, kafkaSourceAdapter } from './kafka-source.js';

const brokers = inject('kafkaBrokers');
const quiet = pino({ level: process.env.KS_LOG ?? 'silent' });
const kafka = kafkaTestTopics(brokers, 'kafka-source-test');
const { admin, createTopic, produce, committed } = kafka;

beforeAll(() => kafka.connect());
afterAll(() => kafka.disconnect());

const groupOf = (def: SourceDefinition) => (def.spec as { consumerGroup: string }).consumerGroup;

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (found?.values ?? []) as { labels: Record<string, unknown>; value: number }[];
  return (
    values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))?.value ?? 0
  );
}

const ADAPTER_OPTIONS = {
  lagIntervalMs: 300,
  redeliveryPauseMs: 200,
  sessionTimeoutMs: 6_000,
  maxWaitTimeMs: 200,
  reconnectDelayMs: 300,
  startWaitMs: 8_000,
} as const;

describe('KafkaSource', () => {
  const bed = useSourceTestBed(() => ({
    adapters: createKafkaSourceAdapter(ADAPTER_OPTIONS),
    logger: quiet,
  }));

  function source(
    name: string,
    spec: Record<string, unknown>,
    extra: Partial<SourceDefinition> = {},
  ): SourceDefinition {
    return {
      ...testSourceDefinition({
        apiVersion: 'sources.knative.dev/v1',
        kind: 'KafkaSource',
        name,
        sinkUrl: bed.sink.url,
        spec: { bootstrapServers: brokers, consumerGroup: unique('group'), ...spec },
        delivery: {
          retry: 2,
          backoffPolicy: 'linear',
          backoffDelayMs: 100,
          maxBackoffMs: 200,
          timeoutMs: 2_000,
        },
      }),
      ...extra,
    };
  }

  it('turns plain records into dev.knative.kafka.event with Knative attributes, key, headers and data', async () => {
    const topic = await createTopic();
    await produce(topic, [
      {
        key: 'order-7',
        value: '{"amount": 12}',
        timestamp: '1700000000123',
        headers: { 'content-type': 'Application/JSON', 'X-Trace_ID': 'abc-1' },
      },
      { key: null, value: null, timestamp: '1700000000456' },
      { value: Buffer.from([0, 1, 2, 255]) },
    ]);
    const def = source('orders', { topics: [topic], initialOffset: 'earliest' });
    def.ceOverrides = { extensions: { team: 'blue' } };
    const status = await bed.runner.apply(def);
    expect(status.ready.status).toBe('True');
    await bed.sink.waitFor((r) => r.length >= 3, 15_000);
    const [first, second, third] = bed.sink.accepted();
    expect(first).toMatchObject({
      specversion: '1.0',
      id: 'partition:0/offset:0',
      source: `/apis/v1/namespaces/demo/kafkasources/orders#${topic}`,
      subject: 'partition:0#0',
      type: 'dev.knative.kafka.event',
      time: '2023-11-14T22:13:20.123Z',
      datacontenttype: 'application/json',
      key: 'order-7',
      partitionkey: 'order-7',
      kafkaheaderxtraceid: 'abc-1',
      team: 'blue',
    });
    // The value goes out byte for byte.
    expect(bed.sink.requests[0]?.body.toString()).toBe('{"amount": 12}');
    expect(second).toMatchObject({ id: 'partition:0/offset:1', subject: 'partition:0#1' });
    expect(second?.key).toBeUndefined();
    expect(second?.data).toBeUndefined();
    expect(bed.sink.requests[1]?.body.length).toBe(0);
    expect(third?.id).toBe('partition:0/offset:2');
    expect(bed.sink.requests[2]?.body).toEqual(Buffer.from([0, 1, 2, 255]));
    await until(async () => (await committed(groupOf(def), topic)) === 3, 5_000, 'commit 3');
  });

  it('passes binary and structured CloudEvent records through unchanged', async () => {
    const topic = await createTopic();
    // No time: a pass-through event gets none added.
    const binary: PlainEvent = {
      specversion: '1.0',
      id: 'b-1',
      source: '/producer/a',
      type: 'com.example.created',
      subject: 'thing-1',
      datacontenttype: 'application/json',
      color: 'red',
      data: Buffer.from('{ "n": 1.0 }'),
    };
    const structured = {
      specversion: '1.0',
      id: 's-1',
      source: '/producer/b',
      type: 'com.example.updated',
      time: '2024-01-02T03:04:06Z',
      datacontenttype: 'text/plain',
      shape: 'round',
      data: 'hello',
    };
    await produce(topic, [
      toKafkaBinary(binary),
      { value: JSON.stringify(structured), headers: { 'content-type': 'application/cloudevents+json' } },
    ]);
    const def = source('passthrough', { topics: [topic], initialOffset: 'earliest' });
    await bed.runner.apply(def);
    await bed.sink.waitFor((r) => r.length >= 2, 15_000);
    const [a, b] = bed.sink.accepted();
    // Exactly the attributes of the record (no time, no key added) and its data bytes.
    expect(a).toEqual(binary);
    expect(bed.sink.requests[0]?.body.toString()).toBe('{ "n": 1.0 }');
    const { data: text, ...structuredAttributes } = structured;
    expect(b).toEqual({ ...structuredAttributes, data: Buffer.from(text) });
    expect(bed.sink.requests[1]?.headers['ce-type']).toBe('com.example.updated');
  });

  it('starts a new group at the earliest record or only at new ones (latest)', async () => {
    const topic = await createTopic();
    await produce(topic, [{ value: 'old' }]);
    const earliest = source('from-earliest', { topics: [topic], initialOffset: 'earliest' });
    const latest = source('from-latest', { topics: [topic], initialOffset: 'latest' });
    await bed.runner.apply(earliest);
    await bed.runner.apply(latest);
    // Keep producing fresh records until the latest source saw one: it joined after "old".
    const seen = (name: string) =>
      bed.sink.requests.filter((r) => String(r.headers['ce-source']).includes(`/kafkasources/${name}#`));
    await until(
      async () => {
        if (seen('from-latest').length > 0) return true;
        await produce(topic, [{ value: 'new' }]);
        return false;
      },
      20_000,
      'the latest source to receive a new record',
    );
    await until(() => seen('from-earliest').length >= 2, 10_000, 'earliest source');
    expect(seen('from-earliest')[0]?.body.toString()).toBe('old');
    expect(seen('from-latest').map((r) => r.body.toString())).not.toContain('old');
  });

  it('runs on two members at once (placement every-member): one consumer group, partitions split, each record once', async () => {
    // A second runner, as a second `eddy sources` process would have, into the same sink.
    const other = await startSourceTestBed({
      adapters: createKafkaSourceAdapter(ADAPTER_OPTIONS),
      logger: quiet,
    });
    try {
      expect(kafkaSourceAdapter.placement).toBe('every-member');
      const topic = await createTopic(4);
      const def = source('shared', { topics: [topic], initialOffset: 'earliest' });
      await bed.runner.apply(def);
      await other.runner.apply(def);
      // The second joined the group: the rebalance that gave it partitions is done.
      for (const runner of [bed.runner, other.runner])
        await until(() => runner.statuses()[0]?.ready.status === 'True', 20_000, 'both in the group');
      const values = Array.from({ length: 40 }, (_, i) => `r${i}`);
      await produce(
        topic,
        values.map((value, i) => ({ value, partition: i % 4 })),
      );
      await bed.sink.waitFor((r) => r.length >= values.length, 20_000);
      await sleep(500);
      const bodies = bed.sink.requests.map((r) => r.body.toString());
      expect(bodies.length).toBe(values.length);
      expect(new Set(bodies)).toEqual(new Set(values));
      const received = await Promise.all(
        [bed.registry, other.registry].map((r) =>
          metric(r, 'eddy_source_events_received_total', { kind: 'KafkaSource', name: 'shared' }),
        ),
      );
      expect(received[0], 'the first member has partitions').toBeGreaterThan(0);
      expect(received[1], 'the second member has partitions').toBeGreaterThan(0);
      expect(received[0]! + received[1]!).toBe(values.length);
    } finally {
      await closeSourceTestBed(other);
    }
  });

  it('commits nothing while the sink is down, then delivers everything; reports the lag', async () => {
    const topic = await createTopic(2);
    await bed.sink.down();
    await produce(
      topic,
      Array.from({ length: 6 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
    );
    const def = source('outage', { topics: [topic], initialOffset: 'earliest', ordering: 'unordered' });
    const group = groupOf(def);
    await bed.runner.apply(def);
    const lagLabels = { kind: 'KafkaSource', namespace: 'demo', name: 'outage' };
    await until(
      async () => (await metric(bed.registry, 'eddy_source_upstream_lag', lagLabels)) === 6,
      10_000,
      'lag 6',
    );
    // Several delivery rounds fail (3 attempts ~300 ms each, then redelivery) while nothing moves.
    await sleep(2_500);
    expect(await committed(group, topic, 0)).toBe(-1);
    expect(await committed(group, topic, 1)).toBe(-1);
    expect(await metric(bed.registry, 'eddy_source_events_received_total', lagLabels)).toBeGreaterThan(6);
    await bed.sink.up();
    await until(() => new Set(bed.sink.accepted().map((e) => e.id)).size === 6, 10_000, 'all six events');
    const bodies = bed.sink.accepted().map((e) => Buffer.from(e.data as Uint8Array).toString());
    expect(new Set(bodies)).toEqual(new Set(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']));
    await until(
      async () => (await committed(group, topic, 0)) === 3 && (await committed(group, topic, 1)) === 3,
      5_000,
      'commits at 3/3',
    );
    await until(
      async () => (await metric(bed.registry, 'eddy_source_upstream_lag', lagLabels)) === 0,
      5_000,
      'lag 0',
    );
  });

  it('logs, counts and skips a malformed record and keeps going', async () => {
    const topic = await createTopic();
    await produce(topic, [
      { value: 'before' },
      // Claims to be a binary-mode CloudEvent but has no id.
      { value: 'x', headers: { ce_specversion: '1.0', ce_source: '/s', ce_type: 't' } },
      { value: '{not json', headers: { 'content-type': 'application/cloudevents+json' } },
      { value: 'after' },
    ]);
    const def = source('malformed', { topics: [topic], initialOffset: 'earliest' });
    await bed.runner.apply(def);
    await bed.sink.waitFor((r) => r.length >= 2, 15_000);
    expect(bed.sink.accepted().map((e) => e.id)).toEqual(['partition:0/offset:0', 'partition:0/offset:3']);
    const labels = { kind: 'KafkaSource', namespace: 'demo', name: 'malformed', reason: 'malformed' };
    expect(await metric(bed.registry, 'eddy_source_events_failed_total', labels)).toBe(2);
    await until(async () => (await committed(groupOf(def), topic)) === 4, 5_000, 'commit 4');
    expect(bed.runner.statuses()[0]?.ready.status).toBe('True');
  });

  it('resumes from the committed offsets after a restart with nothing lost', async () => {
    const topic = await createTopic();
    await produce(topic, [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const def = source('restart', { topics: [topic], initialOffset: 'earliest' });
    await bed.runner.apply(def);
    await bed.sink.waitFor((r) => r.length >= 3, 15_000);
    await until(async () => (await committed(groupOf(def), topic)) === 3, 5_000, 'commit 3');
    await bed.runner.remove(sourceKey(def));
    await produce(topic, [{ value: 'd' }, { value: 'e' }]);
    await bed.runner.apply(def);
    await bed.sink.waitFor((r) => r.length >= 5, 15_000);
    const ids = bed.sink.accepted().map((e) => e.id);
    expect(ids).toEqual([0, 1, 2, 3, 4].map((o) => `partition:0/offset:${o}`));
    await until(async () => (await committed(groupOf(def), topic)) === 5, 5_000, 'commit 5');
  });

  it('ordered: one record at a time per partition, in offset order', async () => {
    const topic = await createTopic();
    await produce(
      topic,
      Array.from({ length: 5 }, (_, i) => ({ value: `o${i}` })),
    );
    bed.sink.respond = () => ({ status: 202, delayMs: 150 });
    const def = source('ordered', { topics: [topic], initialOffset: 'earliest', ordering: 'ordered' });
    await bed.runner.apply(def);
    await bed.sink.waitFor((r) => r.length >= 5, 15_000);
    expect(bed.sink.requests.map((r) => r.body.toString())).toEqual(['o0', 'o1', 'o2', 'o3', 'o4']);
    const at = bed.sink.requests.map((r) => r.at);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(140);
  });

  it('unordered: records of a partition in parallel, commits never pass the slowest', async () => {
    const topic = await createTopic();
    await produce(
      topic,
      Array.from({ length: 6 }, (_, i) => ({ value: `u${i}` })),
    );
    // The first record is slow; the others are answered at once.
    bed.sink.respond = (req) => ({ status: 202, delayMs: req.body.toString() === 'u0' ? 1_500 : 0 });
    const def = source(
      'unordered',
      { topics: [topic], initialOffset: 'earliest' },
      {
        annotations: { 'kafka.eventing.knative.dev/delivery.order': 'unordered' },
      },
    );
    const group = groupOf(def);
    await bed.runner.apply(def);
    await bed.sink.waitFor((r) => r.length >= 6, 15_000);
    const first = bed.sink.requests[0]!.at;
    // All six arrived while u0 was still pending.
    expect(bed.sink.requests[5]!.at - first).toBeLessThan(1_000);
    expect(await committed(group, topic)).toBe(-1);
    await until(async () => (await committed(group, topic)) === 6, 8_000, 'commit 6 after the slow one');
  });

  it('stop aborts in-flight sends, commits what finished and leaves the group', async () => {
    const topic = await createTopic();
    await produce(
      topic,
      Array.from({ length: 4 }, (_, i) => ({ value: `s${i}` })),
    );
    // s0 and s1 are accepted; s2 hangs until the source stops.
    bed.sink.respond = (req) => ({ status: 202, delayMs: req.body.toString() === 's2' ? 1_900 : 0 });
    const def = source('stopping', { topics: [topic], initialOffset: 'earliest', ordering: 'ordered' });
    const group = groupOf(def);
    await bed.runner.apply(def);
    await bed.sink.waitFor((r) => r.some((x) => x.body.toString() === 's2'), 15_000);
    const started = Date.now();
    await bed.runner.remove(sourceKey(def));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await committed(group, topic)).toBe(2);
    const { groups } = await admin.describeGroups([group]);
    expect(groups[0]?.members).toEqual([]);
    expect(bed.sink.requests.map((r) => r.body.toString())).not.toContain('s3');
  });

  it('reports Ready=False UpstreamUnreachable when Kafka cannot be reached', async () => {
    const def = source('unreachable', { topics: ['nowhere'], bootstrapServers: ['127.0.0.1:1'] });
    await bed.runner.apply(def);
    await until(
      () => bed.runner.statuses()[0]?.ready.reason === 'UpstreamUnreachable',
      10_000,
      'UpstreamUnreachable',
    );
    expect(bed.runner.statuses()[0]?.ready.status).toBe('False');
    expect(bed.runner.statuses()[0]?.ready.message).toBeTruthy();
  });
});
