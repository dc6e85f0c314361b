// Maps kafkajs failures onto the event log's error kinds: EventLogUsageError for calls that can never
// succeed as made (RecordTooLargeError when that is a record's size), EventLogUnavailableError for
// everything that may work later (broker down, timeouts, leader elections, rebalances).
import { TimeoutError, withTimeout } from '@eddy/runtime';
import { EventLogUnavailableError, EventLogUsageError, RecordTooLargeError } from '../event-log.js';

/** Kafka protocol error types that say the request itself is wrong. */
const USAGE_PROTOCOL_ERRORS = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_REPLICA_ASSIGNMENT',
  'INVALID_CONFIG',
  'INVALID_REQUEST',
  'POLICY_VIOLATION',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
  'INVALID_GROUP_ID',
  'NON_EMPTY_GROUP',
  'TOPIC_DELETION_DISABLED',
  'OFFSET_METADATA_TOO_LARGE',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);

/** Kafka protocol error types that say a record or batch is over the broker's or topic's size limit. */
const TOO_LARGE_PROTOCOL_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** kafkajs error names that mean "could not reach / hear back from the cluster in time". */
const UNAVAILABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSStaleTopicMetadataAssignment',
]);

interface KafkaLikeError {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
  groups?: { error?: unknown }[];
}

/** The error and everything it wraps, outermost first. */
function chain(error: unknown): KafkaLikeError[] {
  const seen = new Set<unknown>();
  const result: KafkaLikeError[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === null || typeof next !== 'object' || seen.has(next)) continue;
    seen.add(next);
    const e = next as KafkaLikeError;
    result.push(e);
    queue.push(e.cause, e.originalError, ...(e.errors ?? []), ...(e.groups ?? []).map((g) => g.error));
  }
  return result;
}

/** The Kafka protocol error type somewhere in the chain (e.g. `UNKNOWN_TOPIC_OR_PARTITION`). */
export function protocolErrorType(error: unknown): string | undefined {
  return chain(error).find((e) => typeof e.type === 'string')?.type;
}

export function isUsageFailure(error: unknown): boolean {
  const errors = chain(error);
  if (errors.some((e) => e instanceof EventLogUsageError)) return true;
  if (errors.some((e) => e instanceof EventLogUnavailableError)) return false;
  if (errors.some((e) => typeof e.type === 'string' && USAGE_PROTOCOL_ERRORS.has(e.type))) return true;
  if (errors.some((e) => e.name !== undefined && UNAVAILABLE_NAMES.has(e.name))) return false;
  if (errors.some((e) => e.retriable === true)) return false;
  // kafkajs rejects bad arguments with a bare KafkaJSNonRetriableError before sending anything.
  return errors[0]?.name === 'KafkaJSNonRetriableError';
}

/** A Kafka protocol error the broker marks retriable (leader election, coordinator loading, ...). */
export function isTransientProtocolError(error: unknown): boolean {
  return chain(error).some(
    (e) =>
      e.name === 'KafkaJSProtocolError' &&
      e.retriable === true &&
      typeof e.type === 'string' &&
      !USAGE_PROTOCOL_ERRORS.has(e.type),
  );
}

/** Wraps a kafkajs failure of `action` (e.g. `append to "orders"`) in the event log's error kinds. */
export function toEventLogError(error: unknown, action: string): Error {
  if (error instanceof EventLogUsageError || error instanceof EventLogUnavailableError) return error;
  const innermost = chain(error).at(-1);
  const detail = innermost?.message ?? String(error);
  const outer = (error as KafkaLikeError | undefined)?.message;
  const message = outer && outer !== detail ? `${outer}: ${detail}` : detail;
  if (chain(error).some((e) => typeof e.type === 'string' && TOO_LARGE_PROTOCOL_ERRORS.has(e.type)))
    return new RecordTooLargeError(`${action}: ${message}`, { cause: error });
  return isUsageFailure(error)
    ? new EventLogUsageError(`${action}: ${message}`, { cause: error })
    : new EventLogUnavailableError(`${action}: Kafka is unavailable: ${message}`, { cause: error });
}

/** Rejects with EventLogUnavailableError when `promise` has not settled after `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, action: string): Promise<T> {
  try {
    return await withTimeout(promise, ms, `${action}: Kafka did not answer within ${ms} ms`);
  } catch (error) {
    if (error instanceof TimeoutError) throw new EventLogUnavailableError(error.message);
    throw error;
  }
}
