import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../resources/defaults.js';
import { KINDS } from '../resources/kinds.js';
import { customResourceDefinitions } from './crd.js';
import { crdKinds } from './crd-names.js';
import { applyStructuralDefaults, type JsonSchemaProps, structuralProblems } from './structural.js';
import { validateObject } from './validate-object.js';

const SINK = { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } };

/** A minimal valid spec of every kind that has a CRD (undefined: the kind needs no spec). */
const MINIMAL_SPEC: Record<string, Record<string, unknown> | undefined> = {
  Broker: undefined,
  Trigger: { broker: 'default', subscriber: { uri: 'http://display.example.com/' } },
  Channel: undefined,
  InMemoryChannel: undefined,
  KafkaChannel: {},
  Subscription: {
    channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'orders' },
    subscriber: { uri: 'http://display.example.com/' },
  },
  EventType: {
    attributes: ['type', 'source', 'specversion', 'id'].map((name) => ({ name, required: true })),
  },
  EventPolicy: {
    to: [{ selector: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', matchLabels: { team: 'a' } } }],
    from: [{ sub: 'system:serviceaccount:default:*' }],
    filters: [{ prefix: { type: 'com.example.' } }],
  },
  Sequence: { steps: [{ uri: 'http://first.example.com/' }] },
  Parallel: { branches: [{ subscriber: { uri: 'http://branch.example.com/' } }] },
  KafkaSink: { topic: 'events', bootstrapServers: ['kafka:9092'] },
  Replay: { broker: 'default', from: '2026-12-01T10:00:00Z', target: { triggers: ['orders'] } },
  PingSource: { sink: SINK },
  ContainerSource: { template: { spec: { containers: [{ image: 'example.com/heartbeats' }] } }, sink: SINK },
  SinkBinding: { subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, sink: SINK },
  ApiServerSource: { resources: [{ apiVersion: 'v1', kind: 'Event' }], sink: SINK },
  KafkaSource: { bootstrapServers: ['kafka:9092'], topics: ['orders'], sink: SINK },
  GitHubSource: {
    ownerAndRepository: 'knative/eventing',
    eventTypes: ['push'],
    accessToken: { secretKeyRef: { name: 'gh', key: 'token' } },
    secretToken: { secretKeyRef: { name: 'gh', key: 'secret' } },
    sink: SINK,
  },
  SqsSource: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders', sink: SINK },
  PubSubSource: { project: 'my-project', subscription: 'orders-sub', sink: SINK },
  Service: { template: { spec: { containers: [{ image: 'example.com/app' }] } } },
  Configuration: { template: { spec: { containers: [{ image: 'example.com/app' }] } } },
  Revision: { containers: [{ image: 'example.com/app' }] },
  Route: { traffic: [{ configurationName: 'app', percent: 100 }] },
};

const crds = customResourceDefinitions();
// biome-ignore lint/suspicious/noExplicitAny: CRDs are plain decoded objects.
const crdOf = (kind: string): any => crds.find((c: any) => c.spec.names.kind === kind);
const schemaOf = (kind: string): JsonSchemaProps => crdOf(kind).spec.versions[0].schema.openAPIV3Schema;

function sample(kind: string): Record<string, unknown> {
  const def = crdKinds().find((k) => k.definition.kind === kind)!;
  const spec = MINIMAL_SPEC[kind];
  return {
    apiVersion: `${def.names.group}/${def.names.version}`,
    kind,
    metadata: { name: 'example', namespace: 'ns1' },
    ...(spec ? { spec: structuredClone(spec) } : {}),
  };
}

describe('customResourceDefinitions', () => {
  it('has one CRD per non-core kind, and a sample here for each', () => {
    const kinds = KINDS.filter((k) => k.group !== '').map((k) => k.kind);
    expect(crds.map((c) => (c as { spec: { names: { kind: string } } }).spec.names.kind).sort()).toEqual(
      [...kinds].sort(),
    );
    expect(Object.keys(MINIMAL_SPEC).sort()).toEqual([...kinds].sort());
  });

  for (const { definition, names } of crdKinds()) {
    it(`${names.crdName}: structural, every version served, storage the newest, status subresource`, () => {
      const crd = crdOf(definition.kind);
      expect(crd.metadata.name).toBe(names.crdName);
      expect(crd.spec.conversion).toEqual({ strategy: 'None' });
      // biome-ignore lint/suspicious/noExplicitAny: see crdOf.
      const versions = crd.spec.versions as any[];
      expect(versions.map((v) => v.name)).toEqual([...definition.versions]);
      expect(versions.filter((v) => v.storage).map((v) => v.name)).toEqual([definition.versions[0]]);
      for (const v of versions) {
        expect(v.served).toBe(true);
        expect(v.subresources.status).toEqual({});
        expect(structuralProblems(v.schema.openAPIV3Schema)).toEqual([]);
        expect(v.schema.openAPIV3Schema.properties.metadata).toEqual({ type: 'object' });
        const columns = v.additionalPrinterColumns.map((c: { name: string }) => c.name);
        expect(columns).toEqual(expect.arrayContaining(['Ready', 'Reason']));
      }
    });

    it(`${names.crdName}: the API server's defaults agree with eddy validate's`, () => {
      const raw = sample(definition.kind);
      expect(validateObject(raw).errors).toEqual([]);
      const byServer = applyStructuralDefaults(schemaOf(definition.kind), structuredClone(raw));
      // Whatever the API server defaults, eddy's defaulting then changes nothing it set, and ends where
      // eddy's defaulting alone ends.
      const eddyAfterServer = structuredClone(byServer) as Record<string, unknown>;
      applyDefaults(eddyAfterServer);
      const eddyAlone = structuredClone(raw);
      applyDefaults(eddyAlone);
      expect(eddyAfterServer).toEqual(eddyAlone);
      expect(contains(eddyAlone, byServer)).toBe(true);
    });
  }

  it('the known-invalid shapes fail the structural schema too (wrong type, unknown field)', () => {
    const schema = schemaOf('Trigger');
    expect(schema.properties!.spec!.properties!.filters!.type).toBe('array');
    expect(schema.properties!.spec!.properties!.filter!.properties).not.toHaveProperty('subscriber');
    expect(schema.required).toEqual(['spec']);
  });

  it("uses Knative's printer columns and short names", () => {
    const columns = (kind: string) =>
      crdOf(kind).spec.versions[0].additionalPrinterColumns.map((c: { name: string }) =>
        c.name.toUpperCase(),
      );
    expect(columns('Broker')).toEqual(['URL', 'AGE', 'READY', 'REASON']);
    expect(columns('Trigger')).toEqual(['BROKER', 'SUBSCRIBER_URI', 'AGE', 'READY', 'REASON']);
    expect(columns('Service')).toEqual(['URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON']);
    expect(columns('PingSource').slice(0, 1)).toEqual(['SINK']);
    expect(crdOf('Service').spec.names.shortNames).toEqual(['ksvc', 'kservice']);
    expect(crdOf('KafkaSource').spec.versions[0].subresources.scale.specReplicasPath).toBe('.spec.consumers');
    expect(crdOf('Service').spec.versions[0].subresources.scale).toBeUndefined();
  });

  it("carries the traffic-sum rule as CEL, with eddy validate's message", () => {
    const traffic = schemaOf('Route').properties!.spec!.properties!.traffic!;
    expect(traffic['x-kubernetes-validations']).toHaveLength(1);
    const route = sample('Route');
    (route.spec as { traffic: unknown }).traffic = [{ configurationName: 'app', percent: 90 }];
    const v = validateObject(route);
    expect(v.errors).toEqual(['Route ns1/example: spec.traffic: traffic percents sum to 90, expected 100']);
    expect(traffic['x-kubernetes-validations']![0]!.messageExpression).toContain(
      "'traffic percents sum to %d, expected 100'.format(",
    );
  });
});

describe('validateObject', () => {
  it("reports eddy validate's message with the field path, without file and line", () => {
    const trigger = sample('Trigger');
    (trigger.spec as Record<string, unknown>).filters = [{ cesql: "type = 'a' AND (" }];
    const v = validateObject(trigger);
    expect(v.valid).toBe(false);
    expect(v.errors).toHaveLength(1);
    expect(v.errors[0]).toMatch(/^Trigger ns1\/example: spec\.filters\[0\]\.cesql: /);
    expect(v.defaulted).toBeUndefined();
  });

  it('fills the namespace from the request and returns the defaulted object', () => {
    const broker = sample('Broker');
    delete (broker.metadata as Record<string, unknown>).namespace;
    const v = validateObject(broker, 'team-a');
    expect(v.errors).toEqual([]);
    expect(v.defaulted).toMatchObject({
      metadata: {
        namespace: 'team-a',
        annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
      },
      spec: { delivery: { retry: 10 } },
    });
  });
});

/** Every value in `part` is in `whole` at the same place. */
function contains(whole: unknown, part: unknown): boolean {
  if (Array.isArray(part))
    return (
      Array.isArray(whole) && part.length === whole.length && part.every((v, i) => contains(whole[i], v))
    );
  if (part && typeof part === 'object') {
    if (!whole || typeof whole !== 'object') return false;
    return Object.entries(part).every(([k, v]) => contains((whole as Record<string, unknown>)[k], v));
  }
  return Object.is(whole, part);
}
