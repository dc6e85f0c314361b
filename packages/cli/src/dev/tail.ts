// `GET /v1/tail`: a live view of the events passing a broker, read from its topic with a throw-away
// consumer group that starts at `latest` (or at a time, to show history first), never commits, and is
// deleted at the end, so tailing leaves no trace and never moves any Trigger's offsets.

import { randomUUID } from 'node:crypto';
import { type CesqlAttributes, type CompiledCesql, toJsonText } from '@eddy/api';
import type { Consumer, EventLog, StartPosition } from '@eddy/broker';

export interface TailOptions {
  log: EventLog;
  topic: string;
  filter?: CompiledCesql;
  /** Default `latest`: only what is appended from now on. */
  start?: StartPosition;
  /** Writes one NDJSON line; resolving late is the backpressure that pauses the consumer. */
  write(line: string): Promise<void>;
}

export interface Tail {
  readonly group: string;
  /** Resolves once the consumer has its partitions (events from then on are seen). */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

export const TAIL_GROUP_PREFIX = 'eddy-tail-';

export async function startTail(options: TailOptions): Promise<Tail> {
  const group = `${TAIL_GROUP_PREFIX}${randomUUID()}`;
  let stopped = false;
  const consumer: Consumer = await options.log.consume({
    group,
    topic: options.topic,
    start: options.start ?? 'latest',
    handler: async (batch) => {
      for (const record of batch.records) {
        if (stopped) return;
        const event = record.event;
        if (options.filter && !options.filter.matches(event as unknown as CesqlAttributes)) continue;
        await options.write(`${toJsonText(event)}\n`);
      }
    },
  });
  let stopping: Promise<void> | undefined;
  return {
    group,
    ready: () => consumer.ready(),
    stop() {
      stopped = true;
      stopping ??= (async () => {
        await consumer.close().catch(() => {});
        await options.log.deleteGroup(group).catch(() => {});
      })();
      return stopping;
    },
  };
}
