// SqsSource end to end: the harness's ElasticMQ, the real runner/emitter, a real HTTP sink.

import { dataValue } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { describe, expect, it } from 'vitest';
import { sqsSdk } from '../../../../test/harness/sqs-sdk.ts';
import { sourceKey } from '../sdk/runner.js';
import { metricSum as metric } from '../testing/metric-sum.js';
import { useSqsSourceTestBed } from '../testing/sqs-source-test-bed.js';
import { str } from '../testing/sqs-test-queues.js';
import { waitUntil as until } from '../testing/wait-until.js';
import { SQS_EVENT_TYPE } from './sqs-event.js';
import { RECEIVERS_ANNOTATION } from './sqs-source.js';

const { ReceiveMessageCommand } = sqsSdk;
const { queues, bed, source } = useSqsSourceTestBed(sqsSdk);
const { client: sqs, createQueue, send, counts, empty } = queues;

describe('SqsSource', () => {
  it('wraps plain messages as dev.eddy.sources.sqs.message and deletes them after delivery', async () => {
    const q = await createQueue();
    const id1 = await send(q.url, '{"amount": 12}', {
      tenant: str('acme'),
      'X-Trace_ID': str('abc-1'),
      priority: { DataType: 'Number', StringValue: '7' },
      blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
      'a-name-far-too-long-for-an-extension': str('dropped'),
    });
    const id2 = await send(q.url, 'plain words', { 'Content-Type': str('text/x-custom') });
    const id3 = await send(q.url, 'no type');
    const status = await bed.runner.apply(source('orders', { queueUrl: q.url }));
    expect(status.ready.status).toBe('True');
    await bed.sink.waitFor((r) => r.length >= 3, 10_000);
    const events = bed.sink.accepted();
    const byId = new Map(events.map((e) => [e.id, e]));
    const first = byId.get(id1);
    expect(first).toMatchObject({
      type: SQS_EVENT_TYPE,
      source: q.arn,
      datacontenttype: 'application/json',
      tenant: 'acme',
      xtraceid: 'abc-1',
      priority: '7',
      blob: 'AQID',
      sqsreceivecount: '1',
    });
    expect(q.arn).toMatch(/^arn:aws:sqs:/);
    expect(Object.keys(first ?? {})).not.toContain('anamefartoolongforanextension');
    expect(Date.now() - Date.parse(first?.time ?? '')).toBeLessThan(60_000);
    expect(byId.get(id2)).toMatchObject({
      datacontenttype: 'text/x-custom',
      data: Buffer.from('plain words'),
    });
    expect(dataValue(byId.get(id2)!)).toBe('plain words');
    expect(byId.get(id3)?.datacontenttype).toBe('text/plain; charset=utf-8');
    const bodyOf1 = bed.sink.requests.find((r) => r.headers['ce-id'] === id1)?.body.toString();
    expect(bodyOf1).toBe('{"amount": 12}');
    await until(() => empty(q.url), 5_000, 'queue empty');
    const labels = { kind: 'SqsSource', namespace: 'demo', name: 'orders' };
    expect(await metric(bed.registry, 'eddy_source_events_received_total', labels)).toBe(3);
    expect(await metric(bed.registry, 'eddy_source_events_delivered_total', labels)).toBe(3);
    await until(
      async () => (await metric(bed.registry, 'eddy_source_upstream_lag', labels)) === 0,
      3_000,
      'lag gauge 0',
    );
  });

  it('passes CloudEvents through: structured JSON body and ce- message attributes', async () => {
    const q = await createQueue();
    const structured = {
      specversion: '1.0',
      id: 's-1',
      source: '/producer/b',
      type: 'com.example.updated',
      datacontenttype: 'application/json',
      shape: 'round',
      data: { n: 2 },
    };
    await send(q.url, JSON.stringify(structured));
    await send(q.url, 'hello', {
      'ce-specversion': str('1.0'),
      'ce-id': str('b-1'),
      'ce-source': str('/producer/a'),
      'ce-type': str('com.example.created'),
      'ce-color': str('red'),
      'content-type': str('text/plain'),
    });
    await bed.runner.apply(source('passthrough', { queueUrl: q.url }));
    await bed.sink.waitFor((r) => r.length >= 2, 10_000);
    const byId = new Map(bed.sink.accepted().map((e) => [e.id, e]));
    // Exactly the attributes sent (nothing added: no time) and the data bytes: the structured
    // event's `data` member as written, the body of the other.
    const { data: structuredData, ...structuredAttributes } = structured;
    expect(byId.get('s-1')).toEqual({
      ...structuredAttributes,
      data: Buffer.from(JSON.stringify(structuredData)),
    });
    expect(byId.get('b-1')).toEqual({
      specversion: '1.0',
      id: 'b-1',
      source: '/producer/a',
      type: 'com.example.created',
      color: 'red',
      datacontenttype: 'text/plain',
      data: Buffer.from('hello'),
    });
    await until(() => empty(q.url), 5_000, 'queue empty');
  });

  it('deletes nothing while the sink is down and delivers everything once it is back', async () => {
    const q = await createQueue();
    await bed.sink.down();
    for (let i = 0; i < 3; i++) await send(q.url, `m${i}`);
    await bed.runner.apply(source('down', { queueUrl: q.url, visibilityTimeoutSeconds: 2 }));
    const labels = { kind: 'SqsSource', name: 'down' };
    await until(
      async () => (await metric(bed.registry, 'eddy_source_events_failed_total', labels)) >= 3,
      10_000,
      '3 failed sends',
    );
    const c = await counts(q.url);
    expect(c.visible + c.inFlight).toBe(3);
    await bed.sink.up();
    await bed.sink.waitFor(() => new Set(bed.sink.accepted().map((e) => dataValue(e))).size === 3, 15_000);
    expect(new Set(bed.sink.accepted().map((e) => dataValue(e)))).toEqual(new Set(['m0', 'm1', 'm2']));
    await until(() => empty(q.url), 5_000, 'queue empty');
    expect(await metric(bed.registry, 'eddy_source_events_received_total', labels)).toBeGreaterThan(3);
  });

  it('rejects a bad receivers annotation, naming it', async () => {
    const q = await createQueue();
    const status = await bed.runner.apply({
      ...source('bad-receivers', { queueUrl: q.url }),
      annotations: { [RECEIVERS_ANNOTATION]: '0' },
    });
    expect(status.ready.status).toBe('False');
    expect(status.ready.message).toContain(RECEIVERS_ANNOTATION);
  });

  it('extends the visibility of a message while a slow sink holds it', async () => {
    const q = await createQueue();
    bed.sink.respond = () => ({ status: 202, delayMs: 5_000 });
    await send(q.url, 'slow');
    await bed.runner.apply(source('slow', { queueUrl: q.url, visibilityTimeoutSeconds: 2 }));
    await bed.sink.waitFor((r) => r.length >= 1, 5_000);
    // Well past the 2 s visibility timeout: without extensions SQS would hand it out again.
    await sleep(5_500);
    await until(() => empty(q.url), 3_000, 'queue empty');
    expect(bed.sink.requests).toHaveLength(1);
    expect(await metric(bed.registry, 'eddy_source_events_received_total', { name: 'slow' })).toBe(1);
  });

  it('leaves messages the sink refuses to the queue redrive policy (dead-letter queue)', async () => {
    const dlq = await createQueue();
    const q = await createQueue({
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
    });
    bed.sink.respond = () => ({ status: 400 });
    const id = await send(q.url, 'poison');
    await bed.runner.apply(source('redrive', { queueUrl: q.url, visibilityTimeoutSeconds: 1 }));
    await until(async () => (await counts(dlq.url)).visible === 1, 15_000, 'message in the DLQ');
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url }));
    expect(Messages[0]?.MessageId).toBe(id);
    expect(bed.sink.requests).toHaveLength(2);
    expect(
      await metric(bed.registry, 'eddy_source_events_failed_total', { name: 'redrive', reason: 'rejected' }),
    ).toBe(2);
  });

  it('counts a malformed message, deletes it when the queue has no redrive policy, and keeps going', async () => {
    const q = await createQueue();
    await send(q.url, JSON.stringify({ specversion: '1.0', type: 'no.id.or.source' }));
    await send(q.url, 'x', { 'ce-id': str('only-an-id') });
    await send(q.url, 'good one');
    await bed.runner.apply(source('malformed', { queueUrl: q.url }));
    await bed.sink.waitFor((r) => r.length >= 1, 10_000);
    await until(() => empty(q.url), 5_000, 'queue empty');
    expect(bed.sink.accepted().map((e) => dataValue(e))).toEqual(['good one']);
    expect(
      await metric(bed.registry, 'eddy_source_events_failed_total', {
        name: 'malformed',
        reason: 'malformed',
      }),
    ).toBe(2);
  });

  it('leaves a malformed message to the redrive policy when the queue has one', async () => {
    const dlq = await createQueue();
    const q = await createQueue({
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
    });
    await send(q.url, JSON.stringify({ specversion: '1.0', id: 'x' }));
    await bed.runner.apply(source('malformed-dlq', { queueUrl: q.url }));
    await until(async () => (await counts(dlq.url)).visible === 1, 10_000, 'malformed message in the DLQ');
    expect(bed.sink.requests).toHaveLength(0);
  });

  it('releases in-flight messages on stop (visible again at once, not deleted)', async () => {
    const q = await createQueue();
    bed.sink.respond = () => ({ status: 202, delayMs: 20_000 });
    await send(q.url, 'a');
    await send(q.url, 'b');
    // A 20 s long poll: the stop must not leave it orphaned on the server (it would hide the
    // released messages again), nor wait it out.
    const def = source('stop', { queueUrl: q.url, visibilityTimeoutSeconds: 20, waitTimeSeconds: 20 });
    await bed.runner.apply(def);
    await bed.sink.waitFor((r) => r.length >= 2, 5_000);
    expect((await counts(q.url)).inFlight).toBe(2);
    const started = Date.now();
    await bed.runner.remove(sourceKey(def));
    expect(Date.now() - started).toBeLessThan(5_000);
    // Visible again long before the 20 s visibility timeout.
    await until(async () => (await counts(q.url)).visible === 2, 3_000, 'messages released');
  });

  it('reports a missing queue as Ready=False QueueNotFound', async () => {
    const q = await createQueue();
    const missing = `${q.url}-missing`;
    const status = await bed.runner.apply(source('missing', { queueUrl: missing }));
    expect(status.ready).toMatchObject({ status: 'False', reason: 'QueueNotFound' });
    expect(status.ready.message).toContain(missing);
  });
});
