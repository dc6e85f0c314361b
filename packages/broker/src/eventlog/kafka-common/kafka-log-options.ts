// The options both Kafka event logs take, and their defaults: one place, so the two clients cannot
// drift apart on a timeout a deployment sets once.
import type pino from 'pino';
import { EventLogUsageError } from '../event-log.js';
import type { KafkaSecurity } from './kafka-security.js';

export interface SharedKafkaLogOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /** TLS and SASL of every connection (kafkaSecurityFromEnv reads them). Default: plaintext. */
  security?: KafkaSecurity;
  clientId?: string;
  /** Where the client and the log write their logs. Default: pino at `warn` on stderr. */
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
  /** Replication factor of created topics. Default: number of brokers, at most 3. */
  replicationFactor?: number;
}

/** The timings and client id with their defaults filled in. */
export type KafkaLogSettings = Required<
  Omit<SharedKafkaLogOptions, 'logger' | 'replicationFactor' | 'brokers' | 'security'>
>;

export function kafkaLogSettings(options: SharedKafkaLogOptions): KafkaLogSettings {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new EventLogUsageError('Kafka event log: `brokers` must list at least one host:port');
  }
  return {
    clientId: options.clientId ?? 'eddy',
    appendTimeoutMs: options.appendTimeoutMs ?? 30_000,
    operationTimeoutMs: options.operationTimeoutMs ?? 30_000,
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeMs: options.maxWaitTimeMs ?? 1_000,
  };
}
