import { describe, expect, it } from 'vitest';
import { parseStartFromAnnotation } from './eddy-annotations.js';
import { loadText } from './load.js';
import { formatProblem } from './problem.js';

function problems(yaml: string): string[] {
  return loadText(yaml, 'a.yaml').problems.map(formatProblem);
}

describe('eddy validate: Eddy annotation values', () => {
  it.each([
    {
      kind: 'Broker',
      doc: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n  annotations:\n    eddy.dev/partitions: "0"\n',
      expected:
        'a.yaml:6:26: error: #0 Broker default/b: metadata.annotations["eddy.dev/partitions"]: expected an integer from 1 to 10000, found "0"',
    },
    {
      kind: 'Broker',
      doc: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n  annotations:\n    eddy.dev/retention: 7 days\n',
      expected:
        'a.yaml:6:25: error: #0 Broker default/b: metadata.annotations["eddy.dev/retention"]: expected a positive ISO-8601 duration such as "P7D" or "PT12H", found "7 days"',
    },
    {
      kind: 'Trigger',
      doc: 'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\n  annotations:\n    eddy.dev/max-in-flight: lots\nspec:\n  broker: default\n  subscriber: {uri: "http://x.example.com"}\n',
      expected:
        'a.yaml:6:29: error: #0 Trigger default/t: metadata.annotations["eddy.dev/max-in-flight"]: expected an integer from 1 to 100000, found "lots"',
    },
    {
      kind: 'Trigger',
      doc: 'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\n  annotations:\n    eddy.dev/start-from: "2024-13-01T00:00:00Z"\nspec:\n  broker: default\n  subscriber: {uri: "http://x.example.com"}\n',
      expected:
        'a.yaml:6:26: error: #0 Trigger default/t: metadata.annotations["eddy.dev/start-from"]: expected "earliest", "latest" or an RFC 3339 timestamp such as "2024-05-01T10:00:00Z", found "2024-13-01T00:00:00Z"',
    },
    {
      kind: 'Subscription',
      doc: 'apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n  name: s\n  annotations:\n    kafka.eventing.knative.dev/delivery.order: random\nspec:\n  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: c}\n  subscriber: {uri: "http://x.example.com"}\n',
      expected:
        'a.yaml:6:48: error: #0 Subscription default/s: metadata.annotations["kafka.eventing.knative.dev/delivery.order"]: expected "ordered" or "unordered", found "random"',
    },
    {
      kind: 'InMemoryChannel',
      doc: 'apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata:\n  name: c\n  annotations:\n    eddy.dev/partitions: "3.5"\n',
      expected:
        'a.yaml:6:26: error: #0 InMemoryChannel default/c: metadata.annotations["eddy.dev/partitions"]: expected an integer from 1 to 10000, found "3.5"',
    },
    {
      kind: 'KafkaChannel',
      doc: 'apiVersion: messaging.knative.dev/v1beta1\nkind: KafkaChannel\nmetadata:\n  name: c\n  annotations:\n    eddy.dev/partitions: "3"\n',
      expected:
        'a.yaml:6:26: warning: #0 KafkaChannel default/c: metadata.annotations["eddy.dev/partitions"]: ignored on a KafkaChannel: set spec.numPartitions instead',
    },
  ])('$kind: $expected', ({ doc, expected }) => {
    expect(problems(doc)).toEqual([expected]);
  });

  it('valid values pass', () => {
    const doc =
      'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\n  annotations:\n    eddy.dev/max-in-flight: "16"\n    eddy.dev/start-from: "2024-05-01T10:00:00.123-05:30"\n    kafka.eventing.knative.dev/delivery.order: ordered\nspec:\n  broker: default\n  subscriber: {uri: "http://x.example.com"}\n';
    expect(problems(doc)).toEqual([]);
  });
});

describe('start-from timestamps', () => {
  it.each([
    ['2024-05-01T10:00:00Z', Date.UTC(2024, 4, 1, 10)],
    ['2024-05-01t10:00:00z', Date.UTC(2024, 4, 1, 10)],
    ['2024-02-29T23:59:59.999+01:00', Date.UTC(2024, 1, 29, 22, 59, 59, 999)],
  ])('%s', (text, ms) => {
    expect(parseStartFromAnnotation(text)).toEqual({ ok: true, value: { timestamp: ms } });
  });

  it.each(['2023-02-29T00:00:00Z', '2024-05-01 10:00:00Z', '2024-05-01T24:00:00Z', '2024-05-01', 'now', ''])(
    'rejects %j',
    (text) => {
      expect(parseStartFromAnnotation(text).ok).toBe(false);
    },
  );
});
