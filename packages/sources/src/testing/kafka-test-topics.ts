// Topics, records and committed offsets on the harness's Kafka, for KafkaSource tests. Not exported
// from the package index; tests import it by path.

import { sleep } from '@eddy/runtime';
import type { Admin, Message, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import { uniqueName } from './unique-name.js';

export interface KafkaTestTopics {
  admin: Admin;
  /** Call in beforeAll, before the functions below. */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** A new topic with a unique name. */
  createTopic(partitions?: number): Promise<string>;
  produce(topic: string, messages: Message[]): Promise<void>;
  /** The group's committed offset of one partition (-1 when none). */
  committed(groupId: string, topic: string, partition?: number): Promise<number>;
}

export function kafkaTestTopics(brokers: string[], clientId: string): KafkaTestTopics {
  const kafka = new kafkajs.Kafka({ clientId, brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin: Admin = kafka.admin();
  const producer: Producer = kafka.producer();
  return {
    admin,
    async connect() {
      await Promise.all([admin.connect(), producer.connect()]);
    },
    async disconnect() {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    },
    async createTopic(partitions = 1) {
      const topic = uniqueName('ks');
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      return topic;
    },
    async produce(topic, messages) {
      await producer.send({ topic, messages, acks: -1 });
    },
    // kafkajs offset lookups can fail transiently: a few tries.
    async committed(groupId, topic, partition = 0) {
      for (let attempt = 0; ; attempt++) {
        try {
          const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
          const p = entry?.partitions.find((x) => x.partition === partition);
          return Number(p?.offset ?? -1);
        } catch (err) {
          if (attempt >= 5) throw err;
          await sleep(200);
        }
      }
    },
  };
}
