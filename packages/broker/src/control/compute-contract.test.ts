import {
  type ContractInput,
  type DataPlaneContract,
  type DispatchRoute,
  type LoadedResource,
  loadText,
  type ResourceStatus,
  readyCondition,
  resourceKey,
} from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { type ComputeContractOptions, computeContract } from './compute-contract.js';

/** Loads inline YAML with the project's loader; the YAML must be valid. */
function load(...docs: string[]): LoadedResource[] {
  const r = loadText(docs.join('\n---\n'), 'test.yaml');
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.resources;
}

const OPTIONS: ComputeContractOptions = {
  brokerIngressUrl: 'http://127.0.0.1:8080',
  serviceUrl: (ns, name) => `http://${name}.${ns}.svc.local`,
};

function compute(resources: ContractInput[], options: Partial<ComputeContractOptions> = {}) {
  return computeContract(resources, { ...OPTIONS, ...options });
}

const broker = (name: string, extra = '', ns = 'default') =>
  `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${extra}`;
const service = (name: string, ns = 'default') =>
  `apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  template:\n    spec:\n      containers: [{command: [node, server.js]}]\n`;
const trigger = (name: string, spec: string, meta = '') =>
  `apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: ${name}\n${meta}spec:\n${spec}`;
const toService = (svc: string) =>
  `  subscriber:\n    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: ${svc}}\n`;

function route(contract: DataPlaneContract, id: string): DispatchRoute | undefined {
  return contract.routes.find((r) => r.id === id);
}

function statusOf(statuses: Map<string, ResourceStatus>, kind: string, name: string, ns = 'default') {
  const s = statuses.get(resourceKey(kind, ns, name));
  expect(s, `status of ${kind} ${ns}/${name}`).toBeDefined();
  return s!;
}

function ready(statuses: Map<string, ResourceStatus>, kind: string, name: string, ns = 'default') {
  return readyCondition(statusOf(statuses, kind, name, ns));
}

describe('Brokers and Triggers', () => {
  it('a broker and two triggers become a BrokerRoute and two DispatchRoutes', () => {
    const { contract, statuses } = compute(
      load(
        broker('orders', '', 'shop'),
        service('display', 'shop'),
        service('audit', 'shop'),
        trigger(
          'to-display',
          `  broker: orders\n  filter:\n    attributes: {type: order.created}\n${toService('display')}`,
          '  namespace: shop\n',
        ),
        trigger(
          'to-audit',
          `  broker: orders\n  filters:\n    - cesql: "source LIKE 'shop/%'"\n${toService('audit')}`,
          '  namespace: shop\n',
        ),
      ),
    );
    expect(contract.generation).toBe(1);
    expect(contract.brokers).toEqual([
      {
        namespace: 'shop',
        name: 'orders',
        path: '/shop/orders',
        topic: 'knative-broker-shop-orders',
        partitions: 1,
      },
    ]);
    expect(contract.channels).toEqual([]);
    expect(contract.routes.map((r) => r.id)).toEqual(['shop/to-audit', 'shop/to-display']);
    expect(route(contract, 'shop/to-display')).toEqual({
      kind: 'Trigger',
      namespace: 'shop',
      name: 'to-display',
      id: 'shop/to-display',
      topic: 'knative-broker-shop-orders',
      group: 'knative-trigger-shop-to-display',
      filter: { attributes: { type: 'order.created' } },
      subscriber: 'http://display.shop.svc.local',
      subscriberRef: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        namespace: 'shop',
        name: 'display',
      },
      reply: { kind: 'topic', topic: 'knative-broker-shop-orders' },
      // The Broker's delivery, defaulted by the loader from Knative's config-br-defaults.
      delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 200 },
      ordering: 'unordered',
      maxInFlight: 100,
      startFrom: 'latest',
    });
    expect(route(contract, 'shop/to-audit')?.filter).toEqual({
      filters: [{ cesql: "source LIKE 'shop/%'" }],
    });

    const b = statusOf(statuses, 'Broker', 'orders', 'shop');
    expect(b.address).toEqual({ url: 'http://127.0.0.1:8080/shop/orders' });
    expect(b.observedGeneration).toBe(1);
    expect(readyCondition(b)).toEqual({ type: 'Ready', status: 'True' });
    const t = statusOf(statuses, 'Trigger', 'to-display', 'shop');
    expect(t.subscriberUri).toBe('http://display.shop.svc.local');
    expect(t.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'BrokerReady=True',
      'ConfigParsed=True',
      'DeadLetterSinkResolved=True',
      'Ready=True',
      'SubscriberResolved=True',
      'SubscriptionReady=True',
    ]);
    expect(t.conditions.find((c) => c.type === 'DeadLetterSinkResolved')?.reason).toBe(
      'DeadLetterSinkNotConfigured',
    );
  });

  it('an empty filters list does not override filter.attributes, and no filter at all means no filter', () => {
    const { contract } = compute(
      load(
        broker('default'),
        service('svc'),
        trigger(
          'empty',
          `  broker: default\n  filter: {attributes: {source: a}}\n  filters: []\n${toService('svc')}`,
        ),
        trigger('all', `  broker: default\n${toService('svc')}`),
      ),
    );
    expect(route(contract, 'default/empty')?.filter).toEqual({ attributes: { source: 'a' } });
    expect(route(contract, 'default/all')).not.toHaveProperty('filter');
  });

  it('a Trigger without a Broker is BrokerDoesNotExist and gets no route; the rest still works', () => {
    const { contract, statuses } = compute(
      load(
        broker('default'),
        service('svc'),
        trigger('lost', `  broker: nope\n${toService('svc')}`),
        trigger('fine', `  broker: default\n${toService('svc')}`),
      ),
    );
    expect(contract.routes.map((r) => r.id)).toEqual(['default/fine']);
    expect(ready(statuses, 'Trigger', 'lost')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'BrokerDoesNotExist',
      message: 'Broker "nope" does not exist',
    });
    // The subscriber still resolves, so `eddy describe` shows everything that is known.
    expect(statusOf(statuses, 'Trigger', 'lost').subscriberUri).toBe('http://svc.default.svc.local');
  });

  it('an unresolvable subscriber is SubscriberResolveFailed and gets no route', () => {
    const { contract, statuses } = compute(
      load(broker('default'), trigger('t', `  broker: default\n${toService('missing')}`)),
    );
    expect(contract.routes).toEqual([]);
    expect(ready(statuses, 'Trigger', 't')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'SubscriberResolveFailed',
      message:
        'failed to resolve spec.subscriber: Service default/missing (serving.knative.dev/v1): Service "missing" does not exist in namespace "default"',
    });
    expect(statusOf(statuses, 'Trigger', 't').subscriberUri).toBeUndefined();
    // The Broker itself is fine.
    expect(contract.brokers).toHaveLength(1);
  });

  it.each([
    {
      what: 'a Service ref',
      subscriber: '{ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}}',
      url: 'http://svc.default.svc.local',
    },
    {
      what: 'a Service ref with a relative uri (appended, query kept)',
      subscriber:
        '{ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}, uri: "/hooks/in?x=1"}',
      url: 'http://svc.default.svc.local/hooks/in?x=1',
    },
    {
      what: 'a Service ref with a relative uri without a leading slash',
      subscriber: '{ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}, uri: "hooks"}',
      url: 'http://svc.default.svc.local/hooks',
    },
    {
      what: 'a Broker ref (events forwarded to another broker)',
      subscriber: '{ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: other}}',
      url: 'http://127.0.0.1:8080/default/other',
    },
    {
      what: 'a Broker ref with a relative uri (the ingress path prefix is kept)',
      subscriber: '{ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: other}, uri: /extra}',
      url: 'http://127.0.0.1:8080/default/other/extra',
    },
    {
      what: 'an InMemoryChannel ref',
      subscriber: '{ref: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ch}}',
      url: 'http://127.0.0.1:8080/channels/default/ch',
    },
    {
      what: 'an absolute uri, unchanged',
      subscriber: '{uri: "http://example.com:9000/path?q=1"}',
      url: 'http://example.com:9000/path?q=1',
    },
  ])('resolves a subscriber given as $what', ({ subscriber, url }) => {
    const { contract, statuses } = compute(
      load(
        broker('default'),
        broker('other'),
        service('svc'),
        'apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata: {name: ch}\n',
        trigger('t', `  broker: default\n  subscriber: ${subscriber}\n`),
      ),
    );
    expect(route(contract, 'default/t')?.subscriber).toBe(url);
    expect(statusOf(statuses, 'Trigger', 't').subscriberUri).toBe(url);
  });

  it('refs to unknown kinds go to options.resolver, with its failure description', () => {
    const resources = load(
      broker('default'),
      trigger(
        't',
        `  broker: default\n  subscriber: {ref: {apiVersion: v1, kind: Service, name: k8s-svc}}\n`,
      ),
    );
    const none = compute(resources);
    expect(ready(none.statuses, 'Trigger', 't')?.message).toBe(
      'failed to resolve spec.subscriber: Service default/k8s-svc (v1): Service (v1) is not an addressable kind Eddy knows',
    );
    const withResolver = compute(resources, {
      resolver: {
        resolve: (ref, ns) =>
          ref.kind === 'Service' ? `http://${ref.name}.${ref.namespace ?? ns}.svc` : undefined,
      },
    });
    expect(route(withResolver.contract, 'default/t')?.subscriber).toBe('http://k8s-svc.default.svc');
  });
});

describe('delivery', () => {
  it('the Trigger delivery replaces the Broker delivery as a whole, never field by field', () => {
    const { contract } = compute(
      load(
        broker(
          'default',
          'spec:\n  delivery:\n    retry: 5\n    backoffPolicy: linear\n    backoffDelay: PT2S\n    timeout: PT5S\n    deadLetterSink: {uri: "http://dls.example.com"}\n',
        ),
        service('svc'),
        trigger('own', `  broker: default\n${toService('svc')}  delivery:\n    retry: 1\n`),
        trigger('inherits', `  broker: default\n${toService('svc')}`),
      ),
    );
    // Nothing of the Broker's (policy, delay, timeout, DLS) leaks into the Trigger's own delivery.
    expect(route(contract, 'default/own')?.delivery).toEqual({
      retry: 1,
      backoffPolicy: 'exponential',
      backoffDelayMs: 1000,
    });
    expect(route(contract, 'default/inherits')?.delivery).toEqual({
      retry: 5,
      backoffPolicy: 'linear',
      backoffDelayMs: 2000,
      timeoutMs: 5000,
      deadLetterSink: 'http://dls.example.com',
    });
  });

  it.each([
    { field: 'backoffDelay: PT0.5S', expected: { backoffDelayMs: 500 } },
    { field: 'backoffDelay: PT0S', expected: { backoffDelayMs: 0 } },
    { field: 'backoffDelay: PT1M30S', expected: { backoffDelayMs: 90_000 } },
    { field: 'timeout: PT10S', expected: { timeoutMs: 10_000 } },
    { field: 'timeout: P1DT1H', expected: { timeoutMs: 90_000_000 } },
    { field: 'timeout: PT0.001S', expected: { timeoutMs: 1 } },
    { field: 'retryAfterMax: PT2M', expected: { retryAfterMaxMs: 120_000 } },
    { field: 'retryAfterMax: PT0S', expected: { retryAfterMaxMs: 0 } },
    { field: 'backoffPolicy: linear', expected: { backoffPolicy: 'linear', backoffDelayMs: 1000 } },
    { field: 'retry: 0', expected: { retry: 0 } },
  ])('ISO-8601 to milliseconds: $field', ({ field, expected }) => {
    const { contract } = compute(
      load(
        broker('default'),
        service('svc'),
        trigger('t', `  broker: default\n${toService('svc')}  delivery: {${field}}\n`),
      ),
    );
    expect(route(contract, 'default/t')?.delivery).toMatchObject(expected);
  });

  it('options.defaultTimeoutMs and defaultBackoffDelayMs fill what the DeliverySpec leaves out', () => {
    const { contract } = compute(
      load(
        broker('default'),
        service('svc'),
        trigger('t', `  broker: default\n${toService('svc')}  delivery: {retry: 2}\n`),
      ),
      { defaultTimeoutMs: 30_000, defaultBackoffDelayMs: 250 },
    );
    expect(route(contract, 'default/t')?.delivery).toEqual({
      retry: 2,
      backoffPolicy: 'exponential',
      backoffDelayMs: 250,
      timeoutMs: 30_000,
    });
  });

  it('dead-letter sink refs resolve to Services and Brokers; status.deadLetterSinkUri is set', () => {
    const { contract, statuses } = compute(
      load(
        broker(
          'default',
          'spec:\n  delivery:\n    deadLetterSink: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: dlq}}\n',
        ),
        broker('dead'),
        service('svc'),
        service('dlq'),
        trigger('inherits', `  broker: default\n${toService('svc')}`),
        trigger(
          'to-broker',
          `  broker: default\n${toService('svc')}  delivery:\n    retry: 3\n    deadLetterSink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: dead}}\n`,
        ),
      ),
    );
    expect(statusOf(statuses, 'Broker', 'default').deadLetterSinkUri).toBe('http://dlq.default.svc.local');
    expect(route(contract, 'default/inherits')?.delivery.deadLetterSink).toBe('http://dlq.default.svc.local');
    expect(statusOf(statuses, 'Trigger', 'inherits').deadLetterSinkUri).toBe('http://dlq.default.svc.local');
    expect(route(contract, 'default/to-broker')?.delivery).toEqual({
      retry: 3,
      backoffPolicy: 'exponential',
      backoffDelayMs: 1000,
      deadLetterSink: 'http://127.0.0.1:8080/default/dead',
    });
    expect(statusOf(statuses, 'Trigger', 'to-broker').deadLetterSinkUri).toBe(
      'http://127.0.0.1:8080/default/dead',
    );
  });

  it('an unresolvable dead-letter sink: the Trigger is not Ready and gets no route', () => {
    const { contract, statuses } = compute(
      load(
        broker('default'),
        service('svc'),
        trigger(
          't',
          `  broker: default\n${toService('svc')}  delivery:\n    deadLetterSink: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: gone}}\n`,
        ),
      ),
    );
    expect(contract.routes).toEqual([]);
    expect(ready(statuses, 'Trigger', 't')).toMatchObject({
      status: 'False',
      reason: 'DeadLetterSinkResolveFailed',
      message: expect.stringContaining(
        'failed to resolve spec.delivery.deadLetterSink: Service default/gone',
      ),
    });
  });

  it('a Broker whose dead-letter sink cannot be resolved is not Ready; its Triggers say why', () => {
    const { contract, statuses } = compute(
      load(
        broker(
          'default',
          'spec:\n  delivery:\n    deadLetterSink: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: gone}}\n',
        ),
        service('svc'),
        trigger('t', `  broker: default\n${toService('svc')}`),
      ),
    );
    expect(contract.brokers).toEqual([]);
    expect(contract.routes).toEqual([]);
    expect(ready(statuses, 'Broker', 'default')).toMatchObject({
      status: 'False',
      reason: 'DeadLetterSinkResolveFailed',
    });
    expect(statusOf(statuses, 'Broker', 'default').address).toBeUndefined();
    expect(ready(statuses, 'Trigger', 't')).toMatchObject({
      status: 'False',
      reason: 'DeadLetterSinkResolveFailed',
      message: expect.stringContaining('Service "gone" does not exist'),
    });
  });
});

describe('filters that did not go through eddy validate', () => {
  it.each([
    {
      what: 'invalid CESQL',
      filters: [{ cesql: 'type = ' }],
      message: 'spec.filters[0].cesql: invalid CESQL expression "type = "',
    },
    {
      what: 'two dialects in one entry',
      filters: [{ exact: { type: 'a' }, prefix: { source: 'b' } }],
      message: 'spec.filters[0]: multiple dialects found (exact, prefix)',
    },
  ])('$what: the Trigger is not Ready (InvalidFilter), the others still route', ({ filters, message }) => {
    const resources = load(
      broker('default'),
      trigger('bad', '  broker: default\n  subscriber: {uri: "http://a.example.com"}\n'),
      trigger('good', '  broker: default\n  subscriber: {uri: "http://a.example.com"}\n'),
    ).map((r) => {
      if (r.name !== 'bad') return r;
      const copy = structuredClone(r.resource) as { spec: Record<string, unknown> };
      copy.spec.filters = filters;
      return { ...r, resource: copy };
    });
    const { contract, statuses } = compute(resources);
    expect(contract.routes.map((r) => r.id)).toEqual(['default/good']);
    expect(ready(statuses, 'Trigger', 'bad')).toMatchObject({
      status: 'False',
      reason: 'InvalidFilter',
      message: expect.stringContaining(message),
    });
  });
});

describe('annotations', () => {
  it('ordering, start-from, max-in-flight on Triggers; partitions and retention on Brokers', () => {
    const { contract } = compute(
      load(
        broker('default', '  annotations:\n    eddy.dev/partitions: "6"\n    eddy.dev/retention: P3D\n'),
        service('svc'),
        trigger(
          'ordered',
          `  broker: default\n${toService('svc')}`,
          '  annotations:\n    kafka.eventing.knative.dev/delivery.order: ordered\n    eddy.dev/start-from: earliest\n',
        ),
        trigger(
          'tuned',
          `  broker: default\n${toService('svc')}`,
          '  annotations:\n    eddy.dev/max-in-flight: "8"\n    eddy.dev/start-from: "2024-05-01T10:00:00.5+02:00"\n',
        ),
      ),
      { defaultMaxInFlight: 32 },
    );
    expect(contract.brokers[0]).toMatchObject({ partitions: 6, retentionMs: 3 * 86_400_000 });
    expect(route(contract, 'default/ordered')).toMatchObject({
      ordering: 'ordered',
      startFrom: 'earliest',
      maxInFlight: 32,
    });
    expect(route(contract, 'default/tuned')).toMatchObject({
      ordering: 'unordered',
      maxInFlight: 8,
      startFrom: { timestamp: Date.UTC(2024, 4, 1, 8, 0, 0, 500) },
    });
  });

  it('partitions and retention from the Broker ConfigMap (spec.config), annotations win', () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'knative-eventing',
      name: 'kafka-broker-config',
      resource: {
        data: { 'default.topic.partitions': '10', 'default.topic.config.retention.ms': '3600000' },
      },
    };
    const config =
      'spec:\n  config: {apiVersion: v1, kind: ConfigMap, name: kafka-broker-config, namespace: knative-eventing}\n';
    const resources = [
      ...load(
        broker('from-cm', `  annotations: {eventing.knative.dev/broker.class: Kafka}\n${config}`),
        broker('annotated', `  annotations: {eddy.dev/partitions: "2"}\n${config}`),
        broker('no-cm', 'spec:\n  config: {apiVersion: v1, kind: ConfigMap, name: absent}\n'),
      ),
      cm,
    ];
    const { contract } = compute(resources, { defaultPartitions: 3 });
    expect(contract.brokers).toEqual([
      {
        namespace: 'default',
        name: 'annotated',
        path: '/default/annotated',
        topic: 'knative-broker-default-annotated',
        partitions: 2,
        retentionMs: 3_600_000,
      },
      {
        namespace: 'default',
        name: 'from-cm',
        path: '/default/from-cm',
        topic: 'knative-broker-default-from-cm',
        partitions: 10,
        retentionMs: 3_600_000,
      },
      // A ConfigMap Eddy was not given leaves the defaults.
      {
        namespace: 'default',
        name: 'no-cm',
        path: '/default/no-cm',
        topic: 'knative-broker-default-no-cm',
        partitions: 3,
      },
    ]);
    const bad = compute([
      ...load(broker('b', config)),
      { ...cm, resource: { data: { 'default.topic.partitions': 'ten' } } },
    ]);
    expect(bad.contract.brokers).toEqual([]);
    expect(ready(bad.statuses, 'Broker', 'b')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'InvalidConfig',
      message:
        'ConfigMap knative-eventing/kafka-broker-config: data["default.topic.partitions"]: expected an integer from 1 to 10000, found "ten"',
    });
  });

  it('a loaded ConfigMap: replication factor and every other default.topic.config.* reach the BrokerRoute', () => {
    const configMap = (data: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broker-config}\ndata:\n${data}`;
    const config = 'spec:\n  config: {apiVersion: v1, kind: ConfigMap, name: broker-config}\n';
    const { contract } = compute(
      load(
        broker('b', `  annotations: {eddy.dev/retention: PT2H}\n${config}`),
        configMap(
          [
            '  default.topic.partitions: "4"',
            '  default.topic.replication.factor: "3"',
            '  default.topic.config.retention.ms: "60000"',
            '  default.topic.config.max.message.bytes: "2097152"',
            '  default.topic.config.min.insync.replicas: "2"',
            '  default.topic.config.cleanup.policy: delete',
            '  bootstrap.servers: kafka:9092',
          ].join('\n'),
        ),
      ),
    );
    expect(contract.brokers[0]).toEqual({
      namespace: 'default',
      name: 'b',
      path: '/default/b',
      topic: 'knative-broker-default-b',
      partitions: 4,
      // The eddy.dev/retention annotation wins over the ConfigMap.
      retentionMs: 7_200_000,
      replicationFactor: 3,
      config: { 'max.message.bytes': '2097152', 'min.insync.replicas': '2' },
    });

    const invalid = (data: string) =>
      ready(compute(load(broker('b', config), configMap(data))).statuses, 'Broker', 'b');
    expect(invalid('  default.topic.replication.factor: "0"')).toMatchObject({
      status: 'False',
      reason: 'InvalidConfig',
      message:
        'ConfigMap default/broker-config: data["default.topic.replication.factor"]: expected an integer from 1 to 32767, found "0"',
    });
    expect(invalid('  default.topic.config.cleanup.policy: compact')).toMatchObject({
      reason: 'InvalidConfig',
      message:
        'ConfigMap default/broker-config: data["default.topic.config.cleanup.policy"]: Eddy\'s event log needs cleanup.policy=delete, found "compact"',
    });
    expect(invalid('  default.topic.config.Bad_Name: "1"')).toMatchObject({
      reason: 'InvalidConfig',
      message: expect.stringContaining('"Bad_Name" is not a Kafka topic config name'),
    });
  });

  // Resources that did not go through `eddy validate` (e.g. from the Kubernetes API) can carry bad values.
  function withAnnotation(resources: LoadedResource[], name: string, key: string, value: string) {
    return resources.map((r) => {
      if (r.name !== name) return r;
      const copy = structuredClone(r.resource) as { metadata: { annotations?: Record<string, string> } };
      copy.metadata.annotations = { ...copy.metadata.annotations, [key]: value };
      return { ...r, resource: copy };
    });
  }

  it.each([
    ['Trigger', 't', 'eddy.dev/max-in-flight', '0', 'expected an integer from 1 to 100000, found "0"'],
    ['Trigger', 't', 'eddy.dev/max-in-flight', '1.5', 'expected an integer from 1 to 100000, found "1.5"'],
    [
      'Trigger',
      't',
      'eddy.dev/start-from',
      'yesterday',
      'expected "earliest", "latest" or an RFC 3339 timestamp',
    ],
    ['Trigger', 't', 'eddy.dev/start-from', '2024-02-30T00:00:00Z', 'RFC 3339 timestamp'],
    ['Trigger', 't', 'eddy.dev/start-from', '2024-05-01T10:00:00', 'RFC 3339 timestamp'],
    [
      'Trigger',
      't',
      'kafka.eventing.knative.dev/delivery.order',
      'Ordered',
      'expected "ordered" or "unordered", found "Ordered"',
    ],
    ['Broker', 'default', 'eddy.dev/partitions', '-1', 'expected an integer from 1 to 10000, found "-1"'],
    ['Broker', 'default', 'eddy.dev/retention', '7d', 'expected a positive ISO-8601 duration'],
    ['Broker', 'default', 'eddy.dev/retention', 'PT0S', 'expected a positive ISO-8601 duration'],
  ])('%s with %s=%s is not Ready and has no route', (kind, name, key, value, message) => {
    const resources = withAnnotation(
      load(broker('default'), service('svc'), trigger('t', `  broker: default\n${toService('svc')}`)),
      name,
      key,
      value,
    );
    const { contract, statuses } = compute(resources);
    expect(contract.routes).toEqual([]);
    if (kind === 'Broker') expect(contract.brokers).toEqual([]);
    const r = ready(statuses, kind, name);
    expect(r).toMatchObject({
      status: 'False',
      reason: kind === 'Broker' ? 'InvalidAnnotation' : 'InvalidAnnotation',
    });
    expect(r?.message).toContain(`metadata.annotations["${key}"]: `);
    expect(r?.message).toContain(message);
  });
});

const channel = (kind: 'InMemoryChannel' | 'KafkaChannel' | 'Channel', name: string, spec = '') =>
  `apiVersion: messaging.knative.dev/${kind === 'KafkaChannel' ? 'v1beta1' : 'v1'}\nkind: ${kind}\nmetadata: {name: ${name}}\n${spec}`;
const subscription = (name: string, spec: string, meta = '') =>
  `apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n  name: ${name}\n${meta}spec:\n${spec}`;

describe('channels and subscriptions', () => {
  it('channels of every kind become ChannelRoutes; subscriptions become routes with reply', () => {
    const { contract, statuses } = compute(
      load(
        channel('InMemoryChannel', 'imc', 'spec:\n  delivery: {retry: 4, backoffDelay: PT0.1S}\n'),
        channel('KafkaChannel', 'kc', 'spec: {numPartitions: 3, retentionDuration: P1D}\n'),
        channel(
          'Channel',
          'generic',
          'spec:\n  channelTemplate:\n    apiVersion: messaging.knative.dev/v1beta1\n    kind: KafkaChannel\n    spec: {numPartitions: 2}\n',
        ),
        service('svc'),
        service('replies'),
        subscription(
          'imc-sub',
          '  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: imc}\n  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}}\n  reply: {ref: {apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel, name: kc}}\n',
        ),
        subscription(
          'kc-sub',
          '  channel: {apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel, name: kc}\n  subscriber: {uri: "http://sink.example.com/in"}\n  delivery: {retry: 1}\n',
        ),
        subscription(
          'generic-sub',
          '  channel: {apiVersion: messaging.knative.dev/v1, kind: Channel, name: generic}\n  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}}\n  reply: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: replies}, uri: /back}\n',
          '  annotations: {kafka.eventing.knative.dev/delivery.order: unordered, eddy.dev/start-from: earliest}\n',
        ),
      ),
    );
    expect(contract.channels).toEqual([
      {
        namespace: 'default',
        name: 'generic',
        kind: 'Channel',
        path: '/default/generic',
        topic: 'knative-messaging-kafka.default.generic',
        partitions: 2,
        retentionMs: 168 * 3_600_000,
      },
      {
        namespace: 'default',
        name: 'imc',
        kind: 'InMemoryChannel',
        path: '/default/imc',
        topic: 'knative-messaging-kafka.default.imc',
        partitions: 1,
      },
      {
        namespace: 'default',
        name: 'kc',
        kind: 'KafkaChannel',
        path: '/default/kc',
        topic: 'knative-messaging-kafka.default.kc',
        partitions: 3,
        retentionMs: 86_400_000,
      },
    ]);
    expect(statusOf(statuses, 'KafkaChannel', 'kc').address).toEqual({
      url: 'http://127.0.0.1:8080/channels/default/kc',
    });

    expect(contract.routes.map((r) => r.id)).toEqual([
      'subscriptions/default/generic-sub',
      'subscriptions/default/imc-sub',
      'subscriptions/default/kc-sub',
    ]);
    expect(route(contract, 'subscriptions/default/imc-sub')).toEqual({
      kind: 'Subscription',
      namespace: 'default',
      name: 'imc-sub',
      id: 'subscriptions/default/imc-sub',
      topic: 'knative-messaging-kafka.default.imc',
      group: 'knative-subscription-default-imc-sub',
      subscriber: 'http://svc.default.svc.local',
      subscriberRef: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        namespace: 'default',
        name: 'svc',
      },
      reply: { kind: 'url', url: 'http://127.0.0.1:8080/channels/default/kc' },
      // The channel's delivery, since the Subscription has none.
      delivery: { retry: 4, backoffPolicy: 'exponential', backoffDelayMs: 100 },
      ordering: 'unordered',
      maxInFlight: 100,
      startFrom: 'latest',
    });
    expect(route(contract, 'subscriptions/default/kc-sub')).toMatchObject({
      reply: { kind: 'drop' },
      delivery: { retry: 1, backoffPolicy: 'exponential', backoffDelayMs: 1000 },
      // The Kafka channel delivers in order by default.
      ordering: 'ordered',
    });
    expect(route(contract, 'subscriptions/default/kc-sub')).not.toHaveProperty('subscriberRef');
    expect(route(contract, 'subscriptions/default/generic-sub')).toMatchObject({
      topic: 'knative-messaging-kafka.default.generic',
      reply: { kind: 'url', url: 'http://replies.default.svc.local/back' },
      // No delivery anywhere: Knative's channels do not retry.
      delivery: { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 1000 },
      ordering: 'unordered',
      startFrom: 'earliest',
    });
    expect(statusOf(statuses, 'Subscription', 'generic-sub').physicalSubscription).toEqual({
      subscriberUri: 'http://svc.default.svc.local',
      replyUri: 'http://replies.default.svc.local/back',
    });
    expect(ready(statuses, 'Subscription', 'generic-sub')?.status).toBe('True');
  });

  it('a missing channel, an unresolvable subscriber or reply: not Ready with Knative reasons, no route', () => {
    const { contract, statuses } = compute(
      load(
        channel('InMemoryChannel', 'imc'),
        service('svc'),
        subscription(
          'no-channel',
          '  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: nope}\n  subscriber: {uri: "http://x.example.com"}\n',
        ),
        subscription(
          'no-subscriber',
          '  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: imc}\n  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: gone}}\n',
        ),
        subscription(
          'no-reply',
          '  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: imc}\n  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}}\n  reply: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: absent}}\n',
        ),
        subscription(
          'ok',
          '  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: imc}\n  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}}\n',
        ),
      ),
    );
    expect(contract.routes.map((r) => r.id)).toEqual(['subscriptions/default/ok']);
    expect(ready(statuses, 'Subscription', 'no-channel')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ChannelReferenceFailed',
      message: 'failed to get spec.channel: InMemoryChannel "nope" does not exist in namespace "default"',
    });
    expect(ready(statuses, 'Subscription', 'no-subscriber')).toMatchObject({
      status: 'False',
      reason: 'SubscriberResolveFailed',
      message: expect.stringContaining('failed to resolve spec.subscriber: Service default/gone'),
    });
    expect(ready(statuses, 'Subscription', 'no-reply')).toMatchObject({
      status: 'False',
      reason: 'ReplyResolveFailed',
      message: expect.stringContaining('Broker "absent" does not exist'),
    });
  });

  it("a Subscription may name a Channel's backing kind (Knative creates it with the Channel's name)", () => {
    const { contract } = compute(
      load(
        channel('Channel', 'ch'),
        subscription(
          's',
          '  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ch}\n  subscriber: {uri: "http://x.example.com"}\n',
        ),
      ),
    );
    expect(route(contract, 'subscriptions/default/s')?.topic).toBe('knative-messaging-kafka.default.ch');
  });

  it('a Channel with an unsupported template is not Ready; a Channel cannot share the name of another channel', () => {
    const { contract, statuses } = compute(
      load(
        channel(
          'Channel',
          'natss',
          'spec:\n  channelTemplate: {apiVersion: messaging.knative.dev/v1alpha1, kind: NatssChannel}\n',
        ),
        channel('InMemoryChannel', 'twin'),
        channel('Channel', 'twin'),
      ),
    );
    expect(contract.channels.map((c) => `${c.kind} ${c.name}`)).toEqual(['InMemoryChannel twin']);
    expect(ready(statuses, 'Channel', 'natss')).toMatchObject({
      status: 'False',
      reason: 'UnsupportedChannelTemplate',
    });
    expect(ready(statuses, 'Channel', 'twin')).toMatchObject({
      status: 'False',
      reason: 'ChannelNameConflict',
      message: 'InMemoryChannel default/twin already has this name; a Channel cannot share it',
    });
  });
});

describe('name clashes', () => {
  it('two Brokers whose topic names collide: the first keeps it, unless the other already had it', () => {
    const resources = load(broker('a-b', '', 'x'), broker('b', '', 'x-a'));
    const first = compute(resources);
    expect(first.contract.brokers.map((b) => `${b.namespace}/${b.name}`)).toEqual(['x/a-b']);
    expect(ready(first.statuses, 'Broker', 'b', 'x-a')).toMatchObject({ reason: 'TopicNameConflict' });
    // The incumbent keeps its topic even when a newcomer sorts first.
    const incumbent = compute(resources, {
      previous: {
        generation: 4,
        brokers: [
          { namespace: 'x-a', name: 'b', path: '/x-a/b', topic: 'knative-broker-x-a-b', partitions: 1 },
        ],
        channels: [],
        routes: [],
      },
    });
    expect(incumbent.contract.brokers.map((b) => `${b.namespace}/${b.name}`)).toEqual(['x-a/b']);
    expect(ready(incumbent.statuses, 'Broker', 'a-b', 'x')).toMatchObject({ reason: 'TopicNameConflict' });
  });

  it('two Triggers whose consumer groups collide: one routes, the other says why', () => {
    const resources = load(
      broker('default', '', 'x'),
      broker('default', '', 'x-a'),
      trigger('a-b', '  broker: default\n  subscriber: {uri: "http://a.example.com"}\n', '  namespace: x\n'),
      trigger('b', '  broker: default\n  subscriber: {uri: "http://a.example.com"}\n', '  namespace: x-a\n'),
    );
    const { contract, statuses } = compute(resources);
    expect(contract.routes.map((r) => `${r.id} ${r.group}`)).toEqual(['x/a-b knative-trigger-x-a-b']);
    expect(ready(statuses, 'Trigger', 'b', 'x-a')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ConsumerGroupConflict',
      message: 'consumer group "knative-trigger-x-a-b" is already used by Trigger x/a-b; rename one of them',
    });
    const previous = {
      ...contract,
      routes: [{ ...contract.routes[0]!, namespace: 'x-a', name: 'b', id: 'x-a/b' }],
    };
    const incumbent = compute(resources, { previous });
    expect(incumbent.contract.routes.map((r) => r.id)).toEqual(['x-a/b']);
    expect(ready(incumbent.statuses, 'Trigger', 'a-b', 'x')).toMatchObject({
      reason: 'ConsumerGroupConflict',
    });
  });

  it('a Trigger and a Subscription with the same name get different route ids', () => {
    const { contract } = compute(
      load(
        broker('default'),
        channel('InMemoryChannel', 'ch'),
        trigger('same', '  broker: default\n  subscriber: {uri: "http://a.example.com"}\n'),
        subscription(
          'same',
          '  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ch}\n  subscriber: {uri: "http://a.example.com"}\n',
        ),
      ),
    );
    expect(contract.routes.map((r) => [r.id, r.group])).toEqual([
      ['default/same', 'knative-trigger-default-same'],
      ['subscriptions/default/same', 'knative-subscription-default-same'],
    ]);
  });
});

describe('generation', () => {
  const docs = [
    broker('default'),
    service('svc'),
    trigger('t1', `  broker: default\n${toService('svc')}`),
    trigger('t2', `  broker: default\n  subscriber: {uri: "http://x.example.com"}\n`),
    channel('InMemoryChannel', 'ch'),
  ];

  it('stays when nothing changed (whatever the input order), moves by one when something did', () => {
    const first = compute(load(...docs), {
      previous: { generation: 7, brokers: [], channels: [], routes: [] },
    });
    expect(first.contract.generation).toBe(8);
    const again = compute(load(...[...docs].reverse()), { previous: first.contract });
    expect(again.contract).toEqual(first.contract);
    // A contract that went through JSON (as it would on disk or over HTTP) compares the same.
    const viaJson = compute(load(...docs), { previous: JSON.parse(JSON.stringify(first.contract)) });
    expect(viaJson.contract.generation).toBe(8);

    const changed = load(
      ...docs.slice(0, 3),
      trigger('t2', `  broker: default\n  subscriber: {uri: "http://y.example.com"}\n`),
    );
    const next = compute(changed, { previous: first.contract });
    expect(next.contract.generation).toBe(9);
    expect(route(next.contract, 'default/t2')?.subscriber).toBe('http://y.example.com');
    expect(next.contract.channels).toEqual([]);
    // A status-only change (a trigger going un-Ready removes its route) is a change too.
    const broken = compute(load(...docs.filter((d) => !d.includes('kind: Service'))), {
      previous: first.contract,
    });
    expect(broken.contract.generation).toBe(9);
    expect(broken.contract.routes.map((r) => r.id)).toEqual(['default/t2']);
  });

  it('observedGeneration follows metadata.generation', () => {
    const { statuses } = compute(load(broker('default', '  generation: 3\n')));
    expect(statusOf(statuses, 'Broker', 'default').observedGeneration).toBe(3);
  });
});

describe('options', () => {
  it('rejects unusable options with a clear error', () => {
    expect(() => computeContract([], { brokerIngressUrl: 'localhost:8080' })).toThrow(
      'computeContract: options.brokerIngressUrl must be an absolute URL, got "localhost:8080"',
    );
    expect(() => computeContract([], { ...OPTIONS, defaultMaxInFlight: 0 })).toThrow(
      'options.defaultMaxInFlight must be an integer >= 1, got 0',
    );
  });

  it('uses channelIngressUrl when given; without serviceUrl, Service refs do not resolve', () => {
    const { statuses } = computeContract(
      load(
        channel('InMemoryChannel', 'ch'),
        broker('default'),
        service('svc'),
        trigger('t', `  broker: default\n${toService('svc')}`),
      ),
      { brokerIngressUrl: 'http://127.0.0.1:8080/', channelIngressUrl: 'http://127.0.0.1:8081' },
    );
    expect(statusOf(statuses, 'InMemoryChannel', 'ch').address?.url).toBe('http://127.0.0.1:8081/default/ch');
    expect(statusOf(statuses, 'Broker', 'default').address?.url).toBe(
      'http://127.0.0.1:8080/default/default',
    );
    expect(ready(statuses, 'Trigger', 't')?.message).toContain(
      'Services are not served by this control plane',
    );
  });
});

describe('TLS: CACerts on addresses and routes', () => {
  const CA = '-----BEGIN CERTIFICATE-----\nMIIBeddyCA\n-----END CERTIFICATE-----\n';
  const SUB_CA = '-----BEGIN CERTIFICATE-----\nMIIBsubscriberCA\n-----END CERTIFICATE-----\n';
  const tls = {
    brokerIngressUrl: 'https://127.0.0.1:8443',
    serviceUrl: (ns: string, name: string) => `https://127.0.0.1:8444/${ns}/${name}`,
    ingressTls: { caCerts: CA },
  };

  it("refs to Eddy's https Broker and Service carry its CA; a uri carries its own CACerts; http carries none", () => {
    const { contract, statuses } = compute(
      load(
        broker('default'),
        broker('other', '  annotations: {}\n'),
        service('display'),
        trigger('to-display', `  broker: default\n${toService('display')}`),
        trigger(
          'to-broker',
          `  broker: default\n  subscriber:\n    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: other}\n  delivery:\n    deadLetterSink: {uri: "https://dls.example/x", CACerts: ${JSON.stringify(SUB_CA)}}\n`,
        ),
        trigger(
          'to-uri',
          `  broker: default\n  subscriber: {uri: "https://sub.example/", CACerts: ${JSON.stringify(SUB_CA)}}\n`,
        ),
        trigger(
          'to-http',
          `  broker: default\n  subscriber: {uri: "http://sub.example/", CACerts: ${JSON.stringify(SUB_CA)}}\n`,
        ),
      ),
      tls,
    );
    expect(route(contract, 'default/to-display')?.subscriberCACerts).toBe(CA);
    expect(route(contract, 'default/to-broker')).toMatchObject({
      subscriber: 'https://127.0.0.1:8443/default/other',
      subscriberCACerts: CA,
      delivery: { deadLetterSink: 'https://dls.example/x', deadLetterSinkCACerts: SUB_CA },
    });
    expect(route(contract, 'default/to-uri')?.subscriberCACerts).toBe(SUB_CA);
    expect(route(contract, 'default/to-http')).not.toHaveProperty('subscriberCACerts');
    const address = { name: 'https', url: 'https://127.0.0.1:8443/default/default', CACerts: CA };
    expect(statusOf(statuses, 'Broker', 'default')).toMatchObject({ address, addresses: [address] });
  });

  it('permissive: status.address is the http one, status.addresses https then http', () => {
    const { statuses } = compute(load(broker('default')), {
      ...tls,
      ingressTls: { caCerts: CA, httpOrigin: 'http://127.0.0.1:8080' },
    });
    const https = { name: 'https', url: 'https://127.0.0.1:8443/default/default', CACerts: CA };
    const http = { name: 'http', url: 'http://127.0.0.1:8080/default/default' };
    expect(statusOf(statuses, 'Broker', 'default')).toMatchObject({
      address: http,
      addresses: [https, http],
    });
  });

  it('without TLS the address is the plain URL only', () => {
    const { statuses } = compute(load(broker('default')));
    const status = statusOf(statuses, 'Broker', 'default');
    expect(status.address).toEqual({ url: 'http://127.0.0.1:8080/default/default' });
    expect(status).not.toHaveProperty('addresses');
  });
});
