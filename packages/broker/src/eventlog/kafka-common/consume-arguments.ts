// Argument checks of the consumer-side calls, shared by both Kafka event logs.
import { type ConsumeOptions, EventLogUsageError } from '../event-log.js';
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
