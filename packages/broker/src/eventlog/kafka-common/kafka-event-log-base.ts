// What both Kafka event logs (kafkajs in kafka/, @platformatic/kafka in platformatic/) do the same
// way, whichever client they run on: argument checks and action names, admin calls bounded in time
// with transient errors retried, the topic metadata cache, the steps of ensureTopic / deleteTopic /
// listTopics, encoding and partition choice of appends, lag, seeks (live members in this process
// first, else a commit for the group without members), the consumers this log started, and close.
// A client's log extends it with the calls into its client: the abstract methods below.
import { type KafkaBinaryRecord, toKafkaRecord } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import {
  type AppendOptions,
  type ConsumeOptions,
  type Consumer,
  type EventLog,
  EventLogUsageError,
  type LogEvent,
  type PartitionLag,
  type PartitionOffset,
  type RecordPosition,
  type TopicInfo,
  type TopicSpec,
} from '../event-log.js';
import { checkConsumeOptions, checkGroupName } from './consume-arguments.js';
import type { GroupMemberContext, KafkaGroupMember } from './group-member.js';
import {
  hasProtocolError,
  isTransientProtocolError,
  TopicMissingError,
  toEventLogError,
  withDeadline,
} from './kafka-errors.js';
import { type KafkaLogSettings, kafkaLogSettings, type SharedKafkaLogOptions } from './kafka-log-options.js';
import type { KafkaSecurity } from './kafka-security.js';
import { checkAppendPartition, checkTopicName, checkTopicSpec, topicConfigs } from './kafka-topics.js';
import type { OffsetLookup } from './start-positions.js';

/** How long topic metadata (partition count, leaders) is trusted before it is fetched again. */
const METADATA_TTL_MS = 30_000;

/** What the log needs of its producer: sends messages whose partition is chosen, gives their offsets. */
export interface LogProducer<Message> {
  send(topic: string, messages: Message[]): Promise<number[]>;
  close(): Promise<void>;
}

/** A topic as listTopics reports it, before the retention config is parsed. */
export interface TopicDescription {
  partitions: number;
  /** The topic's `retention.ms` as the broker answers it. */
  retention: string | null | undefined;
}

/**
 * `Admin` is the client's admin client, `Metadata` what the log caches of a topic (at least its
 * partition count), `Message` a record as the client's producer takes it.
 */
export abstract class KafkaEventLogBase<Admin, Metadata, Message> implements EventLog {
  readonly kind = 'kafka' as const;
  protected readonly logger: pino.Logger;
  protected readonly settings: KafkaLogSettings;
  protected readonly brokers: string[];
  protected readonly security: KafkaSecurity;
  protected abstract readonly producer: LogProducer<Message>;
  readonly #replicationFactor: number | undefined;
  readonly #consumers = new Set<KafkaGroupMember>();
  readonly #metadata = new Map<string, { metadata: Metadata; fetchedAt: number }>();
  #closed = false;

  constructor(options: SharedKafkaLogOptions) {
    this.settings = kafkaLogSettings(options);
    this.brokers = [...options.brokers];
    this.security = options.security ?? {};
    this.logger = options.logger ?? pino({ name: 'eddy-kafka', level: 'warn' });
    this.#replicationFactor = options.replicationFactor;
  }

  // ---------------------------------------------------------------------------------------------
  // What each client supplies

  /** The admin client, connected. */
  protected abstract connectedAdmin(): Promise<Admin>;
  protected abstract closeAdmin(): Promise<void>;
  protected abstract listTopicNames(admin: Admin): Promise<string[]>;
  protected abstract fetchTopicMetadata(admin: Admin, topic: string): Promise<Metadata>;
  protected abstract partitionCount(metadata: Metadata): number;
  protected abstract brokerCount(admin: Admin): Promise<number>;
  /** Creates the topic with every partition led; false if it exists already. */
  protected abstract createTopic(
    admin: Admin,
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
  ): Promise<boolean>;
  /** Grows the topic to `count` partitions, each led. */
  protected abstract addPartitions(admin: Admin, name: string, count: number): Promise<void>;
  /** The topic's own config overrides (broker defaults left out); at least those in `names`. */
  protected abstract topicConfigOverrides(
    admin: Admin,
    name: string,
    names: string[],
  ): Promise<Map<string, unknown>>;
  /** Replaces the topic's whole override set with `configs`. */
  protected abstract replaceTopicConfigs(
    admin: Admin,
    name: string,
    configs: Record<string, string>,
  ): Promise<void>;
  protected abstract deleteTopicRequest(admin: Admin, name: string): Promise<void>;
  protected abstract describeTopics(admin: Admin, names: string[]): Promise<Map<string, TopicDescription>>;
  /** Kafka's default partitioner: murmur2 of the key (as the Java client), else round-robin. */
  protected abstract partitionFor(topic: string, key: string | null, metadata: Metadata): number;
  protected abstract toMessage(topic: string, record: KafkaBinaryRecord, partition: number): Message;
  protected abstract createConsumer(context: GroupMemberContext, partitions: number): KafkaGroupMember;
  protected abstract offsetLookup(): OffsetLookup;
  /**
   * Commits `offsets` for a group with no live member in this process; a usage error (see
   * checkNoLiveMembers) if it has members elsewhere.
   */
  protected abstract commitForIdleGroup(
    group: string,
    topic: string,
    offsets: Map<number, number>,
    action: string,
  ): Promise<void>;
  protected abstract deleteGroupRequest(admin: Admin, group: string): Promise<void>;

  /** Committed offsets of many groups; a client that reads them in one request overrides it. */
  protected async committedOffsetsOfGroups(
    groups: string[],
    topic: string,
  ): Promise<Map<string, Map<number, number | null>>> {
    const lookup = this.offsetLookup();
    return new Map(
      await Promise.all(groups.map(async (g) => [g, await lookup.committedOffsets(g, topic)] as const)),
    );
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
    return this.adminCall(
      action,
      async (admin) => {
        const replicationFactor = spec.replicationFactor ?? (await this.#defaultReplicationFactor(admin));
        let count = partitions;
        if (!(await this.createTopic(admin, name, partitions, replicationFactor, configs))) {
          const current = this.partitionCount(await this.topicMetadata(name, true));
          if (current < partitions) await this.addPartitions(admin, name, partitions);
          count = Math.max(current, partitions);
          await this.#applyConfigs(admin, name, configs);
        }
        this.#metadata.delete(name);
        return { name, partitions: count, retentionMs: spec.retentionMs };
      },
      // Right after a create (ours, another process's, or a delete + create of the same name) a
      // broker may not know the topic yet: here "no such topic" means "not propagated".
      (error) => hasProtocolError(error, 'UNKNOWN_TOPIC_OR_PARTITION') || error instanceof TopicMissingError,
    );
  }

  async deleteTopic(name: string): Promise<void> {
    const action = `delete topic "${name}"`;
    this.#checkOpen(action);
    checkTopicName(name, action);
    await this.adminCall(action, async (admin) => {
      try {
        await this.deleteTopicRequest(admin, name);
      } catch (error) {
        if (!hasProtocolError(error, 'UNKNOWN_TOPIC_OR_PARTITION')) throw error;
      }
      this.#metadata.delete(name);
      // Kafka deletes asynchronously; wait until the name is free so that an ensureTopic right after
      // creates a new, empty topic instead of finding the old one still there.
      const deadline = Date.now() + this.settings.operationTimeoutMs;
      while ((await this.listTopicNames(admin)).includes(name)) {
        if (Date.now() > deadline) throw new Error('the topic is still listed after deletion');
        await sleep(100);
      }
    });
  }

  async listTopics(): Promise<TopicInfo[]> {
    const action = 'list topics';
    this.#checkOpen(action);
    return this.adminCall(action, async (admin) => {
      const names = (await this.listTopicNames(admin)).filter((n) => !n.startsWith('__')).sort();
      if (names.length === 0) return [];
      const topics = await this.describeTopics(admin, names);
      return names.map((name) => {
        const { partitions = 0, retention } = topics.get(name) ?? {};
        const retentionMs =
          retention === undefined || retention === null || Number(retention) < 0
            ? undefined
            : Number(retention);
        return { name, partitions, retentionMs };
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
    const metadata = await this.#metadataForAppend(topic, options.partition, action);
    const partitions: number[] = [];
    const messages = events.map((event, index) => {
      let record: KafkaBinaryRecord;
      try {
        record = toKafkaRecord(event, options.contentMode ?? 'binary');
      } catch (error) {
        throw new EventLogUsageError(`${action}: events[${index}]: ${(error as Error).message}`);
      }
      const partition = options.partition ?? this.partitionFor(topic, record.key, metadata);
      partitions.push(partition);
      return this.toMessage(topic, record, partition);
    });
    const offsets = await this.producer.send(topic, messages);
    return partitions.map((partition, i) => ({ topic, partition, offset: offsets[i]! }));
  }

  // ---------------------------------------------------------------------------------------------
  // Consume

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const action = `consume "${options?.topic}" as group "${options?.group}"`;
    this.#checkOpen(action);
    checkConsumeOptions(options, action);
    // A shared reader's member needs no partition count of its own, and thousands start together:
    // the cached metadata (which still says whether the topic exists) spares two requests each.
    const metadata = await this.topicMetadata(options.topic, options.sharedReader !== true, action);
    const consumer = this.createConsumer(
      {
        options,
        lookup: this.offsetLookup(),
        logger: this.logger.child({ group: options.group, topic: options.topic }),
        readyTimeoutMs: this.settings.readyTimeoutMs,
        operationTimeoutMs: this.settings.operationTimeoutMs,
        onStopped: (c) => this.#consumers.delete(c),
      },
      this.partitionCount(metadata),
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
    const lookup = this.offsetLookup();
    try {
      await this.topicMetadata(topic, true, action);
      const [offsets, committed] = await Promise.all([
        lookup.topicOffsets(topic),
        lookup.committedOffsets(group, topic),
      ]);
      return partitionLags(offsets, committed);
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  async lagOfGroups(groups: string[], topic: string): Promise<Map<string, PartitionLag[]>> {
    const action = `lag of ${groups.length} groups on "${topic}"`;
    this.#checkOpen(action);
    for (const group of groups) checkGroupName(group, action);
    checkTopicName(topic, action);
    try {
      await this.topicMetadata(topic, true, action);
      const [offsets, committed] = await Promise.all([
        this.offsetLookup().topicOffsets(topic),
        this.committedOffsetsOfGroups(groups, topic),
      ]);
      return new Map(groups.map((g) => [g, partitionLags(offsets, committed.get(g) ?? new Map())]));
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  async offsetsForTimestamp(topic: string, timestamp: number): Promise<PartitionOffset[]> {
    const action = `find offsets of "${topic}" at ${timestamp}`;
    this.#checkOpen(action);
    checkTopicName(topic, action);
    if (!Number.isFinite(timestamp)) throw new EventLogUsageError(`${action}: timestamp must be a number`);
    try {
      await this.topicMetadata(topic, true, action);
      const offsets = await this.offsetLookup().offsetsForTimestamp(topic, timestamp);
      return [...offsets]
        .map(([partition, offset]) => ({ partition, offset }))
        .sort((a, b) => a.partition - b.partition);
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
      await this.topicMetadata(topic, true, action);
      const offsets = await this.offsetLookup().offsetsForTimestamp(topic, timestamp);
      const live = [...this.#consumers].filter(
        (c) => c.group === group && c.topic === topic && c.status === 'running',
      );
      if (live.length > 0) {
        // A member in this process commits for every partition; each local member moves its own.
        for (const consumer of live) await consumer.reposition(offsets);
        return;
      }
      await this.commitForIdleGroup(group, topic, offsets, action);
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  async deleteGroup(group: string): Promise<void> {
    const action = `delete group "${group}"`;
    this.#checkOpen(action);
    checkGroupName(group, action);
    await Promise.all([...this.#consumers].filter((c) => c.group === group).map((c) => c.close()));
    await this.adminCall(action, async (admin) => {
      try {
        await this.deleteGroupRequest(admin, group);
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
    await this.producer.close();
    await this.closeAdmin();
  }

  // ---------------------------------------------------------------------------------------------
  // For the client's log

  /**
   * Runs `fn` with the admin client, bounded in time, with errors mapped. Transient protocol
   * errors (a partition without a leader right after the topic was created, a group coordinator
   * still loading) are retried until the deadline: some admin calls of the clients give up on them
   * at once.
   */
  protected async adminCall<T>(
    action: string,
    fn: (admin: Admin) => Promise<T>,
    alsoTransient: (error: unknown) => boolean = () => false,
  ): Promise<T> {
    const giveUpAt = Date.now() + this.settings.operationTimeoutMs;
    const attempts = async (): Promise<T> => {
      for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
        try {
          return await fn(await this.connectedAdmin());
        } catch (error) {
          const transient = isTransientProtocolError(error) || alsoTransient(error);
          if (!transient || this.#closed || Date.now() + delay > giveUpAt) throw error;
          this.logger.debug({ err: error, action }, 'retrying after a transient Kafka error');
          await sleep(delay);
        }
      }
    };
    try {
      return await withDeadline(attempts(), this.settings.operationTimeoutMs, action);
    } catch (error) {
      throw toEventLogError(error, action);
    }
  }

  /** What the log knows of a topic, cached for a while; EventLogUsageError if it does not exist. */
  protected async topicMetadata(
    topic: string,
    refresh = false,
    action = `read metadata of "${topic}"`,
  ): Promise<Metadata> {
    const cached = this.#metadata.get(topic);
    if (!refresh && cached && Date.now() - cached.fetchedAt < METADATA_TTL_MS) return cached.metadata;
    checkTopicName(topic, action);
    return this.adminCall(action, async (admin) => {
      // Listing first: the clients retry the metadata of a missing topic for a while.
      if (!(await this.listTopicNames(admin)).includes(topic)) {
        throw new TopicMissingError(`${action}: topic "${topic}" does not exist`);
      }
      const metadata = await this.fetchTopicMetadata(admin, topic);
      this.#metadata.set(topic, { metadata, fetchedAt: Date.now() });
      return metadata;
    });
  }

  // ---------------------------------------------------------------------------------------------

  #checkOpen(action: string): void {
    if (this.#closed) throw new EventLogUsageError(`${action}: the event log is closed`);
  }

  async #defaultReplicationFactor(admin: Admin): Promise<number> {
    if (this.#replicationFactor !== undefined) return this.#replicationFactor;
    return Math.max(1, Math.min(3, await this.brokerCount(admin)));
  }

  async #metadataForAppend(topic: string, partition: number | undefined, action: string): Promise<Metadata> {
    checkAppendPartition(partition, action);
    let metadata = await this.topicMetadata(topic, false, action);
    if (partition !== undefined && partition >= this.partitionCount(metadata)) {
      // The topic may have grown since the metadata was cached.
      metadata = await this.topicMetadata(topic, true, action);
      const count = this.partitionCount(metadata);
      if (partition >= count) {
        throw new EventLogUsageError(
          `${action}: partition ${partition} does not exist (the topic has ${count} partitions)`,
        );
      }
    }
    return metadata;
  }

  async #applyConfigs(admin: Admin, name: string, configs: Record<string, string>): Promise<void> {
    const current = await this.topicConfigOverrides(admin, name, Object.keys(configs));
    const same =
      Object.entries(configs).every(([k, v]) => current.get(k) === v) &&
      [...current.keys()].every((k) => k in configs);
    if (same) return;
    // AlterConfigs replaces the topic's whole override set, so the full desired set is sent every
    // time: ensureTopic is declarative.
    await this.replaceTopicConfigs(admin, name, configs);
  }
}

/** Per partition (sorted): the group's commit against the topic's offsets. */
function partitionLags(
  offsets: Map<number, { start: number; end: number }>,
  committed: Map<number, number | null>,
): PartitionLag[] {
  return [...offsets]
    .sort(([a], [b]) => a - b)
    .map(([partition, { start, end }]) => {
      const c = committed.get(partition) ?? null;
      return { partition, committed: c, end, start, lag: Math.max(0, end - (c ?? start)) };
    });
}

/** Kafka takes an offset commit without a member only for a group that has none (state Empty or Dead). */
export function checkNoLiveMembers(state: string, action: string): void {
  const normalized = state.toUpperCase();
  if (normalized !== 'EMPTY' && normalized !== 'DEAD') {
    throw new EventLogUsageError(
      `${action}: the group has live members in another process (state ${state}); seek through one of its consumers`,
    );
  }
}
