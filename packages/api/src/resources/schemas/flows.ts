import { type Static, Type } from '@sinclair/typebox';
import { DeliverySpec, Destination, KindSchema } from './common.js';
import { Strict } from './helpers.js';

/** The channel kind a flow makes its channels of (InMemoryChannel, KafkaChannel, Channel). */
export const ChannelTemplate = Strict({
  apiVersion: Type.String(),
  kind: Type.String(),
  spec: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type ChannelTemplate = Static<typeof ChannelTemplate>;

/** flows.knative.dev/v1 SequenceStep: a Destination with its own delivery. */
export const SequenceStep = Strict({
  ref: Destination.properties.ref,
  uri: Destination.properties.uri,
  CACerts: Destination.properties.CACerts,
  audience: Destination.properties.audience,
  delivery: Type.Optional(DeliverySpec),
});
export type SequenceStep = Static<typeof SequenceStep>;

export const SequenceSpec = Strict({
  steps: Type.Array(SequenceStep, { minItems: 1 }),
  channelTemplate: Type.Optional(ChannelTemplate),
  reply: Type.Optional(Destination),
});

export const Sequence = KindSchema(['flows.knative.dev/v1'], 'Sequence', SequenceSpec);
export type Sequence = Static<typeof Sequence>;

export const ParallelBranch = Strict({
  filter: Type.Optional(Destination),
  subscriber: Destination,
  reply: Type.Optional(Destination),
  delivery: Type.Optional(DeliverySpec),
});
export type ParallelBranch = Static<typeof ParallelBranch>;

export const ParallelSpec = Strict({
  branches: Type.Array(ParallelBranch, { minItems: 1 }),
  channelTemplate: Type.Optional(ChannelTemplate),
  reply: Type.Optional(Destination),
});

export const Parallel = KindSchema(['flows.knative.dev/v1'], 'Parallel', ParallelSpec);
export type Parallel = Static<typeof Parallel>;
