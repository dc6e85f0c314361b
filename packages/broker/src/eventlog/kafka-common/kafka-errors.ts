// Maps Kafka client failures (kafkajs and @platformatic/kafka alike) onto the event log's error kinds:
// EventLogUsageError for calls that can never succeed as made (RecordTooLargeError when that is a
// record's size), EventLogUnavailableError for everything that may work later (broker down,
// timeouts, leader elections, rebalances).
//
// The two clients describe a broker's answer differently: kafkajs as `type` (the protocol error
// name, e.g. MESSAGE_TOO_LARGE) and `retriable`, @platformatic/kafka as `apiId` and `canRetry`,
// with its own `code` (PLT_KFK_*) for the kind of failure. Both wrap errors (kafkajs in `cause` /
// `originalError` / `errors`, platformatic in `cause` / `errors`); the whole chain is inspected.
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

/** kafkajs error names and @platformatic/kafka codes that mean "could not reach / hear back from the cluster in time". */
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
  'PLT_KFK_NETWORK',
  'PLT_KFK_TIMEOUT',
]);

interface KafkaLikeError {
  name?: string;
  message?: string;
  /** kafkajs: the protocol error type. */
  type?: string;
  /** @platformatic/kafka: the protocol error id. */
  apiId?: string;
  /** @platformatic/kafka: PLT_KFK_*. */
  code?: string;
  retriable?: boolean;
  canRetry?: boolean;
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

/** The protocol error type of one error of the chain, in either client's spelling. */
function typeOf(e: KafkaLikeError): string | undefined {
  if (typeof e.type === 'string') return e.type;
  return typeof e.apiId === 'string' ? e.apiId : undefined;
}

/** Whether `type` (e.g. `GROUP_ID_NOT_FOUND`) is anywhere in the chain. */
export function hasProtocolError(error: unknown, type: string): boolean {
  return chain(error).some((e) => typeOf(e) === type);
}

export function isUsageFailure(error: unknown): boolean {
  const errors = chain(error);
  if (errors.some((e) => e instanceof EventLogUsageError)) return true;
  if (errors.some((e) => e instanceof EventLogUnavailableError)) return false;
  if (errors.some((e) => USAGE_PROTOCOL_ERRORS.has(typeOf(e) ?? ''))) return true;
  if (errors.some((e) => UNAVAILABLE_NAMES.has(e.name ?? '') || UNAVAILABLE_NAMES.has(e.code ?? '')))
    return false;
  if (errors.some((e) => e.retriable === true || e.canRetry === true)) return false;
  // kafkajs rejects bad arguments with a bare KafkaJSNonRetriableError before sending anything,
  // @platformatic/kafka with a UserError.
  return errors[0]?.name === 'KafkaJSNonRetriableError' || errors[0]?.code === 'PLT_KFK_USER';
}

/** A Kafka protocol error the broker marks retriable (leader election, coordinator loading, ...). */
export function isTransientProtocolError(error: unknown): boolean {
  return chain(error).some((e) => {
    const type = typeOf(e);
    if (type === undefined || USAGE_PROTOCOL_ERRORS.has(type)) return false;
    return (
      (e.name === 'KafkaJSProtocolError' && e.retriable === true) ||
      (e.code === 'PLT_KFK_PROTOCOL' && e.canRetry === true)
    );
  });
}

/**
 * A topic the cluster's metadata does not list. Usually final, but right after another client
 * created it a broker may not list it yet: ensureTopic, told "already exists", waits it out.
 */
export class TopicMissingError extends EventLogUsageError {}

/** Wraps a Kafka client's failure of `action` (e.g. `append to "orders"`) in the event log's error kinds. */
export function toEventLogError(error: unknown, action: string): Error {
  if (error instanceof EventLogUsageError || error instanceof EventLogUnavailableError) return error;
  const innermost = chain(error).at(-1);
  const detail = innermost?.message ?? String(error);
  const outer = (error as KafkaLikeError | undefined)?.message;
  const message = outer && outer !== detail ? `${outer}: ${detail}` : detail;
  if (chain(error).some((e) => TOO_LARGE_PROTOCOL_ERRORS.has(typeOf(e) ?? '')))
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
