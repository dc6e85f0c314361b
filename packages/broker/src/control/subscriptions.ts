// A Subscription: its channel, subscriber, reply, delivery and consumer annotations -> conditions and the
// DispatchRoute it would get (its consumer group is settled with every other route in routes.ts).

import {
  type AddressResolver,
  ConditionSet,
  channelTopic,
  describeRef,
  groupOf,
  type ReplyTarget,
  type ResourceEntry,
  type ResourceStatus,
  resolveDestination,
  type Subscription,
  subscriptionGroup,
  subscriptionRouteId,
} from '@eddy/api';
import { type ChannelState, findChannel, isChannelKind } from './channels.js';
import { markDeliveryParse, resolveDelivery } from './delivery.js';
import { type Settings, show, ttlField } from './options.js';
import { caCertsField, consumerAnnotations, type PendingRoute, subscriberRefField } from './routes.js';
import { senderIdentity } from './sender-identity.js';

export function reconcileSubscription(
  entry: ResourceEntry<Subscription>,
  channels: readonly ChannelState[],
  resolver: AddressResolver,
  settings: Settings,
): PendingRoute {
  const sub = entry.resource;
  const set = new ConditionSet(['ReferencesResolved', 'ChannelReady', 'ConfigParsed', 'AddedToChannel']);
  const status: ResourceStatus = { observedGeneration: entry.generation, conditions: [] };
  const physical: NonNullable<ResourceStatus['physicalSubscription']> = {};
  const ref = sub.spec.channel;
  const channelNs = ref.namespace ?? entry.namespace;
  const channelKind = groupOf(ref.apiVersion) === 'messaging.knative.dev' && isChannelKind(ref.kind);
  const channel = channelKind ? findChannel(channels, ref.kind, channelNs, ref.name) : undefined;
  const failures: [string, string][] = [];
  if (!channel)
    failures.push([
      'ChannelReferenceFailed',
      `failed to get spec.channel: ${
        channelKind
          ? `${ref.kind} ${show(ref.name)} does not exist in namespace ${show(channelNs)}`
          : `${describeRef(ref, entry.namespace)} is not a channel kind Eddy runs (Channel, InMemoryChannel, KafkaChannel)`
      }`,
    ]);
  if (channel) set.propagate('ChannelReady', channel.ready, 'ChannelNotReady');
  else set.markUnknown('ChannelReady', 'ChannelNotFound', 'the channel does not exist');

  const subscriber = resolveDestination(sub.spec.subscriber, entry.namespace, resolver);
  if (subscriber.ok) {
    physical.subscriberUri = subscriber.url;
    if (subscriber.audience) physical.subscriberAudience = subscriber.audience;
  } else
    failures.push(['SubscriberResolveFailed', `failed to resolve spec.subscriber: ${subscriber.message}`]);

  let reply: ReplyTarget = { kind: 'drop' };
  if (sub.spec.reply) {
    const r = resolveDestination(sub.spec.reply, entry.namespace, resolver);
    if (r.ok) {
      physical.replyUri = r.url;
      reply = { kind: 'url', url: r.url, ...(r.caCerts !== undefined ? { caCerts: r.caCerts } : {}) };
      if (r.audience) {
        physical.replyAudience = r.audience;
        reply.audience = r.audience;
      }
    } else failures.push(['ReplyResolveFailed', `failed to resolve spec.reply: ${r.message}`]);
  }

  // The Subscription's delivery replaces the channel's as a whole, never field by field.
  const own = sub.spec.delivery !== undefined;
  const delivery = own
    ? resolveDelivery(sub.spec.delivery, entry.namespace, resolver, settings.delivery)
    : (channel?.delivery ?? resolveDelivery(undefined, entry.namespace, resolver, settings.delivery));
  if (!delivery.ok && delivery.field === 'deadLetterSink')
    failures.push([
      'DeadLetterSinkResolveFailed',
      `failed to resolve ${own ? 'spec.delivery.deadLetterSink' : `the channel's spec.delivery.deadLetterSink`}: ${delivery.message}`,
    ]);
  else if (delivery.ok && delivery.delivery.deadLetterSink) {
    physical.deadLetterSinkUri = delivery.delivery.deadLetterSink;
    if (delivery.delivery.deadLetterSinkAudience)
      physical.deadLetterSinkAudience = delivery.delivery.deadLetterSinkAudience;
  }
  const identity = senderIdentity(
    'messaging.knative.dev',
    'Subscription',
    entry.namespace,
    entry.name,
    {
      subscriber: subscriber.ok ? subscriber.audience : undefined,
      deadLetterSink: delivery.ok ? delivery.delivery.deadLetterSinkAudience : undefined,
      reply: reply.kind === 'url' ? reply.audience : undefined,
    },
    settings.authentication,
    status,
  );

  const [first] = failures;
  if (first) set.markFalse('ReferencesResolved', first[0], failures.map((f) => f[1]).join('; '));
  else set.markTrue('ReferencesResolved');

  const kafkaBacked = channel?.backingKind === 'KafkaChannel';
  const annotations = consumerAnnotations(sub.metadata.annotations, {
    // The Kafka channel delivers a subscription in order; the in-memory channel does not.
    ordering: kafkaBacked ? 'ordered' : 'unordered',
    maxInFlight: settings.defaultMaxInFlight,
  });
  if (annotations.ok) set.markTrue('ConfigParsed');
  else set.markFalse('ConfigParsed', 'InvalidAnnotation', annotations.message);
  if (own) markDeliveryParse(set, delivery, '');
  if (Object.keys(physical).length > 0) status.physicalSubscription = physical;

  const pending: PendingRoute = {
    kind: 'Subscription',
    entry,
    set,
    status,
    groupCondition: 'AddedToChannel',
  };
  if (channel && !first && subscriber.ok && annotations.ok && delivery.ok) {
    pending.route = {
      kind: 'Subscription',
      namespace: entry.namespace,
      name: entry.name,
      id: subscriptionRouteId(entry.namespace, entry.name),
      topic: channelTopic(channel.entry.namespace, channel.entry.name),
      group: subscriptionGroup(entry.namespace, entry.name),
      subscriber: subscriber.url,
      ...identity,
      ...caCertsField(subscriber),
      ...subscriberRefField(sub.spec.subscriber, entry.namespace),
      reply,
      delivery: delivery.delivery,
      ordering: annotations.ordering,
      maxInFlight: annotations.maxInFlight,
      startFrom: annotations.startFrom,
      ...ttlField(settings.brokerTtl),
    };
  }
  return pending;
}
