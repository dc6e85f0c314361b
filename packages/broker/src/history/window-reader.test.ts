// readWindow and oldestEventTime on the embedded log: exactly the records of [from, to) on every
// partition, in offset order, live appends after `to` never read, the filter, no committed offset of
// another group moved, the throw-away group deleted, and the oldest retained record's time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@eddy/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import type { EventLog, LogEvent, LogRecord } from '../eventlog/event-log.js';
import { oldestEventTime } from './oldest-event.js';
import { timeWindow, windowSize } from './time-window.js';
import { HISTORY_GROUP_PREFIX, readWindow } from './window-reader.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function openLog(): Promise<EventLog> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-history-'));
  const log = await openEmbeddedEventLog({ dataDir: dir });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => log.close());
  return log;
}

const event = (id: string, type = 'com.example.a'): LogEvent => ({
  specversion: '1.0',
  id,
  source: '/test',
  type,
  partitionkey: id,
});

/** Appends, then waits so the next append has a later timestamp. */
async function appendThenTick(log: EventLog, topic: string, ids: string[], type?: string): Promise<void> {
  await log.append(
    topic,
    ids.map((id) => event(id, type)),
  );
  await sleep(15);
}

describe('readWindow', () => {
  it('reads exactly [from, to) on every partition, in offset order, and never what is appended after', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 3 });
    await appendThenTick(log, 't', ['before-1', 'before-2']);
    const from = Date.now();
    await sleep(2);
    await appendThenTick(log, 't', ['in-1', 'in-2', 'in-3', 'in-4', 'in-5', 'in-6']);
    await appendThenTick(log, 't', ['in-7']);
    const to = Date.now();
    await sleep(2);
    await appendThenTick(log, 't', ['after-1', 'after-2']);

    const window = await timeWindow(log, 't', from, to);
    expect(windowSize(window)).toBe(7);
    const got: LogRecord[] = [];
    const reads: number[] = [];
    const result = await readWindow({
      log,
      topic: 't',
      window,
      from,
      handler: async (records) => {
        // Live traffic keeps arriving while the window is read; none of it is read.
        await log.append('t', [event(`live-${got.length}`)]);
        got.push(...records);
      },
      onRead: (read) => {
        reads.push(read);
      },
    });
    expect(result).toEqual({ read: 7, matched: 7, aborted: false });
    expect(got.map((r) => r.event.id).sort()).toEqual([
      'in-1',
      'in-2',
      'in-3',
      'in-4',
      'in-5',
      'in-6',
      'in-7',
    ]);
    for (const p of [0, 1, 2]) {
      const offsets = got.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
    expect(reads.at(-1)).toBe(7);
  });

  it('hands the handler only what the filter accepts, counting everything read', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 1 });
    await appendThenTick(log, 't', ['a-1', 'a-2'], 'com.example.a');
    await appendThenTick(log, 't', ['b-1'], 'com.example.b');
    const window = await timeWindow(log, 't', 0);
    const got: string[] = [];
    const result = await readWindow({
      log,
      topic: 't',
      window,
      filter: (e) => e.type === 'com.example.b',
      handler: async (records) => {
        got.push(...records.map((r) => r.event.id));
      },
    });
    expect(got).toEqual(['b-1']);
    expect(result).toMatchObject({ read: 3, matched: 1 });
  });

  it('moves no other group, and deletes its own throw-away group at the end', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 1 });
    await appendThenTick(log, 't', ['x-1', 'x-2', 'x-3']);
    // A Trigger's group that has processed one record.
    const trigger = await log.consume({
      group: 'trigger-group',
      topic: 't',
      start: 'earliest',
      maxBatchSize: 1,
      handler: async () => {},
    });
    await trigger.ready();
    await trigger.commit([{ topic: 't', partition: 0, offset: 1 }]);
    await trigger.close();
    const deleted: string[] = [];
    const spied: Pick<EventLog, 'consume' | 'deleteGroup' | 'lag'> = {
      consume: (o) => log.consume(o),
      lag: (g, t) => log.lag(g, t),
      deleteGroup: async (g) => {
        deleted.push(g);
        await log.deleteGroup(g);
      },
    };
    const result = await readWindow({
      log: spied,
      topic: 't',
      window: await timeWindow(log, 't', 0),
      handler: async () => {},
    });
    expect(result.read).toBe(3);
    expect((await log.lag('trigger-group', 't'))[0]).toMatchObject({ committed: 1, lag: 2 });
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatch(new RegExp(`^${HISTORY_GROUP_PREFIX}`));
    expect((await log.lag(deleted[0]!, 't'))[0]?.committed).toBeNull();
  });

  it('returns at once for an empty window, and stops early when aborted', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 2 });
    const empty = await readWindow({
      log,
      topic: 't',
      window: await timeWindow(log, 't', 0),
      handler: async () => {},
    });
    expect(empty).toEqual({ read: 0, matched: 0, aborted: false });

    await appendThenTick(
      log,
      't',
      Array.from({ length: 50 }, (_, i) => `e-${i}`),
    );
    const stop = new AbortController();
    const result = await readWindow({
      log,
      topic: 't',
      window: await timeWindow(log, 't', 0),
      handler: async () => stop.abort(),
      signal: stop.signal,
    });
    expect(result.aborted).toBe(true);
    expect(result.read).toBeLessThan(50);
  });
});

describe('oldestEventTime', () => {
  it('is undefined for an empty topic, then the time of the first record still held', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 2 });
    expect(await oldestEventTime(log, 't')).toBeUndefined();
    const before = Date.now();
    await appendThenTick(log, 't', ['first']);
    const after = Date.now();
    await appendThenTick(log, 't', ['second', 'third']);
    const oldest = await oldestEventTime(log, 't');
    expect(oldest).toBeGreaterThanOrEqual(before);
    expect(oldest).toBeLessThanOrEqual(after);
  });
});
