// A Trigger: its Broker, filter, subscriber, delivery and consumer annotations -> conditions and the
// DispatchRoute it would get (its consumer group is settled with every other route in routes.ts).

import {
  type AddressResolver,
  ConditionSet,
  type DispatchRoute,
  namespacedKey,
  type ResolvedFilter,
  type ResourceEntry,
  type ResourceStatus,
  resolveDestination,
  type Trigger,
  triggerFilterProblems,
  triggerGroup,
  triggerRouteId,
} from '@eddy/api';
import type { BrokerState } from './brokers.js';
import { markDeadLetterSink, markDeliveryParse, resolveDelivery } from './delivery.js';
import { type Settings, show, ttlField } from './options.js';
import { caCertsField, consumerAnnotations, type PendingRoute, subscriberRefField } from './routes.js';
import { senderIdentity } from './sender-identity.js';

/** The route's `filter` field: present only when the Trigger filters. */
function filterField(spec: Trigger['spec']): Pick<DispatchRoute, 'filter'> {
  const filter: ResolvedFilter = {};
  const attributes = spec.filter?.attributes;
  if (attributes && Object.keys(attributes).length > 0) filter.attributes = { ...attributes };
  // An empty `filters: []` does not override `filter` (Knative), so it is the same as no `filters`.
  if (spec.filters && spec.filters.length > 0) filter.filters = structuredClone(spec.filters);
  return filter.attributes || filter.filters ? { filter } : {};
}

export function reconcileTrigger(
  entry: ResourceEntry<Trigger>,
  brokers: Map<string, BrokerState>,
  resolver: AddressResolver,
  settings: Settings,
): PendingRoute {
  const t = entry.resource;
  const set = new ConditionSet([
    'BrokerReady',
    'ConfigParsed',
    'SubscriberResolved',
    'DeadLetterSinkResolved',
    'SubscriptionReady',
  ]);
  const status: ResourceStatus = { observedGeneration: entry.generation, conditions: [] };
  const brokerName = t.spec.broker ?? t.spec.brokerRef?.name ?? '';
  const brokerNs = t.spec.brokerRef?.namespace ?? entry.namespace;
  const broker = brokers.get(namespacedKey(brokerNs, brokerName));
  if (!broker)
    set.markFalse('BrokerReady', 'BrokerDoesNotExist', `Broker ${show(brokerName)} does not exist`);
  else set.propagate('BrokerReady', broker.ready, 'BrokerNotReady');

  const annotations = consumerAnnotations(t.metadata.annotations, {
    ordering: 'unordered',
    maxInFlight: settings.defaultMaxInFlight,
  });
  // The checks `eddy validate` runs, for resources that did not go through it: the dispatcher rejects
  // a whole contract with an invalid filter.
  const badFilter = triggerFilterProblems(t.spec, entry.namespace, entry.name);
  if (badFilter) set.markFalse('ConfigParsed', 'InvalidFilter', badFilter);
  else if (annotations.ok) set.markTrue('ConfigParsed');
  else set.markFalse('ConfigParsed', 'InvalidAnnotation', annotations.message);

  const subscriber = resolveDestination(t.spec.subscriber, entry.namespace, resolver);
  if (subscriber.ok) {
    set.markTrue('SubscriberResolved');
    status.subscriberUri = subscriber.url;
    if (subscriber.audience) status.subscriberAudience = subscriber.audience;
  } else
    set.markFalse(
      'SubscriberResolved',
      'SubscriberResolveFailed',
      `failed to resolve spec.subscriber: ${subscriber.message}`,
    );

  // The Trigger's delivery replaces the Broker's as a whole, never field by field.
  const own = t.spec.delivery !== undefined;
  const delivery = own
    ? resolveDelivery(t.spec.delivery, entry.namespace, resolver, settings.delivery)
    : (broker?.delivery ?? resolveDelivery(undefined, entry.namespace, resolver, settings.delivery));
  if (own) markDeliveryParse(set, delivery, '');
  const dls = markDeadLetterSink(
    set,
    delivery,
    own ? 'spec.delivery.deadLetterSink' : `the Broker's spec.delivery.deadLetterSink`,
  );
  if (dls) status.deadLetterSinkUri = dls;
  const dlsAudience = delivery.ok ? delivery.delivery.deadLetterSinkAudience : undefined;
  if (dlsAudience) status.deadLetterSinkAudience = dlsAudience;
  const identity = senderIdentity(
    'eventing.knative.dev',
    'Trigger',
    entry.namespace,
    entry.name,
    { subscriber: subscriber.ok ? subscriber.audience : undefined, deadLetterSink: dlsAudience },
    settings.authentication,
    status,
  );

  const pending: PendingRoute = { kind: 'Trigger', entry, set, status, groupCondition: 'SubscriptionReady' };
  if (broker && subscriber.ok && annotations.ok && !badFilter && delivery.ok) {
    pending.route = {
      kind: 'Trigger',
      namespace: entry.namespace,
      name: entry.name,
      id: triggerRouteId(entry.namespace, entry.name),
      topic: broker.topic,
      group: triggerGroup(entry.namespace, entry.name),
      ...filterField(t.spec),
      subscriber: subscriber.url,
      ...identity,
      ...caCertsField(subscriber),
      ...subscriberRefField(t.spec.subscriber, entry.namespace),
      reply: { kind: 'topic', topic: broker.topic },
      delivery: delivery.delivery,
      ordering: annotations.ordering,
      maxInFlight: annotations.maxInFlight,
      startFrom: annotations.startFrom,
      ...ttlField(broker.ttl),
    };
  }
  return pending;
}
