// KafkaSinks: each one whose auth resolves becomes a contract route (the ingress produces what is
// POSTed to it into its topic) and gets a Knative-like status. Whether the topic exists on the sink's
// cluster is runtime knowledge: the caller passes it in (`kafkaSinkTopics`, as Knative's sink
// reconciler learns it by creating the topic), so this stays a pure function.
//   ConfigMapUpdated  the sink is in the contract (Knative: written to the data plane's ConfigMap)
//   TopicReady        its topic exists on spec.bootstrapServers: created when missing if the sink sets
//                     numPartitions and replicationFactor, else it must exist (managed outside), as
//                     Knative's sink reconciler has it
//   Addressable       status.address.url is set
// The route is in the contract even while the topic is not ready: the ingress then answers 503 with
// the reason (a sender retries), rather than 404 for a sink that exists.

import {
  ConditionSet,
  ingressPath,
  KAFKA_SINK_PATH_PREFIX,
  type KafkaSink,
  type KafkaSinkRoute,
  type ResourceEntry,
  type ResourceStatus,
  resourceKey,
  type ValueLookupOptions,
} from '@eddy/api';
import { addressAudience } from './ingress-audience.js';
import { kafkaSinkAuth } from './kafka-sink-auth.js';
import { type Settings, show } from './options.js';
import { ingressAddressFields } from './tls-addresses.js';

/** What the caller knows of a sink's topic: undefined = not checked yet. */
export interface KafkaSinkTopicState {
  ready: boolean;
  /** When not ready: FailedToCreateTopic, TopicNotPresent (an outside topic is missing) or FailedToCheckTopic. */
  reason?: string;
  /** Why not, when not ready (e.g. the cluster cannot be reached). */
  message?: string;
}

export type KafkaSinkTopicStatus = (route: KafkaSinkRoute) => KafkaSinkTopicState | undefined;

/** The URL a KafkaSink is reached at on the broker ingress. */
export function kafkaSinkUrl(brokerBase: string, namespace: string, name: string): string {
  return `${brokerBase}${KAFKA_SINK_PATH_PREFIX}${ingressPath(namespace, name)}`;
}

/** The route of one sink, or why it has none. */
function routeOf(
  entry: ResourceEntry<KafkaSink>,
  values: ValueLookupOptions,
): { ok: true; route: KafkaSinkRoute } | { ok: false; reason: string; message: string } {
  const { spec } = entry.resource;
  const auth = kafkaSinkAuth(entry.namespace, spec.auth?.secret?.ref?.name, values);
  if (!auth.ok) return auth;
  return {
    ok: true,
    route: {
      namespace: entry.namespace,
      name: entry.name,
      path: ingressPath(entry.namespace, entry.name),
      topic: spec.topic,
      // Knative accepts comma-separated servers within one entry too.
      bootstrapServers: spec.bootstrapServers.flatMap((s) => s.split(',')).map((s) => s.trim()),
      contentMode: spec.contentMode ?? 'binary',
      ...(spec.numPartitions !== undefined && spec.replicationFactor !== undefined
        ? { createTopic: { partitions: spec.numPartitions, replicationFactor: spec.replicationFactor } }
        : {}),
      security: auth.security,
    },
  };
}

/** Every KafkaSink's status (into `statuses`) and the routes of those whose auth resolved. */
export function reconcileKafkaSinks(
  entries: readonly ResourceEntry<KafkaSink>[],
  settings: Settings,
  values: ValueLookupOptions,
  topicStatus: KafkaSinkTopicStatus | undefined,
  statuses: Map<string, ResourceStatus>,
): KafkaSinkRoute[] {
  const routes: KafkaSinkRoute[] = [];
  for (const entry of entries) {
    const set = new ConditionSet(['ConfigMapUpdated', 'TopicReady', 'Addressable']);
    const status: ResourceStatus = { observedGeneration: entry.generation, conditions: [] };
    const planned = routeOf(entry, values);
    if (!planned.ok) {
      set.markFalse('ConfigMapUpdated', planned.reason, planned.message);
      set.markUnknown('TopicReady', planned.reason, 'the sink is not running');
      set.markFalse('Addressable', planned.reason, 'the sink is not running');
    } else {
      const { route } = planned;
      routes.push(route);
      set.markTrue('ConfigMapUpdated');
      const topic = topicStatus?.(route);
      const cluster = `topic ${show(route.topic)} on ${route.bootstrapServers.join(',')}`;
      if (topic === undefined) set.markUnknown('TopicReady', 'TopicNotChecked', `${cluster} not checked yet`);
      else if (topic.ready) set.markTrue('TopicReady');
      else
        set.markFalse(
          'TopicReady',
          topic.reason ?? 'TopicNotReady',
          topic.message ?? `${cluster} is not ready`,
        );
      set.markTrue('Addressable');
      Object.assign(
        status,
        ingressAddressFields(
          settings,
          kafkaSinkUrl(settings.brokerBase, entry.namespace, entry.name),
          addressAudience(settings, 'KafkaSink', entry.namespace, entry.name),
        ),
      );
    }
    status.conditions = set.conditions();
    statuses.set(resourceKey('KafkaSink', entry.namespace, entry.name), status);
  }
  return routes;
}
