// PubSubSource end to end: the harness's pstest (Google's Pub/Sub fake), the real runner/emitter
// and a real HTTP sink.

import { dataValue } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { describe, expect, it } from 'vitest';
import { pubSubClientOptions } from '../../../../test/harness/pstest.ts';
import { pubsubSdk } from '../../../../test/harness/pubsub-sdk.ts';
import { sourceKey } from '../sdk/runner.js';
import { metricSum as metric } from '../testing/metric-sum.js';
import { usePubSubSourceTestBed } from '../testing/pubsub-source-test-bed.js';
import { closeSourceTestBed, startSourceTestBed } from '../testing/source-test-bed.js';
import { uniqueName as unique } from '../testing/unique-name.js';
import { waitUntil } from '../testing/wait-until.js';
import { PUBSUB_MESSAGE_PUBLISHED_TYPE } from './pubsub-event.js';
import { createPubSubSourceAdapter, pubsubSourceAdapter } from './pubsub-source.js';

const { peer, pubsub, bed, source, labels, topicWithSubscription, drain } = usePubSubSourceTestBed({
  sdk: pubsubSdk,
  pubSubClientOptions,
});
const { projectId } = peer;

const until = (check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) =>
  waitUntil(check, timeoutMs, what, 50);

describe('PubSubSource', () => {
  it('turns published messages into messagePublished CloudEvents and acks them', async () => {
    const { topic, subscription } = await topicWithSubscription();
    await bed.runner.apply(source('plain', { subscription }));
    expect(bed.runner.statuses()[0]?.ready).toMatchObject({ status: 'True', reason: 'Running' });
    const id = await topic.publishMessage({
      data: Buffer.from('hello \x00 bytes'),
      attributes: { color: 'blue' },
    });
    const id2 = await topic.publishMessage({ data: Buffer.from('{"a":1}') });
    await bed.sink.waitFor(() => bed.sink.accepted().length >= 2, 10_000);

    const byId = new Map(bed.sink.accepted().map((e) => [e.id, e]));
    const event = byId.get(id)!;
    expect(event).toBeDefined();
    expect(event.type).toBe(PUBSUB_MESSAGE_PUBLISHED_TYPE);
    expect(event.source).toBe(
      `//pubsub.googleapis.com/projects/${projectId}/topics/${topic.name.split('/').pop()}`,
    );
    expect(event.datacontenttype).toBe('application/json');
    const data = dataValue(event) as { message: Record<string, unknown>; subscription: string };
    expect(data.subscription).toBe(`projects/${projectId}/subscriptions/${subscription}`);
    expect(data.message).toMatchObject({
      data: Buffer.from('hello \x00 bytes').toString('base64'),
      attributes: { color: 'blue' },
      messageId: id,
    });
    expect(data.message.publishTime).toBe(event.time);
    expect(Date.parse(String(event.time))).toBeGreaterThan(Date.now() - 60_000);
    const second = dataValue(byId.get(id2)!) as { message: Record<string, unknown> };
    expect(second.message).not.toHaveProperty('attributes');
    expect(second.message).not.toHaveProperty('orderingKey');

    await until(
      async () => (await metric(bed.registry, 'eddy_source_events_delivered_total', labels('plain'))) === 2,
      5_000,
      'delivered',
    );
    expect(await metric(bed.registry, 'eddy_source_events_received_total', labels('plain'))).toBe(2);
    // Acked: after the source stops, nothing is left on the subscription.
    await bed.runner.remove(sourceKey({ kind: 'PubSubSource', namespace: 'demo', name: 'plain' }));
    expect(await drain(subscription, 1_000)).toHaveLength(0);
  });

  it('passes CloudEvents in the Pub/Sub binding (binary and structured) through unchanged', async () => {
    const { topic, subscription } = await topicWithSubscription();
    await bed.runner.apply(source('passthrough', { subscription }));
    await topic.publishMessage({
      data: Buffer.from('{"n":1}'),
      attributes: {
        'ce-specversion': '1.0',
        'ce-id': 'evt-1',
        'ce-source': 'urn:test:binary',
        'ce-type': 'com.example.binary',
        'ce-subject': 'sub-1',
        'ce-myext': 'ext value',
        'content-type': 'application/json',
        unrelated: 'dropped',
      },
    });
    await topic.publishMessage({
      data: Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: 'evt-2',
          source: 'urn:test:structured',
          type: 'com.example.structured',
          datacontenttype: 'text/plain',
          data: 'plain text',
          other: 'x',
        }),
      ),
      attributes: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    });
    await bed.sink.waitFor(() => bed.sink.accepted().length >= 2, 10_000);
    const byId = new Map(bed.sink.accepted().map((e) => [e.id, e]));
    // Exactly the attributes published (nothing added: no time, no `unrelated`) and the data bytes.
    expect(byId.get('evt-1')).toEqual({
      specversion: '1.0',
      id: 'evt-1',
      source: 'urn:test:binary',
      type: 'com.example.binary',
      subject: 'sub-1',
      myext: 'ext value',
      datacontenttype: 'application/json',
      data: Buffer.from('{"n":1}'),
    });
    expect(byId.get('evt-2')).toEqual({
      specversion: '1.0',
      id: 'evt-2',
      source: 'urn:test:structured',
      type: 'com.example.structured',
      datacontenttype: 'text/plain',
      data: Buffer.from('plain text'),
      other: 'x',
    });
  });

  it('counts and acks a malformed message without stopping', async () => {
    const { topic, subscription } = await topicWithSubscription();
    await bed.runner.apply(source('malformed', { subscription }));
    await topic.publishMessage({
      data: Buffer.from('x'),
      attributes: { 'ce-specversion': '1.0', 'ce-type': 't' },
    });
    await topic.publishMessage({ data: Buffer.from('good') });
    await bed.sink.waitFor(() => bed.sink.accepted().length >= 1, 10_000);
    await until(
      async () =>
        (await metric(bed.registry, 'eddy_source_events_failed_total', {
          ...labels('malformed'),
          reason: 'malformed',
        })) === 1,
      5_000,
      'malformed counted',
    );
    // Acked, not nacked: a nacked message would come back at once and be counted again.
    await sleep(1_000);
    expect(await metric(bed.registry, 'eddy_source_events_received_total', labels('malformed'))).toBe(2);
    expect(bed.sink.accepted()).toHaveLength(1);
  });

  it('nacks while the sink is down and delivers every message once it is back', async () => {
    const { topic, subscription } = await topicWithSubscription();
    await bed.sink.down();
    await bed.runner.apply(source('down', { subscription }));
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) => topic.publishMessage({ data: Buffer.from(`m${i}`) })),
    );
    // Nacked messages are redelivered: more receptions than messages, none delivered.
    await until(
      async () => (await metric(bed.registry, 'eddy_source_events_received_total', labels('down'))) >= 30,
      15_000,
      'redeliveries',
    );
    expect(await metric(bed.registry, 'eddy_source_events_delivered_total', labels('down'))).toBe(0);
    expect(
      await metric(bed.registry, 'eddy_source_events_failed_total', {
        ...labels('down'),
        reason: 'retries_exhausted',
      }),
    ).toBeGreaterThan(0);
    await bed.sink.up();
    await bed.sink.waitFor(() => new Set(bed.sink.accepted().map((e) => e.id)).size >= ids.length, 15_000);
    expect(new Set(bed.sink.accepted().map((e) => e.id))).toEqual(new Set(ids));
  });

  it('never has more sends in flight than flowControl.maxMessages', async () => {
    const { topic, subscription } = await topicWithSubscription();
    const delayMs = 250;
    bed.sink.respond = () => ({ status: 202, delayMs });
    await bed.runner.apply(source('flow', { subscription, flowControl: { maxMessages: 3 } }));
    await Promise.all(
      Array.from({ length: 15 }, (_, i) => topic.publishMessage({ data: Buffer.from(`m${i}`) })),
    );
    await bed.sink.waitFor(() => bed.sink.accepted().length >= 15, 20_000);
    // A message's request is answered after delayMs; the next one for its slot comes after the ack.
    const starts = bed.sink.requests.map((r) => r.at);
    const maxConcurrent = Math.max(
      ...starts.map((s) => starts.filter((t) => t >= s && t < s + delayMs).length),
    );
    expect(maxConcurrent).toBeLessThanOrEqual(3);
    expect(maxConcurrent).toBeGreaterThanOrEqual(2);
  });

  it('reports a missing subscription as not Ready and recovers once it exists', async () => {
    const [topic] = await pubsub().createTopic(unique('pst'));
    const subscription = unique('pss');
    await bed.runner.apply(source('missing', { subscription }));
    expect(bed.runner.statuses()[0]?.ready).toMatchObject({
      status: 'False',
      reason: 'SubscriptionNotFound',
    });
    expect(bed.runner.statuses()[0]?.ready.message).toContain(subscription);
    await topic.createSubscription(subscription, { ackDeadlineSeconds: 10 });
    await until(() => bed.runner.statuses()[0]?.ready.status === 'True', 10_000, 'Ready after creation');
    const id = await topic.publishMessage({ data: Buffer.from('late') });
    await bed.sink.waitFor(() => bed.sink.accepted().some((e) => e.id === id), 10_000);
  });

  it('creates the subscription on spec.topic with the spec ack deadline', async () => {
    const [topic] = await pubsub().createTopic(unique('pst'));
    const subscription = unique('pss');
    const topicId = topic.name.split('/').pop()!;
    await bed.runner.apply(source('create', { subscription, topic: topicId, ackDeadlineSeconds: 42 }));
    expect(bed.runner.statuses()[0]?.ready).toMatchObject({ status: 'True' });
    const [metadata] = await pubsub().subscription(subscription).getMetadata();
    expect(metadata.ackDeadlineSeconds).toBe(42);
    const id = await topic.publishMessage({ data: Buffer.from('x') });
    await bed.sink.waitFor(() => bed.sink.accepted().some((e) => e.id === id), 10_000);
  });

  it('runs on two members at once (placement every-member): both create the missing subscription, share it, each message once', async () => {
    // A second runner, as a second `eddy sources` process would have, into the same sink.
    const other = await startSourceTestBed({
      adapters: createPubSubSourceAdapter({ reconnectDelayMs: 200, maxReconnectDelayMs: 500 }),
    });
    try {
      expect(pubsubSourceAdapter.placement).toBe('every-member');
      const [topic] = await pubsub().createTopic(unique('pst'));
      const subscription = unique('pss');
      const def = source('shared', { subscription, topic: topic.name.split('/').pop() });
      await Promise.all([bed.runner.apply(def), other.runner.apply(def)]);
      for (const runner of [bed.runner, other.runner])
        await until(() => runner.statuses()[0]?.ready.status === 'True', 10_000, 'both Ready');
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(await topic.publishMessage({ data: Buffer.from(`m${i}`) }));
      await bed.sink.waitFor(() => bed.sink.accepted().length >= ids.length, 15_000);
      await sleep(500);
      const delivered = bed.sink.accepted().map((e) => e.id);
      expect(delivered.length).toBe(ids.length);
      expect(new Set(delivered)).toEqual(new Set(ids));
      const received = await Promise.all(
        [bed.registry, other.registry].map((r) =>
          metric(r, 'eddy_source_events_received_total', labels('shared')),
        ),
      );
      expect(received[0]! + received[1]!).toBe(ids.length);
      // The subscription is still there for both: neither member deleted or recreated it.
      const [exists] = await pubsub().subscription(subscription).exists();
      expect(exists).toBe(true);
    } finally {
      await closeSourceTestBed(other);
    }
  });

  it('reports a subscription deleted under a running source and resumes once it is back', async () => {
    const { topic, subscription } = await topicWithSubscription();
    await bed.runner.apply(source('deleted', { subscription }));
    expect(bed.runner.statuses()[0]?.ready.status).toBe('True');
    await pubsub().subscription(subscription).delete();
    await until(() => bed.runner.statuses()[0]?.ready.reason === 'SubscriptionNotFound', 15_000, 'not Ready');
    await topic.createSubscription(subscription, { ackDeadlineSeconds: 10 });
    await until(() => bed.runner.statuses()[0]?.ready.status === 'True', 10_000, 'Ready again');
    const id = await topic.publishMessage({ data: Buffer.from('again') });
    await bed.sink.waitFor(() => bed.sink.accepted().some((e) => e.id === id), 10_000);
  });

  it('reports an unreachable server as not Ready', async () => {
    await bed.runner.apply({ ...source('unreachable', { subscription: 'sub-x', endpoint: '127.0.0.1:9' }) });
    expect(bed.runner.statuses()[0]?.ready).toMatchObject({ status: 'False', reason: 'UpstreamUnreachable' });
  });

  it('stop nacks in-flight messages (redelivered at once) and acks finished ones', async () => {
    const { topic, subscription } = await topicWithSubscription();
    bed.sink.respond = (req) =>
      req.body.toString().includes(Buffer.from('slow').toString('base64'))
        ? { status: 202, delayMs: 20_000 }
        : { status: 202 };
    await bed.runner.apply(source('stop', { subscription }));
    const fastId = await topic.publishMessage({ data: Buffer.from('fast') });
    await bed.sink.waitFor(() => bed.sink.accepted().length === 1, 10_000);
    const slowId = await topic.publishMessage({ data: Buffer.from('slow') });
    await bed.sink.waitFor((rs) => rs.length === 2, 10_000);
    const started = Date.now();
    await bed.runner.remove(sourceKey({ kind: 'PubSubSource', namespace: 'demo', name: 'stop' }));
    expect(Date.now() - started).toBeLessThan(5_000);
    // The stream is closed: a message published now stays on the subscription.
    const afterId = await topic.publishMessage({ data: Buffer.from('after') });
    await sleep(300);
    expect(bed.sink.requests).toHaveLength(2);
    const left = await drain(subscription, 1_500);
    expect(left.map((m) => m.id).sort()).toEqual([slowId, afterId].sort());
    expect(left.map((m) => m.id)).not.toContain(fastId);
  });
});
