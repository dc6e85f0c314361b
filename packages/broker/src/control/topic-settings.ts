// Partitions, retention and Kafka topic configs of a Broker's or a channel's topic; the first source
// that sets a value wins. Broker: the `eddy.dev/*` annotations, then the ConfigMap its `spec.config`
// names (the Kafka broker's `default.topic.*` keys), then the defaults. KafkaChannel, and a Channel
// with a KafkaChannel template: that spec. Other channels: the annotations, then the defaults.

import {
  PARTITIONS_ANNOTATION,
  parseIsoDuration,
  parsePartitionsAnnotation,
  parseRetentionAnnotation,
  RETENTION_ANNOTATION,
} from '@eddy/api';

export interface TopicSettings {
  partitions: number;
  retentionMs?: number;
  /** Replicas of each partition when the topic is created; undefined = the event log's default. */
  replicationFactor?: number;
  /** More Kafka topic configs by Kafka's name (`max.message.bytes`, ...), from `default.topic.config.*`. */
  config?: Record<string, string>;
}

export type TopicSettingsResult =
  | { ok: true; settings: TopicSettings }
  | { ok: false; reason: 'InvalidAnnotation' | 'InvalidConfig'; message: string };

/** The ConfigMap keys the Kafka broker reads from a Broker's `spec.config`. */
export const CONFIGMAP_PARTITIONS_KEY = 'default.topic.partitions';
export const CONFIGMAP_RETENTION_MS_KEY = 'default.topic.config.retention.ms';
export const CONFIGMAP_REPLICATION_FACTOR_KEY = 'default.topic.replication.factor';
export const CONFIGMAP_TOPIC_CONFIG_PREFIX = 'default.topic.config.';
/** Kafka caps the replication factor at a 16-bit signed integer. */
const MAX_REPLICATION_FACTOR = 32_767;
/** A Kafka topic config name (`max.message.bytes`, `min.insync.replicas`). */
const KAFKA_CONFIG_NAME = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;
/**
 * Topic configs Eddy's event log depends on: records must be deleted by time, never compacted, and
 * carry the broker's append time (seeking by time relies on it). A ConfigMap may repeat these values but
 * not change them.
 */
export const EDDY_OWNED_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'message.timestamp.type': 'LogAppendTime',
};

/** The optional topic fields of a BrokerRoute / ChannelRoute, from settings. */
export function topicRouteFields(
  settings: TopicSettings,
): Pick<TopicSettings, 'retentionMs' | 'replicationFactor' | 'config'> {
  return {
    ...(settings.retentionMs !== undefined ? { retentionMs: settings.retentionMs } : {}),
    ...(settings.replicationFactor !== undefined ? { replicationFactor: settings.replicationFactor } : {}),
    ...(settings.config && Object.keys(settings.config).length > 0 ? { config: { ...settings.config } } : {}),
  };
}

const annotationPath = (name: string) => `metadata.annotations["${name}"]`;

/** Annotations first; `fallback` supplies what they leave out. */
export function topicSettingsFromAnnotations(
  annotations: Record<string, string> | undefined,
  fallback: TopicSettings,
): TopicSettingsResult {
  const settings: TopicSettings = { ...fallback };
  const partitions = annotations?.[PARTITIONS_ANNOTATION];
  if (partitions !== undefined) {
    const r = parsePartitionsAnnotation(partitions);
    if (!r.ok)
      return {
        ok: false,
        reason: 'InvalidAnnotation',
        message: `${annotationPath(PARTITIONS_ANNOTATION)}: ${r.message}`,
      };
    settings.partitions = r.value;
  }
  const retention = annotations?.[RETENTION_ANNOTATION];
  if (retention !== undefined) {
    const r = parseRetentionAnnotation(retention);
    if (!r.ok)
      return {
        ok: false,
        reason: 'InvalidAnnotation',
        message: `${annotationPath(RETENTION_ANNOTATION)}: ${r.message}`,
      };
    settings.retentionMs = r.value;
  }
  return { ok: true, settings };
}

/** A Broker's ConfigMap (`data`), as the Kafka broker reads it; keys it does not set keep `fallback`. */
export function topicSettingsFromConfigMap(
  where: string,
  data: Record<string, unknown> | undefined,
  fallback: TopicSettings,
): TopicSettingsResult {
  const settings: TopicSettings = { ...fallback };
  const partitions = data?.[CONFIGMAP_PARTITIONS_KEY];
  if (partitions !== undefined) {
    const r = parsePartitionsAnnotation(String(partitions));
    if (!r.ok)
      return {
        ok: false,
        reason: 'InvalidConfig',
        message: `${where}: data["${CONFIGMAP_PARTITIONS_KEY}"]: ${r.message}`,
      };
    settings.partitions = r.value;
  }
  const retention = data?.[CONFIGMAP_RETENTION_MS_KEY];
  if (retention !== undefined) {
    const text = String(retention).trim();
    const ms = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(ms) || ms < 1)
      return {
        ok: false,
        reason: 'InvalidConfig',
        message: `${where}: data["${CONFIGMAP_RETENTION_MS_KEY}"]: expected a positive number of milliseconds, found ${JSON.stringify(retention)}`,
      };
    settings.retentionMs = ms;
  }
  const replication = data?.[CONFIGMAP_REPLICATION_FACTOR_KEY];
  if (replication !== undefined) {
    const text = String(replication).trim();
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_REPLICATION_FACTOR)
      return {
        ok: false,
        reason: 'InvalidConfig',
        message: `${where}: data["${CONFIGMAP_REPLICATION_FACTOR_KEY}"]: expected an integer from 1 to ${MAX_REPLICATION_FACTOR}, found ${JSON.stringify(replication)}`,
      };
    settings.replicationFactor = n;
  }
  const config: Record<string, string> = { ...(fallback.config ?? {}) };
  for (const [key, value] of Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!key.startsWith(CONFIGMAP_TOPIC_CONFIG_PREFIX) || key === CONFIGMAP_RETENTION_MS_KEY) continue;
    const name = key.slice(CONFIGMAP_TOPIC_CONFIG_PREFIX.length);
    const field = `${where}: data["${key}"]`;
    if (!KAFKA_CONFIG_NAME.test(name))
      return {
        ok: false,
        reason: 'InvalidConfig',
        message: `${field}: ${JSON.stringify(name)} is not a Kafka topic config name (lower-case words joined by ".")`,
      };
    const text = String(value).trim();
    const owned = EDDY_OWNED_TOPIC_CONFIG[name];
    if (owned !== undefined && text !== owned)
      return {
        ok: false,
        reason: 'InvalidConfig',
        message: `${field}: Eddy's event log needs ${name}=${owned}, found ${JSON.stringify(value)}`,
      };
    if (owned === undefined) config[name] = text;
  }
  if (Object.keys(config).length > 0) settings.config = config;
  return { ok: true, settings };
}

/** KafkaChannel's spec fields (also a Channel's KafkaChannel template spec, which is not defaulted). */
export function topicSettingsFromKafkaChannelSpec(
  where: string,
  spec: Record<string, unknown> | undefined,
  defaults: { partitions: number; retention: string },
): TopicSettingsResult {
  const numPartitions = spec?.numPartitions ?? 0;
  if (typeof numPartitions !== 'number' || !Number.isSafeInteger(numPartitions) || numPartitions < 0)
    return {
      ok: false,
      reason: 'InvalidConfig',
      message: `${where}.numPartitions: expected a positive integer, found ${JSON.stringify(numPartitions)}`,
    };
  const retention = spec?.retentionDuration ?? defaults.retention;
  const d = typeof retention === 'string' ? parseIsoDuration(retention) : undefined;
  if (!d || d.negative || d.ms === 0)
    return {
      ok: false,
      reason: 'InvalidConfig',
      message: `${where}.retentionDuration: expected a positive ISO-8601 duration such as "PT168H", found ${JSON.stringify(retention)}`,
    };
  // 0 means "default" in the KafkaChannel Go types.
  return {
    ok: true,
    settings: { partitions: numPartitions || defaults.partitions, retentionMs: Math.round(d.ms) },
  };
}
