import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { type Admin, type Consumer, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import { parseBrokerList } from './global-setup.ts';
import { startKafka } from './kafka.ts';
import { expectPeerDiesWithParent } from './orphan-check.ts';
import { waitFor } from './wait.ts';

const CONFIG_RESOURCE_TOPIC = 2; // kafkajs ConfigResourceTypes.TOPIC

function client(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'harness-test', brokers, logLevel: logLevel.NOTHING });
}

interface Received {
  partition: number;
  message: KafkaMessage;
}

/**
 * Consumes with a consumer group until `count` records arrived, committing each record's next
 * offset itself (no auto-commit), then leaves the group.
 */
async function consumeCommitting(
  kafka: Kafka,
  groupId: string,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<Received[]> {
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const received: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`consumed ${received.length} of ${count} records from ${topic} in ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            received.push({ partition, message });
            await consumer.commitOffsets([
              { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
            ]);
            if (received.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

function waitForLeaders(admin: Admin, topic: string, count: number, timeoutMs = 20_000) {
  return waitFor(
    `${topic}: a leader for each of ${count} partitions`,
    async () => {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = topics[0]?.partitions ?? [];
      return partitions.length === count && partitions.every((p) => p.leader >= 0) ? partitions : undefined;
    },
    { timeoutMs, intervalMs: 200, ignoreErrors: true },
  );
}

describe('shared Kafka from the global setup', () => {
  const brokers = inject('kafkaBrokers');

  it('is handed to test workers through inject() and KAFKA_BROKERS', () => {
    expect(brokers.length).toBeGreaterThan(0);
    expect(process.env.KAFKA_BROKERS).toBe(brokers.join(','));
  });

  it('round-trips idempotent acks=all produce, group consume, commits and admin offset calls', async () => {
    const kafka = client(brokers);
    const admin = kafka.admin();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    const topic = `harness-roundtrip-${randomUUID()}`;
    const groupId = `harness-group-${randomUUID()}`;
    await admin.connect();
    await producer.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })).toBe(
        true,
      );

      const beforeProduce = Date.now() - 1;
      const messages = Array.from({ length: 10 }, (_, i) => ({
        key: `k${i % 3}`,
        value: `v${i}`,
        headers: { ce_id: `id-${i}` },
      }));
      const acks = await producer.send({ topic, acks: -1, messages });
      expect(acks.every((a) => a.errorCode === 0)).toBe(true);

      const received = await consumeCommitting(kafka, groupId, topic, messages.length);
      expect(received.map((r) => r.message.value?.toString()).sort()).toEqual(
        messages.map((m) => m.value).sort(),
      );
      const byValue = new Map(received.map((r) => [r.message.value?.toString(), r.message]));
      expect(byValue.get('v4')?.headers?.ce_id?.toString()).toBe('id-4');
      expect(byValue.get('v4')?.key?.toString()).toBe('k1');
      // Same key => same partition, in produce order.
      for (const key of ['k0', 'k1', 'k2']) {
        const values = received.filter((r) => r.message.key?.toString() === key);
        expect(new Set(values.map((r) => r.partition)).size).toBe(1);
        const order = values.map((r) => Number(r.message.value?.toString().slice(1)));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }

      const ends = await admin.fetchTopicOffsets(topic);
      expect(ends.reduce((sum, p) => sum + Number(p.high), 0)).toBe(messages.length);
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committedByPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
      // A partition nothing was read from has no commit (-1), one that was read from is committed to its end.
      for (const end of ends) {
        expect(committedByPartition.get(end.partition)).toBe(end.high === '0' ? '-1' : end.high);
      }

      const atStart = await admin.fetchTopicOffsetsByTimestamp(topic, beforeProduce);
      expect(atStart.map((p) => p.offset)).toEqual(['0', '0']);
      const inFuture = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 60_000);
      const highs = new Map(ends.map((p) => [p.partition, p.high]));
      for (const p of inFuture) expect(p.offset).toBe(highs.get(p.partition));

      // Rewind the (now empty) group; a new member must see everything again.
      await admin.setOffsets({
        groupId,
        topic,
        partitions: ends.map((p) => ({ partition: p.partition, offset: '0' })),
      });
      const rewound = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(rewound[0]!.partitions.map((p) => p.offset)).toEqual(['0', '0']);
      const again = await consumeCommitting(kafka, groupId, topic, messages.length);
      expect(again).toHaveLength(messages.length);

      const retention = async () => {
        const described = await admin.describeConfigs({
          resources: [{ type: CONFIG_RESOURCE_TOPIC, name: topic, configNames: ['retention.ms'] }],
          includeSynonyms: false,
        });
        return described.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms')
          ?.configValue;
      };
      expect(await retention()).toBe('604800000');
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: CONFIG_RESOURCE_TOPIC,
            name: topic,
            configEntries: [{ name: 'retention.ms', value: '3600000' }],
          },
        ],
      });
      expect(await retention()).toBe('3600000');

      const deleted = await admin.deleteGroups([groupId]);
      expect(deleted).toEqual([expect.objectContaining({ groupId, errorCode: 0 })]);
      const { groups } = await admin.listGroups();
      expect(groups.map((g) => g.groupId)).not.toContain(groupId);
      const afterDelete = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(afterDelete[0]!.partitions.map((p) => p.offset)).toEqual(['-1', '-1']);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});

describe('KAFKA_BROKERS parsing', () => {
  it('accepts a comma-separated host:port list', () => {
    expect(parseBrokerList(' 127.0.0.1:9092, kafka-1:19092 ,')).toEqual(['127.0.0.1:9092', 'kafka-1:19092']);
  });

  it('names the bad entry', () => {
    expect(() => parseBrokerList('127.0.0.1:9092,localhost')).toThrow(/"localhost" is not host:port/);
    expect(() => parseBrokerList(' , ')).toThrow(/lists no broker/);
  });
});

describe('startKafka', () => {
  it('rejects an unsupported node count or heap size', async () => {
    await expect(startKafka({ nodes: 2 as 1 })).rejects.toThrow(/nodes must be 1 or 3, got 2/);
    await expect(startKafka({ heapMb: 1 })).rejects.toThrow(/heapMb must be .* >= 128, got 1/);
  });

  it('runs a 3-node cluster that keeps producing and consuming with one node stopped or crashed', {
    timeout: 120_000,
  }, async () => {
    const lines: string[] = [];
    const cluster = await startKafka({ nodes: 3, log: (l) => lines.push(l) });
    const kafka = client(cluster.brokers);
    const admin = kafka.admin();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 3000 },
    });
    const topic = `harness-rf3-${randomUUID()}`;
    try {
      expect(cluster.nodes.map((n) => n.id)).toEqual([1, 2, 3]);
      expect(cluster.nodes.every((n) => n.running)).toBe(true);
      expect(lines.some((l) => l.includes('ready at'))).toBe(true);
      await admin.connect();
      expect((await admin.describeCluster()).brokers).toHaveLength(3);
      // kafkajs's own waitForLeaders (on by default) gives up when the broker it asks has not yet
      // learned of the new topic (UNKNOWN_TOPIC_OR_PARTITION), which happens with several brokers.
      await admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 3 }],
        waitForLeaders: false,
      });
      const partitions = await waitForLeaders(admin, topic, 3);
      for (const p of partitions) expect([...p.replicas].sort()).toEqual([1, 2, 3]);

      await producer.connect();
      const batch = (from: number) =>
        Array.from({ length: 30 }, (_, i) => ({ key: `k${(from + i) % 7}`, value: `m${from + i}` }));
      await producer.send({ topic, acks: -1, messages: batch(0) });

      await cluster.stopNode(2);
      expect(cluster.nodes[1]!.running).toBe(false);
      await producer.send({ topic, acks: -1, messages: batch(30) });

      await cluster.startNode(2);
      expect(cluster.nodes[1]!.running).toBe(true);
      expect((await admin.describeCluster()).brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);

      await cluster.stopNode(3, { signal: 'SIGKILL' });
      await producer.send({ topic, acks: -1, messages: batch(60) });

      const received = await consumeCommitting(kafka, `harness-rf3-${randomUUID()}`, topic, 90, 60_000);
      const values = new Set(received.map((r) => r.message.value?.toString()));
      expect(values.size).toBe(90);
      for (let i = 0; i < 90; i++) expect(values.has(`m${i}`)).toBe(true);
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await cluster.stop();
    }
    expect(cluster.nodes.every((n) => !n.running)).toBe(true);
    expect(cluster.nodes.some((n) => existsSync(n.dataDir))).toBe(false);
    // Kafka logged to its file, not to our stdout.
    expect(readFileSync(cluster.logFiles[0]!, 'utf8')).toContain('Kafka Server started');
  });

  it('takes the JVM down when the process that started it is SIGKILLed', { timeout: 90_000 }, async () => {
    await expectPeerDiesWithParent({
      module: new URL('./kafka.ts', import.meta.url).href,
      start: 'startKafka',
      pidOf: 'peer.nodes[0].pid',
      what: 'Kafka',
      withinMs: 30_000,
    });
  });
});
