import { type Static, Type } from '@sinclair/typebox';
import { KindSchema, LabelSelector, SubscriptionsAPIFilter } from './common.js';
import { Strict } from './helpers.js';

/** The addressable a policy protects, by name (same namespace as the policy). */
export const EventPolicyToReference = Strict({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
});

/** Every addressable of a kind whose labels match (Knative inlines the LabelSelector and TypeMeta). */
export const EventPolicySelector = Strict({
  apiVersion: Type.String(),
  kind: Type.String(),
  matchLabels: LabelSelector.properties.matchLabels,
  matchExpressions: LabelSelector.properties.matchExpressions,
});

export const EventPolicySpecTo = Strict({
  ref: Type.Optional(EventPolicyToReference),
  selector: Type.Optional(EventPolicySelector),
});

/** A sender: an object whose OIDC identity is resolved (`ref`), or a token subject as written (`sub`, `*` suffix = prefix). */
export const EventPolicySpecFrom = Strict({
  ref: Type.Optional(
    Strict({
      apiVersion: Type.String(),
      kind: Type.String(),
      name: Type.String(),
      namespace: Type.Optional(Type.String()),
    }),
  ),
  sub: Type.Optional(Type.String()),
});

export const EventPolicySpec = Strict({
  /** Absent or empty: every Broker, channel and sink of the namespace. */
  to: Type.Optional(Type.Array(EventPolicySpecTo)),
  from: Type.Optional(Type.Array(EventPolicySpecFrom)),
  /** CloudEvents filters (Subscriptions API) an allowed sender's events must pass too. */
  filters: Type.Optional(Type.Array(SubscriptionsAPIFilter)),
});
export type EventPolicySpec = Static<typeof EventPolicySpec>;

/**
 * eventing.knative.dev/v1alpha1 EventPolicy: which authenticated senders may send to which addressables.
 * No spec (as Knative allows) = every target of the namespace, and no sender.
 */
export const EventPolicy = KindSchema(
  ['eventing.knative.dev/v1alpha1'],
  'EventPolicy',
  Type.Optional(EventPolicySpec),
);
export type EventPolicy = Static<typeof EventPolicy>;
