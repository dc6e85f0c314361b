// The Kafka event log on @platformatic/kafka: the same records (CloudEvents Kafka binding, binary
// mode), topics, groups and semantics as the kafkajs log (kafka/), on a faster client. Topic admin,
// lag and group admin run on one Admin client; appends on PlatformaticAppendProducer; each consume()
// is a PlatformaticGroupConsumer with a client of its own.
import { toKafkaBinary } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { Admin, ConfigResourceTypes, ListOffsetTimestamps } from '@platformatic/kafka';
import pino from 'pino';
import { partitionForKey } from '../embedded/partitioner.js';
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
  hasProtocolError,
  isTransientProtocolError,
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
import { PlatformaticAppendProducer, type ProducedRecord } from './append-producer.js';
import { PlatformaticGroupConsumer } from './group-consumer.js';

export interface PlatformaticEventLogOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  clientId?: string;
  /** Where the log writes its logs. Default: pino at `warn` on stderr. */
  logger?: pino.Logger;
  /** Upper bound for one append (connecting included) before it rejects. Default 30 s. */
  appendTimeoutMs?: number;
  /** Upper bound for admin calls, commits, joins' setup. Default 30 s. */
  operationTimeoutMs?: number;
  /** How long ready() waits for a consumer to join its group. Default 60 s. */
  readyTimeoutMs?: number;
  /** TCP connect timeout per broker. Default 3 s. */
  connectionTimeoutMs?: number;
  /** Consumer group session timeout. Default 30 s. */
  sessionTimeoutMs?: number;
  /** Default 3 s. */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for new records; also bounds how long close() waits. Default 1 s. */
  maxWaitTimeMs?: number;
  /** Replication factor of created topics. Default: number of brokers, at most 3. */
  replicationFactor?: number;
}

/** How long a topic's partition count is trusted before it is fetched again. */
const METADATA_TTL_MS = 30_000;

export function createPlatformaticEventLog(options: PlatformaticEventLogOptions): PlatformaticEventLog {
  return new PlatformaticEventLog(options);
}

export class PlatformaticEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  readonly #logger: pino.Logger;
  readonly #admin: Admin;
  readonly #producer: PlatformaticAppendProducer;
  readonly #consumers = new Set<PlatformaticGroupConsumer>();
  readonly #partitionCounts = new Map<string, { count: number; fetchedAt: number }>();
  /** Round-robin counter per topic for events without a partitionkey. */
  readonly #roundRobin = new Map<string, number>();
  readonly #brokers: string[];
  readonly #settings: Required<Omit<PlatformaticEventLogOptions, 'logger' | 'replicationFactor' | 'brokers'>>;
  readonly #replicationFactor: number | undefined;
  #closed = false;

  constructor(options: PlatformaticEventLogOptions) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
      throw new EventLogUsageError('Kafka event log: `brokers` must list at least one host:port');
    }
    this.#brokers = [...options.brokers];
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
    };
    this.#replicationFactor = options.replicationFactor;
    this.#admin = new Admin({
      clientId: this.#settings.clientId,
      bootstrapBrokers: this.#brokers,
      connectTimeout: this.#settings.connectionTimeoutMs,
      timeout: Math.min(30_000, this.#settings.operationTimeoutMs),
      retries: 3,
      retryDelay: 200,
      autocreateTopics: false,
    });
    this.#admin.on('error', (error: Error) => this.#logger.debug({ err: error }, 'Kafka admin error event'));
    this.#producer = new PlatformaticAppendProducer({
      clientId: this.#settings.clientId,
      bootstrapBrokers: this.#brokers,
      appendTimeoutMs: this.#settings.appendTimeoutMs,
      connectTimeoutMs: this.#settings.connectionTimeoutMs,
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
    const configs = topicConfigs(spec.retentionMs, spec.config);
    return this.#adminCall(
      action,
      async (admin) => {
        let count = partitions;
        let created = true;
        try {
          await admin.createTopics({
            topics: [name],
            partitions,
            replicas: spec.replicationFactor ?? (await this.#defaultReplicationFactor()),
            configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
          });
        } catch (error) {
          if (!hasProtocolError(error, 'TOPIC_ALREADY_EXISTS')) throw error;
          created = false;
        }
        if (created) {
          await this.#waitForLeaders(name, partitions);
        } else {
          const current = await this.#partitionCount(name, true);
          if (current < partitions) {
            await admin.createPartitions({ topics: [{ name, count: partitions }] });
            await this.#waitForLeaders(name, partitions);
          }
          count = Math.max(current, partitions);
          await this.#applyConfigs(name, configs);
        }
        this.#partitionCounts.delete(name);
        return { name, partitions: count, retentionMs: spec.retentionMs };
      },
      // Right after a create (or a delete + create of the same name) a broker may not know the
      // topic yet: here that error means "not propagated", not "no such topic".
      (error) => hasProtocolError(error, 'UNKNOWN_TOPIC_OR_PARTITION'),
    );
  }

  async deleteTopic(name: string): Promise<void> {
    const action = `delete topic "${name}"`;
    this.#checkOpen(action);
    checkTopicName(name, action);
    await this.#adminCall(action, async (admin) => {
      try {
        await admin.deleteTopics({ topics: [name] });
      } catch (error) {
        if (!hasProtocolError(error, 'UNKNOWN_TOPIC_OR_PARTITION')) throw error;
      }
      this.#partitionCounts.delete(name);
      // Kafka deletes asynchronously; wait until the name is free.
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
      const names = (await admin.listTopics({ includeInternals: false }))
        .filter((n) => !n.startsWith('__'))
        .sort();
      if (names.length === 0) return [];
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
        configs.map(
          (r) => [r.resourceName, r.configs.find((e) => e.name === 'retention.ms')?.value] as const,
        ),
      );
      return names.map((name) => {
        const value = retention.get(name);
        const retentionMs =
          value === undefined || value === null || Number(value) < 0 ? undefined : Number(value);
        return { name, partitions: metadata.topics.get(name)?.partitionsCount ?? 0, retentionMs };
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
    checkAppendPartition(options.partition, action);
    let count = await this.#partitionCount(topic, false, action);
    if (options.partition !== undefined && options.partition >= count) {
      // The topic may have grown since the count was cached.
      count = await this.#partitionCount(topic, true, action);
      if (options.partition >= count) {
        throw new EventLogUsageError(
          `${action}: partition ${options.partition} does not exist (the topic has ${count} partitions)`,
        );
      }
    }
    const records: ProducedRecord[] = events.map((event, index) => {
      let record: ReturnType<typeof toKafkaBinary>;
      try {
        record = toKafkaBinary(event);
      } catch (error) {
        throw new EventLogUsageError(`${action}: events[${index}]: ${(error as Error).message}`);
      }
      const headers = new Map<Buffer, Buffer>();
      for (const [name, value] of Object.entries(record.headers))
        headers.set(Buffer.from(name), Buffer.from(value));
      const partition = options.partition ?? this.#partitionFor(topic, record.key, count);
      const produced: ProducedRecord = { topic, partition, headers };
      if (record.key !== null) produced.key = Buffer.from(record.key);
      if (record.value !== null) produced.value = record.value;
      return produced;
    });
    const offsets = await this.#producer.send(topic, records);
    return records.map((record, i) => ({ topic, partition: record.partition, offset: offsets[i]! }));
  }

  /** Kafka's default partitioner: murmur2 of the key (as the Java client), else round-robin. */
  #partitionFor(topic: string, key: string | null, partitions: number): number {
    if (key !== null) return partitionForKey(key, partitions);
    const next = this.#roundRobin.get(topic) ?? Math.floor(Math.random() * partitions);
    this.#roundRobin.set(topic, (next + 1) % 2 ** 31);
    return next % partitions;
  }

  // ---------------------------------------------------------------------------------------------
  // Consume

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const action = `consume "${options?.topic}" as group "${options?.group}"`;
    this.#checkOpen(action);
    checkConsumeOptions(options, action);
    await this.#partitionCount(options.topic, true, action);
    const consumer = new PlatformaticGroupConsumer(
      options,
      this.#offsetLookup(),
      {
        clientId: this.#settings.clientId,
        bootstrapBrokers: this.#brokers,
        connectTimeoutMs: this.#settings.connectionTimeoutMs,
        sessionTimeoutMs: this.#settings.sessionTimeoutMs,
        heartbeatIntervalMs: this.#settings.heartbeatIntervalMs,
        maxWaitTimeMs: this.#settings.maxWaitTimeMs,
        readyTimeoutMs: this.#settings.readyTimeoutMs,
        operationTimeoutMs: this.#settings.operationTimeoutMs,
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
      await this.#partitionCount(topic, true, action);
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
      await this.#partitionCount(topic, true, action);
      const offsets = await this.#offsetLookup().offsetsForTimestamp(topic, timestamp);
      const live = [...this.#consumers].filter(
        (c) => c.group === group && c.topic === topic && c.status === 'running',
      );
      if (live.length > 0) {
        // A member in this process commits for every partition; each local member moves its own.
        for (const consumer of live) await consumer.reposition(offsets);
        return;
      }
      // Kafka takes an admin offset commit (OffsetCommit without a member) only for a group
      // without members; members in another process would overwrite it from memory anyway.
      await this.#adminCall(action, async (admin) => {
        const groups = await admin.describeGroups({ groups: [group] });
        const state = String(groups.get(group)?.state ?? 'Dead').toUpperCase();
        if (state !== 'EMPTY' && state !== 'DEAD') {
          throw new EventLogUsageError(
            `${action}: the group has live members in another process (state ${state}); seek through one of its consumers`,
          );
        }
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
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  async deleteGroup(group: string): Promise<void> {
    const action = `delete group "${group}"`;
    this.#checkOpen(action);
    checkGroupName(group, action);
    await Promise.all([...this.#consumers].filter((c) => c.group === group).map((c) => c.close()));
    await this.#adminCall(action, async (admin) => {
      try {
        await admin.deleteGroups({ groups: [group] });
      } catch (error) {
        if (hasProtocolError(error, 'GROUP_ID_NOT_FOUND')) return;
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.close()));
    await this.#producer.close();
    await this.#admin.close().catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  #checkOpen(action: string): void {
    if (this.#closed) throw new EventLogUsageError(`${action}: the event log is closed`);
  }

  /**
   * Runs `fn` with the admin client, bounded in time, with errors mapped; transient protocol
   * errors (no leader yet, coordinator loading) are retried until the deadline.
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
          return await fn(this.#admin);
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

  async #defaultReplicationFactor(): Promise<number> {
    if (this.#replicationFactor !== undefined) return this.#replicationFactor;
    const metadata = await this.#admin.metadata({ topics: [], forceUpdate: true });
    return Math.max(1, Math.min(3, metadata.brokers.size));
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

  /** Partitions of a topic; EventLogUsageError if it does not exist. */
  async #partitionCount(
    topic: string,
    refresh: boolean,
    action = `read metadata of "${topic}"`,
  ): Promise<number> {
    const cached = this.#partitionCounts.get(topic);
    if (!refresh && cached && Date.now() - cached.fetchedAt < METADATA_TTL_MS) return cached.count;
    checkTopicName(topic, action);
    return this.#adminCall(action, async (admin) => {
      // Listing first: the metadata of a missing topic is retried by the client for a while.
      if (!(await admin.listTopics()).includes(topic)) {
        throw new EventLogUsageError(`${action}: topic "${topic}" does not exist`);
      }
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
      this.#partitionCounts.set(topic, { count, fetchedAt: Date.now() });
      return count;
    });
  }

  async #applyConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const [resource] = await this.#admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: name }],
    });
    // configSource 1 = DYNAMIC_TOPIC_CONFIG: the topic's own overrides.
    const current = new Map(
      (resource?.configs ?? []).filter((e) => e.configSource === 1).map((e) => [e.name, e.value] as const),
    );
    const same =
      Object.entries(configs).every(([k, v]) => current.get(k) === v) &&
      [...current.keys()].every((k) => k in configs);
    if (same) return;
    // AlterConfigs replaces the topic's whole override set, so the full desired set is sent: ensureTopic
    // is declarative.
    await this.#admin.alterConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: name,
          configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
        },
      ],
    });
  }

  /** ListOffsets for every partition of `topic` at `timestamp` (or LATEST / EARLIEST). */
  async #listOffsets(topic: string, timestamp: bigint, action: string): Promise<Map<number, number>> {
    const count = await this.#partitionCount(topic, true, action);
    const topics = await this.#adminCall(action, (admin) =>
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

  #offsetLookup(): OffsetLookup {
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
        const count = await this.#partitionCount(topic, false, action);
        const partitionIndexes = Array.from({ length: count }, (_, i) => i);
        const groups = await this.#adminCall(action, (admin) =>
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
