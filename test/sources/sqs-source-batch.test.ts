// SqsSource into a real Eddy broker ingress (sinkAcceptsBatch): the harness's ElasticMQ, the real
// runner/emitter, batch POSTs into the embedded event log.

import { dataValue, toHttpBinary } from '@eddy/api';
import { SQS_EVENT_TYPE, SQS_RECEIVERS_ANNOTATION } from '@eddy/sources';
import { describe, expect, it } from 'vitest';
import { metricSum as metric } from '../../packages/sources/src/testing/metric-sum.ts';
import { useSqsSourceTestBed } from '../../packages/sources/src/testing/sqs-source-test-bed.ts';
import { str } from '../../packages/sources/src/testing/sqs-test-queues.ts';
import { waitUntil as until } from '../../packages/sources/src/testing/wait-until.ts';
import { sqsSdk } from '../harness/sqs-sdk.ts';
import { startEddyIngress } from './eddy-ingress.ts';

const { queues, bed, source } = useSqsSourceTestBed(sqsSdk);
const { createQueue, send, counts, empty } = queues;

describe('SqsSource into an Eddy broker ingress', () => {
  it('into an Eddy ingress (sinkAcceptsBatch): one POST per receive batch, all stored intact, all deleted', async () => {
    const broker = await startEddyIngress();
    try {
      const q = await createQueue();
      const ids = await Promise.all(
        Array.from({ length: 45 }, (_, i) => send(q.url, JSON.stringify({ i }), { tenant: str(`t${i}`) })),
      );
      const def = {
        ...source('batched', { queueUrl: q.url }),
        sink: broker.url,
        sinkAcceptsBatch: true,
        annotations: { [SQS_RECEIVERS_ANNOTATION]: '3' },
      };
      await bed.runner.apply(def);
      await until(() => empty(q.url), 15_000, 'queue empty');
      const stored = await broker.stored();
      expect(stored).toHaveLength(45);
      const byId = new Map(stored.map((e) => [e.id, e]));
      ids.forEach((id, i) => {
        expect(byId.get(id)).toMatchObject({
          type: SQS_EVENT_TYPE,
          source: q.arn,
          tenant: `t${i}`,
          datacontenttype: 'application/json',
        });
        // The message body's bytes, stored as they were.
        expect(toHttpBinary(byId.get(id)!).body.toString()).toBe(JSON.stringify({ i }));
      });
      // At most 10 messages per receive, so at least 5 POSTs; far fewer than one per message.
      const posts = await broker.requests(202);
      expect(posts).toBeGreaterThanOrEqual(5);
      expect(posts).toBeLessThanOrEqual(30);
      const labels = { kind: 'SqsSource', name: 'batched' };
      expect(await metric(bed.registry, 'eddy_source_events_delivered_total', labels)).toBe(45);
    } finally {
      await broker.close();
    }
  });

  it('Eddy ingress down (batch mode): nothing deleted; everything arrives once it is back', async () => {
    const broker = await startEddyIngress({ down: true });
    try {
      const q = await createQueue();
      for (let i = 0; i < 12; i++) await send(q.url, `m${i}`);
      await bed.runner.apply({
        ...source('batched-down', { queueUrl: q.url, visibilityTimeoutSeconds: 2 }),
        sink: broker.url,
        sinkAcceptsBatch: true,
      });
      const labels = { kind: 'SqsSource', name: 'batched-down' };
      await until(
        async () => (await metric(bed.registry, 'eddy_source_events_failed_total', labels)) >= 12,
        10_000,
        '12 failed sends',
      );
      const c = await counts(q.url);
      expect(c.visible + c.inFlight).toBe(12);
      await broker.up();
      await until(() => empty(q.url), 20_000, 'queue empty');
      const stored = await broker.stored();
      expect(new Set(stored.map((e) => dataValue(e)))).toEqual(
        new Set(Array.from({ length: 12 }, (_, i) => `m${i}`)),
      );
    } finally {
      await broker.close();
    }
  });
});
