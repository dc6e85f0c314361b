import { type LoadedResource, loadText, resourceKey } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { computeContract } from './compute-contract.js';

function load(text: string): LoadedResource[] {
  const r = loadText(text, 'test.yaml');
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.resources;
}

const RESOURCES = `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: shop, namespace: ns1 }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: audit, namespace: ns1 }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: to-broker, namespace: ns1 }
spec:
  broker: shop
  subscriber: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: audit } }
  delivery:
    deadLetterSink: { uri: "http://dls.example/x", audience: dls-aud }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: explicit, namespace: ns1 }
spec:
  broker: shop
  subscriber: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: audit }, audience: mine }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: plain, namespace: ns1 }
spec:
  broker: shop
  subscriber: { uri: "http://sub.example/" }
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: { name: ch, namespace: ns1 }
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: sub, namespace: ns1 }
spec:
  channel: { apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ch }
  subscriber: { uri: "http://sub.example/" }
  reply: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: shop } }
`;

const compute = (authentication: boolean) =>
  computeContract(load(RESOURCES), { brokerIngressUrl: 'http://127.0.0.1:8080', authentication });

describe('audiences and sender identity in the contract', () => {
  it('with authentication on, Eddy addresses have audiences, routes carry them and their sender subject', () => {
    const { contract, statuses } = compute(true);
    const byId = (id: string) => contract.routes.find((r) => r.id === id);
    expect(statuses.get(resourceKey('Broker', 'ns1', 'audit'))?.address).toEqual({
      url: 'http://127.0.0.1:8080/ns1/audit',
      audience: 'eventing.knative.dev/broker/ns1/audit',
    });
    expect(statuses.get(resourceKey('InMemoryChannel', 'ns1', 'ch'))?.address?.audience).toBe(
      'messaging.knative.dev/inmemorychannel/ns1/ch',
    );
    expect(byId('ns1/to-broker')).toMatchObject({
      subscriberAudience: 'eventing.knative.dev/broker/ns1/audit',
      senderSubject: 'system:serviceaccount:ns1:to-broker-oidc-eventing.knative.dev-trigger',
      delivery: { deadLetterSink: 'http://dls.example/x', deadLetterSinkAudience: 'dls-aud' },
    });
    const toBroker = statuses.get(resourceKey('Trigger', 'ns1', 'to-broker'));
    expect(toBroker?.auth).toEqual({ serviceAccountName: 'to-broker-oidc-eventing.knative.dev-trigger' });
    expect(toBroker?.subscriberAudience).toBe('eventing.knative.dev/broker/ns1/audit');
    expect(toBroker?.deadLetterSinkAudience).toBe('dls-aud');
    // The Destination's own audience wins over its ref's.
    expect(byId('ns1/explicit')?.subscriberAudience).toBe('mine');
    // A plain URI has no audience: no token, no subject in the route.
    expect(byId('ns1/plain')?.subscriberAudience).toBeUndefined();
    expect(byId('ns1/plain')?.senderSubject).toBeUndefined();
    const sub = byId('subscriptions/ns1/sub');
    expect(sub?.reply).toEqual({
      kind: 'url',
      url: 'http://127.0.0.1:8080/ns1/shop',
      audience: 'eventing.knative.dev/broker/ns1/shop',
    });
    expect(sub?.senderSubject).toBe('system:serviceaccount:ns1:sub-oidc-messaging.knative.dev-subscription');
    expect(statuses.get(resourceKey('Subscription', 'ns1', 'sub'))?.physicalSubscription?.replyAudience).toBe(
      'eventing.knative.dev/broker/ns1/shop',
    );
  });

  it('with authentication off, only explicit audiences count and statuses have no auth', () => {
    const { contract, statuses } = compute(false);
    const byId = (id: string) => contract.routes.find((r) => r.id === id);
    expect(statuses.get(resourceKey('Broker', 'ns1', 'audit'))?.address).toEqual({
      url: 'http://127.0.0.1:8080/ns1/audit',
    });
    expect(byId('ns1/to-broker')?.subscriberAudience).toBeUndefined();
    expect(byId('ns1/to-broker')?.delivery.deadLetterSinkAudience).toBe('dls-aud');
    expect(byId('ns1/to-broker')?.senderSubject).toBe(
      'system:serviceaccount:ns1:to-broker-oidc-eventing.knative.dev-trigger',
    );
    expect(byId('ns1/explicit')?.subscriberAudience).toBe('mine');
    expect(statuses.get(resourceKey('Trigger', 'ns1', 'to-broker'))?.auth).toBeUndefined();
    expect(byId('subscriptions/ns1/sub')?.reply).toEqual({
      kind: 'url',
      url: 'http://127.0.0.1:8080/ns1/shop',
    });
  });
});
