// Embedded-only behaviour beyond the shared conformance suite: crash durability with a real
// SIGKILL, group commit, backpressure under a large backlog, wake-up latency, rebalance hand-over
// while a handler runs, seek vs in-flight commits, topic deletion with live members, errors.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PlainEvent } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from '../../testing/wait.js';
import type { LogRecord, RecordBatch } from '../event-log.js';
import { EventLogUnavailableError, EventLogUsageError } from '../event-log.js';
import { type EmbeddedEventLog, openEmbeddedEventLog } from './embedded-event-log.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-embedded-log-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function newDataDir(): string {
  return join(root, `dir-${++dirs}`);
}

async function openLog(dataDir = newDataDir(), retentionCheckIntervalMs = 10_000): Promise<EmbeddedEventLog> {
  const log = await openEmbeddedEventLog({ dataDir, retentionCheckIntervalMs });
  onTestFinished(() => log.close());
  return log;
}

function event(i: number, extra: Record<string, unknown> = {}): PlainEvent {
  return { specversion: '1.0', id: `e-${i}`, source: '/test', type: 'dev.eddy.test', data: { i }, ...extra };
}

function events(from: number, count: number): PlainEvent[] {
  return Array.from({ length: count }, (_, i) => event(from + i));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('embedded event log', () => {
  it('keeps every acknowledged append and commit when the process is killed with SIGKILL', async () => {
    const dataDir = newDataDir();
    const fixture = fileURLToPath(new URL('./fixtures/append-and-crash.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture, dataDir, 'crash', 'crash-group', '3000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_, sig) => resolve(sig)),
    );
    expect(signal, `child stderr: ${stderr}`).toBe('SIGKILL');

    const acked: [number, number, string][] = [];
    let lastCommitted: number[] = [0, 0, 0];
    for (const line of stdout.split('\n').filter((text) => text.trim() !== '')) {
      const message = JSON.parse(line) as { acked?: [number, number, string][]; committed?: number[] };
      if (message.acked) acked.push(...message.acked);
      if (message.committed) lastCommitted = message.committed;
    }
    expect(acked.length).toBeGreaterThanOrEqual(3000);

    const log = await openLog(dataDir);
    const lag = await log.lag('crash-group', 'crash');
    for (const entry of lag) {
      expect(entry.committed ?? 0).toBeGreaterThanOrEqual(lastCommitted[entry.partition]!);
    }
    const total = lag.reduce((sum, entry) => sum + entry.end, 0);
    expect(total).toBeGreaterThanOrEqual(acked.length);
    const seen = new Map<string, string>();
    const consumer = await log.consume({
      group: 'verify',
      topic: 'crash',
      start: 'earliest',
      maxBatchSize: 1000,
      handler: async (batch) => {
        for (const record of batch.records) seen.set(`${record.partition}/${record.offset}`, record.event.id);
      },
    });
    await waitFor(`all ${total} records`, () => seen.size >= total, 20_000);
    await consumer.close();
    for (const [partition, offset, id] of acked) expect(seen.get(`${partition}/${offset}`)).toBe(id);
  }, 30_000);

  it('refuses a second open of the same data directory and reports unusable directories', async () => {
    const dataDir = newDataDir();
    await openLog(dataDir);
    await expect(openEmbeddedEventLog({ dataDir })).rejects.toThrow(EventLogUnavailableError);
    await expect(openEmbeddedEventLog({ dataDir })).rejects.toThrow(/in use by another process/);
    const file = join(root, 'not-a-directory');
    writeFileSync(file, 'x');
    await expect(openEmbeddedEventLog({ dataDir: file })).rejects.toThrow(EventLogUnavailableError);
    await expect(openEmbeddedEventLog({ dataDir: '' })).rejects.toThrow(/dataDir/);
  });

  it('raises EventLogUnavailableError once closed, and lets pending appends finish first', async () => {
    const dataDir = newDataDir();
    const log = await openEmbeddedEventLog({ dataDir });
    await log.ensureTopic('t');
    const pending = log.append('t', events(0, 3));
    await log.close();
    expect(await pending).toHaveLength(3);
    await expect(log.append('t', events(3, 1))).rejects.toThrow(EventLogUnavailableError);
    await expect(log.lag('g', 't')).rejects.toThrow(EventLogUnavailableError);
    await expect(log.ensureTopic('u')).rejects.toThrow(EventLogUnavailableError);
    const reopened = await openLog(dataDir);
    expect((await reopened.lag('g', 't'))[0]!.end).toBe(3);
  });

  it('names the bad input in usage errors', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 2 });
    await expect(log.ensureTopic('bad name!')).rejects.toThrow(/invalid topic name "bad name!"/);
    await expect(log.ensureTopic('t', { partitions: 0 })).rejects.toThrow(/partitions must be an integer/);
    await expect(log.ensureTopic('t', { retentionMs: -5 })).rejects.toThrow(/retentionMs must be a positive/);
    await expect(log.append('t', events(0, 1), { partition: 5 })).rejects.toThrow(
      /partition 5 does not exist \(topic "t" has partitions 0..1\)/,
    );
    await expect(log.append('nope', events(0, 1))).rejects.toThrow(/unknown topic "nope"/);
    await expect(log.consume({ group: 'g', topic: 'nope', handler: async () => {} })).rejects.toThrow(
      EventLogUsageError,
    );
    await expect(
      log.consume({ group: 'g', topic: 't', maxBatchSize: 0, handler: async () => {} }),
    ).rejects.toThrow(/maxBatchSize/);
    await expect(
      log.consume({ group: 'g', topic: 't', start: 'first' as 'earliest', handler: async () => {} }),
    ).rejects.toThrow(/start: expected 'committed', 'earliest', 'latest' or \{ timestamp/);
    await expect(log.consume({ group: '', topic: 't', handler: async () => {} })).rejects.toThrow(
      /group must be/,
    );
    const consumer = await log.consume({ group: 'g', topic: 't', handler: async () => {} });
    await expect(consumer.commit([{ topic: 't', partition: 0, offset: -1 }])).rejects.toThrow(
      /offsets\[0\]: offset must be a non-negative integer/,
    );
    await expect(log.deleteGroup('g')).rejects.toThrow(/live consumers/);
    await consumer.close();
    await expect(consumer.commit([{ topic: 't', partition: 0, offset: 1 }])).rejects.toThrow(/closed/);
    await log.deleteGroup('g');
  });

  it('group-commits concurrent appends into few transactions with dense offsets', async () => {
    const log = await openLog();
    await log.ensureTopic('t');
    const before = log.writeTransactions;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => log.append('t', events(i * 10, 10))),
    );
    expect(log.writeTransactions - before).toBeLessThanOrEqual(2);
    const offsets = results.flat().map((position) => position.offset);
    expect([...offsets].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    for (const batch of results) {
      expect(batch.map((position) => position.offset)).toEqual(
        Array.from({ length: 10 }, (_, i) => batch[0]!.offset + i),
      );
    }
  });

  it('delivers a large backlog in bounded batches, one at a time per partition, in order', async () => {
    const log = await openLog();
    await log.ensureTopic('t');
    const total = 20_000;
    for (let i = 0; i < total; i += 1_000) await log.append('t', events(i, 1_000));
    let delivered = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let maxBatch = 0;
    let ordered = true;
    await log.consume({
      group: 'g',
      topic: 't',
      start: 'earliest',
      handler: async (batch) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        maxBatch = Math.max(maxBatch, batch.records.length);
        for (const record of batch.records) {
          if (record.offset !== delivered) ordered = false;
          delivered++;
        }
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
      },
    });
    await waitFor(`${total} records`, () => delivered >= total, 20_000);
    expect(ordered).toBe(true);
    expect(maxInFlight).toBe(1);
    expect(maxBatch).toBe(100);
  }, 30_000);

  it('wakes a waiting consumer promptly after an append', async () => {
    const log = await openLog();
    await log.ensureTopic('t');
    const arrivals: number[] = [];
    const consumer = await log.consume({
      group: 'g',
      topic: 't',
      start: 'latest',
      handler: async () => {
        arrivals.push(performance.now());
      },
    });
    await consumer.ready();
    // Delay from the append being durable to the handler running: no polling interval in it
    // (the fsync itself is excluded, it depends on the disk).
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      await log.append('t', [event(i)]);
      const durableAt = performance.now();
      await waitFor(`delivery ${i}`, () => arrivals.length > i);
      delays.push(arrivals[i]! - durableAt);
    }
    const sorted = [...delays].sort((a, b) => a - b);
    expect(sorted[10]!).toBeLessThan(5);
  });

  it('hands a partition over only after the running handler settled, without committing for it', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 2 });
    const release = deferred();
    const aSeen: LogRecord[] = [];
    const bSeen: LogRecord[] = [];
    const aAssigned: number[][] = [];
    const bAssigned: number[][] = [];
    let aBlocked = false;
    let overlap = false;
    const a = await log.consume({
      group: 'g',
      topic: 't',
      start: 'earliest',
      handler: async (batch) => {
        aSeen.push(...batch.records);
        if (batch.partition === 1) {
          aBlocked = true;
          await release.promise;
          aBlocked = false;
        }
      },
      onAssignment: (partitions) => aAssigned.push(partitions),
    });
    await a.ready();
    await log.append('t', events(0, 3), { partition: 1 });
    await waitFor('member A to be busy with partition 1', () => aBlocked);

    const b = await log.consume({
      group: 'g',
      topic: 't',
      handler: async (batch: RecordBatch) => {
        if (aBlocked) overlap = true;
        bSeen.push(...batch.records);
      },
      onAssignment: (partitions) => bAssigned.push(partitions),
    });
    const bReady = b.ready();
    await sleep(100);
    expect(bSeen).toEqual([]);
    release.resolve();
    await bReady;
    await waitFor('member B to get partition 1 from its committed position', () => bSeen.length >= 3);
    expect(overlap).toBe(false);
    expect(bSeen.map((record) => record.offset)).toEqual([0, 1, 2]);
    expect(aAssigned.at(-1)).toEqual([0]);
    expect(bAssigned.at(-1)).toEqual([1]);
    await b.close();
    await waitFor('member A to get partition 1 back', () => aAssigned.at(-1)?.join() === '0,1');
    await a.close();
    expect(aAssigned.at(-1)).toEqual([]);
  });

  it('ignores commits of a batch that a seek overtook', async () => {
    const log = await openLog();
    await log.ensureTopic('t');
    await log.append('t', events(0, 10));
    const release = deferred();
    const seen: number[] = [];
    let blocked = false;
    let staleCommit: Promise<void> | undefined;
    const consumer = await log.consume({
      group: 'g',
      topic: 't',
      start: 'earliest',
      handler: async (batch) => {
        const firstPass = seen.length === 0;
        seen.push(...batch.records.map((record) => record.offset));
        if (!firstPass) return;
        blocked = true;
        await release.promise;
        // Commits the batch the seek overtook: must not move the group past the seek.
        staleCommit = consumer.commit([{ topic: 't', partition: 0, offset: 10 }]);
        await staleCommit;
      },
    });
    await waitFor('the first batch to be in flight', () => blocked);
    await log.seekGroupToTimestamp('g', 't', 0);
    release.resolve();
    await waitFor('the records again from offset 0', () => seen.length >= 20);
    await staleCommit;
    expect(seen.slice(10)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect((await log.lag('g', 't'))[0]!.committed).toBe(0);
  });

  it('revokes live members when their topic is deleted and reassigns when it is created again', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 2 });
    const assignments: number[][] = [];
    const seen: LogRecord[] = [];
    const consumer = await log.consume({
      group: 'g',
      topic: 't',
      start: 'committed',
      initial: 'earliest',
      handler: async (batch) => {
        seen.push(...batch.records);
      },
      onAssignment: (partitions) => assignments.push(partitions),
    });
    await consumer.ready();
    await log.append('t', events(0, 4));
    await waitFor('4 records', () => seen.length >= 4);
    await consumer.commit([{ topic: 't', partition: 0, offset: 2 }]);
    await log.deleteTopic('t');
    expect(assignments.at(-1)).toEqual([]);
    await expect(log.append('t', events(0, 1))).rejects.toThrow(/unknown topic "t"/);
    expect(await log.listTopics()).toEqual([]);

    await log.ensureTopic('t', { partitions: 3 });
    expect(assignments.at(-1)).toEqual([0, 1, 2]);
    // A new topic: offsets restart, the old committed offsets are gone.
    expect(await log.lag('g', 't')).toEqual(
      [0, 1, 2].map((partition) => ({
        partition,
        committed: null,
        end: 0,
        start: 0,
        lag: 0,
      })),
    );
    const [position] = await log.append('t', [event(9)], { partition: 2 });
    expect(position!.offset).toBe(0);
    await waitFor('the record of the new topic', () => seen.some((record) => record.event.id === 'e-9'));
  });

  it('assigns partitions added by ensureTopic to live members', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 1 });
    const seen: LogRecord[] = [];
    const consumer = await log.consume({
      group: 'g',
      topic: 't',
      initial: 'earliest',
      handler: async (batch) => {
        seen.push(...batch.records);
      },
    });
    await consumer.ready();
    await log.ensureTopic('t', { partitions: 3 });
    await log.append('t', [event(1)], { partition: 2 });
    await waitFor('the record on the new partition', () => seen.length === 1);
    expect(seen[0]!.partition).toBe(2);
  });

  it('runs the retention sweep on its timer', async () => {
    const log = await openLog(newDataDir(), 50);
    await log.ensureTopic('t', { retentionMs: 100 });
    await log.append('t', events(0, 3));
    await waitFor('the timer to expire 3 records', async () => (await log.lag('g', 't'))[0]!.start === 3);
  });

  it('appends 1 KiB events at a useful rate (smoke check, not the benchmark)', async () => {
    const log = await openLog();
    await log.ensureTopic('t', { partitions: 4 });
    const payload = 'x'.repeat(900);
    const batches = Array.from({ length: 100 }, (_, b) =>
      Array.from(
        { length: 100 },
        (_, i): PlainEvent => ({
          specversion: '1.0',
          id: `${b}-${i}`,
          source: '/bench',
          type: 'bench',
          data: { payload },
        }),
      ),
    );
    const started = performance.now();
    for (const batch of batches) await log.append('t', batch);
    const perSecond = 10_000 / ((performance.now() - started) / 1000);
    process.stderr.write(`embedded append: ${Math.round(perSecond)} events/s (sequential batches of 100)\n`);
    expect(perSecond).toBeGreaterThan(2_000);
  });
});
