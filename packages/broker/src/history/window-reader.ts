// Reads the records of a time window of a topic, [start, end) per partition as timeWindow gives it,
// and stops: what export, history views and replay read. It consumes with a throw-away group that
// never commits and is deleted at the end, so reading history moves no Trigger's offsets and leaves
// no trace. The handler's promise is the backpressure: the next batch of a partition waits for it.

import { randomUUID } from 'node:crypto';
import type { EventLog, LogEvent, LogRecord, StartPosition } from '../eventlog/event-log.js';
import type { PartitionWindow } from './time-window.js';

export const HISTORY_GROUP_PREFIX = 'eddy-history-';

export interface ReadWindowOptions {
  log: Pick<EventLog, 'consume' | 'deleteGroup' | 'lag'>;
  topic: string;
  window: readonly PartitionWindow[];
  /**
   * Where the consumer starts: the window's `from` time when the caller has it (the log seeks there
   * directly), else `earliest` and the records before each partition's start are skipped.
   */
  from?: number;
  /** Only events it accepts reach the handler (they are still counted as read). */
  filter?: (event: LogEvent) => boolean;
  /** Records of one partition, in offset order, all inside the window and accepted by the filter. */
  handler(records: LogRecord[]): Promise<void>;
  /** Records read so far (filtered or not), summed over partitions; called (and awaited) after each batch. */
  onRead?(read: number): void | Promise<void>;
  /** Aborting stops reading; the returned promise then resolves with what was read so far. */
  signal?: AbortSignal;
  /** Prefix of the throw-away group's name. Default HISTORY_GROUP_PREFIX. */
  groupPrefix?: string;
}

export interface WindowRead {
  /** Records of the window read (as retention left them), before the filter. */
  read: number;
  /** Records handed to the handler. */
  matched: number;
  /** The reading stopped before the end of the window (aborted). */
  aborted: boolean;
}

/**
 * Reads the window once, partition by partition up to its end, then closes the consumer and deletes
 * its group. Records retention deleted since the window was computed are skipped, not waited for.
 * Rejects when the consumer fails (the log, or the handler, threw).
 */
export async function readWindow(options: ReadWindowOptions): Promise<WindowRead> {
  const { log, topic } = options;
  const group = `${options.groupPrefix ?? HISTORY_GROUP_PREFIX}${randomUUID()}`;
  const pending = await retainedWindow(options, group);
  const result: WindowRead = { read: 0, matched: 0, aborted: false };
  if (pending.size === 0) return result;

  let finish: () => void = () => {};
  let fail: (error: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const onAbort = () => {
    result.aborted = true;
    finish();
  };
  if (options.signal?.aborted) return { ...result, aborted: true };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const start: StartPosition = options.from === undefined ? 'earliest' : { timestamp: options.from };
  const consumer = await log
    .consume({
      group,
      topic,
      start,
      handler: async (batch) => {
        const window = pending.get(batch.partition);
        if (window === undefined || result.aborted) return;
        const inside = batch.records.filter((r) => r.offset >= window.start && r.offset < window.end);
        const last = batch.records.at(-1);
        result.read += inside.length;
        const matching = options.filter ? inside.filter((r) => options.filter?.(r.event)) : inside;
        if (matching.length > 0) {
          result.matched += matching.length;
          await options.handler(matching);
        }
        await options.onRead?.(result.read);
        if (last !== undefined && last.offset >= window.end - 1) {
          pending.delete(batch.partition);
          if (pending.size === 0) finish();
        }
      },
      onError: (error) => fail(error),
    })
    .catch(async (error: unknown) => {
      await log.deleteGroup(group).catch(() => {});
      throw error;
    });
  try {
    await finished;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.close().catch(() => {});
    await log.deleteGroup(group).catch(() => {});
  }
  return result;
}

/**
 * The window's non-empty partitions, each starting no earlier than its first retained offset (a
 * record deleted by retention would otherwise be waited for forever).
 */
async function retainedWindow(
  options: ReadWindowOptions,
  group: string,
): Promise<Map<number, PartitionWindow>> {
  const nonEmpty = options.window.filter((p) => p.end > p.start);
  if (nonEmpty.length === 0) return new Map();
  // lag() of a group that has not committed (yet): `start` is each partition's first retained offset.
  const retained = new Map((await options.log.lag(group, options.topic)).map((p) => [p.partition, p.start]));
  const pending = new Map<number, PartitionWindow>();
  for (const p of nonEmpty) {
    const start = Math.max(p.start, retained.get(p.partition) ?? p.start);
    if (start < p.end) pending.set(p.partition, { partition: p.partition, start, end: p.end });
  }
  return pending;
}
