import { describe, expect, it } from 'vitest';
import { KINDS } from './kinds.js';
import { loadText } from './load.js';
import { formatProblem } from './problem.js';

const SINK = 'sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}';

/** A minimal valid manifest of every kind Eddy supports (spec lines, indented under `spec:`). */
const MINIMAL: Record<string, string[]> = {
  Broker: [],
  Trigger: ['broker: default', 'subscriber: {uri: "http://display.example.com/"}'],
  EventType: [
    'reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}',
    'attributes: [{name: type, required: true, value: dev.example.order}, {name: source, required: true}, {name: specversion, required: true}, {name: id, required: true}]',
  ],
  Channel: [],
  InMemoryChannel: [],
  KafkaChannel: ['numPartitions: 3'],
  Subscription: [
    'channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: orders}',
    'subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: display}}',
    'reply: {uri: "http://reply.example.com/"}',
  ],
  Sequence: ['steps: [{uri: "http://first.example.com/"}]'],
  Parallel: ['branches: [{subscriber: {uri: "http://branch.example.com/"}}]'],
  KafkaSink: ['topic: events', 'bootstrapServers: ["kafka:9092"]'],
  Replay: ['broker: default', 'from: "2026-12-01T10:00:00Z"', 'target: {triggers: [orders]}'],
  PingSource: ['schedule: "0 9 * * 1-5"', SINK],
  ContainerSource: ['template: {spec: {containers: [{image: "example.com/heartbeats"}]}}', SINK],
  SinkBinding: ['subject: {apiVersion: apps/v1, kind: Deployment, name: app}', SINK],
  ApiServerSource: ['resources: [{apiVersion: v1, kind: Event}]', SINK],
  KafkaSource: ['bootstrapServers: ["kafka:9092"]', 'topics: [orders]', SINK],
  GitHubSource: [
    'ownerAndRepository: knative/eventing',
    'eventTypes: [push]',
    'accessToken: {secretKeyRef: {name: gh, key: token}}',
    'secretToken: {secretKeyRef: {name: gh, key: secret}}',
    SINK,
  ],
  SqsSource: ['queueUrl: "http://127.0.0.1:9324/000000000000/orders"', 'region: elasticmq', SINK],
  PubSubSource: ['project: my-project', 'subscription: orders-sub', 'topic: orders', SINK],
  Service: ['template: {spec: {containers: [{command: [node, server.js]}]}}'],
  Configuration: ['template: {spec: {containers: [{image: "example.com/app"}]}}'],
  Revision: ['containers: [{image: "example.com/app"}]'],
  Route: ['traffic: [{configurationName: app, percent: 100}]'],
  EventPolicy: ['from: [{sub: "system:serviceaccount:default:app"}]'],
};

/** Core kinds have top-level fields instead of a spec. */
const CORE: Record<string, string[]> = {
  Secret: ['stringData: {token: hunter2}'],
  ConfigMap: ['data: {default.topic.partitions: "3"}'],
};

describe('every supported kind', () => {
  it('has a minimal example here', () => {
    expect([...Object.keys(MINIMAL), ...Object.keys(CORE)].sort()).toEqual(KINDS.map((k) => k.kind).sort());
  });

  for (const def of KINDS) {
    for (const version of def.versions) {
      const apiVersion = def.group ? `${def.group}/${version}` : version;
      it(`${apiVersion} ${def.kind}: a minimal manifest is valid`, () => {
        const spec = MINIMAL[def.kind];
        const yaml = [
          `apiVersion: ${apiVersion}`,
          `kind: ${def.kind}`,
          'metadata:',
          '  name: example',
          ...(spec && spec.length > 0 ? ['spec:', ...spec.map((l) => `  ${l}`)] : []),
          ...(CORE[def.kind] ?? []),
          '',
        ].join('\n');
        const result = loadText(yaml, 'example.yaml');
        expect(result.problems.map(formatProblem)).toEqual([]);
        expect(result.resources.map((r) => `${r.kind} ${r.namespace}/${r.name}`)).toEqual([
          `${def.kind} default/example`,
        ]);
      });
    }
  }

  it('an unsupported version of a known kind names the versions that are served', () => {
    const r = loadText(
      'apiVersion: eventing.knative.dev/v1beta1\nkind: Trigger\nmetadata: {name: t}\n',
      'x.yaml',
    );
    expect(r.problems.map(formatProblem)).toEqual([
      'x.yaml:1:13: error: #0 Trigger t: apiVersion: Trigger is not served at "eventing.knative.dev/v1beta1"; expected eventing.knative.dev/v1',
    ]);
  });
});
