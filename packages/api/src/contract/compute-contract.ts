// The control plane's reconciliation of the eventing kinds, as one pure function: resources in, the
// data-plane contract and every resource's Knative-style status out. No I/O and no clock, so the same
// input always gives the same output (sorted), and a caller can recompute on every change and hand the
// data plane a new contract only when its generation moved.

import {
  DELIVERY_ORDER_ANNOTATION,
  MAX_IN_FLIGHT_ANNOTATION,
  parseDeliveryOrderAnnotation,
  parseMaxInFlightAnnotation,
  parseStartFromAnnotation,
  START_FROM_ANNOTATION,
} from '../resources/eddy-annotations.js';
import { formatPath } from '../resources/field-path.js';
import { parseApiVersion } from '../resources/names.js';
import { RuleContext } from '../resources/rule-context.js';
import { checkAttributeNames, checkFilters } from '../resources/rules-common.js';
import type { Destination, KReference } from '../resources/schemas/common.js';
import type { Broker, Trigger } from '../resources/schemas/eventing.js';
import type { Channel, InMemoryChannel, KafkaChannel, Subscription } from '../resources/schemas/messaging.js';
import {
  type AddressLookup,
  type AddressResolver,
  describeRef,
  resolveDestination,
  resolverFromLookup,
} from './address-resolver.js';
import { sameContractContent } from './contract-equality.js';
import type {
  BrokerRoute,
  ChannelRoute,
  DataPlaneContract,
  DispatchRoute,
  ReplyTarget,
  ResolvedDelivery,
  ResolvedFilter,
  StartFrom,
} from './data-plane-contract.js';
import {
  DEFAULT_BACKOFF_DELAY_MS,
  DEFAULT_RESOLVED_DELIVERY,
  type DeliveryDefaults,
  type DeliveryResult,
  resolveDelivery,
} from './delivery.js';
import { type Claim, settleClaims } from './name-claims.js';
import { byNamespaceThenName, namespacedKey } from './namespaced-name.js';
import {
  brokerTopic,
  channelTopic,
  ingressPath,
  subscriptionGroup,
  subscriptionRouteId,
  triggerGroup,
  triggerRouteId,
} from './naming.js';
import { type Condition, ConditionSet, type ResourceStatus, resourceKey } from './resource-status.js';
import {
  type TopicSettings,
  type TopicSettingsResult,
  topicRouteFields,
  topicSettingsFromAnnotations,
  topicSettingsFromConfigMap,
  topicSettingsFromKafkaChannelSpec,
} from './topic-settings.js';

/** A resource as the loader (or the admin API, or Kubernetes) gives it; `LoadedResource` fits. */
export type { ContractInput } from './resource-entries.js';

import type { ContractInput } from './resource-entries.js';

export interface ComputeContractOptions {
  /** The contract the data plane runs now: the new generation is its generation + 1 only if anything changed. */
  previous?: DataPlaneContract;
  /** Base URL of the broker ingress, e.g. `http://127.0.0.1:8080`; a Broker is `<base>/<ns>/<name>`. */
  brokerIngressUrl: string;
  /** Base URL of the channel ingress; a channel is `<base>/<ns>/<name>`. Default `<brokerIngressUrl>/channels`. */
  channelIngressUrl?: string;
  /** URL of a serving.knative.dev Service that exists among the resources; undefined = not routable (yet). */
  serviceUrl?: (namespace: string, name: string) => string | undefined;
  /** Consulted for refs to kinds computeContract does not know itself (Broker, channels, Service). */
  resolver?: AddressResolver;
  /** Delivery when neither a Trigger/Subscription nor its Broker/Channel has one. Default: no retries. */
  defaultDelivery?: Omit<ResolvedDelivery, 'deadLetterSink'>;
  /** Base delay for a DeliverySpec without `backoffDelay`. Default 1000 (the Kafka broker's). */
  defaultBackoffDelayMs?: number;
  /** Per-attempt timeout for a delivery without `timeout`. Default: unset (the dispatcher's own default). */
  defaultTimeoutMs?: number;
  /** Partitions of a Broker or channel topic that does not say. Default 1. */
  defaultPartitions?: number;
  /** In-flight events of an unordered Trigger/Subscription without `eddy.dev/max-in-flight`. Default 100. */
  defaultMaxInFlight?: number;
}

export interface ComputedContract {
  contract: DataPlaneContract;
  /** By `resourceKey(kind, namespace, name)`, for every Broker, Trigger, channel and Subscription. */
  statuses: Map<string, ResourceStatus>;
}

export const DEFAULT_PARTITIONS = 1;
export const DEFAULT_MAX_IN_FLIGHT = 100;
/** eventing-kafka-broker's KafkaChannel retention default. */
const KAFKA_CHANNEL_DEFAULT_RETENTION = 'PT168H';

const CHANNEL_KINDS = ['InMemoryChannel', 'KafkaChannel', 'Channel'] as const;
type ChannelKind = (typeof CHANNEL_KINDS)[number];

interface Entry<T> {
  namespace: string;
  name: string;
  resource: T;
  generation: number;
}

interface BrokerState {
  entry: Entry<Broker>;
  topic: string;
  settings: TopicSettingsResult;
  conflict?: string;
  delivery?: DeliveryResult;
  ready?: Condition;
}

interface ChannelState {
  kind: ChannelKind;
  entry: Entry<Channel | InMemoryChannel | KafkaChannel>;
  /** The kind that stores the events: the template's for a Channel. */
  backingKind: string;
  settings: TopicSettingsResult;
  conflict?: string;
  delivery?: DeliveryResult;
  ready?: Condition;
}

const groupOf = (apiVersion: string) => parseApiVersion(apiVersion)?.group ?? '';
const show = (v: unknown) => JSON.stringify(v);

function positiveIntOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`computeContract: options.${name} must be an integer >= 1, got ${show(value)}`);
  return value;
}

function baseUrlOption(name: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.host === '') throw new Error('no host');
  } catch {
    throw new TypeError(`computeContract: options.${name} must be an absolute URL, got ${show(value)}`);
  }
  return value.replace(/\/+$/, '');
}

function generationOf(resource: { metadata?: { generation?: number } }): number {
  const g = resource.metadata?.generation;
  return typeof g === 'number' && Number.isSafeInteger(g) && g > 0 ? g : 1;
}

/** Indexes one kind of one API group; a later duplicate replaces an earlier one (as the loader warns). */
function collect<T>(resources: readonly ContractInput[], group: string, kind: string): Entry<T>[] {
  const map = new Map<string, Entry<T>>();
  for (const r of resources) {
    if (r.kind !== kind || groupOf(r.apiVersion) !== group) continue;
    const resource = r.resource as T & { metadata?: { generation?: number } };
    map.set(namespacedKey(r.namespace, r.name), {
      namespace: r.namespace,
      name: r.name,
      resource,
      generation: generationOf(resource),
    });
  }
  return [...map.values()].sort(byNamespaceThenName);
}

function configMapData(resources: readonly ContractInput[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of resources) {
    if (r.kind !== 'ConfigMap' || r.apiVersion !== 'v1') continue;
    const data = (r.resource as { data?: unknown }).data;
    out.set(
      namespacedKey(r.namespace, r.name),
      data && typeof data === 'object' ? (data as Record<string, unknown>) : {},
    );
  }
  return out;
}

/** Reads the consumer annotations shared by Triggers and Subscriptions. */
function consumerAnnotations(
  annotations: Record<string, string> | undefined,
  defaults: { ordering: 'ordered' | 'unordered'; maxInFlight: number },
):
  | { ok: true; ordering: 'ordered' | 'unordered'; maxInFlight: number; startFrom: StartFrom }
  | { ok: false; message: string } {
  const problems: string[] = [];
  let ordering = defaults.ordering;
  let maxInFlight = defaults.maxInFlight;
  let startFrom: StartFrom = 'latest';
  const read = <T>(
    name: string,
    parse: (t: string) => { ok: true; value: T } | { ok: false; message: string },
  ) => {
    const text = annotations?.[name];
    if (text === undefined) return undefined;
    const r = parse(text);
    if (r.ok) return r.value;
    problems.push(`metadata.annotations["${name}"]: ${r.message}`);
    return undefined;
  };
  ordering = read(DELIVERY_ORDER_ANNOTATION, parseDeliveryOrderAnnotation) ?? ordering;
  maxInFlight = read(MAX_IN_FLIGHT_ANNOTATION, parseMaxInFlightAnnotation) ?? maxInFlight;
  startFrom = read(START_FROM_ANNOTATION, parseStartFromAnnotation) ?? startFrom;
  if (problems.length > 0) return { ok: false, message: problems.join('; ') };
  return { ok: true, ordering, maxInFlight, startFrom };
}

function filterOf(spec: Trigger['spec']): ResolvedFilter | undefined {
  const filter: ResolvedFilter = {};
  const attributes = spec.filter?.attributes;
  if (attributes && Object.keys(attributes).length > 0) filter.attributes = { ...attributes };
  // An empty `filters: []` does not override `filter` (Knative), so it is the same as no `filters`.
  if (spec.filters && spec.filters.length > 0) filter.filters = structuredClone(spec.filters);
  return filter.attributes || filter.filters ? filter : undefined;
}

/**
 * The filter checks `eddy validate` runs (attribute names, one dialect per entry, CESQL compiles), for
 * resources that did not go through it: the dispatcher rejects a whole contract with an invalid filter.
 */
function filterProblems(spec: Trigger['spec'], namespace: string, name: string): string | undefined {
  const ctx = new RuleContext(namespace, name);
  checkAttributeNames(ctx, spec.filter?.attributes, ['spec', 'filter', 'attributes']);
  checkFilters(ctx, spec.filters, ['spec', 'filters']);
  const errors = ctx.findings.filter((f) => f.severity === 'error');
  if (errors.length === 0) return undefined;
  return errors.map((f) => `${formatPath(f.path)}: ${f.message}`).join('; ');
}

function subscriberRefOf(dest: Destination, namespace: string): DispatchRoute['subscriberRef'] {
  if (!dest.ref) return undefined;
  return {
    apiVersion: dest.ref.apiVersion,
    kind: dest.ref.kind,
    namespace: dest.ref.namespace ?? namespace,
    name: dest.ref.name,
  };
}

/** Marks a condition from a failed topic-settings or delivery parse. */
function markDeliveryParse(set: ConditionSet, result: DeliveryResult | undefined, owner: string): void {
  if (!result) return;
  if (!result.ok && result.field !== 'deadLetterSink')
    set.markFalse('ConfigParsed', 'InvalidDelivery', `${owner}spec.delivery.${result.message}`);
}

function markDeadLetterSink(
  set: ConditionSet,
  result: DeliveryResult | undefined,
  what: string,
): string | undefined {
  if (result && !result.ok && result.field === 'deadLetterSink') {
    set.markFalse(
      'DeadLetterSinkResolved',
      'DeadLetterSinkResolveFailed',
      `failed to resolve ${what}: ${result.message}`,
    );
    return undefined;
  }
  const dls = result?.ok ? result.delivery.deadLetterSink : undefined;
  if (dls) set.markTrue('DeadLetterSinkResolved');
  else
    set.markTrue(
      'DeadLetterSinkResolved',
      'DeadLetterSinkNotConfigured',
      'No dead letter sink is configured.',
    );
  return dls;
}

/**
 * Computes the data-plane contract and the status of every Broker, Trigger, channel and Subscription.
 * A resource that is not Ready contributes no route; everything else is still computed.
 */
export function computeContract(
  resources: readonly ContractInput[],
  options: ComputeContractOptions,
): ComputedContract {
  const brokerBase = baseUrlOption('brokerIngressUrl', options.brokerIngressUrl);
  const channelBase = options.channelIngressUrl
    ? baseUrlOption('channelIngressUrl', options.channelIngressUrl)
    : `${brokerBase}/channels`;
  const defaultPartitions = positiveIntOption(
    'defaultPartitions',
    options.defaultPartitions,
    DEFAULT_PARTITIONS,
  );
  const defaultMaxInFlight = positiveIntOption(
    'defaultMaxInFlight',
    options.defaultMaxInFlight,
    DEFAULT_MAX_IN_FLIGHT,
  );
  const deliveryDefaults: DeliveryDefaults = {
    delivery: options.defaultDelivery ?? DEFAULT_RESOLVED_DELIVERY,
    backoffDelayMs: options.defaultBackoffDelayMs ?? DEFAULT_BACKOFF_DELAY_MS,
    ...(options.defaultTimeoutMs !== undefined ? { timeoutMs: options.defaultTimeoutMs } : {}),
  };
  const previous = options.previous;
  const statuses = new Map<string, ResourceStatus>();

  const brokers = collect<Broker>(resources, 'eventing.knative.dev', 'Broker');
  const triggers = collect<Trigger>(resources, 'eventing.knative.dev', 'Trigger');
  const subscriptions = collect<Subscription>(resources, 'messaging.knative.dev', 'Subscription');
  const services = new Set(
    collect(resources, 'serving.knative.dev', 'Service').map((s) => namespacedKey(s.namespace, s.name)),
  );
  const configMaps = configMapData(resources);

  // Phase 1: what every Broker and channel would be, without resolving anything (so refs between them
  // never depend on the order of evaluation).
  const brokerStates = new Map<string, BrokerState>();
  for (const entry of brokers) {
    const b = entry.resource;
    let base: TopicSettingsResult = { ok: true, settings: { partitions: defaultPartitions } };
    const config = b.spec?.config;
    if (config && config.kind === 'ConfigMap' && groupOf(config.apiVersion) === '') {
      const cmNs = config.namespace ?? entry.namespace;
      const data = configMaps.get(namespacedKey(cmNs, config.name));
      // A ConfigMap Eddy was not given leaves the defaults: most Knative manifests point at a
      // cluster-wide one (knative-eventing/kafka-broker-config) that only carries Kafka connection settings.
      if (data) base = topicSettingsFromConfigMap(`ConfigMap ${cmNs}/${config.name}`, data, base.settings);
    }
    const settings = base.ok ? topicSettingsFromAnnotations(b.metadata.annotations, base.settings) : base;
    brokerStates.set(namespacedKey(entry.namespace, entry.name), {
      entry,
      topic: brokerTopic(entry.namespace, entry.name),
      settings,
    });
  }
  const brokerClaims: Claim<BrokerState>[] = [...brokerStates.values()].map((s) => ({
    name: s.topic,
    owner: s,
    incumbent: !!previous?.brokers.some(
      (p) => p.topic === s.topic && p.namespace === s.entry.namespace && p.name === s.entry.name,
    ),
  }));
  for (const [loser, winner] of settleClaims(brokerClaims).losers)
    loser.conflict = `topic ${show(loser.topic)} is already used by Broker ${winner.entry.namespace}/${winner.entry.name}; rename one of them`;

  const channelStates: ChannelState[] = [];
  for (const kind of CHANNEL_KINDS) {
    for (const entry of collect<Channel | InMemoryChannel | KafkaChannel>(
      resources,
      'messaging.knative.dev',
      kind,
    )) {
      const annotations = entry.resource.metadata.annotations;
      const fallback: TopicSettings = { partitions: defaultPartitions };
      let backingKind: string = kind;
      let settings: TopicSettingsResult;
      if (kind === 'KafkaChannel') {
        settings = topicSettingsFromKafkaChannelSpec('spec', (entry.resource as KafkaChannel).spec, {
          partitions: 1,
          retention: KAFKA_CHANNEL_DEFAULT_RETENTION,
        });
      } else if (kind === 'Channel') {
        const template = (entry.resource as Channel).spec?.channelTemplate;
        backingKind = template?.kind ?? 'InMemoryChannel';
        if (template && groupOf(template.apiVersion) !== 'messaging.knative.dev')
          backingKind = `${template.kind} (${template.apiVersion})`;
        if (backingKind === 'KafkaChannel')
          settings = topicSettingsFromKafkaChannelSpec('spec.channelTemplate.spec', template?.spec, {
            partitions: 1,
            retention: KAFKA_CHANNEL_DEFAULT_RETENTION,
          });
        else settings = topicSettingsFromAnnotations(annotations, fallback);
      } else {
        settings = topicSettingsFromAnnotations(annotations, fallback);
      }
      channelStates.push({ kind, entry, backingKind, settings });
    }
  }
  // One path (and topic) per namespace/name across the channel kinds. A Channel loses to a concrete
  // channel of the same name: in Knative that one would be its backing channel, owned by someone else.
  const rank = (k: ChannelKind) => (k === 'Channel' ? 1 : 0);
  const orderedChannels = [...channelStates].sort(
    (a, b) => byNamespaceThenName(a.entry, b.entry) || rank(a.kind) - rank(b.kind),
  );
  const channelClaims: Claim<ChannelState>[] = orderedChannels.map((s) => ({
    name: namespacedKey(s.entry.namespace, s.entry.name),
    owner: s,
    incumbent: !!previous?.channels.some(
      (p) => p.kind === s.kind && p.namespace === s.entry.namespace && p.name === s.entry.name,
    ),
  }));
  for (const [loser, winner] of settleClaims(channelClaims).losers)
    loser.conflict = `${winner.kind} ${winner.entry.namespace}/${winner.entry.name} already has this name; a ${loser.kind} cannot share it`;

  const brokerUsable = (s: BrokerState) => s.settings.ok && !s.conflict;
  const channelUsable = (s: ChannelState) =>
    s.settings.ok && !s.conflict && SUPPORTED_BACKING.has(s.backingKind);

  const findChannel = (kind: string, namespace: string, name: string): ChannelState | undefined => {
    const same = (s: ChannelState) => s.entry.namespace === namespace && s.entry.name === name;
    return (
      channelStates.find((s) => same(s) && s.kind === kind) ??
      // A ref to the backing channel of a Channel (Knative creates it with the Channel's name).
      channelStates.find((s) => same(s) && s.kind === 'Channel' && s.backingKind === kind)
    );
  };

  const lookup = (ref: KReference, namespace: string): AddressLookup => {
    const group = groupOf(ref.apiVersion);
    const ns = ref.namespace ?? namespace;
    if (group === 'eventing.knative.dev' && ref.kind === 'Broker') {
      const s = brokerStates.get(namespacedKey(ns, ref.name));
      if (!s) return { why: `Broker ${show(ref.name)} does not exist in namespace ${show(ns)}` };
      if (!brokerUsable(s)) return { why: 'the Broker is not ready' };
      return { url: `${brokerBase}${ingressPath(ns, ref.name)}` };
    }
    if (group === 'messaging.knative.dev' && (CHANNEL_KINDS as readonly string[]).includes(ref.kind)) {
      const s = findChannel(ref.kind, ns, ref.name);
      if (!s) return { why: `${ref.kind} ${show(ref.name)} does not exist in namespace ${show(ns)}` };
      if (!channelUsable(s)) return { why: `the ${s.kind} is not ready` };
      return { url: `${channelBase}${ingressPath(ns, ref.name)}` };
    }
    if (group === 'serving.knative.dev' && ref.kind === 'Service') {
      if (!services.has(namespacedKey(ns, ref.name)))
        return { why: `Service ${show(ref.name)} does not exist in namespace ${show(ns)}` };
      if (!options.serviceUrl)
        return { why: 'Services are not served by this control plane (no serviceUrl)' };
      const url = options.serviceUrl(ns, ref.name);
      return url ? { url } : { why: 'the Service has no URL yet' };
    }
    if (options.resolver) {
      const url = options.resolver.resolve(ref, namespace);
      if (url !== undefined) return { url };
      return { why: options.resolver.describeFailure?.(ref, namespace) ?? 'not found or not addressable' };
    }
    return { why: `${ref.kind} (${ref.apiVersion}) is not an addressable kind Eddy knows` };
  };
  const resolver = resolverFromLookup(lookup);

  // Phase 2: Brokers.
  const brokerRoutes: BrokerRoute[] = [];
  for (const s of brokerStates.values()) {
    const { entry } = s;
    const set = new ConditionSet(['ConfigParsed', 'TopicReady', 'DeadLetterSinkResolved', 'Addressable']);
    if (s.settings.ok) set.markTrue('ConfigParsed');
    else set.markFalse('ConfigParsed', s.settings.reason, s.settings.message);
    s.delivery = resolveDelivery(entry.resource.spec?.delivery, entry.namespace, resolver, deliveryDefaults);
    markDeliveryParse(set, s.delivery, '');
    if (s.conflict) set.markFalse('TopicReady', 'TopicNameConflict', s.conflict);
    else set.markTrue('TopicReady');
    const dls = markDeadLetterSink(set, s.delivery, 'spec.delivery.deadLetterSink');
    const url = `${brokerBase}${ingressPath(entry.namespace, entry.name)}`;
    set.markTrue('Addressable');
    const status: ResourceStatus = { observedGeneration: entry.generation, conditions: [] };
    if (set.ready && s.settings.ok) {
      status.address = { url };
      brokerRoutes.push({
        namespace: entry.namespace,
        name: entry.name,
        path: ingressPath(entry.namespace, entry.name),
        topic: s.topic,
        partitions: s.settings.settings.partitions,
        ...topicRouteFields(s.settings.settings),
      });
    }
    if (dls) status.deadLetterSinkUri = dls;
    status.conditions = set.conditions();
    s.ready = status.conditions.find((c) => c.type === 'Ready');
    statuses.set(resourceKey('Broker', entry.namespace, entry.name), status);
  }

  // Phase 2: channels.
  const channelRoutes: ChannelRoute[] = [];
  for (const s of orderedChannels) {
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
    s.delivery = resolveDelivery(entry.resource.spec?.delivery, entry.namespace, resolver, deliveryDefaults);
    markDeliveryParse(set, s.delivery, '');
    if (s.conflict) set.markFalse('TopicReady', 'ChannelNameConflict', s.conflict);
    else set.markTrue('TopicReady');
    const dls = markDeadLetterSink(set, s.delivery, 'spec.delivery.deadLetterSink');
    set.markTrue('Addressable');
    const status: ResourceStatus = { observedGeneration: entry.generation, conditions: [] };
    if (set.ready && s.settings.ok) {
      status.address = { url: `${channelBase}${ingressPath(entry.namespace, entry.name)}` };
      channelRoutes.push({
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

  // Phase 3: Triggers and Subscriptions. Routes are settled together so consumer-group clashes are found.
  interface Pending {
    kind: 'Trigger' | 'Subscription';
    entry: Entry<Trigger | Subscription>;
    set: ConditionSet;
    status: ResourceStatus;
    route?: DispatchRoute;
    /** Condition that reports a consumer-group clash. */
    groupCondition: string;
  }
  const pending: Pending[] = [];

  for (const entry of triggers) {
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
    const broker = brokerStates.get(namespacedKey(brokerNs, brokerName));
    if (!broker)
      set.markFalse('BrokerReady', 'BrokerDoesNotExist', `Broker ${show(brokerName)} does not exist`);
    else set.propagate('BrokerReady', broker.ready, 'BrokerNotReady');

    const annotations = consumerAnnotations(t.metadata.annotations, {
      ordering: 'unordered',
      maxInFlight: defaultMaxInFlight,
    });
    const badFilter = filterProblems(t.spec, entry.namespace, entry.name);
    if (badFilter) set.markFalse('ConfigParsed', 'InvalidFilter', badFilter);
    else if (annotations.ok) set.markTrue('ConfigParsed');
    else set.markFalse('ConfigParsed', 'InvalidAnnotation', annotations.message);

    const subscriber = resolveDestination(t.spec.subscriber, entry.namespace, resolver);
    if (subscriber.ok) {
      set.markTrue('SubscriberResolved');
      status.subscriberUri = subscriber.url;
    } else
      set.markFalse(
        'SubscriberResolved',
        'SubscriberResolveFailed',
        `failed to resolve spec.subscriber: ${subscriber.message}`,
      );

    // The Trigger's delivery replaces the Broker's as a whole, never field by field.
    const own = t.spec.delivery !== undefined;
    const delivery = own
      ? resolveDelivery(t.spec.delivery, entry.namespace, resolver, deliveryDefaults)
      : (broker?.delivery ?? resolveDelivery(undefined, entry.namespace, resolver, deliveryDefaults));
    if (own) markDeliveryParse(set, delivery, '');
    const dls = markDeadLetterSink(
      set,
      delivery,
      own ? 'spec.delivery.deadLetterSink' : `the Broker's spec.delivery.deadLetterSink`,
    );
    if (dls) status.deadLetterSinkUri = dls;

    const item: Pending = { kind: 'Trigger', entry, set, status, groupCondition: 'SubscriptionReady' };
    if (broker && subscriber.ok && annotations.ok && !badFilter && delivery.ok) {
      item.route = {
        kind: 'Trigger',
        namespace: entry.namespace,
        name: entry.name,
        id: triggerRouteId(entry.namespace, entry.name),
        topic: broker.topic,
        group: triggerGroup(entry.namespace, entry.name),
        ...(filterOf(t.spec) ? { filter: filterOf(t.spec) } : {}),
        subscriber: subscriber.url,
        ...(subscriberRefOf(t.spec.subscriber, entry.namespace)
          ? { subscriberRef: subscriberRefOf(t.spec.subscriber, entry.namespace) }
          : {}),
        reply: { kind: 'topic', topic: broker.topic },
        delivery: delivery.delivery,
        ordering: annotations.ordering,
        maxInFlight: annotations.maxInFlight,
        startFrom: annotations.startFrom,
      };
    }
    pending.push(item);
  }

  for (const entry of subscriptions) {
    const sub = entry.resource;
    const set = new ConditionSet(['ReferencesResolved', 'ChannelReady', 'ConfigParsed', 'AddedToChannel']);
    const status: ResourceStatus = { observedGeneration: entry.generation, conditions: [] };
    const physical: NonNullable<ResourceStatus['physicalSubscription']> = {};
    const ref = sub.spec.channel;
    const channelNs = ref.namespace ?? entry.namespace;
    const isChannelKind =
      groupOf(ref.apiVersion) === 'messaging.knative.dev' &&
      (CHANNEL_KINDS as readonly string[]).includes(ref.kind);
    const channel = isChannelKind ? findChannel(ref.kind, channelNs, ref.name) : undefined;
    const failures: [string, string][] = [];
    if (!channel)
      failures.push([
        'ChannelReferenceFailed',
        `failed to get spec.channel: ${
          isChannelKind
            ? `${ref.kind} ${show(ref.name)} does not exist in namespace ${show(channelNs)}`
            : `${describeRef(ref, entry.namespace)} is not a channel kind Eddy runs (Channel, InMemoryChannel, KafkaChannel)`
        }`,
      ]);
    if (channel) set.propagate('ChannelReady', channel.ready, 'ChannelNotReady');
    else set.markUnknown('ChannelReady', 'ChannelNotFound', 'the channel does not exist');

    const subscriber = resolveDestination(sub.spec.subscriber, entry.namespace, resolver);
    if (subscriber.ok) physical.subscriberUri = subscriber.url;
    else
      failures.push(['SubscriberResolveFailed', `failed to resolve spec.subscriber: ${subscriber.message}`]);

    let reply: ReplyTarget = { kind: 'drop' };
    if (sub.spec.reply) {
      const r = resolveDestination(sub.spec.reply, entry.namespace, resolver);
      if (r.ok) {
        physical.replyUri = r.url;
        reply = { kind: 'url', url: r.url };
      } else failures.push(['ReplyResolveFailed', `failed to resolve spec.reply: ${r.message}`]);
    }

    const own = sub.spec.delivery !== undefined;
    const delivery = own
      ? resolveDelivery(sub.spec.delivery, entry.namespace, resolver, deliveryDefaults)
      : (channel?.delivery ?? resolveDelivery(undefined, entry.namespace, resolver, deliveryDefaults));
    if (!delivery.ok && delivery.field === 'deadLetterSink')
      failures.push([
        'DeadLetterSinkResolveFailed',
        `failed to resolve ${own ? 'spec.delivery.deadLetterSink' : `the channel's spec.delivery.deadLetterSink`}: ${delivery.message}`,
      ]);
    else if (delivery.ok && delivery.delivery.deadLetterSink)
      physical.deadLetterSinkUri = delivery.delivery.deadLetterSink;

    const [first] = failures;
    if (first) set.markFalse('ReferencesResolved', first[0], failures.map((f) => f[1]).join('; '));
    else set.markTrue('ReferencesResolved');

    const kafkaBacked = channel?.backingKind === 'KafkaChannel';
    const annotations = consumerAnnotations(sub.metadata.annotations, {
      // The Kafka channel delivers a subscription in order; the in-memory channel does not.
      ordering: kafkaBacked ? 'ordered' : 'unordered',
      maxInFlight: defaultMaxInFlight,
    });
    if (annotations.ok) set.markTrue('ConfigParsed');
    else set.markFalse('ConfigParsed', 'InvalidAnnotation', annotations.message);
    if (own) markDeliveryParse(set, delivery, '');
    if (Object.keys(physical).length > 0) status.physicalSubscription = physical;

    const item: Pending = { kind: 'Subscription', entry, set, status, groupCondition: 'AddedToChannel' };
    if (channel && !first && subscriber.ok && annotations.ok && delivery.ok) {
      item.route = {
        kind: 'Subscription',
        namespace: entry.namespace,
        name: entry.name,
        id: subscriptionRouteId(entry.namespace, entry.name),
        topic: channelTopic(channel.entry.namespace, channel.entry.name),
        group: subscriptionGroup(entry.namespace, entry.name),
        subscriber: subscriber.url,
        ...(subscriberRefOf(sub.spec.subscriber, entry.namespace)
          ? { subscriberRef: subscriberRefOf(sub.spec.subscriber, entry.namespace) }
          : {}),
        reply,
        delivery: delivery.delivery,
        ordering: annotations.ordering,
        maxInFlight: annotations.maxInFlight,
        startFrom: annotations.startFrom,
      };
    }
    pending.push(item);
  }

  const groupClaims: Claim<Pending>[] = pending
    .filter((p) => p.route)
    .map((p) => ({
      name: p.route!.group,
      owner: p,
      incumbent: !!previous?.routes.some(
        (r) =>
          r.group === p.route!.group &&
          r.kind === p.kind &&
          r.namespace === p.entry.namespace &&
          r.name === p.entry.name,
      ),
    }));
  const groupLosers = settleClaims(groupClaims).losers;
  const routes: DispatchRoute[] = [];
  for (const p of pending) {
    const winner = groupLosers.get(p);
    if (winner)
      p.set.markFalse(
        p.groupCondition,
        'ConsumerGroupConflict',
        `consumer group ${show(p.route!.group)} is already used by ${winner.kind} ${winner.entry.namespace}/${winner.entry.name}; rename one of them`,
      );
    else p.set.markTrue(p.groupCondition);
    if (p.route && p.set.ready) routes.push(p.route);
    p.status.conditions = p.set.conditions();
    statuses.set(resourceKey(p.kind, p.entry.namespace, p.entry.name), p.status);
  }

  const kindRank = (k: DispatchRoute['kind']) => (k === 'Trigger' ? 0 : 1);
  routes.sort((a, b) => kindRank(a.kind) - kindRank(b.kind) || byNamespaceThenName(a, b));
  brokerRoutes.sort(byNamespaceThenName);
  channelRoutes.sort((a, b) => byNamespaceThenName(a, b) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));

  const content = { brokers: brokerRoutes, channels: channelRoutes, routes };
  let generation = 1;
  if (previous) {
    const same = sameContractContent(previous, { generation: previous.generation, ...content });
    generation = same ? previous.generation : previous.generation + 1;
  }
  return { contract: { generation, ...content }, statuses };
}

const SUPPORTED_BACKING = new Set<string>(['InMemoryChannel', 'KafkaChannel']);
