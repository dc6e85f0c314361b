import {
  type ContractInput,
  type DataValues,
  type LoadedResource,
  loadText,
  type ResourceStatus,
  readyCondition,
  resourceKey,
  type ValueLookupOptions,
} from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { type ComputeContractOptions, computeContract } from './compute-contract.js';

function load(...docs: string[]): LoadedResource[] {
  const r = loadText(docs.join('\n---\n'), 'test.yaml');
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.resources;
}

const sink = (name: string, extra = '') =>
  `apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata: {name: ${name}, namespace: shop}\nspec:\n  topic: orders\n  bootstrapServers: ["k1:9092,k2:9092"]\n${extra}`;

/** Secrets held in memory, as the dev store hands them to the lookups. */
function secrets(data: Record<string, Record<string, string>>): ValueLookupOptions {
  return {
    env: {},
    store: {
      secret: (ns, name) => {
        const d = data[`${ns}/${name}`];
        return d
          ? (new Map(Object.entries(d).map(([k, v]) => [k, Buffer.from(v)])) as unknown as DataValues)
          : undefined;
      },
      configMap: () => undefined,
    },
  };
}

function compute(resources: ContractInput[], options: Partial<ComputeContractOptions> = {}) {
  return computeContract(resources, { brokerIngressUrl: 'http://127.0.0.1:8080', ...options });
}

const statusOf = (statuses: Map<string, ResourceStatus>, name: string) =>
  statuses.get(resourceKey('KafkaSink', 'shop', name))!;

const condition = (status: ResourceStatus, type: string) => status.conditions.find((c) => c.type === type);

describe('KafkaSinks', () => {
  it('become a contract route with Knative defaults and an address under /kafkasinks', () => {
    const { contract, statuses } = compute(load(sink('plain')), {
      kafkaSinkTopics: () => ({ ready: true }),
    });
    expect(contract.kafkaSinks).toEqual([
      {
        namespace: 'shop',
        name: 'plain',
        path: '/shop/plain',
        topic: 'orders',
        bootstrapServers: ['k1:9092', 'k2:9092'],
        contentMode: 'binary',
        security: {},
      },
    ]);
    const status = statusOf(statuses, 'plain');
    expect(status.address).toEqual({ url: 'http://127.0.0.1:8080/kafkasinks/shop/plain' });
    expect(status.conditions.map((c) => [c.type, c.status])).toEqual([
      ['Addressable', 'True'],
      ['ConfigMapUpdated', 'True'],
      ['EventPoliciesReady', 'True'],
      ['Ready', 'True'],
      ['TopicReady', 'True'],
    ]);
  });

  it('are not Ready while the topic is unchecked or its cluster unreachable, and say why', () => {
    const resources = load(
      sink('s', '  numPartitions: 3\n  replicationFactor: 2\n  contentMode: structured\n'),
    );
    const unchecked = compute(resources);
    expect(condition(statusOf(unchecked.statuses, 's'), 'TopicReady')).toMatchObject({
      status: 'Unknown',
      reason: 'TopicNotChecked',
    });
    const message = 'cannot create topic "orders" on k1:9092,k2:9092: connect ECONNREFUSED 127.0.0.1:1';
    const down = compute(resources, {
      kafkaSinkTopics: () => ({ ready: false, reason: 'FailedToCreateTopic', message }),
    });
    expect(readyCondition(statusOf(down.statuses, 's'))).toMatchObject({
      status: 'False',
      reason: 'FailedToCreateTopic',
      message,
    });
    // Still routed: the ingress answers 503 with the reason instead of 404.
    expect(down.contract.kafkaSinks?.[0]).toMatchObject({
      createTopic: { partitions: 3, replicationFactor: 2 },
      contentMode: 'structured',
    });
    // Knative creates the topic only when both are set; else it must exist.
    const one = compute(load(sink('s', '  numPartitions: 3\n')));
    expect(one.contract.kafkaSinks?.[0]?.createTopic).toBeUndefined();
  });

  it("resolve Knative's auth Secret: SASL over TLS with a CA, and say what is missing", () => {
    const auth = '  auth: {secret: {ref: {name: kafka-auth}}}\n';
    const values = secrets({
      'shop/kafka-auth': {
        protocol: 'SASL_SSL',
        'sasl.mechanism': 'SCRAM-SHA-512',
        user: 'eddy',
        password: 'secret-pw',
        'ca.crt': '-----BEGIN CERTIFICATE-----\n...',
      },
    });
    const ok = compute(load(sink('secure', auth)), { values });
    expect(ok.contract.kafkaSinks?.[0]?.security).toEqual({
      tls: { ca: '-----BEGIN CERTIFICATE-----\n...' },
      sasl: { mechanism: 'scram-sha-512', username: 'eddy', password: 'secret-pw' },
    });

    const missing = compute(load(sink('secure', auth)), { values: secrets({}) });
    expect(missing.contract.kafkaSinks).toBeUndefined();
    const status = statusOf(missing.statuses, 'secure');
    expect(status.address).toBeUndefined();
    expect(readyCondition(status)).toMatchObject({ status: 'False', reason: 'AuthSecretInvalid' });
    expect(readyCondition(status)?.message).toMatch(/^secret shop\/kafka-auth key protocol not found/);

    const noPassword = compute(load(sink('secure', auth)), {
      values: secrets({ 'shop/kafka-auth': { protocol: 'SASL_PLAINTEXT', user: 'eddy' } }),
    });
    expect(readyCondition(statusOf(noPassword.statuses, 'secure'))?.message).toMatch(
      /^secret shop\/kafka-auth key password not found/,
    );
    const badProtocol = compute(load(sink('secure', auth)), {
      values: secrets({ 'shop/kafka-auth': { protocol: 'TLS' } }),
    });
    expect(readyCondition(statusOf(badProtocol.statuses, 'secure'))?.message).toBe(
      'Secret shop/kafka-auth (spec.auth.secret.ref): key protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, found "TLS"',
    );
  });

  it('are a Trigger subscriber by ref', () => {
    const { contract, statuses } = compute(
      load(
        'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default, namespace: shop}\n',
        sink('archive'),
        'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: to-archive, namespace: shop}\nspec:\n  broker: default\n  subscriber:\n    ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: archive}\n',
        'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: to-nowhere, namespace: shop}\nspec:\n  broker: default\n  subscriber:\n    ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: nowhere}\n',
      ),
    );
    expect(contract.routes.find((r) => r.name === 'to-archive')?.subscriber).toBe(
      'http://127.0.0.1:8080/kafkasinks/shop/archive',
    );
    expect(readyCondition(statuses.get(resourceKey('Trigger', 'shop', 'to-nowhere'))!)?.message).toMatch(
      /KafkaSink "nowhere" does not exist in namespace "shop"/,
    );
  });

  it('a changed sink changes the contract generation', () => {
    const first = compute(load(sink('s')));
    const second = compute(load(sink('s', '  contentMode: structured\n')), { previous: first.contract });
    expect(second.contract.generation).toBe(first.contract.generation + 1);
    const same = compute(load(sink('s', '  contentMode: structured\n')), { previous: second.contract });
    expect(same.contract.generation).toBe(second.contract.generation);
  });
});
