// KafkaSinkTopics against the harness's Kafka: a sink that owns its topic gets it created with its
// partitions, one that does not is told its topic is missing until someone creates it, and an
// unreachable cluster is reported with the client's error. No state is shared between the cases.

import { randomBytes } from 'node:crypto';
import type { KafkaSinkRoute } from '@eddy/api';
import { waitFor } from '@eddy/runtime';
import pino from 'pino';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import type { KafkaSinkTopicState } from '../control/kafka-sinks.js';
import { KafkaSinkLogs } from './kafka-sink-logs.js';
import { KafkaSinkTopics } from './kafka-sink-topics.js';

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

const sink = (over: Partial<KafkaSinkRoute>): KafkaSinkRoute => ({
  namespace: 'shop',
  name: unique('sink'),
  path: '/shop/x',
  topic: unique('kafka-sink-topics'),
  bootstrapServers: inject('kafkaBrokers'),
  contentMode: 'binary',
  security: {},
  ...over,
});

function topics(): { topics: KafkaSinkTopics; changes: () => number } {
  let changes = 0;
  const logs = new KafkaSinkLogs({ logger: pino({ level: 'silent' }), operationTimeoutMs: 5_000 });
  const t = new KafkaSinkTopics({ onChange: () => changes++, logs, retryMs: 100 });
  onTestFinished(() => t.close());
  return { topics: t, changes: () => changes };
}

const settled = (t: KafkaSinkTopics, route: KafkaSinkRoute, ready: boolean) =>
  waitFor(
    `topic state ${ready ? 'ready' : 'not ready'}`,
    () => {
      const s = t.status(route);
      return s?.ready === ready ? s : undefined;
    },
    { timeoutMs: 30_000 },
  ) as Promise<KafkaSinkTopicState>;

describe('KafkaSinkTopics', () => {
  it('creates the topic of a sink that sets numPartitions and replicationFactor', {
    timeout: 60_000,
  }, async () => {
    const { topics: t, changes } = topics();
    const route = sink({ createTopic: { partitions: 3, replicationFactor: 1 } });
    expect(t.status(route)).toBeUndefined();
    t.update([route]);
    await settled(t, route, true);
    expect(changes()).toBe(1);
    const log = new KafkaSinkLogs({ logger: pino({ level: 'silent' }) }).logFor(route);
    onTestFinished(() => log.close());
    expect((await log.listTopics()).find((x) => x.name === route.topic)?.partitions).toBe(3);
  });

  it('waits for an outside topic to exist, naming what is missing; never creates it', {
    timeout: 60_000,
  }, async () => {
    const { topics: t } = topics();
    const route = sink({});
    t.update([route]);
    const missing = await settled(t, route, false);
    expect(missing).toMatchObject({ reason: 'TopicNotPresent' });
    expect(missing.message).toContain(
      `topic "${route.topic}" on ${route.bootstrapServers.join(',')} does not exist`,
    );
    const log = new KafkaSinkLogs({ logger: pino({ level: 'silent' }) }).logFor(route);
    onTestFinished(() => log.close());
    expect((await log.listTopics()).some((x) => x.name === route.topic)).toBe(false);
    await log.ensureTopic(route.topic, { partitions: 1 });
    await settled(t, route, true);
  });

  it('reports an unreachable cluster, and forgets a sink that is gone', { timeout: 60_000 }, async () => {
    const { topics: t } = topics();
    const route = sink({ bootstrapServers: ['127.0.0.1:1'] });
    t.update([route]);
    const down = await settled(t, route, false);
    expect(down).toMatchObject({ reason: 'FailedToCheckTopic' });
    expect(down.message).toMatch(/^cannot reach the cluster for topic ".*" on 127\.0\.0\.1:1: /);
    t.update([]);
    expect(t.status(route)).toBeUndefined();
  });
});
