// Argument checks of the consumer-side calls, shared by both Kafka event logs.
import { type CommitOffset, type ConsumeOptions, EventLogUsageError } from '../event-log.js';
import { checkTopicName } from './kafka-topics.js';

export function checkGroupName(group: unknown, action: string): void {
  if (typeof group !== 'string' || group === '') {
    throw new EventLogUsageError(`${action}: group must be a non-empty string`);
  }
}

export function checkPosition(
  position: unknown,
  allowCommitted: boolean,
  field: string,
  action: string,
): void {
  if (position === undefined) return;
  const names = allowCommitted ? ['committed', 'earliest', 'latest'] : ['earliest', 'latest'];
  if (typeof position === 'string' && names.includes(position)) return;
  if (
    typeof position === 'object' &&
    position !== null &&
    Number.isFinite((position as { timestamp?: unknown }).timestamp)
  ) {
    return;
  }
  throw new EventLogUsageError(
    `${action}: ${field} must be ${names.map((n) => `"${n}"`).join(', ')} or { timestamp: <epoch ms> }, got ${JSON.stringify(position)}`,
  );
}

export function checkConsumeOptions(options: ConsumeOptions, action: string): void {
  if (typeof options !== 'object' || options === null)
    throw new EventLogUsageError(`${action}: options missing`);
  checkGroupName(options.group, action);
  checkTopicName(options.topic, action);
  if (typeof options.handler !== 'function')
    throw new EventLogUsageError(`${action}: handler must be a function`);
  checkPosition(options.start, true, 'start', action);
  checkPosition(options.initial, false, 'initial', action);
  const max = options.maxBatchSize;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new EventLogUsageError(`${action}: maxBatchSize must be an integer >= 1, got ${max}`);
  }
}

/** The offsets of a Consumer.commit: of the consumer's topic, partitions and offsets integers >= 0. */
export function checkCommitOffsets(offsets: CommitOffset[], topic: string, action: string): void {
  for (const [i, o] of offsets.entries()) {
    if (o.topic !== topic) {
      throw new EventLogUsageError(
        `${action}: offsets[${i}].topic is "${o.topic}", this consumer reads "${topic}"`,
      );
    }
    if (!Number.isInteger(o.partition) || o.partition < 0) {
      throw new EventLogUsageError(
        `${action}: offsets[${i}].partition must be an integer >= 0, got ${o.partition}`,
      );
    }
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new EventLogUsageError(
        `${action}: offsets[${i}].offset must be an integer >= 0, got ${o.offset}`,
      );
    }
  }
}
