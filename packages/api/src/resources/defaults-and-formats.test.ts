import { describe, expect, it } from 'vitest';
import { checkSchedule } from './cron.js';
import { parseGoDuration, parseIsoDuration } from './durations.js';
import { loadText } from './load.js';
import { findPlaceholderLines } from './placeholders.js';

function loadOne(yaml: string): Record<string, unknown> {
  const r = loadText(yaml, 'test.yaml');
  expect(r.problems).toEqual([]);
  expect(r.resources).toHaveLength(1);
  return r.resources[0]!.resource;
}

describe('Knative defaulting', () => {
  it('Broker: class annotation, namespace, cluster-default delivery', () => {
    const b = loadOne('apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n');
    expect(b).toMatchObject({
      metadata: {
        namespace: 'default',
        annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
      },
      spec: { delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' } },
    });
  });

  it('Trigger: empty filter, broker label, subscriber ref namespace, exponential backoff when only a delay is set', () => {
    const t = loadOne(
      [
        'apiVersion: eventing.knative.dev/v1',
        'kind: Trigger',
        'metadata: {name: t, namespace: shop}',
        'spec:',
        '  broker: orders',
        '  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: display}}',
        '  delivery: {backoffDelay: PT1S}',
      ].join('\n'),
    );
    expect(t).toMatchObject({
      metadata: { labels: { 'eventing.knative.dev/broker': 'orders' } },
      spec: {
        filter: {},
        subscriber: { ref: { namespace: 'shop' } },
        delivery: { backoffDelay: 'PT1S', backoffPolicy: 'exponential' },
      },
    });
  });

  it('Service: 100% to the latest revision, timeoutSeconds 300, containerConcurrency 0, user-container', () => {
    const s = loadOne(
      'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: hello}\nspec:\n  template:\n    spec:\n      containers: [{command: [node, server.js]}]\n',
    );
    expect(s).toMatchObject({
      spec: {
        template: {
          spec: { timeoutSeconds: 300, containerConcurrency: 0, containers: [{ name: 'user-container' }] },
        },
        traffic: [{ percent: 100, latestRevision: true }],
      },
    });
  });

  it('KafkaSource: stable consumer group, one consumer, latest offset, ordered', () => {
    const k = loadOne(
      'apiVersion: sources.knative.dev/v1\nkind: KafkaSource\nmetadata: {name: ks}\nspec:\n  bootstrapServers: [localhost:9092]\n  topics: [t]\n  sink: {uri: "http://x.example.com"}\n',
    );
    expect(k).toMatchObject({
      spec: {
        consumerGroup: 'knative-kafka-source-default-ks',
        consumers: 1,
        initialOffset: 'latest',
        ordering: 'ordered',
      },
    });
  });

  it('PingSource schedule, KafkaChannel, Channel template, SqsSource region from the queue URL', () => {
    const p = loadOne(
      'apiVersion: sources.knative.dev/v1beta2\nkind: PingSource\nmetadata: {name: p}\nspec:\n  sink: {uri: "http://x.example.com"}\n',
    );
    expect(p).toMatchObject({ spec: { schedule: '* * * * *' } });
    const kc = loadOne(
      'apiVersion: messaging.knative.dev/v1beta1\nkind: KafkaChannel\nmetadata: {name: kc}\n',
    );
    expect(kc).toMatchObject({
      spec: { numPartitions: 1, replicationFactor: 1, retentionDuration: 'PT168H' },
    });
    const ch = loadOne('apiVersion: messaging.knative.dev/v1\nkind: Channel\nmetadata: {name: ch}\n');
    expect(ch).toMatchObject({
      spec: { channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' } },
    });
    const sqs = loadOne(
      'apiVersion: sources.eddy.dev/v1alpha1\nkind: SqsSource\nmetadata: {name: q}\nspec:\n  queueUrl: https://sqs.eu-west-1.amazonaws.com/123456789012/orders\n  sink: {uri: "http://x.example.com"}\n',
    );
    expect(sqs).toMatchObject({ spec: { region: 'eu-west-1', batchSize: 10, waitTimeSeconds: 20 } });
  });
});

describe('formats', () => {
  it('ISO-8601 durations as Knative parses them', () => {
    expect(parseIsoDuration('PT0.2S')).toEqual({ ms: 200, negative: false });
    expect(parseIsoDuration('P1DT1H')?.ms).toBe(90_000_000);
    expect(parseIsoDuration('-PT1S')).toEqual({ ms: 1000, negative: true });
    for (const bad of ['5s', 'P', 'PT', 'P1H', 'PT1', '1S', ''])
      expect(parseIsoDuration(bad)).toBeUndefined();
  });

  it('Go durations (autoscaling annotations)', () => {
    expect(parseGoDuration('1m5s')).toBe(65_000);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('5')).toBeUndefined();
  });

  it('cron schedules: 5 or 6 fields, descriptors, CRON_TZ, no @every', () => {
    for (const ok of ['*/2 * * * *', '0 */5 * * * *', '@hourly', 'CRON_TZ=Europe/Paris 0 9 * * MON-FRI'])
      expect(checkSchedule(ok)).toEqual([]);
    expect(checkSchedule('61 * * * *')[0]?.message).toContain('Invalid value for minute');
    expect(checkSchedule('0 0 0 * * * 2025')[0]?.message).toContain('has 7 fields');
    expect(checkSchedule('@every 5m')[0]?.message).toContain('@every');
    expect(checkSchedule('* * * * *', 'Nowhere/Land')).toEqual([
      {
        field: 'timezone',
        message: 'unknown time zone "Nowhere/Land" (expected an IANA name such as "Europe/Paris")',
      },
    ]);
  });

  it('"..." placeholder lines, but not a document end marker before a new document', () => {
    expect(findPlaceholderLines('a: 1\n...\n---\nb: 2\n')).toEqual([]);
    expect(findPlaceholderLines('a: 1\n...\n')).toEqual([]);
    expect(findPlaceholderLines('spec:\n  ...\n  x: 1\n...\ntraffic: []\n')).toEqual([2, 4]);
  });
});
