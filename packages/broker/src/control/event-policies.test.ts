import {
  type DataValues,
  type LoadedResource,
  loadText,
  type ResourceStatus,
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

const broker = (name: string, labels = '{}', ns = 'shop') =>
  `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: ${name}, namespace: ${ns}, labels: ${labels}}`;
const channel = (name: string) =>
  `apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata: {name: ${name}, namespace: shop}`;
const sink = (name: string) =>
  `apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata: {name: ${name}, namespace: shop}\nspec: {topic: t, bootstrapServers: ["k:9092"]}`;
const policy = (name: string, spec: string, ns = 'shop') =>
  `apiVersion: eventing.knative.dev/v1alpha1\nkind: EventPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}`;
const features = (data: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config-features, namespace: knative-eventing}\ndata: ${data}`;

function compute(resources: LoadedResource[], options: Partial<ComputeContractOptions> = {}) {
  return computeContract(resources, {
    brokerIngressUrl: 'http://127.0.0.1:8080',
    kafkaSinkTopics: () => ({ ready: true }),
    ...options,
  });
}
const required = { senderAuth: { required: true, issuers: [{ issuer: 'https://issuer.example' }] } };
const condition = (s: ResourceStatus | undefined, type: string) => s?.conditions.find((c) => c.type === type);

describe('EventPolicies', () => {
  it('off by default: no auth in the contract, policies reported as not enforced, targets allow all', () => {
    const { contract, statuses } = compute(
      load(broker('orders'), policy('p', '  from: [{sub: "system:serviceaccount:shop:a"}]')),
    );
    expect(contract.brokers[0]!.auth).toBeUndefined();
    expect(contract.senderTrust).toBeUndefined();
    const p = statuses.get(resourceKey('EventPolicy', 'shop', 'p'));
    expect(condition(p, 'AuthenticationEnabled')).toMatchObject({
      status: 'False',
      reason: 'OIDCAuthenticationDisabled',
    });
    expect(condition(p, 'Ready')?.status).toBe('False');
    const b = statuses.get(resourceKey('Broker', 'shop', 'orders'));
    expect(condition(b, 'EventPoliciesReady')).toMatchObject({ status: 'True', reason: 'OIDCDisabled' });
    expect(condition(b, 'Ready')?.status).toBe('True');
    expect(b?.policies).toBeUndefined();
    expect(b?.address?.audience).toBeUndefined();
  });

  it('resolve refs to OIDC service account subjects, keep subs as written, apply by ref, selector or to all', () => {
    const { contract, statuses } = compute(
      load(
        broker('orders', '{team: a}'),
        broker('payments', '{team: b}'),
        broker('other', '{}', 'elsewhere'),
        channel('ch'),
        sink('ks'),
        policy(
          'by-ref',
          [
            '  to: [{ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: orders}}]',
            '  from:',
            '    - ref: {apiVersion: sources.knative.dev/v1, kind: PingSource, name: tick}',
            '    - ref: {apiVersion: sources.knative.dev/v1, kind: ApiServerSource, name: api, namespace: ops}',
            '    - sub: "system:serviceaccount:shop:*"',
          ].join('\n'),
        ),
        policy(
          'by-selector',
          [
            '  to: [{selector: {apiVersion: eventing.knative.dev/v1, kind: Broker, matchLabels: {team: b}}}]',
            '  from: [{sub: carol}]',
            '  filters: [{prefix: {type: com.example.}}]',
          ].join('\n'),
        ),
        policy('everything', '  from: [{sub: admin}]'),
        policy('elsewhere', '  from: [{sub: x}]', 'elsewhere'),
      ),
      required,
    );
    expect(statuses.get(resourceKey('EventPolicy', 'shop', 'by-ref'))?.from).toEqual([
      'system:serviceaccount:shop:tick-oidc-sources.knative.dev-pingsource',
      'system:serviceaccount:ops:api-oidc-sources.knative.dev-apiserversource',
      'system:serviceaccount:shop:*',
    ]);
    expect(condition(statuses.get(resourceKey('EventPolicy', 'shop', 'by-ref')), 'Ready')?.status).toBe(
      'True',
    );
    const orders = contract.brokers.find((b) => b.name === 'orders')!;
    expect(orders.auth).toEqual({
      audience: 'eventing.knative.dev/broker/shop/orders',
      defaultMode: 'deny-all',
      policies: [
        { name: 'by-ref', subjects: expect.arrayContaining(['system:serviceaccount:shop:*']) },
        { name: 'everything', subjects: ['admin'] },
      ],
    });
    expect(contract.brokers.find((b) => b.name === 'payments')!.auth?.policies).toEqual([
      { name: 'by-selector', subjects: ['carol'], filters: [{ prefix: { type: 'com.example.' } }] },
      { name: 'everything', subjects: ['admin'] },
    ]);
    // Policies of another namespace never apply.
    expect(contract.brokers.find((b) => b.name === 'other')!.auth?.policies.map((p) => p.name)).toEqual([
      'elsewhere',
    ]);
    expect(contract.channels[0]!.auth?.policies.map((p) => p.name)).toEqual(['everything']);
    expect(contract.channels[0]!.auth?.audience).toBe('messaging.knative.dev/inmemorychannel/shop/ch');
    expect(contract.kafkaSinks![0]!.auth?.policies.map((p) => p.name)).toEqual(['everything']);
    const status = statuses.get(resourceKey('Broker', 'shop', 'orders'));
    expect(status?.policies).toEqual([
      { apiVersion: 'eventing.knative.dev/v1alpha1', name: 'by-ref' },
      { apiVersion: 'eventing.knative.dev/v1alpha1', name: 'everything' },
    ]);
    expect(condition(status, 'EventPoliciesReady')).toEqual({ type: 'EventPoliciesReady', status: 'True' });
    expect(status?.address?.audience).toBe('eventing.knative.dev/broker/shop/orders');
    expect(contract.senderTrust).toEqual({ issuers: [{ issuer: 'https://issuer.example' }] });
  });

  it('a target without policies: DefaultAuthorizationMode, from config-features or deny-all under --ingress-auth required', () => {
    const first = compute(load(broker('orders')), required);
    expect(first.contract.brokers[0]!.auth).toEqual({
      audience: 'eventing.knative.dev/broker/shop/orders',
      policies: [],
      defaultMode: 'deny-all',
    });
    expect(
      condition(first.statuses.get(resourceKey('Broker', 'shop', 'orders')), 'EventPoliciesReady'),
    ).toMatchObject({
      status: 'True',
      reason: 'DefaultAuthorizationMode',
      message: 'Default authz mode is "deny-all"',
    });
    // Knative's own switch and mode (any case), without the flag.
    const knative = compute(
      load(
        broker('orders'),
        features('{authentication-oidc: enabled, default-authorization-mode: Allow-All}'),
      ),
    );
    expect(knative.contract.brokers[0]!.auth?.defaultMode).toBe('allow-all');
    const knativeDefault = compute(load(broker('orders'), features('{authentication-oidc: enabled}')));
    expect(knativeDefault.contract.brokers[0]!.auth?.defaultMode).toBe('allow-same-namespace');
  });

  it('static tokens come from Secrets labelled eddy.dev/sender-token', () => {
    const values: ValueLookupOptions = {
      env: {},
      store: {
        secret: (ns, name) =>
          ns === 'shop' && name === 'ci'
            ? (new Map([
                ['token', Buffer.from('s3cret\n')],
                ['subject', Buffer.from('ci-bot')],
              ]) as unknown as DataValues)
            : undefined,
        configMap: () => undefined,
      },
    };
    const secret = (name: string) =>
      `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: shop, labels: {eddy.dev/sender-token: "true"}}\nstringData: {token: x, subject: y}`;
    const { contract } = compute(load(broker('orders'), secret('ci'), secret('broken')), {
      ...required,
      values,
    });
    expect(contract.senderTrust?.staticTokens).toEqual([{ token: 's3cret', subject: 'ci-bot' }]);
  });
});
