// What both Kafka event logs (kafkajs and @platformatic/kafka) need to know about topics, whichever
// client talks to the cluster: which names Kafka accepts, which TopicSpec is valid, and the exact set
// of topic configs ensureTopic declares.
import { EventLogUsageError, type TopicSpec } from '../event-log.js';

/** Names Kafka accepts for a topic. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** Kafka's default segment.ms; retentions shorter than this get segments as short as themselves. */
const WEEK_MS = 7 * 24 * 3600 * 1000;
/** Floor for segment.ms so a tiny retention does not make Kafka roll a file per record. */
const MIN_SEGMENT_MS = 1_000;

/**
 * Topic configuration: `extra` (a Broker ConfigMap's `default.topic.config.*`), then what Eddy owns,
 * which wins. `retention.ms` -1 keeps records forever.
 * - `message.timestamp.type=LogAppendTime`: record timestamps are the broker's append time, so
 *   they grow with the offset and seeking by time finds exactly "first record appended at or after".
 * - `segment.ms`: Kafka deletes whole segments only, and a segment expires by its NEWEST record.
 *   With the default week-long segments a topic with steady traffic keeps up to a week beyond its
 *   retention; short retentions get segments as short as the retention (floor 1 s), so records go
 *   within about twice the retention (plus the broker's log.retention.check.interval.ms).
 */
export function topicConfigs(
  retentionMs: number | undefined,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const configs: Record<string, string> = {
    ...extra,
    'cleanup.policy': 'delete',
    'message.timestamp.type': 'LogAppendTime',
    'retention.ms': String(retentionMs ?? -1),
  };
  if (retentionMs !== undefined && retentionMs < WEEK_MS && extra['segment.ms'] === undefined) {
    configs['segment.ms'] = String(Math.max(MIN_SEGMENT_MS, retentionMs));
  }
  return configs;
}

export function checkTopicName(name: unknown, action: string): void {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new EventLogUsageError(
      `${action}: invalid topic name ${JSON.stringify(name)} (1-249 characters of a-z, A-Z, 0-9, ".", "_", "-")`,
    );
  }
}

/** Partitions, retention and replication factor of an ensureTopic call. */
export function checkTopicSpec(spec: TopicSpec, action: string): void {
  const partitions = spec.partitions ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new EventLogUsageError(`${action}: partitions must be an integer >= 1, got ${spec.partitions}`);
  }
  if (spec.retentionMs !== undefined && (!Number.isSafeInteger(spec.retentionMs) || spec.retentionMs < 1)) {
    throw new EventLogUsageError(
      `${action}: retentionMs must be a positive integer, got ${spec.retentionMs}`,
    );
  }
  const rf = spec.replicationFactor;
  if (rf !== undefined && (!Number.isInteger(rf) || rf < 1)) {
    throw new EventLogUsageError(`${action}: replicationFactor must be an integer >= 1, got ${rf}`);
  }
}

/** The partition an append names, if any: an integer >= 0 (whether it exists is the caller's check). */
export function checkAppendPartition(partition: number | undefined, action: string): void {
  if (partition !== undefined && (!Number.isInteger(partition) || partition < 0)) {
    throw new EventLogUsageError(`${action}: partition must be an integer >= 0, got ${partition}`);
  }
}

/** Topic configs as the clients' create / alter requests list them. */
export function configEntries(configs: Record<string, string>): { name: string; value: string }[] {
  return Object.entries(configs).map(([name, value]) => ({ name, value }));
}
