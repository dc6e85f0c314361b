// The CloudEvents Kafka binding vectors end to end: each vector's record (headers + payload, binary
// or structured mode) is produced by a bare kafkajs producer into a Broker's topic, as any Kafka
// client on the cluster could, and must reach the Trigger's subscriber with the vector's attributes
// and data. Kafka only: the embedded log has no wire format of its own to test.

import { dataValue, parseHttpRequest } from '@eddy/api';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import {
  conformanceCorpusMissing,
  readKafkaFeatureVectors,
} from '../../packages/api/src/cloudevents/binding-vectors.conformance.ts';
import {
  applyYaml,
  brokerYaml,
  logFactories,
  startDataPlane,
  startSubscriber,
  triggerYaml,
  unique,
  waitFor,
} from './helpers.ts';

const kafkaFactory = logFactories.find((f) => f.name === 'kafka')!;

describe.skipIf(conformanceCorpusMissing !== undefined)(
  'Kafka binding vectors: Kafka record -> broker topic -> dispatcher -> subscriber',
  () => {
    it('delivers every vector with its attributes and data', { timeout: 60_000 }, async () => {
      const vectors = readKafkaFeatureVectors();
      expect(vectors.length).toBeGreaterThan(0);
      const { dataPlane } = await startDataPlane(kafkaFactory);
      const subscriber = await startSubscriber();
      const ns = unique('kvec');
      const contract = await applyYaml(
        dataPlane,
        [
          brokerYaml(ns),
          triggerYaml(ns, 'all', `  broker: default\n  subscriber:\n    uri: ${subscriber.url}\n`),
        ].join('\n---\n'),
      );
      const topic = contract.brokers[0]!.topic;

      const kafka = new Kafka({
        clientId: 'kafka-vectors',
        brokers: inject('kafkaBrokers'),
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        // One vector at a time, so each delivery is matched to its vector by arrival order.
        for (const [index, vector] of vectors.entries()) {
          await producer.send({
            topic,
            acks: -1,
            messages: [{ value: Buffer.from(vector.payload), headers: vector.headers }],
          });
          await waitFor(
            `vector "${vector.name}" at the subscriber`,
            () => subscriber.received.length > index,
          );
          const received = subscriber.received[index]!;
          const [event] = parseHttpRequest(received.headers as Record<string, string>, received.body).events;
          const attributes = event as unknown as Record<string, unknown>;
          for (const [name, value] of Object.entries(vector.attributes)) {
            expect(attributes[name], `${vector.name}: attribute ${name}`).toBe(value);
          }
          // Nothing added: the record timestamp does not become a time attribute.
          if (!('time' in vector.attributes)) expect(event, vector.name).not.toHaveProperty('time');
          expect(dataValue(event!), `${vector.name}: data`).toEqual(JSON.parse(vector.dataJson ?? 'null'));
          // The data bytes are the record's: its whole value in binary mode, the `data` member's
          // JSON text as written in structured mode.
          if (vector.headers['content-type']?.startsWith('application/cloudevents')) {
            expect(vector.payload, vector.name).toContain(received.body.toString('utf8'));
          } else {
            expect(received.body, vector.name).toEqual(Buffer.from(vector.payload));
          }
          // Delivery is binary mode whatever mode the record used.
          expect(received.headers['ce-id'], vector.name).toBe(vector.attributes.id);
        }
      } finally {
        await producer.disconnect();
      }
    });
  },
);
