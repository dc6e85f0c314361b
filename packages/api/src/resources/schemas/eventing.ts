import { type Static, Type } from '@sinclair/typebox';
import { DeliverySpec, Destination, KindSchema, KReference, SubscriptionsAPIFilter } from './common.js';
import { Strict, StringMap } from './helpers.js';

/** eventing.knative.dev/v1 Broker. The class comes from the `eventing.knative.dev/broker.class` annotation. */
export const BrokerSpec = Strict({
  /** Reference to a class-specific configuration (a ConfigMap for Kafka and channel-based brokers). */
  config: Type.Optional(
    Strict({
      apiVersion: Type.String(),
      kind: Type.String(),
      name: Type.String(),
      namespace: Type.Optional(Type.String()),
    }),
  ),
  delivery: Type.Optional(DeliverySpec),
});

export const Broker = KindSchema(['eventing.knative.dev/v1'], 'Broker', Type.Optional(BrokerSpec));
export type Broker = Static<typeof Broker>;

/** eventing.knative.dev/v1 Trigger. */
export const TriggerSpec = Strict({
  broker: Type.Optional(Type.String()),
  /** Cross-namespace broker reference (Knative feature `cross-namespace-event-links`). */
  brokerRef: Type.Optional(KReference),
  /** Exact match on CloudEvent attributes; an empty value matches any value. */
  filter: Type.Optional(Strict({ attributes: Type.Optional(StringMap) })),
  /** Subscriptions API filters; a non-empty list overrides `filter`. */
  filters: Type.Optional(Type.Array(SubscriptionsAPIFilter)),
  subscriber: Destination,
  delivery: Type.Optional(DeliverySpec),
});

export const Trigger = KindSchema(['eventing.knative.dev/v1'], 'Trigger', TriggerSpec);
export type Trigger = Static<typeof Trigger>;
