import { type Static, Type } from '@sinclair/typebox';
import { DeliverySpec, Destination, KindSchema, KReference } from './common.js';
import { Strict } from './helpers.js';

/**
 * `spec.subscribers` of a channel is written by the Subscription controller, never by users; it is accepted
 * (so an exported channel validates) and left alone.
 */
const Subscribers = Type.Optional(Type.Array(Type.Unknown()));

/** messaging.knative.dev/v1 Channel: a generic channel backed by `channelTemplate`'s kind. */
export const ChannelSpec = Strict({
  channelTemplate: Type.Optional(
    Strict({
      apiVersion: Type.String(),
      kind: Type.String(),
      spec: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  ),
  subscribers: Subscribers,
  delivery: Type.Optional(DeliverySpec),
});

export const Channel = KindSchema(['messaging.knative.dev/v1'], 'Channel', Type.Optional(ChannelSpec));
export type Channel = Static<typeof Channel>;

export const InMemoryChannelSpec = Strict({
  subscribers: Subscribers,
  delivery: Type.Optional(DeliverySpec),
});

export const InMemoryChannel = KindSchema(
  ['messaging.knative.dev/v1'],
  'InMemoryChannel',
  Type.Optional(InMemoryChannelSpec),
);
export type InMemoryChannel = Static<typeof InMemoryChannel>;

/** messaging.knative.dev/v1beta1 KafkaChannel (eventing-kafka-broker). */
export const KafkaChannelSpec = Strict({
  numPartitions: Type.Optional(Type.Integer({ minimum: 0 })),
  replicationFactor: Type.Optional(Type.Integer({ minimum: 0 })),
  /** ISO-8601 duration. */
  retentionDuration: Type.Optional(Type.String()),
  subscribers: Subscribers,
  delivery: Type.Optional(DeliverySpec),
});

export const KafkaChannel = KindSchema(
  ['messaging.knative.dev/v1beta1'],
  'KafkaChannel',
  Type.Optional(KafkaChannelSpec),
);
export type KafkaChannel = Static<typeof KafkaChannel>;

/** messaging.knative.dev/v1 Subscription: connects a channel to a subscriber, with optional reply. */
export const SubscriptionSpec = Strict({
  channel: KReference,
  subscriber: Destination,
  reply: Type.Optional(Destination),
  delivery: Type.Optional(DeliverySpec),
});

export const Subscription = KindSchema(['messaging.knative.dev/v1'], 'Subscription', SubscriptionSpec);
export type Subscription = Static<typeof Subscription>;
