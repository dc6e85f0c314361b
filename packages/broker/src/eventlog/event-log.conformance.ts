// The event-log conformance suite: one set of behaviours every EventLog implementation must show,
// run against the embedded log (embedded/embedded-event-log.conformance.test.ts) and against a
// real Kafka broker (kafka/...conformance.test.ts). Written so it holds on Kafka too: every test
// uses fresh topic and group names (the Kafka run shares one broker), waits by polling with
// bounded timeouts instead of sleeping (rebalances take seconds there), and asserts only what the
// EventLog contract promises.

import { randomBytes } from 'node:crypto';
import { dataValue, toHttpBinary } from '@eddy/api';
import { sleep, waitForWith, withTimeout } from '@eddy/runtime';
import { describe, expect, it, onTestFinished } from 'vitest';
import type {
  CommitOffset,
  ConsumeOptions,
  Consumer,
  EventLog,
  LogEvent,
  LogRecord,
  PartitionLag,
  RecordBatch,
  TopicSpec,
} from './event-log.js';
import { EventLogUsageError } from './event-log.js';

export interface EventLogConformanceHarness {
  /** A new EventLog instance (its own client / connection). */
  create(): Promise<EventLog>;
  /**
   * A new instance over the same storage as `previous`, which the suite has already closed: the
   * embedded log reopens its data directory, Kafka connects a new client to the same cluster.
   * Without it the restart-durability test is skipped.
   */
  reopen?(previous: EventLog): Promise<EventLog>;
  /** Retention given to the retention test's topic. Default 1000 ms. */
  retentionMs?: number;
  /** How long the retention test waits for expired records to disappear. Default 40 s. */
  retentionWaitMs?: number;
  /** Nudges the implementation to enforce retention now, if it can (called while polling). */
  enforceRetention?(log: EventLog): Promise<void>;
  /** Bound on waits for deliveries, joins and rebalances. Default 20 s. */
  waitMs?: number;
  /** Per-test timeout. Default 30 s (the retention test adds retentionWaitMs). */
  testTimeoutMs?: number;
}

const POLL_MS = 25;

export function describeEventLogConformance(name: string, harness: EventLogConformanceHarness): void {
  const waitMs = harness.waitMs ?? 20_000;
  const testTimeout = harness.testTimeoutMs ?? 30_000;
  const retentionMs = harness.retentionMs ?? 1_000;
  const retentionWaitMs = harness.retentionWaitMs ?? 40_000;

  /** Per-test resources, released when the test finishes (pass or fail). */
  function setup() {
    const logs: EventLog[] = [];
    const consumers: Consumer[] = [];
    const topics: { log: EventLog; name: string }[] = [];
    onTestFinished(async () => {
      await Promise.allSettled(consumers.map((consumer) => consumer.close()));
      for (const { log, name: topic } of topics) await log.deleteTopic(topic).catch(() => {});
      await Promise.allSettled(logs.map((log) => log.close()));
    });
    const fixture = {
      async log(): Promise<EventLog> {
        const log = await harness.create();
        logs.push(log);
        return log;
      },
      async reopen(previous: EventLog): Promise<EventLog> {
        await previous.close();
        const log = await harness.reopen!(previous);
        logs.push(log);
        for (const topic of topics) if (topic.log === previous) topic.log = log;
        return log;
      },
      async topic(log: EventLog, spec: TopicSpec = {}): Promise<string> {
        const topic = uniqueName('conf-topic');
        await log.ensureTopic(topic, spec);
        topics.push({ log, name: topic });
        return topic;
      },
      /** What most tests start from: a new log, a new topic on it and a group name nobody used. */
      async fresh(spec: TopicSpec = {}): Promise<{ log: EventLog; topic: string; group: string }> {
        const log = await fixture.log();
        return { log, topic: await fixture.topic(log, spec), group: uniqueName('conf-group') };
      },
      async consume(log: EventLog, options: ConsumeOptions, ready = true): Promise<Consumer> {
        const consumer = await log.consume(options);
        consumers.push(consumer);
        if (ready)
          await withTimeout(
            consumer.ready(),
            waitMs,
            `timed out after ${waitMs} ms waiting for consumer of group ${options.group} to be ready`,
          );
        return consumer;
      },
    };
    return fixture;
  }

  /** Polls within the harness's bound. */
  const waitFor = waitForWith({ timeoutMs: waitMs, intervalMs: POLL_MS });

  async function waitForLag(
    log: EventLog,
    group: string,
    topic: string,
    condition: (lag: PartitionLag[]) => boolean,
    what: string,
    timeoutMs = waitMs,
  ): Promise<PartitionLag[]> {
    let last: PartitionLag[] = [];
    try {
      await waitFor(
        what,
        async () => {
          last = await log.lag(group, topic);
          return condition(last);
        },
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last lag: ${JSON.stringify(last)}`);
    }
    return last;
  }

  describe(`EventLog conformance: ${name}`, () => {
    it('creates, grows, lists and deletes topics', { timeout: testTimeout }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh({ partitions: 2 });
      expect(await log.ensureTopic(topic, { partitions: 2 })).toEqual({
        name: topic,
        partitions: 2,
        retentionMs: undefined,
      });
      // Never shrinks; grows on request; retention is updated.
      expect((await log.ensureTopic(topic, { partitions: 1 })).partitions).toBe(2);
      const grown = await log.ensureTopic(topic, { partitions: 3, retentionMs: 3_600_000 });
      expect(grown).toEqual({ name: topic, partitions: 3, retentionMs: 3_600_000 });
      await waitFor(`listTopics to show ${topic} with 3 partitions`, async () => {
        const listed = (await log.listTopics()).find((info) => info.name === topic);
        return listed?.partitions === 3 && listed.retentionMs === 3_600_000;
      });
      // Retention is declarative: a spec without it means keep forever.
      expect(await log.ensureTopic(topic, { partitions: 3 })).toEqual({
        name: topic,
        partitions: 3,
        retentionMs: undefined,
      });
      await waitFor(`listTopics to show ${topic} without retention`, async () => {
        const listed = (await log.listTopics()).find((info) => info.name === topic);
        return listed?.partitions === 3 && listed.retentionMs === undefined;
      });
      // Records can go to the new partition.
      const [position] = await log.append(topic, [conformanceEvent(0)], { partition: 2 });
      expect(position).toEqual({ topic, partition: 2, offset: 0 });

      await log.deleteTopic(topic);
      await waitFor(
        `${topic} to disappear from listTopics`,
        async () => !(await log.listTopics()).some((info) => info.name === topic),
      );
    });

    it('rejects unknown topics and partitions with EventLogUsageError', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh({ partitions: 2 });
      await expect(log.append(uniqueName('conf-missing'), [conformanceEvent(0)])).rejects.toBeInstanceOf(
        EventLogUsageError,
      );
      await expect(log.append(topic, [conformanceEvent(0)], { partition: 2 })).rejects.toBeInstanceOf(
        EventLogUsageError,
      );
      await expect(log.append(topic, [conformanceEvent(0)], { partition: -1 })).rejects.toBeInstanceOf(
        EventLogUsageError,
      );
      await expect(log.lag(uniqueName('conf-group'), uniqueName('conf-missing'))).rejects.toBeInstanceOf(
        EventLogUsageError,
      );
    });

    it('assigns dense offsets and delivers a partition in order, one batch at a time', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh({ partitions: 3 });
      const before = Date.now();
      const positions = [];
      for (let batch = 0; batch < 3; batch++) {
        const events = range(10).map((i) => conformanceEvent(batch * 10 + i));
        positions.push(...(await log.append(topic, events, { partition: 1 })));
      }
      const after = Date.now();
      expect(positions).toEqual(range(30).map((offset) => ({ topic, partition: 1, offset })));

      const recorder = new Recorder({ delayMs: 5 });
      await f.consume(log, {
        group: uniqueName('conf-group'),
        topic,
        start: 'earliest',
        maxBatchSize: 7,
        handler: recorder.handler,
      });
      await waitFor('30 records', () => recorder.records.length >= 30);
      expect(recorder.records.map((record) => record.offset)).toEqual(range(30));
      expect(recorder.records.map((record) => record.event.id)).toEqual(range(30).map(eventId));
      for (const record of recorder.records) {
        expect(record).toMatchObject({ topic, partition: 1, key: null });
        expect(record.timestamp).toBeGreaterThanOrEqual(before - 1_000);
        expect(record.timestamp).toBeLessThanOrEqual(after + 1_000);
      }
      for (const batch of recorder.batches) {
        expect(batch.records.length).toBeGreaterThan(0);
        expect(batch.records.length).toBeLessThanOrEqual(7);
        expect(batch.highWatermark).toBeGreaterThanOrEqual(batch.records.at(-1)!.offset + 1);
      }
      expect(recorder.maxConcurrentPerPartition).toBe(1);
    });

    it('routes the same partitionkey to the same partition, in order, with the key as record key', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh({ partitions: 4 });
      const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
      const events = range(40).map((i) => conformanceEvent(i, { partitionkey: keys[i % keys.length]! }));
      const positions = [
        ...(await log.append(topic, events.slice(0, 20))),
        ...(await log.append(topic, events.slice(20))),
      ];
      const partitionOfKey = new Map<string, number>();
      positions.forEach((position, i) => {
        const key = keys[i % keys.length]!;
        expect(position.partition).toBe(partitionOfKey.get(key) ?? position.partition);
        partitionOfKey.set(key, position.partition);
      });

      const recorder = new Recorder();
      await f.consume(log, {
        group: uniqueName('conf-group'),
        topic,
        start: 'earliest',
        handler: recorder.handler,
      });
      await waitFor('40 records', () => recorder.records.length >= 40);
      for (const key of keys) {
        const ofKey = recorder.records.filter((record) => record.key === key);
        expect(ofKey.map((record) => record.event.id)).toEqual(
          range(40)
            .filter((i) => keys[i % keys.length] === key)
            .map(eventId),
        );
        expect(new Set(ofKey.map((record) => record.partition))).toEqual(new Set([partitionOfKey.get(key)]));
        expect(ofKey.every((record) => record.event.partitionkey === key)).toBe(true);
      }
    });

    it('stores CloudEvents faithfully: attributes, extensions, 0.3, text, binary and no data', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh();
      const events = fidelityEvents();
      await log.append(topic, events);
      const recorder = new Recorder();
      await f.consume(log, {
        group: uniqueName('conf-group'),
        topic,
        start: 'earliest',
        handler: recorder.handler,
      });
      await waitFor(`${events.length} records`, () => recorder.records.length >= events.length);
      expect(recorder.records).toHaveLength(events.length);
      for (const [i, record] of recorder.records.entries()) expectSameEvent(record.event, events[i]!);
      expect(recorder.records[1]!.key).toBe('order-17');
    });

    it('redelivers uncommitted records to the next member after a consumer closes without committing', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic, group } = await f.fresh();
      await log.append(topic, conformanceEvents(10));

      const first = new Recorder();
      const crashed = await f.consume(log, { group, topic, start: 'earliest', handler: first.handler });
      await waitFor('the first member to see 10 records', () => first.records.length >= 10);
      // Records 0..3 processed and committed; 4..9 seen but never committed.
      await crashed.commit([{ topic, partition: 0, offset: 4 }]);
      await crashed.close();
      expect(crashed.status).toBe('closed');
      const lag = await log.lag(group, topic);
      expect(lag).toEqual([{ partition: 0, committed: 4, end: 10, start: 0, lag: 6 }]);

      const second = new Recorder();
      await f.consume(log, { group, topic, start: 'committed', initial: 'latest', handler: second.handler });
      await waitFor('the next member to get the 6 uncommitted records', () => second.records.length >= 6);
      expect(second.records.map((record) => record.offset)).toEqual([4, 5, 6, 7, 8, 9]);
      expect(second.records.map((record) => record.event.id)).toEqual(range(10).slice(4).map(eventId));
    });

    it('stops a consumer whose handler throws, commits nothing, and redelivers to another member', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic, group } = await f.fresh();
      await log.append(topic, conformanceEvents(5));
      const errors: Error[] = [];
      let calls = 0;
      const failing = await f.consume(log, {
        group,
        topic,
        start: 'earliest',
        handler: async () => {
          calls++;
          throw new Error('subscriber exploded');
        },
        onError: (error) => errors.push(error),
      });
      await waitFor('the consumer to fail', () => failing.status === 'failed' && errors.length === 1);
      expect(errors[0]!.message).toContain('subscriber exploded');
      expect(calls).toBe(1);
      expect((await log.lag(group, topic))[0]).toMatchObject({ lag: 5 });
      expect((await log.lag(group, topic))[0]!.committed ?? 0).toBe(0);

      const recorder = new Recorder();
      await f.consume(log, {
        group,
        topic,
        start: 'committed',
        initial: 'earliest',
        handler: recorder.handler,
      });
      await waitFor('redelivery of 5 records', () => recorder.records.length >= 5);
      expect(recorder.records.map((record) => record.offset)).toEqual([0, 1, 2, 3, 4]);
    });

    it('reports lag per partition before and after consuming and committing, also without members', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic, group } = await f.fresh({ partitions: 2 });
      await log.append(topic, conformanceEvents(3), { partition: 0 });
      await log.append(
        topic,
        range(5).map((i) => conformanceEvent(10 + i)),
        { partition: 1 },
      );
      expect(await log.lag(group, topic)).toEqual([
        { partition: 0, committed: null, end: 3, start: 0, lag: 3 },
        { partition: 1, committed: null, end: 5, start: 0, lag: 5 },
      ]);

      const recorder = new Recorder();
      const consumer = await f.consume(log, {
        group,
        topic,
        start: 'committed',
        initial: 'earliest',
        handler: recorder.handler,
      });
      await waitFor('8 records', () => recorder.records.length >= 8);
      await consumer.commit([
        { topic, partition: 0, offset: 3 },
        { topic, partition: 1, offset: 2 },
      ]);
      expect(await log.lag(group, topic)).toEqual([
        { partition: 0, committed: 3, end: 3, start: 0, lag: 0 },
        { partition: 1, committed: 2, end: 5, start: 0, lag: 3 },
      ]);
      await consumer.close();
      // Same numbers with no live member, and growing with new records.
      await log.append(topic, [conformanceEvent(20)], { partition: 0 });
      expect(await log.lag(group, topic)).toEqual([
        { partition: 0, committed: 3, end: 4, start: 0, lag: 1 },
        { partition: 1, committed: 2, end: 5, start: 0, lag: 3 },
      ]);
      await log.deleteGroup(group);
      await waitForLag(
        log,
        group,
        topic,
        (lag) => lag.every((entry) => entry.committed === null),
        'deleteGroup to clear committed offsets',
      );
    });

    it('starts from earliest, latest, or committed with an initial fallback per partition', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh({ partitions: 2 });
      for (const partition of [0, 1]) {
        await log.append(
          topic,
          range(5).map((i) => conformanceEvent(partition * 100 + i)),
          { partition },
        );
      }

      const earliest = new Recorder();
      await f.consume(log, {
        group: uniqueName('conf-group'),
        topic,
        start: 'earliest',
        handler: earliest.handler,
      });
      await waitFor('earliest: 10 records', () => earliest.records.length >= 10);

      const latest = new Recorder();
      await f.consume(log, {
        group: uniqueName('conf-group'),
        topic,
        start: 'latest',
        handler: latest.handler,
      });
      await log.append(topic, [conformanceEvent(5)], { partition: 0 });
      await log.append(topic, [conformanceEvent(105)], { partition: 1 });
      await waitFor('latest: the 2 records appended after joining', () => latest.records.length >= 2);
      expect(latest.records.map((record) => [record.partition, record.offset]).sort()).toEqual([
        [0, 5],
        [1, 5],
      ]);

      // A group that committed on partition 0 only.
      const group = uniqueName('conf-group');
      const committer = await f.consume(log, {
        group,
        topic,
        start: 'committed',
        initial: 'latest',
        handler: async () => {},
      });
      await committer.commit([{ topic, partition: 0, offset: 2 }]);
      await committer.close();
      expect((await log.lag(group, topic)).map((entry) => entry.committed)).toEqual([2, null]);

      const resumed = new Recorder();
      await f.consume(log, {
        group,
        topic,
        start: 'committed',
        initial: 'earliest',
        handler: resumed.handler,
      });
      await waitFor('committed/earliest: 4 + 6 records', () => resumed.records.length >= 10);
      expect(resumed.offsetsOf(0)).toEqual([2, 3, 4, 5]);
      expect(resumed.offsetsOf(1)).toEqual([0, 1, 2, 3, 4, 5]);

      // Same situation with `initial: latest`: partition 1 only sees what comes next.
      const group2 = uniqueName('conf-group');
      const committer2 = await f.consume(log, {
        group: group2,
        topic,
        start: 'committed',
        initial: 'latest',
        handler: async () => {},
      });
      await committer2.commit([{ topic, partition: 0, offset: 4 }]);
      await committer2.close();
      const resumed2 = new Recorder();
      await f.consume(log, { group: group2, topic, start: 'committed', handler: resumed2.handler });
      await waitFor('committed/latest: the 2 records after the commit', () => resumed2.records.length >= 2);
      await log.append(topic, [conformanceEvent(106)], { partition: 1 });
      await waitFor('committed/latest: the new record on partition 1', () => resumed2.records.length >= 3);
      expect(resumed2.offsetsOf(0)).toEqual([4, 5]);
      expect(resumed2.offsetsOf(1)).toEqual([6]);
    });

    it('starts a group from a timestamp', { timeout: testTimeout }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh();
      const { boundary } = await appendTwoEras(log, topic);

      const recorder = new Recorder();
      await f.consume(log, {
        group: uniqueName('conf-group'),
        topic,
        start: { timestamp: boundary },
        handler: recorder.handler,
      });
      await waitFor('the 5 records of the second era', () => recorder.records.length >= 5);
      expect(recorder.records.map((record) => record.offset)).toEqual([5, 6, 7, 8, 9]);
    });

    it('finds the offsets of a time window: first record at or after a time, else the end', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh();
      expect(await log.offsetsForTimestamp(topic, 0)).toEqual([{ partition: 0, offset: 0 }]);
      const { boundary } = await appendTwoEras(log, topic);
      expect(await log.offsetsForTimestamp(topic, 0)).toEqual([{ partition: 0, offset: 0 }]);
      expect(await log.offsetsForTimestamp(topic, boundary)).toEqual([{ partition: 0, offset: 5 }]);
      expect(await log.offsetsForTimestamp(topic, Date.now() + 3_600_000)).toEqual([
        { partition: 0, offset: 10 },
      ]);
      await expect(log.offsetsForTimestamp(`${topic}-missing`, 0)).rejects.toThrow(/missing/);
    });

    it('seeks a group without live members by time', { timeout: testTimeout }, async () => {
      const f = setup();
      const { log, topic, group } = await f.fresh();
      const { boundary } = await appendTwoEras(log, topic);
      const committer = await f.consume(log, { group, topic, start: 'latest', handler: async () => {} });
      await committer.commit([{ topic, partition: 0, offset: 0 }]);
      await committer.close();

      // Two seeks only: on Kafka, seeking a group without members joins it briefly (seconds).
      // Past the last record: the end of the log.
      await log.seekGroupToTimestamp(group, topic, Date.now() + 3_600_000);
      await waitForLag(
        log,
        group,
        topic,
        (lag) => lag[0]?.committed === 10,
        'the committed offset to move to 10',
      );
      await log.seekGroupToTimestamp(group, topic, boundary);
      await waitForLag(
        log,
        group,
        topic,
        (lag) => lag[0]?.committed === 5,
        'the committed offset to move to 5',
      );

      const recorder = new Recorder();
      await f.consume(log, { group, topic, start: 'committed', handler: recorder.handler });
      await waitFor('the 5 records after the seek', () => recorder.records.length >= 5);
      expect(recorder.records.map((record) => record.offset)).toEqual([5, 6, 7, 8, 9]);
    });

    it('seeks a group with a live member by time; the member continues from there', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic, group } = await f.fresh();
      const { boundary } = await appendTwoEras(log, topic);
      const recorder = new Recorder({ commit: true });
      const consumer = await f.consume(log, { group, topic, start: 'earliest', handler: recorder.handler });
      recorder.consumer = consumer;
      await waitFor('10 records', () => recorder.records.length >= 10);
      await waitForLag(log, group, topic, (lag) => lag[0]?.committed === 10, 'the member to commit 10');

      await log.seekGroupToTimestamp(group, topic, boundary);
      await waitFor('the member to get records 5..9 again', () => recorder.records.length >= 15);
      expect(recorder.records.slice(10).map((record) => record.offset)).toEqual([5, 6, 7, 8, 9]);
      await waitForLag(log, group, topic, (lag) => lag[0]?.committed === 10, 'the member to commit 10 again');

      // The same through the member itself.
      await consumer.seekToTimestamp(0);
      await waitFor('the member to get records 0..9 again', () => recorder.records.length >= 25);
      expect(recorder.records.slice(15).map((record) => record.offset)).toEqual(range(10));
    });

    it('delivers every record to each of several groups', { timeout: testTimeout }, async () => {
      const f = setup();
      const { log, topic } = await f.fresh({ partitions: 3 });
      const recorders = [new Recorder(), new Recorder(), new Recorder()];
      for (const recorder of recorders) {
        await f.consume(log, {
          group: uniqueName('conf-group'),
          topic,
          start: 'latest',
          handler: recorder.handler,
        });
      }
      const events = range(30).map((i) => conformanceEvent(i, { partitionkey: `key-${i % 7}` }));
      await Promise.all([log.append(topic, events.slice(0, 15)), log.append(topic, events.slice(15))]);
      for (const [i, recorder] of recorders.entries()) {
        await waitFor(`group ${i} to get 30 records`, () => recorder.records.length >= 30);
        expect(recorder.records.map((record) => record.event.id).sort()).toEqual(
          range(30).map(eventId).sort(),
        );
      }
    });

    it('splits the partitions between two members of a group and hands them over on close', {
      timeout: testTimeout,
    }, async () => {
      const f = setup();
      const { log, topic, group } = await f.fresh({ partitions: 4 });
      const shared = new InFlightTracker();
      const a = new Recorder({ tracker: shared, commit: true });
      const b = new Recorder({ tracker: shared, commit: true });
      a.consumer = await f.consume(log, {
        group,
        topic,
        start: 'latest',
        handler: a.handler,
        onAssignment: a.onAssignment,
      });
      const memberB = await f.consume(log, {
        group,
        topic,
        start: 'committed',
        initial: 'latest',
        handler: b.handler,
        onAssignment: b.onAssignment,
      });
      await waitFor('the two members to split partitions 0..3', () => {
        const all = [...a.assigned, ...b.assigned].sort();
        return a.assigned.length > 0 && b.assigned.length > 0 && all.join() === '0,1,2,3';
      });
      b.consumer = memberB;
      const splitA = [...a.assigned];
      const splitB = [...b.assigned];

      await log.append(topic, conformanceEvents(40));
      await waitFor('40 records across both members', () => a.records.length + b.records.length >= 40);
      expect([...a.records, ...b.records].map((record) => record.event.id).sort()).toEqual(
        range(40).map(eventId).sort(),
      );
      expect(a.records.every((record) => splitA.includes(record.partition))).toBe(true);
      expect(b.records.every((record) => splitB.includes(record.partition))).toBe(true);
      await waitForLag(log, group, topic, (lag) => lag.every((entry) => entry.lag === 0), 'both to commit');

      await memberB.close();
      await waitFor('the remaining member to own all partitions', () => a.assigned.join() === '0,1,2,3');
      await log.append(
        topic,
        range(8).map((i) => conformanceEvent(100 + i)),
      );
      const handedOver = range(8).map((i) => eventId(100 + i));
      await waitFor('the remaining member to get the 8 records appended after the hand-over', () =>
        handedOver.every((id) => a.records.some((record) => record.event.id === id)),
      );
      expect(b.records.some((record) => handedOver.includes(record.event.id))).toBe(false);
      expect(shared.maxConcurrentPerPartition).toBe(1);
    });

    it('deletes records past the retention period; start advances and offsets are not reused', {
      timeout: testTimeout + retentionWaitMs,
    }, async () => {
      const f = setup();
      const { log, topic, group } = await f.fresh({ partitions: 1, retentionMs });
      await log.append(topic, conformanceEvents(5));
      let lastLag: PartitionLag[] = [];
      await waitFor(
        'retention to delete the 5 expired records',
        async () => {
          await harness.enforceRetention?.(log);
          lastLag = await log.lag(group, topic);
          return lastLag[0]?.start === 5;
        },
        retentionWaitMs,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; last lag: ${JSON.stringify(lastLag)}`);
      });
      expect(lastLag).toEqual([{ partition: 0, committed: null, end: 5, start: 5, lag: 0 }]);
      // Keep what comes next.
      await log.ensureTopic(topic, { retentionMs: 3_600_000 });
      const positions = await log.append(
        topic,
        range(3).map((i) => conformanceEvent(10 + i)),
      );
      expect(positions.map((position) => position.offset)).toEqual([5, 6, 7]);
      expect(await log.lag(group, topic)).toEqual([
        { partition: 0, committed: null, end: 8, start: 5, lag: 3 },
      ]);
      const recorder = new Recorder();
      await f.consume(log, { group, topic, start: 'earliest', handler: recorder.handler });
      await waitFor('the 3 retained records', () => recorder.records.length >= 3);
      expect(recorder.records.map((record) => record.offset)).toEqual([5, 6, 7]);
    });

    it.skipIf(harness.reopen === undefined)(
      'keeps topics, records and committed offsets across a restart',
      { timeout: testTimeout },
      async () => {
        const f = setup();
        let log = await f.log();
        const topic = await f.topic(log, { partitions: 2, retentionMs: 3_600_000 });
        const group = uniqueName('conf-group');
        const events = range(10).map((i) => conformanceEvent(i, { partitionkey: `k${i % 3}` }));
        const positions = await log.append(topic, events);
        const committer = await f.consume(log, { group, topic, start: 'latest', handler: async () => {} });
        const commits: CommitOffset[] = [0, 1].map((partition) => ({
          topic,
          partition,
          offset: Math.min(1, positions.filter((position) => position.partition === partition).length),
        }));
        await committer.commit(commits);
        await committer.close();
        const lagBefore = await log.lag(group, topic);

        log = await f.reopen(log);
        const info = (await log.listTopics()).find((candidate) => candidate.name === topic);
        expect(info).toEqual({ name: topic, partitions: 2, retentionMs: 3_600_000 });
        expect(await log.lag(group, topic)).toEqual(lagBefore);

        const all = new Recorder();
        await f.consume(log, {
          group: uniqueName('conf-group'),
          topic,
          start: 'earliest',
          handler: all.handler,
        });
        await waitFor('all 10 records after the restart', () => all.records.length >= 10);
        for (const record of all.records) {
          const index = events.findIndex((event) => event.id === record.event.id);
          expect(positions[index]).toEqual({ topic, partition: record.partition, offset: record.offset });
          expectSameEvent(record.event, events[index]!);
        }

        const resumed = new Recorder();
        await f.consume(log, { group, topic, start: 'committed', handler: resumed.handler });
        const expected = lagBefore.reduce((sum, entry) => sum + entry.lag, 0);
        await waitFor(`the ${expected} uncommitted records`, () => resumed.records.length >= expected);
        for (const entry of lagBefore) {
          expect(resumed.offsetsOf(entry.partition)[0] ?? entry.end).toBe(entry.committed ?? entry.start);
        }

        const [next] = await log.append(topic, [conformanceEvent(99)], { partition: 0 });
        expect(next!.offset).toBe(lagBefore[0]!.end);
      },
    );
  });

  /** Five records, a clear gap in time, five more; returns the first timestamp of the second era. */
  async function appendTwoEras(log: EventLog, topic: string): Promise<{ boundary: number }> {
    await log.append(topic, conformanceEvents(5), { partition: 0 });
    const firstEraEnd = Date.now();
    await waitFor('the clock to move on', () => Date.now() > firstEraEnd + 20, 1_000);
    await log.append(
      topic,
      range(5).map((i) => conformanceEvent(5 + i)),
      { partition: 0 },
    );
    // Learn the real record timestamps rather than trusting the local clock.
    const probe = new Recorder();
    const consumer = await log.consume({
      group: uniqueName('conf-probe'),
      topic,
      start: 'earliest',
      handler: probe.handler,
    });
    try {
      await waitFor('probe: 10 records', () => probe.records.length >= 10);
    } finally {
      await consumer.close();
    }
    const first = probe.records.find((record) => record.offset === 5)!;
    const last = probe.records.find((record) => record.offset === 4)!;
    expect(first.timestamp).toBeGreaterThan(last.timestamp);
    return { boundary: first.timestamp };
  }
}

/** Tracks how many handlers run per partition at once (across members). */
class InFlightTracker {
  readonly #running = new Map<number, number>();
  maxConcurrentPerPartition = 0;

  enter(partition: number): void {
    const running = (this.#running.get(partition) ?? 0) + 1;
    this.#running.set(partition, running);
    this.maxConcurrentPerPartition = Math.max(this.maxConcurrentPerPartition, running);
  }

  exit(partition: number): void {
    this.#running.set(partition, (this.#running.get(partition) ?? 1) - 1);
  }
}

/** A handler that records what it is given. */
class Recorder {
  readonly records: LogRecord[] = [];
  readonly batches: RecordBatch[] = [];
  assigned: number[] = [];
  readonly #consumer: Promise<Consumer>;
  #setConsumer!: (consumer: Consumer) => void;
  readonly #tracker: InFlightTracker;
  readonly #delayMs: number;
  readonly #commit: boolean;

  constructor(options: { delayMs?: number; tracker?: InFlightTracker; commit?: boolean } = {}) {
    this.#tracker = options.tracker ?? new InFlightTracker();
    this.#delayMs = options.delayMs ?? 0;
    this.#commit = options.commit ?? false;
    this.#consumer = new Promise((resolve) => {
      this.#setConsumer = resolve;
    });
  }

  /** The consumer to commit through (batches may arrive before consume() returned it). */
  set consumer(consumer: Consumer) {
    this.#setConsumer(consumer);
  }

  get maxConcurrentPerPartition(): number {
    return this.#tracker.maxConcurrentPerPartition;
  }

  offsetsOf(partition: number): number[] {
    return this.records.filter((record) => record.partition === partition).map((record) => record.offset);
  }

  readonly handler = async (batch: RecordBatch): Promise<void> => {
    this.#tracker.enter(batch.partition);
    try {
      this.batches.push(batch);
      this.records.push(...batch.records);
      if (this.#delayMs > 0) await sleep(this.#delayMs);
      if (this.#commit) {
        const consumer = await this.#consumer;
        await consumer.commit([
          { topic: batch.topic, partition: batch.partition, offset: batch.records.at(-1)!.offset + 1 },
        ]);
      }
    } finally {
      this.#tracker.exit(batch.partition);
    }
  };

  readonly onAssignment = (assigned: number[]): void => {
    this.assigned = [...assigned].sort((x, y) => x - y);
  };
}

function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

function eventId(i: number): string {
  return `conf-event-${i}`;
}

function conformanceEvent(i: number, extensions: Record<string, string> = {}): LogEvent {
  return {
    specversion: '1.0',
    id: eventId(i),
    source: '/eddy/conformance',
    type: 'dev.eddy.conformance',
    time: '2024-05-06T07:08:09.123Z',
    datacontenttype: 'application/json',
    data: { i },
    ...extensions,
  };
}

/** Events 0..count-1. */
function conformanceEvents(count: number): LogEvent[] {
  return range(count).map((i) => conformanceEvent(i));
}

/**
 * One event per shape the log must keep intact. Data mostly as ingress hands it over: JSON as the
 * bytes the producer wrote (whitespace, number spelling and a 64-bit integer that a parse and
 * re-serialization would change), a structured-mode string, raw bytes; and one JSON value as an
 * Eddy component makes up (conformanceEvent).
 */
function fidelityEvents(): LogEvent[] {
  return [
    {
      specversion: '1.0',
      id: 'fidelity-json',
      source: 'https://example.com/orders',
      type: 'com.example.order.created',
      subject: 'orders/17',
      time: '2024-05-06T07:08:09.123Z',
      dataschema: 'https://example.com/schemas/order.json',
      datacontenttype: 'application/json',
      data: Buffer.from(
        '{ "id": 17, "items": [{"sku": "a-1", "qty": 2.0}],\n  "note": "ünïcödé ✓", "nested": {"empty": {}, "nil": null}, "big": 12345678901234567890 }',
      ),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tenant: 'acme',
    },
    {
      specversion: '1.0',
      id: 'fidelity-text',
      source: '/text',
      type: 'com.example.text',
      time: '2024-05-06T07:08:10.000Z',
      datacontenttype: 'text/plain; charset=utf-8',
      data: 'plain text, not JSON: {"a":1} ✓',
      partitionkey: 'order-17',
    },
    {
      specversion: '1.0',
      id: 'fidelity-binary',
      source: '/binary',
      type: 'com.example.binary',
      time: '2024-05-06T07:08:11.000Z',
      datacontenttype: 'application/octet-stream',
      data: Buffer.from([0, 1, 2, 253, 254, 255, 0x7b, 0x22]),
    },
    {
      // Neither data nor time: the log adds neither.
      specversion: '1.0',
      id: 'fidelity-nodata',
      source: '/nodata',
      type: 'com.example.ping',
      knativeerrorcode: '500',
    },
    {
      specversion: '0.3',
      id: 'fidelity-v03',
      source: '/legacy',
      type: 'com.example.legacy',
      time: '2024-05-06T07:08:13.000Z',
      schemaurl: 'https://example.com/schemas/legacy.json',
      datacontenttype: 'application/json',
      data: Buffer.from('{"legacy": true}'),
      comexampleextension: 'value',
    },
  ];
}

/** Attributes as a plain object, without data and without attributes left undefined. */
function attributesOf(event: LogEvent): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name !== 'data' && name !== 'data_base64' && value !== undefined) attributes[name] = value;
  }
  return attributes;
}

/**
 * The same event: a plain object (not a class that fills in attributes) with exactly the same
 * attributes, and the same data bytes. Bytes come back as bytes; a string or JSON value may come
 * back as its bytes (the Kafka log stores the value's bytes), with the same decoded value.
 */
function expectSameEvent(actual: LogEvent, expected: LogEvent): void {
  expect(Object.getPrototypeOf(actual)).toBe(Object.prototype);
  expect(attributesOf(actual)).toEqual(attributesOf(expected));
  expect(actual).not.toHaveProperty('data_base64');
  if (expected.data === undefined) {
    expect(actual).not.toHaveProperty('data');
    return;
  }
  if (ArrayBuffer.isView(expected.data)) {
    expect(Buffer.isBuffer(actual.data)).toBe(true);
    expect(actual.data).toEqual(Buffer.from(expected.data as Uint8Array));
  } else {
    expect(dataValue(actual)).toEqual(expected.data);
  }
  expect(toHttpBinary(actual).body).toEqual(toHttpBinary(expected).body);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
