// Kafka-only behaviour every Kafka event log must show, whichever client it runs on (kafkajs in
// kafka/, @platformatic/kafka in platformatic/): the wire format a bare kafkajs consumer sees,
// coalesced appends with exact positions, size limits, murmur2 placement, declarative topic
// configs, usage errors, and bounded failure when no broker answers or the broker restarts (on the
// harness's own cluster). Each client's *.conformance.test.ts calls describeKafkaLogBehaviour
// beside the shared EventLog conformance suite.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { PlainEvent } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type KafkaCluster, startKafka } from '../../../../../test/harness/kafka.ts';
import {
  type EventLog,
  EventLogUnavailableError,
  EventLogUsageError,
  RecordTooLargeError,
} from '../event-log.js';

/** The settings these tests vary; both clients' options have them. */
export interface KafkaLogTestOptions {
  brokers: string[];
  appendTimeoutMs?: number;
  operationTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

/** A new log on the harness's Kafka (or `overrides.brokers`), with short timings for tests. */
export type KafkaLogFactory = (overrides?: Partial<KafkaLogTestOptions>) => EventLog;

const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

export function describeKafkaLogBehaviour(name: string, kafkaLog: KafkaLogFactory): void {
  const brokers = inject('kafkaBrokers');

  describe(`Kafka event log (${name}): on the wire`, () => {
    let log: EventLog;
    const topics: string[] = [];
    beforeAll(() => {
      log = kafkaLog();
    });
    afterAll(async () => {
      for (const topic of topics) await log.deleteTopic(topic).catch(() => {});
      await log.close();
    });

    it('writes binary-mode records: ce_ headers, content-type, key = partitionkey, raw data', async () => {
      const topic = unique('wire');
      topics.push(topic);
      await log.ensureTopic(topic, { partitions: 3 });
      const event: PlainEvent = {
        specversion: '1.0',
        id: 'wire-1',
        source: '/eddy/wire',
        type: 'dev.eddy.wire',
        time: '2024-05-06T07:08:09Z',
        datacontenttype: 'application/json',
        partitionkey: 'customer-42',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        // JSON data as ingress hands it over: the producer's bytes, written to the record unchanged.
        data: Buffer.from('{ "amount": 12.0 }'),
      };
      const noData: PlainEvent = { specversion: '0.3', id: 'wire-2', source: '/eddy/wire', type: 'empty' };
      const [first, second] = await log.append(topic, [event, noData], { partition: 1 });
      expect(first).toEqual({ topic, partition: 1, offset: 0 });
      expect(second).toEqual({ topic, partition: 1, offset: 1 });

      // Read back with a bare kafkajs consumer, nothing of ours in between.
      const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: unique('wire-reader'), maxWaitTimeInMs: 250 });
      const seen: { key: string | null; value: Buffer | null; headers: Record<string, string> }[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            const headers = Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
            );
            seen.push({ key: message.key?.toString() ?? null, value: message.value, headers });
          },
        });
        await expect.poll(() => seen.length, { timeout: 20_000, interval: 50 }).toBe(2);
      } finally {
        await consumer.disconnect();
      }
      const [binary, tombstone] = seen;
      expect(binary!.key).toBe('customer-42');
      expect(binary!.value?.toString()).toBe('{ "amount": 12.0 }');
      expect(binary!.headers).toEqual({
        ce_specversion: '1.0',
        ce_id: 'wire-1',
        ce_source: '/eddy/wire',
        ce_type: 'dev.eddy.wire',
        ce_time: '2024-05-06T07:08:09Z',
        ce_partitionkey: 'customer-42',
        ce_traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'content-type': 'application/json',
      });
      // An event without data is a record without a value; its specversion stays 0.3.
      expect(tombstone!.value).toBeNull();
      expect(tombstone!.key).toBeNull();
      // Exactly the event's attributes: no time (nor anything else) added.
      expect(tombstone!.headers).toEqual({
        ce_specversion: '0.3',
        ce_id: 'wire-2',
        ce_source: '/eddy/wire',
        ce_type: 'empty',
      });
    });

    it('coalesces concurrent appends into shared produce requests with exact positions', async () => {
      const topic = unique('coalesce');
      topics.push(topic);
      await log.ensureTopic(topic, { partitions: 3 });
      // 120 appends at once, of 1 or 2 events, some keyed: every reported position must be unique,
      // dense per partition, and hold exactly the event that was appended there.
      const appends = Array.from({ length: 120 }, (_, i) =>
        Array.from(
          { length: 1 + (i % 2) },
          (_, k) =>
            ({
              specversion: '1.0',
              id: `c-${i}-${k}`,
              source: '/c',
              type: 't',
              ...(i % 3 === 0 ? { partitionkey: `k${i % 7}` } : {}),
            }) satisfies PlainEvent,
        ),
      );
      const results = await Promise.all(appends.map((events) => log.append(topic, events)));
      const byPosition = new Map<string, string>();
      for (const [i, positions] of results.entries()) {
        for (const [k, p] of positions.entries())
          byPosition.set(`${p.partition}/${p.offset}`, appends[i]![k]!.id);
      }
      const total = appends.reduce((n, events) => n + events.length, 0);
      expect(byPosition.size).toBe(total);
      const lag = await log.lag(unique('probe'), topic);
      expect(lag.reduce((n, p) => n + p.end, 0)).toBe(total);
      for (const p of lag) {
        for (let offset = 0; offset < p.end; offset++)
          expect(byPosition.has(`${p.partition}/${offset}`)).toBe(true);
      }
      const seen = new Map<string, string>();
      const consumer = await log.consume({
        group: unique('coalesce-read'),
        topic,
        start: 'earliest',
        handler: async (batch) => {
          for (const r of batch.records) seen.set(`${r.partition}/${r.offset}`, r.event.id);
        },
      });
      const deadline = Date.now() + 20_000;
      while (seen.size < total && Date.now() < deadline) await sleep(50);
      await consumer.close();
      expect(seen).toEqual(byPosition);
    });

    it("rejects a record over the topic's max.message.bytes with RecordTooLargeError", async () => {
      const topic = unique('small-records');
      topics.push(topic);
      await log.ensureTopic(topic, { partitions: 1, config: { 'max.message.bytes': '2048' } });
      const big: PlainEvent = {
        specversion: '1.0',
        id: 'big-1',
        source: '/test',
        type: 't',
        data: Buffer.alloc(16 * 1024),
      };
      const refused = log.append(topic, [big]);
      await expect(refused).rejects.toBeInstanceOf(RecordTooLargeError);
      await expect(refused).rejects.toBeInstanceOf(EventLogUsageError);
      // A record that fits still goes through on the same producer.
      expect(await log.append(topic, [{ ...big, id: 'small-1', data: 'ok' }])).toHaveLength(1);
    });

    it('places a partitionkey where the Java client (murmur2) would', async () => {
      const topic = unique('murmur');
      topics.push(topic);
      await log.ensureTopic(topic, { partitions: 6 });
      // Expected partitions computed with Kafka's Utils.murmur2(key) & 0x7fffffff % 6.
      const keys = ['a', 'customer-42', 'order-17'];
      const positions = await log.append(
        topic,
        keys.map((k, i) => ({ specversion: '1.0', id: `m-${i}`, source: '/m', type: 't', partitionkey: k })),
      );
      const { Partitioners } = await import('kafkajs');
      const partitioner = Partitioners.DefaultPartitioner();
      const partitionMetadata = [0, 1, 2, 3, 4, 5].map((partitionId) => ({
        partitionErrorCode: 0,
        partitionId,
        leader: 1,
        replicas: [1],
        isr: [1],
      }));
      expect(positions.map((p) => p.partition)).toEqual(
        keys.map((key) => partitioner({ topic, partitionMetadata, message: { key, value: null } })),
      );
    });

    it('keeps topic configuration declarative: retention, short segments, append-time timestamps', async () => {
      const topic = unique('config');
      topics.push(topic);
      await log.ensureTopic(topic, { retentionMs: 5_000 });
      const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const describe = async () => {
          const { resources } = await admin.describeConfigs({
            includeSynonyms: false,
            resources: [{ type: 2, name: topic }],
          });
          return Object.fromEntries(
            (resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue] as const),
          );
        };
        expect(await describe()).toMatchObject({
          'retention.ms': '5000',
          'segment.ms': '5000',
          'message.timestamp.type': 'LogAppendTime',
          'cleanup.policy': 'delete',
        });
        await log.ensureTopic(topic, {});
        const forever = await describe();
        expect(forever['retention.ms']).toBe('-1');
        expect(forever['segment.ms']).toBe(String(7 * 24 * 3600 * 1000));
        expect((await log.listTopics()).find((t) => t.name === topic)).toEqual({
          name: topic,
          partitions: 1,
          retentionMs: undefined,
        });
      } finally {
        await admin.disconnect();
      }
    });

    it('creates a topic with the spec replication factor and extra configs (a Broker ConfigMap), Eddy owned configs winning', async () => {
      const topic = unique('extra');
      topics.push(topic);
      await log.ensureTopic(topic, {
        partitions: 2,
        replicationFactor: 1,
        config: { 'max.message.bytes': '2097152', 'segment.ms': '600000', 'cleanup.policy': 'compact' },
      });
      const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: 2, name: topic }],
        });
        const configs = Object.fromEntries(
          (resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue] as const),
        );
        expect(configs).toMatchObject({
          'max.message.bytes': '2097152',
          'segment.ms': '600000',
          'cleanup.policy': 'delete',
          'message.timestamp.type': 'LogAppendTime',
        });
        const { topics: meta } = await admin.fetchTopicMetadata({ topics: [topic] });
        expect(meta[0]?.partitions.map((p) => p.replicas.length)).toEqual([1, 1]);
        // A single broker cannot hold two copies: Kafka refuses, and so does ensureTopic.
        await expect(log.ensureTopic(unique('rf2'), { replicationFactor: 2 })).rejects.toThrow(
          /replication/i,
        );
        await expect(log.ensureTopic(unique('rf0'), { replicationFactor: 0 })).rejects.toThrow(
          EventLogUsageError,
        );
      } finally {
        await admin.disconnect();
      }
    });

    it("commitInitial: a new group's initial positions are committed when it joins, so a partition moving to another member skips nothing", async () => {
      const topic = unique('pinned');
      topics.push(topic);
      await log.ensureTopic(topic, { partitions: 2 });
      await log.append(topic, [
        {
          specversion: '1.0',
          id: 'before-1',
          source: '/eddy/pinned',
          type: 'dev.eddy.pinned',
          partitionkey: 'a',
        },
        {
          specversion: '1.0',
          id: 'before-2',
          source: '/eddy/pinned',
          type: 'dev.eddy.pinned',
          partitionkey: 'b',
        },
      ]);
      const group = unique('pinned-group');
      const consumer = await log.consume({
        group,
        topic,
        start: 'committed',
        initial: 'latest',
        commitInitial: true,
        handler: async () => {},
      });
      try {
        await consumer.ready();
        const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        try {
          const ends = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          // Without the commit these are -1 and the next owner of a partition would resolve `latest` again.
          expect(
            committed?.partitions
              .map((p) => [p.partition, p.offset])
              .sort(([a], [b]) => Number(a) - Number(b)),
          ).toEqual(ends.map((e) => [e.partition, e.offset]).sort(([a], [b]) => Number(a) - Number(b)));
        } finally {
          await admin.disconnect();
        }
      } finally {
        await consumer.close();
      }
    });

    it('rejects bad arguments with EventLogUsageError naming the problem', async () => {
      await expect(log.ensureTopic('no spaces allowed')).rejects.toThrow(/invalid topic name/);
      await expect(log.ensureTopic(unique('t'), { partitions: 0 })).rejects.toBeInstanceOf(
        EventLogUsageError,
      );
      const topic = unique('usage');
      topics.push(topic);
      await log.ensureTopic(topic);
      await expect(
        log.append(topic, [{ specversion: '9.9', id: 'x', source: '/', type: 't' } as never]),
      ).rejects.toThrow(/events\[0\].*specversion/);
      await expect(
        log.consume({ group: 'g', topic, start: 'soon' as never, handler: async () => {} }),
      ).rejects.toThrow(/start must be/);
    });
  });

  describe(`Kafka event log (${name}): broker unreachable`, () => {
    // A port that accepts TCP connections but never speaks Kafka, and a closed port.
    let silent: Server;
    let silentPort = 0;
    const accepted = new Set<import('node:net').Socket>();
    beforeAll(async () => {
      silent = createServer((socket) => {
        accepted.add(socket);
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentPort = (silent.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('append rejects with EventLogUnavailableError within its timeout when no broker answers', async () => {
      const closedPort = await new Promise<number>((resolve) => {
        const probe = createServer();
        probe.listen(0, '127.0.0.1', () => {
          const { port } = probe.address() as { port: number };
          probe.close(() => resolve(port));
        });
      });
      for (const address of [`127.0.0.1:${closedPort}`, `127.0.0.1:${silentPort}`]) {
        const log = kafkaLog({
          brokers: [address],
          appendTimeoutMs: 2_000,
          operationTimeoutMs: 2_000,
          connectionTimeoutMs: 500,
        });
        const started = Date.now();
        const event: PlainEvent = { specversion: '1.0', id: 'x', source: '/x', type: 'x' };
        await expect(log.append('any-topic', [event])).rejects.toBeInstanceOf(EventLogUnavailableError);
        expect(Date.now() - started).toBeLessThan(6_000);
        await log.close();
      }
    });
  });

  describe(`Kafka event log (${name}): broker stops and comes back`, () => {
    // A Kafka of its own: stopping the run's shared broker would break every other test file.
    let cluster: KafkaCluster;
    beforeAll(async () => {
      cluster = await startKafka({ log: () => {} });
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    it('append rejects within its timeout while the broker is down, and works again after', {
      timeout: 60_000,
    }, async () => {
      const log = kafkaLog({
        brokers: cluster.brokers,
        appendTimeoutMs: 3_000,
        operationTimeoutMs: 3_000,
        connectionTimeoutMs: 500,
      });
      try {
        const topic = unique('outage');
        await log.ensureTopic(topic);
        const event = (id: string): PlainEvent => ({ specversion: '1.0', id, source: '/outage', type: 't' });
        expect(await log.append(topic, [event('before')])).toEqual([{ topic, partition: 0, offset: 0 }]);

        await cluster.stopNode(cluster.nodes[0]!.id, { signal: 'SIGKILL' });
        const started = Date.now();
        await expect(log.append(topic, [event('during')])).rejects.toBeInstanceOf(EventLogUnavailableError);
        expect(Date.now() - started).toBeLessThan(8_000);
        await expect(log.lag('g', topic)).rejects.toBeInstanceOf(EventLogUnavailableError);

        await cluster.startNode(cluster.nodes[0]!.id);
        // The producer that failed was discarded; a fresh one appends after the last durable record
        // (the failed append may or may not have landed: at-least-once, so only ">= 1" is promised).
        let position: { offset: number } | undefined;
        await expect
          .poll(
            async () => {
              position = (await log.append(topic, [event('after')]).catch(() => []))[0];
              return position !== undefined;
            },
            { timeout: 30_000, interval: 500 },
          )
          .toBe(true);
        expect(position!.offset).toBeGreaterThanOrEqual(1);
      } finally {
        await log.close();
      }
    });
  });
}
