// The embedded log's writer thread: transactions commit off the main thread, acknowledged writes
// are durable across a reopen, close drains, and a dead writer thread fails writes instead of
// hanging them. (Group commit, SIGKILL durability and the rest are in embedded-event-log.test.ts.)

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlainEvent } from '@eddy/api';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from '../../testing/wait.js';
import { EventLogUnavailableError, type RecordPosition } from '../event-log.js';
import { type EmbeddedEventLog, openEmbeddedEventLog } from './embedded-event-log.js';
import { LOCK_FILE } from './sqlite-store.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-embedded-writer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

async function openLog(dataDir = join(root, `dir-${++dirs}`)): Promise<EmbeddedEventLog> {
  const log = await openEmbeddedEventLog({ dataDir });
  onTestFinished(() => log.close());
  return log;
}

function events(from: number, count: number, data: unknown = { n: from }): PlainEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    specversion: '1.0',
    id: `e-${from + i}`,
    source: '/test',
    type: 'dev.eddy.test',
    data,
  }));
}

/** Event-loop turns the main thread completes until `promise` settles. */
async function turnsUntilSettled(promise: Promise<unknown>): Promise<number> {
  let settled = false;
  void promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  let turns = 0;
  while (!settled) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  return turns;
}

describe('embedded event log writer thread', () => {
  it('keeps the main event loop turning while a large transaction commits', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 4 });
    // ~12 MB in one transaction: on the main thread its INSERTs and COMMIT would run within one
    // turn (the append would settle after at most one more); on the writer thread they do not.
    const append = log.append('t', events(0, 3_000, 'x'.repeat(4_096)));
    const turns = await turnsUntilSettled(append);
    expect(await append).toHaveLength(3_000);
    expect(turns).toBeGreaterThan(3);
  });

  it('keeps every acknowledged write across close and reopen, with writes in flight at close', async () => {
    const dataDir = join(root, `dir-${++dirs}`);
    const log = await openEmbeddedEventLog({ dataDir });
    await log.ensureTopic('t', { partitions: 3 });
    const consumer = await log.consume({
      group: 'g',
      topic: 't',
      start: 'earliest',
      handler: async () => {},
    });
    await consumer.ready();
    const appends: Promise<RecordPosition[]>[] = [];
    for (let i = 0; i < 40; i++) appends.push(log.append('t', events(i * 25, 25)));
    const commit = consumer.commit([{ topic: 't', partition: 1, offset: 7 }]);
    // Not awaited: close drains what was accepted before it.
    const closed = log.close();
    await expect(log.append('t', events(5_000, 1))).rejects.toThrow(EventLogUnavailableError);
    await closed;
    const acked = (await Promise.all(appends)).flat();
    await commit;
    expect(acked).toHaveLength(1_000);

    const reopened = await openLog(dataDir);
    const lag = await reopened.lag('g', 't');
    expect(lag.reduce((sum, entry) => sum + entry.end, 0)).toBe(1_000);
    expect(lag[1]!.committed).toBe(7);
    const seen = new Map<string, string>();
    await reopened.consume({
      group: 'verify',
      topic: 't',
      start: 'earliest',
      maxBatchSize: 1_000,
      handler: async (batch) => {
        for (const record of batch.records) seen.set(`${record.partition}/${record.offset}`, record.event.id);
      },
    });
    await waitFor('every acknowledged record', () => seen.size >= 1_000);
    const expected = new Map<string, string>();
    for (const [i, position] of acked.entries())
      expected.set(`${position.partition}/${position.offset}`, `e-${i}`);
    expect(seen).toEqual(expected);
  });

  it('fails writes with EventLogUnavailableError, without hanging, once the writer thread died', async () => {
    const log = await openLog();
    await log.ensureTopic('t');
    await log.append('t', events(0, 1));
    const inFlight = log.append('t', events(1, 2_000, 'y'.repeat(2_048)));
    await log.killWriterThread();
    // It either committed before the thread ended or fails; it does not hang.
    const outcome = await Promise.allSettled([inFlight]);
    if (outcome[0]!.status === 'rejected')
      expect(outcome[0]!.reason).toBeInstanceOf(EventLogUnavailableError);
    await expect(log.append('t', events(3_000, 1))).rejects.toThrow(EventLogUnavailableError);
    await expect(log.ensureTopic('u')).rejects.toThrow(EventLogUnavailableError);
    await expect(
      log.consume({ group: 'h', topic: 't', start: 'earliest', handler: async () => {} }),
    ).rejects.toThrow(EventLogUnavailableError);
    const consumer = await log.consume({
      group: 'g',
      topic: 't',
      initial: 'earliest',
      handler: async () => {},
    });
    await expect(consumer.commit([{ topic: 't', partition: 0, offset: 1 }])).rejects.toThrow(
      EventLogUnavailableError,
    );
    // Reads go on: they use the main thread's own connection.
    expect((await log.lag('g', 't'))[0]!.end).toBeGreaterThanOrEqual(1);
    await log.close();
  });

  it('releases the data directory on close, so another log can open it', async () => {
    const dataDir = join(root, `dir-${++dirs}`);
    const first = await openEmbeddedEventLog({ dataDir });
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);
    await expect(openEmbeddedEventLog({ dataDir })).rejects.toThrow(/in use by another process/);
    await first.close();
    const second = await openLog(dataDir);
    expect(await second.listTopics()).toEqual([]);
  });
});
