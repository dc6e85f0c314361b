// The oldest event a topic still holds: retention is the archive, so this is how far back export,
// tail --from and replay can reach. Min over partitions of the timestamp of the record at the first
// retained offset, read with readWindow's throw-away group (one record per partition).

import type { EventLog } from '../eventlog/event-log.js';
import { readWindow } from './window-reader.js';

/**
 * Epoch ms of the oldest retained record of `topic`, or undefined when the topic holds none. Rejects
 * when `signal` aborts first (a partial answer could be wrong).
 */
export async function oldestEventTime(
  log: Pick<EventLog, 'consume' | 'deleteGroup' | 'lag'>,
  topic: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const partitions = await log.lag(`eddy-oldest-probe`, topic);
  const window = partitions.map((p) => ({
    partition: p.partition,
    start: p.start,
    end: Math.min(p.end, p.start + 1),
  }));
  let oldest: number | undefined;
  const read = await readWindow({
    log,
    topic,
    window,
    groupPrefix: 'eddy-oldest-',
    ...(signal ? { signal } : {}),
    handler: async (records) => {
      for (const r of records) oldest = oldest === undefined ? r.timestamp : Math.min(oldest, r.timestamp);
    },
  });
  if (read.aborted) throw new Error('reading the oldest records was cut short');
  return oldest;
}
