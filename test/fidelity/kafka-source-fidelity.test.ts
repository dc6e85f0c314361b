// A KafkaSource record that already is a CloudEvent (Kafka protocol binding, binary or structured
// mode, written by a plain kafkajs producer) reaches the sink as that event: no attribute added,
// dropped or changed, data bytes identical. Checked with random events for both kinds of sink:
// a plain HTTP subscriber (one binary-mode POST per event) and an Eddy broker (batch POSTs into
// the log, then the dispatcher's binary-mode delivery), on both event logs.

import { randomBytes } from 'node:crypto';
import {
  createKafkaSourceAdapter,
  createSourceRegistry,
  createSourceRunner,
  type SourceDefinition,
} from '@eddy/sources';
import fc from 'fast-check';
import kafkajs, { type Message } from 'kafkajs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  applyYaml,
  brokerYaml,
  logFactories,
  type ReceivedRequest,
  startDataPlane,
  startSubscriber,
  triggerYaml,
  unique,
  waitFor,
} from '../broker/helpers.ts';
import {
  type Delivered,
  expected,
  FIDELITY_RUN,
  jsonText,
  randomEvent,
  received,
  type SentEvent,
  SPACINGS,
  tagged,
} from './random-events.ts';

const brokers = inject('kafkaBrokers');
const kafka = new kafkajs.Kafka({
  clientId: 'kafka-source-fidelity',
  brokers,
  logLevel: kafkajs.logLevel.NOTHING,
});
const admin = kafka.admin();
const producer = kafka.producer();
const quiet = pino({ level: 'silent' });

beforeAll(async () => {
  await Promise.all([admin.connect(), producer.connect()]);
});
afterAll(async () => {
  await Promise.all([admin.disconnect(), producer.disconnect()]);
});

/** The record a producer that speaks the Kafka binding (not Eddy) writes for `event`. */
function record(event: SentEvent, structured: boolean, spacing: string): Message {
  if (structured) {
    return { value: jsonText(event, spacing), headers: { 'content-type': 'application/cloudevents+json' } };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    if (name === 'datacontenttype') headers['content-type'] = String(value);
    else headers[`ce_${name}`] = String(value);
  }
  const { data } = event;
  const value =
    data === undefined ? null : data.kind === 'bytes' ? data.bytes : Buffer.from(data.text, 'utf8');
  return { value, headers };
}

async function runKafkaSource(topic: string, sink: string, sinkAcceptsBatch: boolean): Promise<void> {
  const runner = createSourceRunner({
    adapters: (() => {
      const registry = createSourceRegistry({ builtins: false });
      registry.register(createKafkaSourceAdapter({ maxWaitTimeMs: 100, sessionTimeoutMs: 6_000 }));
      return registry;
    })(),
    logger: quiet,
  });
  onTestFinished(() => runner.close());
  const definition: SourceDefinition = {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'KafkaSource',
    namespace: 'fidelity',
    name: unique('ks'),
    spec: {
      bootstrapServers: brokers,
      topics: [topic],
      consumerGroup: unique('group'),
      initialOffset: 'earliest',
      sink: { uri: sink },
    },
    sink,
    sinkAcceptsBatch,
  };
  const status = await runner.apply(definition);
  expect(status.ready.status, JSON.stringify(status.ready)).toBe('True');
}

const idOf = (r: ReceivedRequest) => decodeURIComponent(String(r.headers['ce-id']));

const recordCase = fc.record({
  event: randomEvent,
  structured: fc.boolean(),
  spacing: fc.constantFrom(...SPACINGS),
});

function check(requests: ReceivedRequest[], cases: { event: SentEvent; structured: boolean }[]): void {
  const got = new Map<string, Delivered>(requests.map((r) => [idOf(r), received(r.headers, r.body)]));
  for (const c of cases) {
    const id = String(c.event.attributes.id);
    const want = expected(c.event, c.structured ? 'json' : 'binary');
    const actual = got.get(id);
    expect(actual, `record ${id}: not delivered`).toBeDefined();
    expect(actual?.attributes, `record ${id}: attributes`).toEqual(want.attributes);
    expect(
      actual?.body.equals(want.body),
      `record ${id}: data bytes ${actual?.body.toString('hex')} vs ${want.body.toString('hex')}`,
    ).toBe(true);
  }
}

describe('event fidelity through a KafkaSource', () => {
  it('a plain HTTP sink gets every CloudEvent record unchanged (binary and structured records)', {
    timeout: 120_000,
  }, async () => {
    const topic = unique('ks-fidelity');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const subscriber = await startSubscriber();
    await runKafkaSource(topic, subscriber.url, false);
    let run = 0;
    let expectedCount = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(recordCase, { minLength: 5, maxLength: 20 }), async (generated) => {
        run++;
        const cases = generated.map((c, i) => ({
          ...c,
          event: tagged(c.event, `ks${run}-${i}-${randomBytes(2).toString('hex')}`),
        }));
        await producer.send({
          topic,
          acks: -1,
          messages: cases.map((c) => record(c.event, c.structured, c.spacing)),
        });
        expectedCount += cases.length;
        await waitFor('every record at the sink', () => subscriber.received.length >= expectedCount, 60_000);
        check(subscriber.received, cases);
      }),
      FIDELITY_RUN,
    );
  });

  describe.each(logFactories)('into an Eddy broker ($name log), batched', (factory) => {
    it('the Trigger subscriber gets every CloudEvent record unchanged', { timeout: 120_000 }, async () => {
      const topic = unique('ks-fidelity');
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      const { dataPlane } = await startDataPlane(factory);
      const subscriber = await startSubscriber();
      const ns = unique('ks-fidelity');
      await applyYaml(
        dataPlane,
        [
          brokerYaml(ns),
          triggerYaml(ns, 'all', `  broker: default\n  subscriber:\n    uri: ${subscriber.url}\n`),
        ].join('\n---\n'),
      );
      await runKafkaSource(topic, `${dataPlane.url}/${ns}/default`, true);
      const cases = fc.sample(recordCase, 60).map((c, i) => ({ ...c, event: tagged(c.event, `ksb-${i}`) }));
      await producer.send({
        topic,
        acks: -1,
        messages: cases.map((c) => record(c.event, c.structured, c.spacing)),
      });
      await waitFor(
        'every record through the broker',
        () => subscriber.received.length >= cases.length,
        60_000,
      );
      check(subscriber.received, cases);
    });
  });
});
