// Channels (InMemoryChannel, KafkaChannel, and Channel with either as its template): topic settings and
// name claims (phase 1), then status and ChannelRoute (phase 2). Every kind shares one path and topic
// per namespace/name.

import {
  type AddressResolver,
  byNamespaceThenName,
  type Channel,
  type ChannelRoute,
  type Condition,
  ConditionSet,
  channelTopic,
  groupOf,
  type InMemoryChannel,
  ingressPath,
  type KafkaChannel,
  namespacedKey,
  type ResourceEntry,
  type ResourceStatus,
  resourceKey,
} from '@eddy/api';
import { type DeliveryResult, markDeadLetterSink, markDeliveryParse, resolveDelivery } from './delivery.js';
import { addressAudience } from './ingress-audience.js';
import { type Claim, settleClaims } from './name-claims.js';
import type { Settings } from './options.js';
import { ingressAddressFields } from './tls-addresses.js';
import {
  type TopicSettings,
  type TopicSettingsResult,
  topicRouteFields,
  topicSettingsFromAnnotations,
  topicSettingsFromKafkaChannelSpec,
} from './topic-settings.js';

export const CHANNEL_KINDS = ['InMemoryChannel', 'KafkaChannel', 'Channel'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export type AnyChannel = Channel | InMemoryChannel | KafkaChannel;

/** The kinds that store a channel's events; a Channel's template must name one. */
const SUPPORTED_BACKING = new Set<string>(['InMemoryChannel', 'KafkaChannel']);
/** eventing-kafka-broker's KafkaChannel retention default. */
const KAFKA_CHANNEL_DEFAULT_RETENTION = 'PT168H';

export const isChannelKind = (kind: string) => (CHANNEL_KINDS as readonly string[]).includes(kind);

export interface ChannelState {
  kind: ChannelKind;
  entry: ResourceEntry<AnyChannel>;
  /** The kind that stores the events: the template's for a Channel. */
  backingKind: string;
  settings: TopicSettingsResult;
  /** Why the channel cannot have its name (another channel holds it). */
  conflict?: string;
  /** Set in phase 2; a Subscription without its own delivery uses it. */
  delivery?: DeliveryResult;
  /** Set in phase 2; a Subscription propagates it. */
  ready?: Condition;
}

/** Usable as a Destination: settings parsed, its name its own, and a kind Eddy runs. */
export const channelUsable = (s: ChannelState) =>
  s.settings.ok && !s.conflict && SUPPORTED_BACKING.has(s.backingKind);

/**
 * Phase 1: every channel's topic settings, sorted by namespace and name; a channel whose namespace/name
 * another one holds gets `conflict`.
 */
export function planChannels(
  byKind: readonly (readonly [ChannelKind, readonly ResourceEntry<AnyChannel>[]])[],
  settings: Settings,
): ChannelState[] {
  const states: ChannelState[] = [];
  for (const [kind, entries] of byKind) {
    for (const entry of entries) states.push(planChannel(kind, entry, settings.defaultPartitions));
  }
  // One path (and topic) per namespace/name across the channel kinds. A Channel loses to a concrete
  // channel of the same name: in Knative that one would be its backing channel, owned by someone else.
  const rank = (k: ChannelKind) => (k === 'Channel' ? 1 : 0);
  const ordered = [...states].sort(
    (a, b) => byNamespaceThenName(a.entry, b.entry) || rank(a.kind) - rank(b.kind),
  );
  const previous = settings.previous;
  const claims: Claim<ChannelState>[] = ordered.map((s) => ({
    name: namespacedKey(s.entry.namespace, s.entry.name),
    owner: s,
    incumbent: !!previous?.channels.some(
      (p) => p.kind === s.kind && p.namespace === s.entry.namespace && p.name === s.entry.name,
    ),
  }));
  for (const [loser, winner] of settleClaims(claims).losers)
    loser.conflict = `${winner.kind} ${winner.entry.namespace}/${winner.entry.name} already has this name; a ${loser.kind} cannot share it`;
  return ordered;
}

function planChannel(
  kind: ChannelKind,
  entry: ResourceEntry<AnyChannel>,
  defaultPartitions: number,
): ChannelState {
  const annotations = entry.resource.metadata.annotations;
  const fallback: TopicSettings = { partitions: defaultPartitions };
  const kafkaDefaults = { partitions: 1, retention: KAFKA_CHANNEL_DEFAULT_RETENTION };
  if (kind === 'KafkaChannel') {
    const settings = topicSettingsFromKafkaChannelSpec(
      'spec',
      (entry.resource as KafkaChannel).spec,
      kafkaDefaults,
    );
    return { kind, entry, backingKind: kind, settings };
  }
  if (kind === 'Channel') {
    const template = (entry.resource as Channel).spec?.channelTemplate;
    let backingKind = template?.kind ?? 'InMemoryChannel';
    if (template && groupOf(template.apiVersion) !== 'messaging.knative.dev')
      backingKind = `${template.kind} (${template.apiVersion})`;
    const settings =
      backingKind === 'KafkaChannel'
        ? topicSettingsFromKafkaChannelSpec('spec.channelTemplate.spec', template?.spec, kafkaDefaults)
        : topicSettingsFromAnnotations(annotations, fallback);
    return { kind, entry, backingKind, settings };
  }
  return { kind, entry, backingKind: kind, settings: topicSettingsFromAnnotations(annotations, fallback) };
}

/** The channel a ref of `kind` names: that kind, or a Channel backed by it (Knative names both alike). */
export function findChannel(
  channels: readonly ChannelState[],
  kind: string,
  namespace: string,
  name: string,
): ChannelState | undefined {
  const same = (s: ChannelState) => s.entry.namespace === namespace && s.entry.name === name;
  return (
    channels.find((s) => same(s) && s.kind === kind) ??
    // A ref to the backing channel of a Channel (Knative creates it with the Channel's name).
    channels.find((s) => same(s) && s.kind === 'Channel' && s.backingKind === kind)
  );
}

/** Phase 2: every channel's status (into `statuses`) and the routes of the Ready ones. */
export function reconcileChannels(
  channels: readonly ChannelState[],
  resolver: AddressResolver,
  settings: Settings,
  statuses: Map<string, ResourceStatus>,
): ChannelRoute[] {
  const routes: ChannelRoute[] = [];
  for (const s of channels) {
    const { entry, kind } = s;
    const order = [
      'ConfigParsed',
      'BackingChannelReady',
      'TopicReady',
      'DeadLetterSinkResolved',
      'Addressable',
    ];
    const set = new ConditionSet(
      kind === 'Channel' ? order : order.filter((t) => t !== 'BackingChannelReady'),
    );
    if (s.settings.ok) set.markTrue('ConfigParsed');
    else set.markFalse('ConfigParsed', s.settings.reason, s.settings.message);
    if (kind === 'Channel') {
      if (SUPPORTED_BACKING.has(s.backingKind)) set.markTrue('BackingChannelReady');
      else
        set.markFalse(
          'BackingChannelReady',
          'UnsupportedChannelTemplate',
          `spec.channelTemplate: ${s.backingKind} is not a channel kind Eddy runs; use InMemoryChannel or KafkaChannel (messaging.knative.dev)`,
        );
    }
    s.delivery = resolveDelivery(entry.resource.spec?.delivery, entry.namespace, resolver, settings.delivery);
    markDeliveryParse(set, s.delivery, '');
    if (s.conflict) set.markFalse('TopicReady', 'ChannelNameConflict', s.conflict);
    else set.markTrue('TopicReady');
    const dls = markDeadLetterSink(set, s.delivery, 'spec.delivery.deadLetterSink');
    set.markTrue('Addressable');
    const status: ResourceStatus = { observedGeneration: entry.generation, conditions: [] };
    if (set.ready && s.settings.ok) {
      Object.assign(
        status,
        ingressAddressFields(
          settings,
          `${settings.channelBase}${ingressPath(entry.namespace, entry.name)}`,
          addressAudience(settings, s.kind, entry.namespace, entry.name),
        ),
      );
      routes.push({
        namespace: entry.namespace,
        name: entry.name,
        kind,
        path: ingressPath(entry.namespace, entry.name),
        topic: channelTopic(entry.namespace, entry.name),
        partitions: s.settings.settings.partitions,
        ...topicRouteFields(s.settings.settings),
      });
    }
    if (dls) status.deadLetterSinkUri = dls;
    status.conditions = set.conditions();
    s.ready = status.conditions.find((c) => c.type === 'Ready');
    statuses.set(resourceKey(kind, entry.namespace, entry.name), status);
  }
  return routes;
}
