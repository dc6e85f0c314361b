// The production event log: Kafka through kafkajs, events as CloudEvents Kafka binary-mode records.
// What does not depend on the client is KafkaEventLogBase's (kafka-common/); this file holds the
// kafkajs calls: admin, producer messages and partitioner, consumers, offset lookups.
import type { KafkaBinaryRecord } from '@eddy/api';
import kafkajs, {
  type Admin,
  Kafka,
  type KafkaConfig,
  type Message,
  Partitioners,
  type PartitionMetadata,
} from 'kafkajs';

// Node's CommonJS interop does not expose this one as a named export (vitest would hide that).
const { ConfigResourceTypes } = kafkajs;

import type { GroupMemberContext } from '../kafka-common/group-member.js';
import { withDeadline } from '../kafka-common/kafka-errors.js';
import {
  checkNoLiveMembers,
  KafkaEventLogBase,
  type TopicDescription,
} from '../kafka-common/kafka-event-log-base.js';
import type { SharedKafkaLogOptions } from '../kafka-common/kafka-log-options.js';
import type { KafkaSecurity } from '../kafka-common/kafka-security.js';
import { configEntries } from '../kafka-common/kafka-topics.js';
import type { OffsetLookup } from '../kafka-common/start-positions.js';
import { AppendProducer } from './append-producer.js';
import { connectClient } from './connect-client.js';
import { KafkaLogConsumer } from './kafka-consumer.js';
import { kafkaLogCreator, kafkaLogLevelFor } from './kafka-logger.js';

export interface KafkaEventLogOptions extends SharedKafkaLogOptions {
  /** Partitions whose batches one consumer hands to its handler at the same time. Default 16. */
  partitionsConsumedConcurrently?: number;
}

const RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 };

/** kafkajs' `ssl` and `sasl` for `security` (its mechanism names are Eddy's). */
function kafkajsSecurity({ tls, sasl }: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  return {
    ...(tls
      ? {
          ssl:
            tls.ca === undefined && tls.cert === undefined
              ? true
              : {
                  ...(tls.ca !== undefined ? { ca: [tls.ca] } : {}),
                  ...(tls.cert !== undefined && tls.key !== undefined
                    ? { cert: tls.cert, key: tls.key }
                    : {}),
                },
        }
      : {}),
    ...(sasl ? { sasl: { ...sasl } } : {}),
  };
}

export function createKafkaEventLog(options: KafkaEventLogOptions): KafkaEventLog {
  return new KafkaEventLog(options);
}

export class KafkaEventLog extends KafkaEventLogBase<Admin, PartitionMetadata[], Message> {
  protected readonly producer: AppendProducer;
  readonly #kafka: Kafka;
  /** The same murmur2 partitioner the producer is configured with, run here to know positions. */
  readonly #partitioner = Partitioners.DefaultPartitioner();
  readonly #partitionsConsumedConcurrently: number;
  #admin: Promise<Admin> | undefined;

  constructor(options: KafkaEventLogOptions) {
    super(options);
    this.#partitionsConsumedConcurrently = options.partitionsConsumedConcurrently ?? 16;
    this.#kafka = new Kafka({
      brokers: this.brokers,
      ...kafkajsSecurity(this.security),
      clientId: this.settings.clientId,
      connectionTimeout: this.settings.connectionTimeoutMs,
      requestTimeout: Math.min(30_000, this.settings.operationTimeoutMs),
      retry: RETRY,
      logLevel: kafkaLogLevelFor(this.logger),
      logCreator: kafkaLogCreator(this.logger),
    });
    this.producer = new AppendProducer(this.#kafka, {
      appendTimeoutMs: this.settings.appendTimeoutMs,
      ackTimeoutMs: Math.min(30_000, this.settings.appendTimeoutMs),
      logger: this.logger,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Admin

  protected connectedAdmin(): Promise<Admin> {
    if (this.#admin) return this.#admin;
    this.#admin = connectClient(this.#kafka.admin({ retry: RETRY }), (failed) => {
      if (this.#admin === failed) this.#admin = undefined;
    });
    return this.#admin;
  }

  protected async closeAdmin(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    const connected = await admin?.catch(() => undefined);
    await connected?.disconnect().catch(() => {});
  }

  protected listTopicNames(admin: Admin): Promise<string[]> {
    return admin.listTopics();
  }

  protected async fetchTopicMetadata(admin: Admin, topic: string): Promise<PartitionMetadata[]> {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions ?? [];
  }

  protected partitionCount(metadata: PartitionMetadata[]): number {
    return metadata.length;
  }

  protected async brokerCount(admin: Admin): Promise<number> {
    return (await admin.describeCluster()).brokers.length;
  }

  protected createTopic(
    admin: Admin,
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
  ): Promise<boolean> {
    return admin.createTopics({
      waitForLeaders: true,
      timeout: this.settings.operationTimeoutMs,
      topics: [
        { topic: name, numPartitions: partitions, replicationFactor, configEntries: configEntries(configs) },
      ],
    });
  }

  protected async addPartitions(admin: Admin, name: string, count: number): Promise<void> {
    await admin.createPartitions({
      timeout: this.settings.operationTimeoutMs,
      topicPartitions: [{ topic: name, count }],
    });
  }

  protected async topicConfigOverrides(
    admin: Admin,
    name: string,
    names: string[],
  ): Promise<Map<string, unknown>> {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: names }],
    });
    return new Map(
      (resources[0]?.configEntries ?? [])
        .filter((e) => !e.isDefault)
        .map((e) => [e.configName, e.configValue]),
    );
  }

  protected async replaceTopicConfigs(
    admin: Admin,
    name: string,
    configs: Record<string, string>,
  ): Promise<void> {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: configEntries(configs) }],
    });
  }

  protected async deleteTopicRequest(admin: Admin, name: string): Promise<void> {
    await admin.deleteTopics({ topics: [name], timeout: this.settings.operationTimeoutMs });
  }

  protected async describeTopics(admin: Admin, names: string[]): Promise<Map<string, TopicDescription>> {
    const [{ topics }, configs] = await Promise.all([
      admin.fetchTopicMetadata({ topics: names }),
      admin.describeConfigs({
        includeSynonyms: false,
        resources: names.map((n) => ({
          type: ConfigResourceTypes.TOPIC,
          name: n,
          configNames: ['retention.ms'],
        })),
      }),
    ]);
    const retention = new Map(
      configs.resources.map((r) => [
        r.resourceName,
        r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue,
      ]),
    );
    return new Map(
      names.map((name) => [
        name,
        {
          partitions: topics.find((t) => t.name === name)?.partitions.length ?? 0,
          retention: retention.get(name),
        },
      ]),
    );
  }

  protected async deleteGroupRequest(admin: Admin, group: string): Promise<void> {
    await admin.deleteGroups([group]);
  }

  // ---------------------------------------------------------------------------------------------
  // Append

  protected partitionFor(topic: string, key: string | null, partitionMetadata: PartitionMetadata[]): number {
    return this.#partitioner({ topic, partitionMetadata, message: { key, value: null } });
  }

  protected toMessage(_topic: string, record: KafkaBinaryRecord, partition: number): Message {
    return { key: record.key, value: record.value, headers: record.headers, partition };
  }

  // ---------------------------------------------------------------------------------------------
  // Consume

  protected createConsumer(context: GroupMemberContext, partitions: number): KafkaLogConsumer {
    return new KafkaLogConsumer(this.#kafka, context, {
      sessionTimeoutMs: this.settings.sessionTimeoutMs,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      maxWaitTimeMs: this.settings.maxWaitTimeMs,
      partitionsConsumedConcurrently: Math.max(1, Math.min(this.#partitionsConsumedConcurrently, partitions)),
    });
  }

  protected async commitForIdleGroup(
    group: string,
    topic: string,
    offsets: Map<number, number>,
    action: string,
  ): Promise<void> {
    const { groups } = await this.adminCall(action, (admin) => admin.describeGroups([group]));
    checkNoLiveMembers(groups[0]?.state ?? 'Dead', action);
    await this.#commitAsTemporaryMember(group, topic, offsets, action);
  }

  /**
   * Commits offsets for a group that has no live member. kafkajs' admin.setOffsets does the same
   * (Kafka takes commits only from a member, or for an empty group) but then waits for a fetch of
   * its paused consumer, which costs seconds; this member joins, commits at once and leaves.
   */
  async #commitAsTemporaryMember(
    group: string,
    topic: string,
    offsets: Map<number, number>,
    action: string,
  ): Promise<void> {
    const member = this.#kafka.consumer({
      groupId: group,
      sessionTimeout: this.settings.sessionTimeoutMs,
      heartbeatInterval: this.settings.heartbeatIntervalMs,
      maxWaitTimeInMs: this.settings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: RETRY,
    });
    try {
      const joined = new Promise<void>((resolve) => member.on(member.events.GROUP_JOIN, () => resolve()));
      const crashed = new Promise<never>((_, reject) =>
        member.on(member.events.CRASH, (event) => reject(event.payload.error)),
      );
      crashed.catch(() => {});
      await withDeadline(
        (async () => {
          await member.connect();
          await member.subscribe({ topic });
          // Nothing is processed and nothing resolved: the member exists only to commit.
          await member.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
          member.pause([{ topic }]);
          await Promise.race([joined, crashed]);
          await member.commitOffsets(
            [...offsets].map(([partition, offset]) => ({ topic, partition, offset: String(offset) })),
          );
        })(),
        this.settings.operationTimeoutMs,
        action,
      );
    } finally {
      await member.disconnect().catch(() => {});
    }
  }

  protected offsetLookup(): OffsetLookup {
    return {
      topicOffsets: async (topic) => {
        const offsets = await this.adminCall(
          `read offsets of "${topic}"`,
          (a) => a.fetchTopicOffsets(topic),
          isStaleOffsetsLookup,
        );
        return new Map(offsets.map((o) => [o.partition, { start: Number(o.low), end: Number(o.high) }]));
      },
      offsetsForTimestamp: async (topic, timestamp) => {
        const offsets = await this.adminCall(
          `find offsets of "${topic}" at ${timestamp}`,
          (a) => a.fetchTopicOffsetsByTimestamp(topic, timestamp),
          isStaleOffsetsLookup,
        );
        return new Map(offsets.map((o) => [o.partition, Number(o.offset)]));
      },
      committedOffsets: async (group, topic) => {
        const result = await this.adminCall(`read committed offsets of group "${group}"`, (a) =>
          a.fetchOffsets({ groupId: group, topics: [topic] }),
        );
        const partitions = result.find((t) => t.topic === topic)?.partitions ?? [];
        return new Map(
          partitions.map((p) => [p.partition, Number(p.offset) < 0 ? null : Number(p.offset)] as const),
        );
      },
    };
  }
}

/**
 * kafkajs' offset lookups group partitions by leader from cached metadata; while that metadata is
 * stale (a topic just created, a leader moving) they crash with a TypeError on an empty leader list
 * instead of refreshing. Another try after the metadata refresh succeeds, so it is transient.
 */
function isStaleOffsetsLookup(error: unknown): boolean {
  return error instanceof TypeError && /Cannot destructure property 'partitions'/.test(error.message);
}
