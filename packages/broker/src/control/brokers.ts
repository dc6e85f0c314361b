// Brokers: each one's topic and topic settings (phase 1, before anything resolves), then its status and
// BrokerRoute (phase 2, once Destinations can resolve).

import {
  type AddressResolver,
  BROKER_TTL_ANNOTATION,
  type Broker,
  type BrokerRoute,
  brokerTopic,
  type Condition,
  ConditionSet,
  type ContractInput,
  groupOf,
  ingressPath,
  namespacedKey,
  parseBrokerTtlAnnotation,
  type ResourceEntry,
  type ResourceStatus,
  resourceKey,
} from '@eddy/api';
import { type DeliveryResult, markDeadLetterSink, markDeliveryParse, resolveDelivery } from './delivery.js';
import { addressAudience } from './ingress-audience.js';
import { type Claim, settleClaims } from './name-claims.js';
import { type Settings, show, ttlField } from './options.js';
import { ingressAddressFields } from './tls-addresses.js';
import {
  type TopicSettingsResult,
  topicRouteFields,
  topicSettingsFromAnnotations,
  topicSettingsFromConfigMap,
} from './topic-settings.js';

export interface BrokerState {
  entry: ResourceEntry<Broker>;
  topic: string;
  settings: TopicSettingsResult;
  /** Reply hop limit: `eddy.dev/broker-ttl`, else the default. */
  ttl: number;
  /** Why the Broker cannot have its topic (another Broker holds it). */
  conflict?: string;
  /** Set in phase 2; a Trigger without its own delivery uses it. */
  delivery?: DeliveryResult;
  /** Set in phase 2; a Trigger propagates it. */
  ready?: Condition;
}

/** Usable as a Destination: its settings parsed and it has its topic. */
export const brokerUsable = (s: BrokerState) => s.settings.ok && !s.conflict;

/** The `data` of every v1 ConfigMap, by namespace/name (a Broker's `spec.config` may name one). */
export function configMapData(resources: readonly ContractInput[]): Map<string, Record<string, unknown>> {
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

/**
 * Phase 1: what every Broker would be, without resolving anything (so refs between Brokers and channels
 * never depend on the order of evaluation). Keyed by namespace/name; a Broker whose topic another one
 * holds gets `conflict`.
 */
export function planBrokers(
  brokers: readonly ResourceEntry<Broker>[],
  configMaps: Map<string, Record<string, unknown>>,
  settings: Settings,
): Map<string, BrokerState> {
  const states = new Map<string, BrokerState>();
  for (const entry of brokers) {
    const b = entry.resource;
    let base: TopicSettingsResult = { ok: true, settings: { partitions: settings.defaultPartitions } };
    const config = b.spec?.config;
    if (config && config.kind === 'ConfigMap' && groupOf(config.apiVersion) === '') {
      const cmNs = config.namespace ?? entry.namespace;
      const data = configMaps.get(namespacedKey(cmNs, config.name));
      // A ConfigMap Eddy was not given leaves the defaults: most Knative manifests point at a
      // cluster-wide one (knative-eventing/kafka-broker-config) that only carries Kafka connection settings.
      if (data) base = topicSettingsFromConfigMap(`ConfigMap ${cmNs}/${config.name}`, data, base.settings);
    }
    let topicSettings = base.ok ? topicSettingsFromAnnotations(b.metadata.annotations, base.settings) : base;
    let ttl = settings.brokerTtl;
    const ttlText = b.metadata.annotations?.[BROKER_TTL_ANNOTATION];
    if (ttlText !== undefined) {
      const parsed = parseBrokerTtlAnnotation(ttlText);
      if (parsed.ok) ttl = parsed.value;
      else if (topicSettings.ok)
        topicSettings = {
          ok: false,
          reason: 'InvalidAnnotation',
          message: `metadata.annotations["${BROKER_TTL_ANNOTATION}"]: ${parsed.message}`,
        };
    }
    states.set(namespacedKey(entry.namespace, entry.name), {
      entry,
      topic: brokerTopic(entry.namespace, entry.name),
      settings: topicSettings,
      ttl,
    });
  }
  const previous = settings.previous;
  const claims: Claim<BrokerState>[] = [...states.values()].map((s) => ({
    name: s.topic,
    owner: s,
    incumbent: !!previous?.brokers.some(
      (p) => p.topic === s.topic && p.namespace === s.entry.namespace && p.name === s.entry.name,
    ),
  }));
  for (const [loser, winner] of settleClaims(claims).losers)
    loser.conflict = `topic ${show(loser.topic)} is already used by Broker ${winner.entry.namespace}/${winner.entry.name}; rename one of them`;
  return states;
}

/** Phase 2: every Broker's status (into `statuses`) and the routes of the Ready ones. */
export function reconcileBrokers(
  states: Map<string, BrokerState>,
  resolver: AddressResolver,
  settings: Settings,
  statuses: Map<string, ResourceStatus>,
): BrokerRoute[] {
  const routes: BrokerRoute[] = [];
  for (const s of states.values()) {
    const { entry } = s;
    const set = new ConditionSet(['ConfigParsed', 'TopicReady', 'DeadLetterSinkResolved', 'Addressable']);
    if (s.settings.ok) set.markTrue('ConfigParsed');
    else set.markFalse('ConfigParsed', s.settings.reason, s.settings.message);
    s.delivery = resolveDelivery(entry.resource.spec?.delivery, entry.namespace, resolver, settings.delivery);
    markDeliveryParse(set, s.delivery, '');
    if (s.conflict) set.markFalse('TopicReady', 'TopicNameConflict', s.conflict);
    else set.markTrue('TopicReady');
    const dls = markDeadLetterSink(set, s.delivery, 'spec.delivery.deadLetterSink');
    const url = `${settings.brokerBase}${ingressPath(entry.namespace, entry.name)}`;
    set.markTrue('Addressable');
    const status: ResourceStatus = { observedGeneration: entry.generation, conditions: [] };
    if (set.ready && s.settings.ok) {
      Object.assign(
        status,
        ingressAddressFields(settings, url, addressAudience(settings, 'Broker', entry.namespace, entry.name)),
      );
      routes.push({
        namespace: entry.namespace,
        name: entry.name,
        path: ingressPath(entry.namespace, entry.name),
        topic: s.topic,
        partitions: s.settings.settings.partitions,
        ...topicRouteFields(s.settings.settings),
        ...ttlField(s.ttl),
      });
    }
    if (dls) status.deadLetterSinkUri = dls;
    status.conditions = set.conditions();
    s.ready = status.conditions.find((c) => c.type === 'Ready');
    statuses.set(resourceKey('Broker', entry.namespace, entry.name), status);
  }
  return routes;
}
