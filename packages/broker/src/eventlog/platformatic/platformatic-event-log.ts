// The Kafka event log on @platformatic/kafka: the same records (CloudEvents Kafka binding, binary
// mode), topics, groups and semantics as the kafkajs log (kafka/), on a faster client. What does not
// depend on the client is KafkaEventLogBase's (kafka-common/); this file holds the @platformatic/kafka
// calls: topic admin, lag and group admin on one Admin client, appends on PlatformaticAppendProducer,
// each consume() a PlatformaticGroupConsumer with a client of its own.
import type { KafkaBinaryRecord } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { Admin, ConfigResourceTypes, ListOffsetTimestamps } from '@platformatic/kafka';
import { partitionForKey } from '../embedded/partitioner.js';
import { batchingLookup, DEFAULT_GROUPS_PER_REQUEST } from '../kafka-common/batching-lookup.js';
import type { GroupMemberContext, KafkaGroupMember } from '../kafka-common/group-member.js';
import { hasProtocolError } from '../kafka-common/kafka-errors.js';
import {
  checkNoLiveMembers,
  KafkaEventLogBase,
  type TopicDescription,
} from '../kafka-common/kafka-event-log-base.js';
import type { SharedKafkaLogOptions } from '../kafka-common/kafka-log-options.js';
import { configEntries } from '../kafka-common/kafka-topics.js';
import { MemberlessCommitter } from '../kafka-common/memberless-committer.js';
import type { OffsetLookup } from '../kafka-common/start-positions.js';
import { SharedMember, TopicReader } from '../kafka-common/topic-reader.js';
import { PlatformaticAppendProducer, type ProducedRecord } from './append-producer.js';
import { type PlatformaticSecurity, platformaticSecurity } from './connection-security.js';
import { PlatformaticGroupConsumer } from './group-consumer.js';

export interface PlatformaticEventLogOptions extends SharedKafkaLogOptions {
  /**
   * Consumers that ask for it (ConsumeOptions.sharedReader: the dispatcher's routes) read through one
   * shared reader per topic instead of a group member each (kafka-common/topic-reader.ts): what makes
   * thousands of Triggers on one broker work. Default false.
   */
  sharedReaders?: boolean;
}

/** The group of a topic's shared reader: every process reading the topic through one joins it. */
export function sharedReaderGroup(topic: string): string {
  return `eddy-shared-reader-${topic}`;
}

/** Records per batch a shared reader fetches and offers to its members. */
const SHARED_READER_BATCH = 500;

export function createPlatformaticEventLog(options: PlatformaticEventLogOptions): PlatformaticEventLog {
  return new PlatformaticEventLog(options);
}

/** The log caches a topic's partition count. */
export class PlatformaticEventLog extends KafkaEventLogBase<Admin, number, ProducedRecord> {
  protected readonly producer: PlatformaticAppendProducer;
  readonly #admin: Admin;
  /** Round-robin counter per topic for events without a partitionkey. */
  readonly #roundRobin = new Map<string, number>();
  readonly #sharedReaders: boolean;
  readonly #connectionSecurity: PlatformaticSecurity;
  /** Per topic, the reader new shared members join. */
  readonly #readers = new Map<string, TopicReader>();
  /** Every reader not closed yet (a closing one may have been replaced in #readers). */
  readonly #allReaders = new Set<TopicReader>();
  /** Memberless commits of the shared readers' members, coalesced and bounded. */
  readonly #committer = new MemberlessCommitter((group, topic, offsets) =>
    this.#admin.alterConsumerGroupOffsets({
      groupId: group,
      topics: [
        {
          name: topic,
          partitionOffsets: offsets.map(([partition, offset]) => ({ partition, offset: BigInt(offset) })),
        },
      ],
    }),
  );
  /** The lookups of the shared readers' members: committed offsets of many groups per request. */
  readonly #sharedLookup = batchingLookup(this.offsetLookup(), (groups, topic) =>
    this.#committedOffsetsOfGroups(groups, topic),
  );

  constructor(options: PlatformaticEventLogOptions) {
    super(options);
    this.#sharedReaders = options.sharedReaders ?? false;
    this.#connectionSecurity = platformaticSecurity(this.security);
    this.#admin = new Admin({
      clientId: this.settings.clientId,
      bootstrapBrokers: this.brokers,
      ...this.#connectionSecurity,
      connectTimeout: this.settings.connectionTimeoutMs,
      timeout: Math.min(30_000, this.settings.operationTimeoutMs),
      retries: 3,
      retryDelay: 200,
      autocreateTopics: false,
    });
    this.#admin.on('error', (error: Error) => this.logger.debug({ err: error }, 'Kafka admin error event'));
    this.producer = new PlatformaticAppendProducer({
      clientId: this.settings.clientId,
      bootstrapBrokers: this.brokers,
      security: this.#connectionSecurity,
      appendTimeoutMs: this.settings.appendTimeoutMs,
      connectTimeoutMs: this.settings.connectionTimeoutMs,
      logger: this.logger,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Admin

  protected async connectedAdmin(): Promise<Admin> {
    return this.#admin;
  }

  protected async closeAdmin(): Promise<void> {
    // The consumers are closed by now; their readers leave their groups before the admin goes.
    await Promise.all([...this.#allReaders].map((reader) => reader.close()));
    await this.#admin.close().catch(() => {});
  }

  protected listTopicNames(admin: Admin): Promise<string[]> {
    return admin.listTopics();
  }

  protected async fetchTopicMetadata(admin: Admin, topic: string): Promise<number> {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    return metadata.topics.get(topic)?.partitionsCount ?? 0;
  }

  protected partitionCount(count: number): number {
    return count;
  }

  protected async brokerCount(admin: Admin): Promise<number> {
    return (await admin.metadata({ topics: [], forceUpdate: true })).brokers.size;
  }

  protected async createTopic(
    admin: Admin,
    name: string,
    partitions: number,
    replicas: number,
    configs: Record<string, string>,
  ): Promise<boolean> {
    try {
      await admin.createTopics({ topics: [name], partitions, replicas, configs: configEntries(configs) });
    } catch (error) {
      if (!hasProtocolError(error, 'TOPIC_ALREADY_EXISTS')) throw error;
      return false;
    }
    await this.#waitForLeaders(name, partitions);
    return true;
  }

  protected async addPartitions(admin: Admin, name: string, count: number): Promise<void> {
    await admin.createPartitions({ topics: [{ name, count }] });
    await this.#waitForLeaders(name, count);
  }

  protected async topicConfigOverrides(admin: Admin, name: string): Promise<Map<string, unknown>> {
    const [resource] = await admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: name }],
    });
    // configSource 1 = DYNAMIC_TOPIC_CONFIG: the topic's own overrides.
    return new Map(
      (resource?.configs ?? []).filter((e) => e.configSource === 1).map((e) => [e.name, e.value] as const),
    );
  }

  protected async replaceTopicConfigs(
    admin: Admin,
    name: string,
    configs: Record<string, string>,
  ): Promise<void> {
    await admin.alterConfigs({
      resources: [
        { resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configs: configEntries(configs) },
      ],
    });
  }

  protected async deleteTopicRequest(admin: Admin, name: string): Promise<void> {
    await admin.deleteTopics({ topics: [name] });
  }

  protected async describeTopics(admin: Admin, names: string[]): Promise<Map<string, TopicDescription>> {
    const [metadata, configs] = await Promise.all([
      admin.metadata({ topics: names, forceUpdate: true }),
      admin.describeConfigs({
        resources: names.map((n) => ({
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: n,
          configurationKeys: ['retention.ms'],
        })),
      }),
    ]);
    const retention = new Map(
      configs.map((r) => [r.resourceName, r.configs.find((e) => e.name === 'retention.ms')?.value] as const),
    );
    return new Map(
      names.map((name) => [
        name,
        { partitions: metadata.topics.get(name)?.partitionsCount ?? 0, retention: retention.get(name) },
      ]),
    );
  }

  protected async deleteGroupRequest(admin: Admin, group: string): Promise<void> {
    await admin.deleteGroups({ groups: [group] });
  }

  /** Waits until every partition of a created or grown topic has a leader (kafkajs' waitForLeaders). */
  async #waitForLeaders(topic: string, partitions: number): Promise<void> {
    for (;;) {
      const metadata = await this.#admin
        .metadata({ topics: [topic], forceUpdate: true })
        .catch(() => undefined);
      const info = metadata?.topics.get(topic);
      if (info && info.partitionsCount >= partitions && info.partitions.every((p) => p && p.leader >= 0))
        return;
      await sleep(50);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Append

  /** murmur2 of the key through embedded/partitioner.ts (as the Java client), else round-robin. */
  protected partitionFor(topic: string, key: string | null, partitions: number): number {
    if (key !== null) return partitionForKey(key, partitions);
    const next = this.#roundRobin.get(topic) ?? Math.floor(Math.random() * partitions);
    this.#roundRobin.set(topic, (next + 1) % 2 ** 31);
    return next % partitions;
  }

  protected toMessage(topic: string, record: KafkaBinaryRecord, partition: number): ProducedRecord {
    const headers = new Map<Buffer, Buffer>();
    for (const [name, value] of Object.entries(record.headers))
      headers.set(Buffer.from(name), Buffer.from(value));
    const produced: ProducedRecord = { topic, partition, headers };
    if (record.key !== null) produced.key = Buffer.from(record.key);
    if (record.value !== null) produced.value = record.value;
    return produced;
  }

  // ---------------------------------------------------------------------------------------------
  // Consume

  protected createConsumer(context: GroupMemberContext): KafkaGroupMember {
    if (this.#sharedReaders && context.options.sharedReader === true) {
      return new SharedMember(
        { ...context, lookup: this.#sharedLookup },
        { reader: () => this.#readerOf(context.options.topic), committer: this.#committer },
      );
    }
    return this.#groupConsumer(context);
  }

  #groupConsumer(context: GroupMemberContext): PlatformaticGroupConsumer {
    return new PlatformaticGroupConsumer(context, {
      clientId: this.settings.clientId,
      bootstrapBrokers: this.brokers,
      security: this.#connectionSecurity,
      connectTimeoutMs: this.settings.connectionTimeoutMs,
      sessionTimeoutMs: this.settings.sessionTimeoutMs,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      maxWaitTimeMs: this.settings.maxWaitTimeMs,
    });
  }

  /** The topic's running shared reader, or a new one (a closing one is not reused). */
  #readerOf(topic: string): TopicReader {
    let reader = this.#readers.get(topic);
    if (reader === undefined || reader.closed) {
      reader = new TopicReader({
        topic,
        group: sharedReaderGroup(topic),
        logger: this.logger.child({ topic, sharedReader: true }),
        maxBatchSize: SHARED_READER_BATCH,
        readyTimeoutMs: this.settings.readyTimeoutMs,
        operationTimeoutMs: this.settings.operationTimeoutMs,
        lookup: this.#sharedLookup,
        createClient: (context) => this.#groupConsumer(context),
        onClosed: (closed) => {
          this.#allReaders.delete(closed);
          if (this.#readers.get(topic) === closed) this.#readers.delete(topic);
        },
      });
      this.#readers.set(topic, reader);
      this.#allReaders.add(reader);
    }
    return reader;
  }

  /** Chunks of OffsetFetch requests with many groups each (lag of thousands of routes). */
  protected override async committedOffsetsOfGroups(
    groups: string[],
    topic: string,
  ): Promise<Map<string, Map<number, number | null>>> {
    const all = new Map<string, Map<number, number | null>>();
    for (let i = 0; i < groups.length; i += DEFAULT_GROUPS_PER_REQUEST) {
      const chunk = await this.#committedOffsetsOfGroups(
        groups.slice(i, i + DEFAULT_GROUPS_PER_REQUEST),
        topic,
      );
      for (const [group, offsets] of chunk) all.set(group, offsets);
    }
    return all;
  }

  /** Committed offsets of many groups on `topic`: OffsetFetch v8+ asks for all of them in one request. */
  async #committedOffsetsOfGroups(
    groups: string[],
    topic: string,
  ): Promise<Map<string, Map<number, number | null>>> {
    const action = `read committed offsets of ${groups.length} groups on "${topic}"`;
    const count = await this.topicMetadata(topic, false, action);
    const partitionIndexes = Array.from({ length: count }, (_, i) => i);
    const answer = await this.adminCall(action, (admin) =>
      admin.listConsumerGroupOffsets({
        groups: groups.map((groupId) => ({ groupId, topics: [{ name: topic, partitionIndexes }] })),
      }),
    );
    const byGroup = new Map<string, Map<number, number | null>>();
    for (const group of answer) {
      const partitions = group.topics.find((t) => t.name === topic)?.partitions ?? [];
      byGroup.set(
        group.groupId,
        new Map(
          partitions.map(
            (p) => [p.partitionIndex, p.committedOffset < 0n ? null : Number(p.committedOffset)] as const,
          ),
        ),
      );
    }
    return byGroup;
  }

  /**
   * Kafka takes an admin offset commit (OffsetCommit without a member) only for a group without
   * members; members in another process would overwrite it from memory anyway.
   */
  protected async commitForIdleGroup(
    group: string,
    topic: string,
    offsets: Map<number, number>,
    action: string,
  ): Promise<void> {
    await this.adminCall(action, async (admin) => {
      const groups = await admin.describeGroups({ groups: [group] });
      checkNoLiveMembers(String(groups.get(group)?.state ?? 'Dead').toUpperCase(), action);
      await admin.alterConsumerGroupOffsets({
        groupId: group,
        topics: [
          {
            name: topic,
            partitionOffsets: [...offsets].map(([partition, offset]) => ({
              partition,
              offset: BigInt(offset),
            })),
          },
        ],
      });
    });
  }

  /** ListOffsets for every partition of `topic` at `timestamp` (or LATEST / EARLIEST). */
  async #listOffsets(topic: string, timestamp: bigint, action: string): Promise<Map<number, number>> {
    const count = await this.topicMetadata(topic, true, action);
    const topics = await this.adminCall(action, (admin) =>
      admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp })),
          },
        ],
      }),
    );
    const partitions = topics.find((t) => t.name === topic)?.partitions ?? [];
    return new Map(partitions.map((p) => [p.partitionIndex, Number(p.offset)] as const));
  }

  protected offsetLookup(): OffsetLookup {
    return {
      topicOffsets: async (topic) => {
        const action = `read offsets of "${topic}"`;
        const [start, end] = await Promise.all([
          this.#listOffsets(topic, ListOffsetTimestamps.EARLIEST, action),
          this.#listOffsets(topic, ListOffsetTimestamps.LATEST, action),
        ]);
        return new Map([...end].map(([p, e]) => [p, { start: start.get(p) ?? 0, end: e }] as const));
      },
      offsetsForTimestamp: async (topic, timestamp) => {
        const action = `find offsets of "${topic}" at ${timestamp}`;
        const [at, end] = await Promise.all([
          this.#listOffsets(topic, BigInt(Math.max(0, Math.trunc(timestamp))), action),
          this.#listOffsets(topic, ListOffsetTimestamps.LATEST, action),
        ]);
        // No record at or after the timestamp: Kafka answers -1; the position is the end.
        return new Map([...end].map(([p, e]) => [p, (at.get(p) ?? -1) < 0 ? e : at.get(p)!] as const));
      },
      committedOffsets: async (group, topic) => {
        const action = `read committed offsets of group "${group}"`;
        // OffsetFetch answers only the partitions it is asked for (an empty list: none).
        const count = await this.topicMetadata(topic, false, action);
        const partitionIndexes = Array.from({ length: count }, (_, i) => i);
        const groups = await this.adminCall(action, (admin) =>
          admin.listConsumerGroupOffsets({
            groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes }] }],
          }),
        );
        const partitions =
          groups.find((g) => g.groupId === group)?.topics.find((t) => t.name === topic)?.partitions ?? [];
        return new Map(
          partitions.map(
            (p) => [p.partitionIndex, p.committedOffset < 0n ? null : Number(p.committedOffset)] as const,
          ),
        );
      },
    };
  }
}
