// KafkaSink manifests through the loader: Knative's examples load; every mistake is a located error.

import { describe, expect, it } from 'vitest';
import { loadText } from './load.js';
import { formatProblem } from './problem.js';

const load = (spec: string[]) =>
  loadText(
    [
      'apiVersion: eventing.knative.dev/v1alpha1',
      'kind: KafkaSink',
      'metadata: {name: my-kafka-sink, namespace: default}',
      'spec:',
      ...spec,
      '',
    ].join('\n'),
    's.yaml',
  );
const errors = (spec: string[]) =>
  load(spec)
    .problems.filter((p) => p.severity === 'error')
    .map(formatProblem);

describe('eventing.knative.dev/v1alpha1 KafkaSink', () => {
  it('loads the docs example and one with every field', () => {
    expect(
      load(['  topic: mytopic', '  bootstrapServers: [my-cluster-kafka-bootstrap.kafka:9092]']).problems,
    ).toEqual([]);
    const full = load([
      '  topic: my.topic_1',
      '  bootstrapServers: ["a:9092,b:9092", "c:9093"]',
      '  numPartitions: 3',
      '  replicationFactor: 1',
      '  contentMode: structured',
      '  auth: {secret: {ref: {name: kafka-auth}}}',
    ]);
    expect(full.problems).toEqual([]);
    expect(full.resources.map((r) => `${r.kind} ${r.namespace}/${r.name}`)).toEqual([
      'KafkaSink default/my-kafka-sink',
    ]);
  });

  it('rejects a missing topic and missing servers at the spec', () => {
    expect(errors(['  contentMode: binary'])).toEqual([
      's.yaml:4:1: error: #0 KafkaSink default/my-kafka-sink: spec.topic: required field is missing',
      's.yaml:4:1: error: #0 KafkaSink default/my-kafka-sink: spec.bootstrapServers: required field is missing',
    ]);
  });

  it('locates bad values: topic name, servers, partitions, replication, content mode, secret name', () => {
    expect(
      errors([
        '  topic: "my topic"',
        '  bootstrapServers: [kafka, "ok:9092"]',
        '  numPartitions: 0',
        '  replicationFactor: -1',
        '  auth: {secret: {ref: {name: ""}}}',
      ]),
    ).toEqual([
      's.yaml:5:10: error: #0 KafkaSink default/my-kafka-sink: spec.topic: expected a Kafka topic name (at most 249 letters, digits, ".", "_" and "-"), found "my topic"',
      's.yaml:6:22: error: #0 KafkaSink default/my-kafka-sink: spec.bootstrapServers[0]: expected host:port, found "kafka"',
      's.yaml:7:18: error: #0 KafkaSink default/my-kafka-sink: spec.numPartitions: expected a positive integer, found 0',
      's.yaml:8:22: error: #0 KafkaSink default/my-kafka-sink: spec.replicationFactor: expected a positive integer, found -1',
      's.yaml:9:31: error: #0 KafkaSink default/my-kafka-sink: spec.auth.secret.ref.name: must not be empty',
    ]);
    expect(errors(['  topic: t', '  bootstrapServers: []'])).toEqual([
      's.yaml:6:3: error: #0 KafkaSink default/my-kafka-sink: spec.bootstrapServers: expected at least one bootstrap server (host:port), found none',
    ]);
    expect(errors(['  topic: t', '  bootstrapServers: ["k:9092"]', '  contentMode: Binary'])).toEqual([
      's.yaml:7:16: error: #0 KafkaSink default/my-kafka-sink: spec.contentMode: expected one of "binary", "structured", found string "Binary"',
    ]);
  });
});
