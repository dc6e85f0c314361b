// Which client the Kafka event log runs on: the one place that choice is made. Both logs write the
// same records to the same topics and groups and pass the same conformance suite, so a deployment
// can switch clients between runs (committed offsets and topics are Kafka's, not the client's).
import {
  createKafkaEventLog,
  type KafkaEventLog,
  type KafkaEventLogOptions,
} from './kafka/kafka-event-log.js';
import {
  createPlatformaticEventLog,
  type PlatformaticEventLog,
  type PlatformaticEventLogOptions,
} from './platformatic/platformatic-event-log.js';

export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
/**
 * `platformatic` (@platformatic/kafka, the default: about twice kafkajs' throughput in
 * bench/RESULTS.md, same tests) or `kafkajs`.
 */
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];
export const DEFAULT_KAFKA_CLIENT: KafkaClientName = 'platformatic';

/** The options both clients take (their own extras, e.g. kafkajs' partitionsConsumedConcurrently, aside). */
export type KafkaLogOptions = KafkaEventLogOptions & PlatformaticEventLogOptions;

export function isKafkaClientName(value: unknown): value is KafkaClientName {
  return typeof value === 'string' && (KAFKA_CLIENTS as readonly string[]).includes(value);
}

/** A Kafka event log on `client` (default DEFAULT_KAFKA_CLIENT). */
export function openKafkaEventLog(
  options: KafkaLogOptions & { client?: KafkaClientName },
): KafkaEventLog | PlatformaticEventLog {
  const { client = DEFAULT_KAFKA_CLIENT, ...rest } = options;
  return client === 'platformatic' ? createPlatformaticEventLog(rest) : createKafkaEventLog(rest);
}
