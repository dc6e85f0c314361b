// The log-backed retry state store on the real embedded log: what one process writes another
// sees after sync(), tombstones delete for everyone, held entries outlive the topic's retention.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@eddy/runtime';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import { createLogRetryStateStore, type RetryKey } from './retry-state.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-retry-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

async function openLog(): Promise<EventLog> {
  const log = await openEmbeddedEventLog({
    dataDir: join(root, `log-${++dirs}`),
    retentionCheckIntervalMs: 50,
  });
  onTestFinished(() => log.close());
  return log;
}

async function store(log: EventLog, extra: { retentionMs?: number; refreshIntervalMs?: number } = {}) {
  const s = await createLogRetryStateStore({ log, topic: 'state', ...extra });
  onTestFinished(() => s.close());
  return s;
}

const key = (offset: number, group = 'g1'): RetryKey => ({ group, topic: 'events', partition: 0, offset });

describe('log-backed retry state store', () => {
  it('shares entries between stores on the same log once synced, latest write wins', async () => {
    const log = await openLog();
    const a = await store(log);
    const b = await store(log);
    await a.put(key(1), { attempts: 1 });
    await a.put(key(1), {
      attempts: 2,
      lastFailure: { attempt: 2, status: 503, nextDelayMs: 100 },
      notBefore: 123,
    });
    await a.put(key(2), { attempts: 1 });
    await b.sync();
    expect(await b.get(key(1))).toEqual({
      attempts: 2,
      lastFailure: { attempt: 2, status: 503, nextDelayMs: 100 },
      notBefore: 123,
    });
    expect(await b.get(key(2))).toEqual({ attempts: 1 });
    expect(await b.get(key(3))).toBeUndefined();
    expect(await b.get(key(1, 'g2'))).toBeUndefined();

    await b.delete(key(1));
    expect(await b.get(key(1))).toBeUndefined();
    await a.sync();
    expect(await a.get(key(1))).toBeUndefined();
    expect(await a.get(key(2))).toEqual({ attempts: 1 });
  });

  it('deleteGroup tombstones every entry of one group only', async () => {
    const log = await openLog();
    const a = await store(log);
    await a.put(key(1), { attempts: 1 });
    await a.put(key(2), { attempts: 3 });
    await a.put(key(1, 'other'), { attempts: 1 });
    await a.deleteGroup('g1');
    const fresh = await store(log);
    await fresh.sync();
    expect(await fresh.get(key(1))).toBeUndefined();
    expect(await fresh.get(key(2))).toBeUndefined();
    expect(await fresh.get(key(1, 'other'))).toEqual({ attempts: 1 });
  });

  it('rewrites entries it holds before retention deletes them', async () => {
    const log = await openLog();
    const a = await store(log, { retentionMs: 400, refreshIntervalMs: 50 });
    await a.put(key(7), { attempts: 2 });
    // Several retention periods later the entry is still readable by a new store.
    await sleep(1_500);
    const fresh = await store(log, { retentionMs: 400 });
    await fresh.sync();
    expect(await fresh.get(key(7))).toEqual({ attempts: 2 });
    // Without a holder, the entry goes with the retention.
    await a.delete(key(7));
    await fresh.put(key(8), { attempts: 1 });
    await fresh.close();
    await a.close();
    await sleep(1_000);
    const later = await store(log, { retentionMs: 400 });
    await later.sync();
    expect(await later.get(key(8))).toBeUndefined();
  });

  it('concurrent syncs share offset lookups, and each still sees what was written before it', async () => {
    const log = await openLog();
    let lookups = 0;
    const counting: EventLog = {
      kind: log.kind,
      ensureTopic: (name, spec) => log.ensureTopic(name, spec),
      deleteTopic: (name) => log.deleteTopic(name),
      listTopics: () => log.listTopics(),
      append: (topic, events, options) => log.append(topic, events, options),
      consume: (options) => log.consume(options),
      lag: (group, topic) => {
        lookups++;
        return log.lag(group, topic);
      },
      offsetsForTimestamp: (topic, timestamp) => log.offsetsForTimestamp(topic, timestamp),
      seekGroupToTimestamp: (group, topic, timestamp) => log.seekGroupToTimestamp(group, topic, timestamp),
      deleteGroup: (group) => log.deleteGroup(group),
      close: () => log.close(),
    };
    const a = await store(counting);
    const b = await store(log);
    await b.put(key(1), { attempts: 1 });
    const first = Array.from({ length: 50 }, () => a.sync());
    await b.put(key(2), { attempts: 2 });
    const second = Array.from({ length: 50 }, () => a.sync());
    await Promise.all(first);
    expect(await a.get(key(1))).toEqual({ attempts: 1 });
    await Promise.all(second);
    expect(await a.get(key(2))).toEqual({ attempts: 2 });
    // Two bursts: at most one running and one queued lookup each.
    expect(lookups).toBeLessThanOrEqual(4);
  });

  it('rejects a negative attempt count', async () => {
    const log = await openLog();
    const a = await store(log);
    await expect(a.put(key(1), { attempts: -1 })).rejects.toThrow('attempts must be an integer >= 0, got -1');
  });
});
