import type { ContractInput } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { parallelChildren, sequenceChildren } from './flows.js';

const ksvc = (name: string) => ({ ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name } });
const imc = (name: string) => ({
  ref: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name },
});
const spec = (c: ContractInput) => (c.resource as { spec: Record<string, unknown> }).spec;
const byName = (children: ContractInput[], kind: string, name: string) => {
  const found = children.find((c) => c.kind === kind && c.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name} in ${children.map((c) => `${c.kind}/${c.name}`).join(', ')}`);
  return found;
};

describe('sequenceChildren (the Knative docs Sequence: three steps, reply to a Broker)', () => {
  const children = sequenceChildren({
    namespace: 'default',
    name: 'sequence',
    spec: {
      channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' },
      steps: [ksvc('first'), { ...ksvc('second'), delivery: { retry: 2 } }, ksvc('third')],
      reply: { ref: { kind: 'Broker', apiVersion: 'eventing.knative.dev/v1', name: 'default' } },
    },
  });

  it("makes Knative's channels and subscriptions, each step replying into the next channel", () => {
    expect(children.map((c) => `${c.kind}/${c.name}`)).toEqual([
      'InMemoryChannel/sequence-kn-sequence-0',
      'Subscription/sequence-kn-sequence-0',
      'InMemoryChannel/sequence-kn-sequence-1',
      'Subscription/sequence-kn-sequence-1',
      'InMemoryChannel/sequence-kn-sequence-2',
      'Subscription/sequence-kn-sequence-2',
    ]);
    expect(spec(byName(children, 'Subscription', 'sequence-kn-sequence-0'))).toEqual({
      channel: {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'InMemoryChannel',
        name: 'sequence-kn-sequence-0',
      },
      subscriber: ksvc('first'),
      reply: imc('sequence-kn-sequence-1'),
    });
    // The step's own delivery goes to its subscription; the last step replies to the Sequence's reply.
    expect(spec(byName(children, 'Subscription', 'sequence-kn-sequence-1')).delivery).toEqual({ retry: 2 });
    expect(spec(byName(children, 'Subscription', 'sequence-kn-sequence-2')).reply).toEqual({
      ref: { kind: 'Broker', apiVersion: 'eventing.knative.dev/v1', name: 'default' },
    });
  });

  it('owns every child, so deleting the Sequence deletes them', () => {
    for (const c of children)
      expect((c.resource as { metadata: { ownerReferences: unknown[] } }).metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Sequence', name: 'sequence', controller: true }),
      ]);
  });

  it('uses InMemoryChannel without a channelTemplate, and a KafkaChannel template with its spec', () => {
    const bare = sequenceChildren({ namespace: 'n', name: 's', spec: { steps: [ksvc('a')] } });
    expect(bare[0]?.kind).toBe('InMemoryChannel');
    expect(spec(bare[1] as ContractInput).reply).toBeUndefined();
    const kafka = sequenceChildren({
      namespace: 'n',
      name: 's',
      spec: {
        steps: [ksvc('a')],
        channelTemplate: {
          apiVersion: 'messaging.knative.dev/v1beta1',
          kind: 'KafkaChannel',
          spec: { numPartitions: 3 },
        },
      },
    });
    expect(kafka[0]).toMatchObject({ kind: 'KafkaChannel', resource: { spec: { numPartitions: 3 } } });
  });
});

describe('parallelChildren (the Knative docs Parallel: odd and even branches, one reply)', () => {
  const children = parallelChildren({
    namespace: 'default',
    name: 'odd-even-parallel',
    spec: {
      channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' },
      branches: [
        { filter: ksvc('even-filter'), subscriber: ksvc('even-transformer') },
        { filter: ksvc('odd-filter'), subscriber: ksvc('odd-transformer'), reply: ksvc('odd-display') },
        { subscriber: ksvc('audit') },
      ],
      reply: ksvc('event-display'),
    },
  });

  it('makes the ingress channel, and per branch a channel, a filter subscription and a subscriber subscription', () => {
    expect(children.map((c) => `${c.kind}/${c.name}`)).toEqual([
      'InMemoryChannel/odd-even-parallel-kn-parallel',
      'InMemoryChannel/odd-even-parallel-kn-parallel-0',
      'Subscription/odd-even-parallel-kn-parallel-filter-0',
      'Subscription/odd-even-parallel-kn-parallel-0',
      'InMemoryChannel/odd-even-parallel-kn-parallel-1',
      'Subscription/odd-even-parallel-kn-parallel-filter-1',
      'Subscription/odd-even-parallel-kn-parallel-1',
      'InMemoryChannel/odd-even-parallel-kn-parallel-2',
      'Subscription/odd-even-parallel-kn-parallel-filter-2',
      'Subscription/odd-even-parallel-kn-parallel-2',
    ]);
  });

  it("routes through the filter into the branch channel, and replies to the branch's or the Parallel's reply", () => {
    expect(spec(byName(children, 'Subscription', 'odd-even-parallel-kn-parallel-filter-0'))).toEqual({
      channel: {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'InMemoryChannel',
        name: 'odd-even-parallel-kn-parallel',
      },
      subscriber: ksvc('even-filter'),
      reply: imc('odd-even-parallel-kn-parallel-0'),
    });
    expect(spec(byName(children, 'Subscription', 'odd-even-parallel-kn-parallel-0')).reply).toEqual(
      ksvc('event-display'),
    );
    expect(spec(byName(children, 'Subscription', 'odd-even-parallel-kn-parallel-1')).reply).toEqual(
      ksvc('odd-display'),
    );
  });

  it('sends every event on for a branch without a filter', () => {
    expect(spec(byName(children, 'Subscription', 'odd-even-parallel-kn-parallel-filter-2'))).toEqual({
      channel: {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'InMemoryChannel',
        name: 'odd-even-parallel-kn-parallel',
      },
      subscriber: imc('odd-even-parallel-kn-parallel-2'),
    });
  });
});
