// Where a consumer group member starts, in offsets: shared by both Kafka event logs, which resolve
// start and initial positions themselves when a member joins (so ready() means "every record
// appended from now on will be delivered") instead of leaving it to the client's first fetch.
import type { ConsumeOptions, InitialPosition } from '../event-log.js';

/** Offsets a consumer needs from the cluster besides its own fetches (served by the admin client). */
export interface OffsetLookup {
  /** Per partition: first retained offset and log end offset. */
  topicOffsets(topic: string): Promise<Map<number, { start: number; end: number }>>;
  /** Per partition: first offset whose timestamp is >= `timestamp`, else the log end offset. */
  offsetsForTimestamp(topic: string, timestamp: number): Promise<Map<number, number>>;
  /** Per partition: the group's committed offset, null where it never committed. */
  committedOffsets(group: string, topic: string): Promise<Map<number, number | null>>;
}

/** The position of partitions without a commit (ConsumeOptions.initial, default latest). */
export function initialOf(options: ConsumeOptions): InitialPosition {
  return options.initial ?? 'latest';
}

/** Per partition, the offset `position` stands for right now. */
export async function targetOffsets(
  lookup: OffsetLookup,
  topic: string,
  position: InitialPosition,
): Promise<Map<number, number>> {
  if (typeof position === 'object') return lookup.offsetsForTimestamp(topic, position.timestamp);
  const offsets = await lookup.topicOffsets(topic);
  return new Map([...offsets].map(([p, o]) => [p, position === 'earliest' ? o.start : o.end]));
}
