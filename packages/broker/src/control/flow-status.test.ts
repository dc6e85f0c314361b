import { type ResourceStatus, resourceKey } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { parallelStatus, sequenceStatus } from './flow-status.js';

const ready = (url?: string): ResourceStatus => ({
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status: 'True' }],
  ...(url ? { address: { url } } : {}),
});
const failing = (message: string): ResourceStatus => ({
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status: 'False', reason: 'SubscriberResolveFailed', message }],
});

const sequence = {
  namespace: 'ns',
  name: 'seq',
  spec: { steps: [{ uri: 'http://a/' }, { uri: 'http://b/' }] },
};

const condition = (s: ResourceStatus, type: string) => s.conditions.find((c) => c.type === type);

describe('sequenceStatus', () => {
  it("lists each step's channel and subscription with its Ready condition, and is Ready when all are", () => {
    const statuses = new Map([
      [
        resourceKey('InMemoryChannel', 'ns', 'seq-kn-sequence-0'),
        ready('http://ingress/ns/seq-kn-sequence-0'),
      ],
      [
        resourceKey('InMemoryChannel', 'ns', 'seq-kn-sequence-1'),
        ready('http://ingress/ns/seq-kn-sequence-1'),
      ],
      [resourceKey('Subscription', 'ns', 'seq-kn-sequence-0'), ready()],
      [resourceKey('Subscription', 'ns', 'seq-kn-sequence-1'), ready()],
    ]);
    const status = sequenceStatus(sequence, 3, statuses);
    expect(status.observedGeneration).toBe(3);
    expect(status.address).toEqual({ url: 'http://ingress/ns/seq-kn-sequence-0' });
    expect(status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Addressable=True',
      'ChannelsReady=True',
      'Ready=True',
      'SubscriptionsReady=True',
    ]);
    expect(status.channelStatuses).toEqual([
      {
        channel: {
          apiVersion: 'messaging.knative.dev/v1',
          kind: 'InMemoryChannel',
          namespace: 'ns',
          name: 'seq-kn-sequence-0',
        },
        ready: { type: 'Ready', status: 'True' },
      },
      {
        channel: {
          apiVersion: 'messaging.knative.dev/v1',
          kind: 'InMemoryChannel',
          namespace: 'ns',
          name: 'seq-kn-sequence-1',
        },
        ready: { type: 'Ready', status: 'True' },
      },
    ]);
    expect(status.subscriptionStatuses?.map((s) => s.subscription.name)).toEqual([
      'seq-kn-sequence-0',
      'seq-kn-sequence-1',
    ]);
  });

  it('names the first step that is not ready, and reports children not run yet as Unknown', () => {
    const statuses = new Map([
      [
        resourceKey('InMemoryChannel', 'ns', 'seq-kn-sequence-0'),
        ready('http://ingress/ns/seq-kn-sequence-0'),
      ],
      [resourceKey('Subscription', 'ns', 'seq-kn-sequence-0'), ready()],
      [resourceKey('Subscription', 'ns', 'seq-kn-sequence-1'), failing('service b not found')],
    ]);
    const status = sequenceStatus(sequence, 1, statuses);
    expect(condition(status, 'SubscriptionsReady')).toEqual({
      type: 'SubscriptionsReady',
      status: 'False',
      reason: 'SubscriptionsNotReady',
      message: 'Subscription seq-kn-sequence-1 is not ready: service b not found',
    });
    expect(condition(status, 'ChannelsReady')).toMatchObject({
      status: 'False',
      message: 'InMemoryChannel seq-kn-sequence-1 is not ready: not run yet',
    });
    expect(condition(status, 'Ready')?.status).toBe('False');
    expect(status.channelStatuses?.[1]?.ready.status).toBe('Unknown');
    expect(status.subscriptionStatuses?.[1]?.ready.message).toBe('service b not found');
  });

  it('is not Addressable before its first channel has an address', () => {
    const status = sequenceStatus(sequence, 1, new Map());
    expect(status.address).toBeUndefined();
    expect(condition(status, 'Addressable')).toMatchObject({ status: 'False', reason: 'EmptyAddress' });
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'EmptyAddress' });
  });
});

describe('parallelStatus', () => {
  const parallel = {
    namespace: 'ns',
    name: 'par',
    spec: {
      channelTemplate: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel' },
      branches: [
        { filter: { uri: 'http://even/' }, subscriber: { uri: 'http://e/' } },
        { subscriber: { uri: 'http://all/' } },
      ],
    },
  };

  it("reports its ingress channel and each branch's filter subscription, channel and subscription", () => {
    const statuses = new Map<string, ResourceStatus>([
      [resourceKey('KafkaChannel', 'ns', 'par-kn-parallel'), ready('http://ingress/ns/par-kn-parallel')],
    ]);
    for (const n of ['par-kn-parallel-0', 'par-kn-parallel-1']) {
      statuses.set(resourceKey('KafkaChannel', 'ns', n), ready(`http://ingress/ns/${n}`));
      statuses.set(resourceKey('Subscription', 'ns', n), ready());
    }
    statuses.set(resourceKey('Subscription', 'ns', 'par-kn-parallel-filter-0'), ready());
    statuses.set(resourceKey('Subscription', 'ns', 'par-kn-parallel-filter-1'), failing('no subscriber'));

    const status = parallelStatus(parallel, 2, statuses);
    expect(status.address).toEqual({ url: 'http://ingress/ns/par-kn-parallel' });
    expect(status.ingressChannelStatus?.channel).toEqual({
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      namespace: 'ns',
      name: 'par-kn-parallel',
    });
    expect(
      status.branchStatuses?.map((b) => [
        b.filterSubscriptionStatus.subscription.name,
        b.filterChannelStatus.channel.name,
        b.subscriberSubscriptionStatus.subscription.name,
      ]),
    ).toEqual([
      ['par-kn-parallel-filter-0', 'par-kn-parallel-0', 'par-kn-parallel-0'],
      ['par-kn-parallel-filter-1', 'par-kn-parallel-1', 'par-kn-parallel-1'],
    ]);
    expect(condition(status, 'ChannelsReady')?.status).toBe('True');
    expect(condition(status, 'Ready')).toMatchObject({
      status: 'False',
      message: 'Subscription par-kn-parallel-filter-1 is not ready: no subscriber',
    });
  });
});
