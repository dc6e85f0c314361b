// KafkaSource into a real Eddy broker ingress (sinkAcceptsBatch): the harness's Kafka, the real
// runner/emitter, batch POSTs into the embedded event log.

import { dataValue, toHttpBinary } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import {
  createKafkaSourceAdapter,
  createSourceRegistry,
  createSourceRunner,
  type SourceDefinition,
  type SourceRunner,
} from '@eddy/sources';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { kafkaTestTopics } from '../../packages/sources/src/testing/kafka-test-topics.ts';
import { uniqueName as unique } from '../../packages/sources/src/testing/unique-name.ts';
import { waitUntil as until } from '../../packages/sources/src/testing/wait-until.ts';
import { type EddyIngress, startEddyIngress } from './eddy-ingress.ts';

const brokers = inject('kafkaBrokers');
const quiet = pino({ level: process.env.KS_LOG ?? 'silent' });
const kafka = kafkaTestTopics(brokers, 'kafka-source-batch-test');
const { createTopic, produce, committed } = kafka;

beforeAll(() => kafka.connect());
afterAll(() => kafka.disconnect());

const groupOf = (def: SourceDefinition) => (def.spec as { consumerGroup: string }).consumerGroup;

describe('KafkaSource into an Eddy broker ingress (sinkAcceptsBatch)', () => {
  let broker: EddyIngress;
  let runner: SourceRunner;

  beforeEach(async () => {
    const adapters = createSourceRegistry({ builtins: false });
    adapters.register(
      createKafkaSourceAdapter({
        redeliveryPauseMs: 200,
        sessionTimeoutMs: 6_000,
        maxWaitTimeMs: 200,
        reconnectDelayMs: 300,
        startWaitMs: 8_000,
      }),
    );
    runner = createSourceRunner({ adapters, logger: quiet });
  });
  afterEach(async () => {
    await runner.close();
    await broker.close();
  });

  function source(name: string, topic: string, ordering: 'ordered' | 'unordered'): SourceDefinition {
    return {
      apiVersion: 'sources.knative.dev/v1',
      kind: 'KafkaSource',
      namespace: 'demo',
      name,
      spec: {
        bootstrapServers: brokers,
        topics: [topic],
        consumerGroup: unique('group'),
        initialOffset: 'earliest',
        ordering,
        sink: { uri: broker.url },
      },
      sink: broker.url,
      sinkAcceptsBatch: true,
      ceOverrides: { extensions: { team: 'blue' } },
      delivery: {
        retry: 2,
        backoffPolicy: 'linear',
        backoffDelayMs: 100,
        maxBackoffMs: 200,
        timeoutMs: 5_000,
      },
    };
  }

  for (const ordering of ['unordered', 'ordered'] as const) {
    it(`${ordering}: 600 records arrive intact in far fewer POSTs; offsets committed`, async () => {
      broker = await startEddyIngress();
      const topic = await createTopic(2);
      await produce(
        topic,
        Array.from({ length: 600 }, (_, i) => ({
          key: `k${i}`,
          value: JSON.stringify({ i }),
          partition: i % 2,
          headers: { 'content-type': 'application/json' },
        })),
      );
      const def = source(`batch-${ordering}`, topic, ordering);
      await runner.apply(def);
      await until(async () => (await broker.requests(202)) > 0, 15_000, 'the first POST');
      await until(
        async () =>
          (await committed(groupOf(def), topic, 0)) === 300 &&
          (await committed(groupOf(def), topic, 1)) === 300,
        15_000,
        'commits at 300/300',
      );
      const stored = await broker.stored();
      expect(stored).toHaveLength(600);
      expect(await broker.requests()).toBeLessThanOrEqual(60);
      const byId = new Map(stored.map((e) => [e.id, e]));
      for (let i = 0; i < 600; i++) {
        const partition = i % 2;
        const offset = Math.floor(i / 2);
        const event = byId.get(`partition:${partition}/offset:${offset}`);
        expect(event).toMatchObject({
          type: 'dev.knative.kafka.event',
          source: `/apis/v1/namespaces/demo/kafkasources/batch-${ordering}#${topic}`,
          subject: `partition:${partition}#${offset}`,
          datacontenttype: 'application/json',
          key: `k${i}`,
          partitionkey: `k${i}`,
          team: 'blue',
        });
        // The record value's bytes, stored as they were.
        expect(dataValue(event!)).toEqual({ i });
        expect(toHttpBinary(event!).body.toString()).toBe(JSON.stringify({ i }));
      }
    });
  }

  it('broker ingress down: nothing committed; everything arrives once it is back', async () => {
    broker = await startEddyIngress({ down: true });
    const topic = await createTopic(2);
    await produce(
      topic,
      Array.from({ length: 40 }, (_, i) => ({ value: `d${i}`, partition: i % 2 })),
    );
    const def = source('batch-outage', topic, 'unordered');
    await runner.apply(def);
    // Several delivery rounds fail (3 attempts ~300 ms each, then redelivery) while nothing moves.
    await sleep(2_500);
    expect(await committed(groupOf(def), topic, 0)).toBe(-1);
    expect(await committed(groupOf(def), topic, 1)).toBe(-1);
    await broker.up();
    await until(
      async () =>
        (await committed(groupOf(def), topic, 0)) === 20 && (await committed(groupOf(def), topic, 1)) === 20,
      15_000,
      'commits at 20/20',
    );
    const stored = await broker.stored();
    const ids = new Set(stored.map((e) => e.id));
    expect(ids.size).toBe(40);
    const bodies = new Set(stored.map((e) => Buffer.from(e.data as Uint8Array).toString()));
    expect(bodies).toEqual(new Set(Array.from({ length: 40 }, (_, i) => `d${i}`)));
    expect(await broker.requests(202)).toBeLessThan(40);
  });
});
