import { type Static, Type } from '@sinclair/typebox';
import { DeliverySpec, Destination, KindSchema, SubscriptionsAPIFilter } from './common.js';
import { Strict } from './helpers.js';

/**
 * eventing.eddy.dev/v1alpha1 Replay: re-delivers a time window of a broker's (or channel's) events
 * through some of its Triggers (Subscriptions) or to one Destination, with its own read position.
 */
export const ReplaySpec = Strict({
  /** The Broker whose events are replayed (in the Replay's namespace). */
  broker: Type.Optional(Type.String()),
  /** Or a channel (Channel, InMemoryChannel, KafkaChannel) in the Replay's namespace. */
  channel: Type.Optional(Strict({ apiVersion: Type.String(), kind: Type.String(), name: Type.String() })),
  /** RFC 3339, inclusive: events appended at or after this time. */
  from: Type.String(),
  /** RFC 3339, exclusive; default (and at most) the moment the replay starts. */
  to: Type.Optional(Type.String()),
  /** Subscriptions API filters (exact, prefix, suffix, all, any, not, cesql) narrowing the events. */
  filters: Type.Optional(Type.Array(SubscriptionsAPIFilter)),
  target: Strict({
    /** Re-deliver through these Triggers of the broker: their filters, subscriber, delivery, ordering. */
    triggers: Type.Optional(Type.Array(Type.String())),
    /** Re-deliver through these Subscriptions of the channel. */
    subscriptions: Type.Optional(Type.Array(Type.String())),
    /** Or deliver every event of the window that passes `filters` to one Destination. */
    destination: Type.Optional(Destination),
  }),
  /** Delivery of a `destination` target (retries, backoff, dead-letter sink). */
  delivery: Type.Optional(DeliverySpec),
  /** At most this many events per second (all targets together). */
  rate: Type.Optional(Type.Number()),
  /** Count what would be replayed; deliver nothing. */
  dryRun: Type.Optional(Type.Boolean()),
  /** Pause (true) and resume (false). */
  suspend: Type.Optional(Type.Boolean()),
});

export const Replay = KindSchema(['eventing.eddy.dev/v1alpha1'], 'Replay', ReplaySpec);
export type Replay = Static<typeof Replay>;
