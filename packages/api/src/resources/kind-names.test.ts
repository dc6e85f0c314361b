import { describe, expect, it } from 'vitest';
import { KIND_NAMES, resolveKindName, suggestKindName } from './kind-names.js';
import { KINDS } from './kinds.js';

const kindOf = (typed: string) => {
  const r = resolveKindName(typed);
  return r.ok ? r.definition.kind : r.message;
};

describe('kind names', () => {
  it('names every kind Eddy runs, once', () => {
    expect(KIND_NAMES.map((n) => n.kind).sort()).toEqual(KINDS.map((k) => k.kind).sort());
    const all = KIND_NAMES.flatMap((n) => [n.singular, n.plural, ...n.short]);
    expect(new Set(all).size).toBe(all.length);
  });

  it.each([
    ['broker', 'Broker'],
    ['brokers', 'Broker'],
    ['Broker', 'Broker'],
    ['TRIGGERS', 'Trigger'],
    ['ksvc', 'Service'],
    ['kservice', 'Service'],
    ['service', 'Service'],
    ['services', 'Service'],
    ['configuration', 'Configuration'],
    ['configurations', 'Configuration'],
    ['config', 'Configuration'],
    ['cfg', 'Configuration'],
    ['rev', 'Revision'],
    ['revisions', 'Revision'],
    ['rt', 'Route'],
    ['routes', 'Route'],
    ['channel', 'Channel'],
    ['subscriptions', 'Subscription'],
    ['sub', 'Subscription'],
    ['imc', 'InMemoryChannel'],
    ['inmemorychannels', 'InMemoryChannel'],
    ['kafkachannel', 'KafkaChannel'],
    ['pingsources', 'PingSource'],
    ['containersource', 'ContainerSource'],
    ['kafkasources', 'KafkaSource'],
    ['githubsources', 'GitHubSource'],
    ['GitHubSource', 'GitHubSource'],
    ['sqssource', 'SqsSource'],
    ['pubsubsources', 'PubSubSource'],
    ['sinkbinding', 'SinkBinding'],
    ['apiserversources', 'ApiServerSource'],
    ['services.serving.knative.dev', 'Service'],
    ['broker.eventing.knative.dev', 'Broker'],
    [' trigger ', 'Trigger'],
  ])('%s -> %s', (typed, kind) => {
    expect(kindOf(typed)).toBe(kind);
  });

  it('suggests the nearest name for a typo', () => {
    expect(kindOf('brokr')).toBe('unknown kind "brokr" (did you mean broker?)');
    expect(kindOf('triggres')).toBe('unknown kind "triggres" (did you mean trigger?)');
    expect(kindOf('pingsourcs')).toBe('unknown kind "pingsourcs" (did you mean pingsource?)');
    expect(kindOf('ksv')).toBe('unknown kind "ksv" (did you mean ksvc?)');
    expect(suggestKindName('deployment')).toBeUndefined();
    expect(kindOf('deployments')).toBe('unknown kind "deployments" (see `eddy get --help` for the kinds)');
  });

  it('rejects a kind qualified with the wrong group, and an empty name', () => {
    expect(kindOf('brokers.serving.knative.dev')).toBe(
      'unknown kind "brokers.serving.knative.dev": brokers belong to eventing.knative.dev, not serving.knative.dev',
    );
    expect(kindOf('')).toBe('unknown kind "": a kind name is required');
  });
});
