// Names the data plane sees: topics, consumer groups and route ids. They are derived from namespace and
// name only (never from a UID), so they survive restarts, re-applies and `eddy dev` on a new data dir
// pointed at the same Kafka, and so committed offsets and lag carry over.

import { namespacedKey } from './namespaced-name.js';

/** The Kafka broker's convention (eventing-kafka-broker TopicPrefix `knative-broker-`). */
export function brokerTopic(namespace: string, name: string): string {
  return `knative-broker-${namespace}-${name}`;
}

/**
 * The KafkaChannel's convention, used for every channel kind: dots cannot occur in Kubernetes names, so
 * this one is unambiguous.
 */
export function channelTopic(namespace: string, name: string): string {
  return `knative-messaging-kafka.${namespace}.${name}`;
}

/**
 * Knative's Kafka broker names a trigger's group after its UID; Eddy has no UIDs that survive a re-read
 * of the files, so it derives a stable name instead.
 */
export function triggerGroup(namespace: string, name: string): string {
  return `knative-trigger-${namespace}-${name}`;
}

export function subscriptionGroup(namespace: string, name: string): string {
  return `knative-subscription-${namespace}-${name}`;
}

/** A Trigger's route id: `<namespace>/<name>`. */
export function triggerRouteId(namespace: string, name: string): string {
  return namespacedKey(namespace, name);
}

/**
 * A Subscription's route id: `subscriptions/<namespace>/<name>`, so a Trigger and a Subscription with the
 * same name never share an id (the dispatcher rejects duplicate ids).
 */
export function subscriptionRouteId(namespace: string, name: string): string {
  return `subscriptions/${namespace}/${name}`;
}

/** `/<namespace>/<name>`: a Broker's path on the ingress, a channel's path on the channel ingress. */
export function ingressPath(namespace: string, name: string): string {
  return `/${namespace}/${name}`;
}

/**
 * Where KafkaSinks are served on the broker ingress: `/kafkasinks/<namespace>/<name>`. Knative serves
 * them at `/<namespace>/<name>` of an ingress of their own; on Eddy's that path is a Broker's.
 */
export const KAFKA_SINK_PATH_PREFIX = '/kafkasinks';
