// The production event log: Kafka through kafkajs, events as CloudEvents Kafka binary-mode records.
import { toKafkaBinary } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import kafkajs, { type Admin, Kafka, type Message, Partitioners, type PartitionMetadata } from 'kafkajs';
import pino from 'pino';

// Node's CommonJS interop does not expose this one as a named export (vitest would hide that).
const { ConfigResourceTypes } = kafkajs;

import {
  type AppendOptions,
  type ConsumeOptions,
  type Consumer,
  type EventLog,
  EventLogUsageError,
  type LogEvent,
  type PartitionLag,
  type RecordPosition,
  type TopicInfo,
  type TopicSpec,
} from '../event-log.js';
import { checkConsumeOptions, checkGroupName } from '../kafka-common/consume-arguments.js';
import {
  isTransientProtocolError,
  protocolErrorType,
  toEventLogError,
  withDeadline,
} from '../kafka-common/kafka-errors.js';
import {
  checkAppendPartition,
  checkTopicName,
  checkTopicSpec,
  topicConfigs,
} from '../kafka-common/kafka-topics.js';
import type { OffsetLookup } from '../kafka-common/start-positions.js';
import { AppendProducer } from './append-producer.js';
import { KafkaLogConsumer } from './kafka-consumer.js';
import { kafkaLogCreator, kafkaLogLevelFor } from './kafka-logger.js';

export interface KafkaEventLogOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  clientId?: string;
  /** Where kafkajs and the log write their logs. Default: pino at `warn` on stderr. */
  logger?: pino.Logger;
  /** Upper bound for one append (connecting included) before it rejects. Default 30 s. */
  appendTimeoutMs?: number;
  /** Upper bound for admin calls, commits, joins' setup. Default 30 s. */
  operationTimeoutMs?: number;
  /** How long ready() waits for a consumer to join its group. Default 60 s. */
  readyTimeoutMs?: number;
  /** TCP connect timeout per broker. Default 3 s. */
  connectionTimeoutMs?: number;
  /** Consumer group session timeout. Default 30 s (a crashed member's partitions move after it). */
  sessionTimeoutMs?: number;
  /** Default 3 s. */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for new records; also bounds how long close() waits. Default 1 s. */
  maxWaitTimeMs?: number;
  /** Partitions whose batches one consumer hands to its handler at the same time. Default 16. */
  partitionsConsumedConcurrently?: number;
  /** Replication factor of created topics. Default: number of brokers, at most 3. */
  replicationFactor?: number;
}

/** How long topic metadata (partition count, leaders) is trusted before it is fetched again. */
const METADATA_TTL_MS = 30_000;

interface TopicMetadata {
  partitions: PartitionMetadata[];
  fetchedAt: number;
}

export function createKafkaEventLog(options: KafkaEventLogOptions): KafkaEventLog {
  return new KafkaEventLog(options);
}

export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  readonly #kafka: Kafka;
  readonly #logger: pino.Logger;
  readonly #producer: AppendProducer;
  readonly #consumers = new Set<KafkaLogConsumer>();
  readonly #metadata = new Map<string, TopicMetadata>();
  /** The same murmur2 partitioner the producer is configured with, run here to know positions. */
  readonly #partitioner = Partitioners.DefaultPartitioner();
  #admin: Promise<Admin> | undefined;
  #closed = false;
  readonly #settings: Required<Omit<KafkaEventLogOptions, 'logger' | 'replicationFactor' | 'brokers'>>;
  readonly #replicationFactor: number | undefined;

  constructor(options: KafkaEventLogOptions) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
      throw new EventLogUsageError('Kafka event log: `brokers` must list at least one host:port');
    }
    this.#logger = options.logger ?? pino({ name: 'eddy-kafka', level: 'warn' });
    this.#settings = {
      clientId: options.clientId ?? 'eddy',
      appendTimeoutMs: options.appendTimeoutMs ?? 30_000,
      operationTimeoutMs: options.operationTimeoutMs ?? 30_000,
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 1_000,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 16,
    };
    this.#replicationFactor = options.replicationFactor;
    this.#kafka = new Kafka({
      brokers: options.brokers,
      clientId: this.#settings.clientId,
      connectionTimeout: this.#settings.connectionTimeoutMs,
      requestTimeout: Math.min(30_000, this.#settings.operationTimeoutMs),
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
      logLevel: kafkaLogLevelFor(this.#logger),
      logCreator: kafkaLogCreator(this.#logger),
    });
    this.#producer = new AppendProducer(this.#kafka, {
      appendTimeoutMs: this.#settings.appendTimeoutMs,
      ackTimeoutMs: Math.min(30_000, this.#settings.appendTimeoutMs),
      logger: this.#logger,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Topics

  async ensureTopic(name: string, spec: TopicSpec = {}): Promise<TopicInfo> {
    const action = `ensure topic "${name}"`;
    this.#checkOpen(action);
    checkTopicName(name, action);
    checkTopicSpec(spec, action);
    const partitions = spec.partitions ?? 1;
    const rf = spec.replicationFactor;
    const configs = topicConfigs(spec.retentionMs, spec.config);
    return this.#adminCall(
      action,
      async (admin) => {
        const created = await admin.createTopics({
          waitForLeaders: true,
          timeout: this.#settings.operationTimeoutMs,
          topics: [
            {
              topic: name,
              numPartitions: partitions,
              replicationFactor: rf ?? (await this.#replicationFactorFor(admin)),
              configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
            },
          ],
        });
        let count = partitions;
        if (!created) {
          const current = (await this.#topicMetadata(name, true)).length;
          if (current < partitions) {
            await admin.createPartitions({
              timeout: this.#settings.operationTimeoutMs,
              topicPartitions: [{ topic: name, count: partitions }],
            });
          }
          count = Math.max(current, partitions);
          await this.#applyConfigs(admin, name, configs);
        }
        this.#metadata.delete(name);
        return { name, partitions: count, retentionMs: spec.retentionMs };
      },
      // Right after a create (or a delete + create of the same name) a broker may not know the topic
      // yet: here that error means "not propagated", not "no such topic".
      (error) => protocolErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION',
    );
  }

  async deleteTopic(name: string): Promise<void> {
    const action = `delete topic "${name}"`;
    this.#checkOpen(action);
    checkTopicName(name, action);
    await this.#adminCall(action, async (admin) => {
      try {
        await admin.deleteTopics({ topics: [name], timeout: this.#settings.operationTimeoutMs });
      } catch (error) {
        if (protocolErrorType(error) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
      }
      this.#metadata.delete(name);
      // Kafka deletes asynchronously; wait until the name is free so that an ensureTopic right after
      // creates a new, empty topic instead of finding the old one still there.
      const deadline = Date.now() + this.#settings.operationTimeoutMs;
      while ((await admin.listTopics()).includes(name)) {
        if (Date.now() > deadline) throw new Error('the topic is still listed after deletion');
        await sleep(100);
      }
    });
  }

  async listTopics(): Promise<TopicInfo[]> {
    const action = 'list topics';
    this.#checkOpen(action);
    return this.#adminCall(action, async (admin) => {
      const names = (await admin.listTopics()).filter((n) => !n.startsWith('__')).sort();
      if (names.length === 0) return [];
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
          r.configEntries.find((e) => e.configName === 'retention.ms'),
        ]),
      );
      return names.map((name) => {
        const value = retention.get(name)?.configValue;
        const retentionMs = value === undefined || Number(value) < 0 ? undefined : Number(value);
        return { name, partitions: topics.find((t) => t.name === name)?.partitions.length ?? 0, retentionMs };
      });
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Append

  async append(topic: string, events: LogEvent[], options: AppendOptions = {}): Promise<RecordPosition[]> {
    const action = `append to "${topic}"`;
    this.#checkOpen(action);
    if (!Array.isArray(events)) throw new EventLogUsageError(`${action}: events must be an array`);
    if (events.length === 0) return [];
    const partitionMetadata = await this.#partitionsForAppend(topic, options.partition, action);

    const messages: Message[] = events.map((event, index) => {
      let record: ReturnType<typeof toKafkaBinary>;
      try {
        record = toKafkaBinary(event);
      } catch (error) {
        throw new EventLogUsageError(`${action}: events[${index}]: ${(error as Error).message}`);
      }
      const message: Message = { key: record.key, value: record.value, headers: record.headers };
      message.partition = options.partition ?? this.#partitioner({ topic, partitionMetadata, message });
      return message;
    });

    const offsets = await this.#producer.send(topic, messages);
    return messages.map((message, i) => ({
      topic,
      partition: message.partition as number,
      offset: offsets[i]!,
    }));
  }

  // ---------------------------------------------------------------------------------------------
  // Consume

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const action = `consume "${options?.topic}" as group "${options?.group}"`;
    this.#checkOpen(action);
    checkConsumeOptions(options, action);
    const partitions = await this.#topicMetadata(options.topic, true).catch((error: unknown) => {
      throw toEventLogError(error, action);
    });
    const consumer = new KafkaLogConsumer(
      this.#kafka,
      options,
      this.#offsetLookup(),
      {
        sessionTimeoutMs: this.#settings.sessionTimeoutMs,
        heartbeatIntervalMs: this.#settings.heartbeatIntervalMs,
        maxWaitTimeMs: this.#settings.maxWaitTimeMs,
        readyTimeoutMs: this.#settings.readyTimeoutMs,
        operationTimeoutMs: this.#settings.operationTimeoutMs,
        partitionsConsumedConcurrently: Math.max(
          1,
          Math.min(this.#settings.partitionsConsumedConcurrently, partitions.length),
        ),
      },
      this.#logger.child({ group: options.group, topic: options.topic }),
      (c) => this.#consumers.delete(c),
    );
    this.#consumers.add(consumer);
    await consumer.start();
    return consumer;
  }

  async lag(group: string, topic: string): Promise<PartitionLag[]> {
    const action = `lag of group "${group}" on "${topic}"`;
    this.#checkOpen(action);
    checkGroupName(group, action);
    checkTopicName(topic, action);
    const lookup = this.#offsetLookup();
    try {
      await this.#topicMetadata(topic, true);
      const [offsets, committed] = await Promise.all([
        lookup.topicOffsets(topic),
        lookup.committedOffsets(group, topic),
      ]);
      return [...offsets]
        .sort(([a], [b]) => a - b)
        .map(([partition, { start, end }]) => {
          const c = committed.get(partition) ?? null;
          return { partition, committed: c, end, start, lag: Math.max(0, end - (c ?? start)) };
        });
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  async seekGroupToTimestamp(group: string, topic: string, timestamp: number): Promise<void> {
    const action = `seek group "${group}" on "${topic}" to ${timestamp}`;
    this.#checkOpen(action);
    checkGroupName(group, action);
    checkTopicName(topic, action);
    if (!Number.isFinite(timestamp)) throw new EventLogUsageError(`${action}: timestamp must be a number`);
    try {
      await this.#topicMetadata(topic, true);
      const offsets = await this.#offsetLookup().offsetsForTimestamp(topic, timestamp);
      const live = [...this.#consumers].filter(
        (c) => c.group === group && c.topic === topic && c.status === 'running',
      );
      if (live.length > 0) {
        // A member in this process commits for every partition; each local member seeks its own.
        for (const consumer of live) await consumer.reposition(offsets);
        return;
      }
      const { groups } = await this.#adminCall(action, (admin) => admin.describeGroups([group]));
      const state = groups[0]?.state ?? 'Dead';
      if (state !== 'Empty' && state !== 'Dead') {
        throw new EventLogUsageError(
          `${action}: the group has live members in another process (state ${state}); seek through one of its consumers`,
        );
      }
      await this.#commitAsTemporaryMember(group, topic, offsets, action);
    } catch (error) {
      throw toEventLogError(error, action);
    }
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
      sessionTimeout: this.#settings.sessionTimeoutMs,
      heartbeatInterval: this.#settings.heartbeatIntervalMs,
      maxWaitTimeInMs: this.#settings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
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
        this.#settings.operationTimeoutMs,
        action,
      );
    } finally {
      await member.disconnect().catch(() => {});
    }
  }

  async deleteGroup(group: string): Promise<void> {
    const action = `delete group "${group}"`;
    this.#checkOpen(action);
    checkGroupName(group, action);
    await Promise.all([...this.#consumers].filter((c) => c.group === group).map((c) => c.close()));
    await this.#adminCall(action, async (admin) => {
      try {
        await admin.deleteGroups([group]);
      } catch (error) {
        if (protocolErrorType(error) === 'GROUP_ID_NOT_FOUND') return;
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.close()));
    await this.#producer.close();
    const admin = this.#admin;
    this.#admin = undefined;
    const connected = await admin?.catch(() => undefined);
    await connected?.disconnect().catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  #checkOpen(action: string): void {
    if (this.#closed) throw new EventLogUsageError(`${action}: the event log is closed`);
  }

  /**
   * Runs `fn` with the shared admin client, bounded in time, with errors mapped. Transient
   * protocol errors (a partition without a leader right after the topic was created, a group
   * coordinator still loading) are retried until the deadline: some kafkajs admin calls give up
   * on them at once.
   */
  async #adminCall<T>(
    action: string,
    fn: (admin: Admin) => Promise<T>,
    alsoTransient: (error: unknown) => boolean = () => false,
  ): Promise<T> {
    const giveUpAt = Date.now() + this.#settings.operationTimeoutMs;
    const attempts = async (): Promise<T> => {
      for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
        try {
          return await fn(await this.#connectedAdmin());
        } catch (error) {
          const transient = isTransientProtocolError(error) || alsoTransient(error);
          if (!transient || this.#closed || Date.now() + delay > giveUpAt) throw error;
          this.#logger.debug({ err: error, action }, 'retrying after a transient Kafka error');
          await sleep(delay);
        }
      }
    };
    try {
      return await withDeadline(attempts(), this.#settings.operationTimeoutMs, action);
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  #connectedAdmin(): Promise<Admin> {
    if (this.#admin) return this.#admin;
    const admin = this.#kafka.admin({ retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 } });
    const connecting = admin.connect().then(
      () => admin,
      (error: unknown) => {
        if (this.#admin === connecting) this.#admin = undefined;
        void admin.disconnect().catch(() => {});
        throw error;
      },
    );
    this.#admin = connecting;
    return connecting;
  }

  async #replicationFactorFor(admin: Admin): Promise<number> {
    if (this.#replicationFactor !== undefined) return this.#replicationFactor;
    const { brokers } = await admin.describeCluster();
    return Math.max(1, Math.min(3, brokers.length));
  }

  /** Partition metadata of a topic; EventLogUsageError if it does not exist. */
  async #topicMetadata(topic: string, refresh = false): Promise<PartitionMetadata[]> {
    const cached = this.#metadata.get(topic);
    if (!refresh && cached && Date.now() - cached.fetchedAt < METADATA_TTL_MS) return cached.partitions;
    const action = `read metadata of "${topic}"`;
    checkTopicName(topic, action);
    return this.#adminCall(action, async (admin) => {
      // Listing first: asking for the metadata of a missing topic makes kafkajs retry for a while.
      if (!(await admin.listTopics()).includes(topic)) {
        throw new EventLogUsageError(`topic "${topic}" does not exist`);
      }
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = topics[0]?.partitions ?? [];
      this.#metadata.set(topic, { partitions, fetchedAt: Date.now() });
      return partitions;
    });
  }

  async #partitionsForAppend(
    topic: string,
    partition: number | undefined,
    action: string,
  ): Promise<PartitionMetadata[]> {
    checkAppendPartition(partition, action);
    let metadata = await this.#topicMetadata(topic).catch((error: unknown) => {
      throw toEventLogError(error, action);
    });
    if (partition !== undefined && partition >= metadata.length) {
      // The topic may have grown since the metadata was cached.
      metadata = await this.#topicMetadata(topic, true).catch((error: unknown) => {
        throw toEventLogError(error, action);
      });
      if (partition >= metadata.length) {
        throw new EventLogUsageError(
          `${action}: partition ${partition} does not exist (the topic has ${metadata.length} partitions)`,
        );
      }
    }
    return metadata;
  }

  async #applyConfigs(admin: Admin, name: string, configs: Record<string, string>): Promise<void> {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: Object.keys(configs) }],
    });
    const current = new Map(
      (resources[0]?.configEntries ?? [])
        .filter((e) => !e.isDefault)
        .map((e) => [e.configName, e.configValue]),
    );
    const same =
      Object.entries(configs).every(([k, v]) => current.get(k) === v) &&
      [...current.keys()].every((k) => k in configs);
    if (same) return;
    // AlterConfigs (the only config call kafkajs has) replaces the topic's whole override set, so
    // the full desired set is sent every time: ensureTopic is declarative.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name,
          configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
        },
      ],
    });
  }

  #offsetLookup(): OffsetLookup {
    return {
      topicOffsets: async (topic) => {
        const offsets = await this.#adminCall(
          `read offsets of "${topic}"`,
          (a) => a.fetchTopicOffsets(topic),
          isStaleOffsetsLookup,
        );
        return new Map(offsets.map((o) => [o.partition, { start: Number(o.low), end: Number(o.high) }]));
      },
      offsetsForTimestamp: async (topic, timestamp) => {
        const offsets = await this.#adminCall(
          `find offsets of "${topic}" at ${timestamp}`,
          (a) => a.fetchTopicOffsetsByTimestamp(topic, timestamp),
          isStaleOffsetsLookup,
        );
        return new Map(offsets.map((o) => [o.partition, Number(o.offset)]));
      },
      committedOffsets: async (group, topic) => {
        const result = await this.#adminCall(`read committed offsets of group "${group}"`, (a) =>
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
