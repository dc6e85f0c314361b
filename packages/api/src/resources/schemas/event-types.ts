import { type Static, Type } from '@sinclair/typebox';
import { KindSchema, KReference } from './common.js';
import { Strict } from './helpers.js';

/**
 * eventing.knative.dev/v1beta3 EventAttributeDefinition: one CloudEvents attribute of the type. `value`
 * may be a template whose `{...}` parts vary between events (`/apis/v1/namespaces/{namespace}/...`).
 */
export const EventAttributeDefinition = Strict({
  name: Type.String(),
  /** Whether every event of the type carries the attribute; default false. */
  required: Type.Optional(Type.Boolean()),
  value: Type.Optional(Type.String()),
});
export type EventAttributeDefinition = Static<typeof EventAttributeDefinition>;

export const EventTypeSpec = Strict({
  /** The addressable the events arrive at (a Broker, a channel, ...). */
  reference: Type.Optional(KReference),
  description: Type.Optional(Type.String()),
  /** Knative requires type, source, specversion and id among them (a rule, for a message that names them). */
  attributes: Type.Optional(Type.Array(EventAttributeDefinition)),
});
export type EventTypeSpec = Static<typeof EventTypeSpec>;

/** eventing.knative.dev/v1beta3 EventType: a registry entry for a kind of event an addressable receives. */
export const EventType = KindSchema(['eventing.knative.dev/v1beta3'], 'EventType', EventTypeSpec);
export type EventType = Static<typeof EventType>;
