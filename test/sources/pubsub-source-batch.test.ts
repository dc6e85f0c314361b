// PubSubSource into a real Eddy broker ingress (sinkAcceptsBatch): the harness's pstest, the real
// runner/emitter, batch POSTs into the embedded event log.

import { dataValue } from '@eddy/api';
import { PUBSUB_MESSAGE_PUBLISHED_TYPE, sourceKey } from '@eddy/sources';
import { describe, expect, it } from 'vitest';
import { metricSum as metric } from '../../packages/sources/src/testing/metric-sum.ts';
import { usePubSubSourceTestBed } from '../../packages/sources/src/testing/pubsub-source-test-bed.ts';
import { waitUntil } from '../../packages/sources/src/testing/wait-until.ts';
import { pubSubClientOptions } from '../harness/pstest.ts';
import { pubsubSdk } from '../harness/pubsub-sdk.ts';
import { startEddyIngress } from './eddy-ingress.ts';

const { bed, source, labels, topicWithSubscription, drain } = usePubSubSourceTestBed({
  sdk: pubsubSdk,
  pubSubClientOptions,
});

const until = (check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) =>
  waitUntil(check, timeoutMs, what, 50);

describe('PubSubSource into an Eddy broker ingress', () => {
  it('into an Eddy ingress (sinkAcceptsBatch): messages gathered into batch POSTs, stored intact, acked', async () => {
    const broker = await startEddyIngress();
    try {
      const { topic, subscription } = await topicWithSubscription();
      const ids = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          topic.publishMessage({ data: Buffer.from(`b${i}`), attributes: { n: String(i) } }),
        ),
      );
      await bed.runner.apply({
        ...source('batched', { subscription }),
        sink: broker.url,
        sinkAcceptsBatch: true,
      });
      await until(
        async () =>
          (await metric(bed.registry, 'eddy_source_events_delivered_total', labels('batched'))) >= 60,
        15_000,
        '60 delivered',
      );
      const stored = await broker.stored();
      const byId = new Map(stored.map((e) => [e.id, e]));
      ids.forEach((id, i) => {
        const event = byId.get(id);
        const data = (event && dataValue(event)) as { message: Record<string, unknown> } | undefined;
        expect(byId.get(id)?.type).toBe(PUBSUB_MESSAGE_PUBLISHED_TYPE);
        expect(data?.message).toMatchObject({
          data: Buffer.from(`b${i}`).toString('base64'),
          attributes: { n: String(i) },
          messageId: id,
        });
      });
      expect(await broker.requests(202)).toBeLessThan(60);
      await bed.runner.remove(sourceKey({ kind: 'PubSubSource', namespace: 'demo', name: 'batched' }));
      expect(await drain(subscription, 1_000)).toHaveLength(0);
    } finally {
      await broker.close();
    }
  });

  it('Eddy ingress down (batch mode): nacked, then every message arrives once it is back', async () => {
    const broker = await startEddyIngress({ down: true });
    try {
      const { topic, subscription } = await topicWithSubscription();
      await bed.runner.apply({
        ...source('batched-down', { subscription }),
        sink: broker.url,
        sinkAcceptsBatch: true,
      });
      const ids = await Promise.all(
        Array.from({ length: 10 }, (_, i) => topic.publishMessage({ data: Buffer.from(`m${i}`) })),
      );
      await until(
        async () =>
          (await metric(bed.registry, 'eddy_source_events_received_total', labels('batched-down'))) >= 30,
        15_000,
        'redeliveries',
      );
      expect(await metric(bed.registry, 'eddy_source_events_delivered_total', labels('batched-down'))).toBe(
        0,
      );
      await broker.up();
      await until(
        async () => new Set((await broker.stored()).map((e) => e.id)).size >= ids.length,
        15_000,
        'all ten stored',
      );
      expect(new Set((await broker.stored()).map((e) => e.id))).toEqual(new Set(ids));
    } finally {
      await broker.close();
    }
  });
});
