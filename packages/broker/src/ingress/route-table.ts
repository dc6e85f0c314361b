// Which URL path reaches which topic, and whether that topic is ready to take events.
//
// Path space (one server for brokers and channels, unambiguous by segment count, because Kubernetes
// names never contain "/"):
//   POST /<namespace>/<broker>              a Broker (BrokerRoute.path)
//   POST /channels/<namespace>/<channel>    a Channel, InMemoryChannel or KafkaChannel
//   POST /kafkasinks/<namespace>/<sink>     a KafkaSink (its topic is on the sink's own cluster)
//   GET  /healthz, GET /metrics             the server's own endpoints (one segment)
// A broker in a namespace called "channels" is still `/channels/<broker>`: two segments, not three.

import {
  type BrokerRoute,
  type ChannelRoute,
  deepEqual,
  type IngressAuth,
  ingressPath,
  KAFKA_SINK_PATH_PREFIX,
  type KafkaSinkRoute,
} from '@eddy/api';
import type { TopicSpec } from '../eventlog/event-log.js';

export const CHANNEL_PATH_PREFIX = '/channels';

export type IngressRouteKind = 'broker' | 'channel' | 'kafka-sink';

export interface IngressRoute {
  kind: IngressRouteKind;
  namespace: string;
  name: string;
  /** The URL path this route is served at. */
  path: string;
  topic: string;
  partitions: number;
  retentionMs: number | undefined;
  replicationFactor: number | undefined;
  config: Record<string, string> | undefined;
  /** A KafkaSink's cluster, security and content mode (its topic is not on the ingress' event log). */
  sink?: KafkaSinkRoute;
  /** Who may send (sender-auth.ts); absent = everyone. */
  auth?: IngressAuth;
  /** A Broker's reply hop limit (BrokerRoute.ttl); absent = 255. */
  ttl?: number;
}

/** What the route asks of its topic, as the event log's ensureTopic takes it. */
export function topicSpecOf(route: IngressRoute): TopicSpec {
  return {
    partitions: route.partitions,
    retentionMs: route.retentionMs,
    ...(route.replicationFactor !== undefined ? { replicationFactor: route.replicationFactor } : {}),
    ...(route.config !== undefined ? { config: route.config } : {}),
  };
}

/** The path a Broker's ingress is served at: `/<namespace>/<name>`. */
export function brokerIngressPath(broker: Pick<BrokerRoute, 'namespace' | 'name'>): string {
  return ingressPath(broker.namespace, broker.name);
}

/** The path a Channel's ingress is served at: `/channels/<namespace>/<name>`. */
export function channelIngressPath(channel: Pick<ChannelRoute, 'namespace' | 'name'>): string {
  return `${CHANNEL_PATH_PREFIX}${ingressPath(channel.namespace, channel.name)}`;
}

const SEGMENT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Turns the contract's routes into path -> route, checking names and that no two routes share a
 * path. Brokers are served at their BrokerRoute.path, which must be `/<namespace>/<name>`;
 * channels at `/channels` + ChannelRoute.path.
 * @throws Error naming the offending route.
 */
export function buildRouteTable(
  brokers: BrokerRoute[],
  channels: ChannelRoute[],
  kafkaSinks: KafkaSinkRoute[] = [],
): Map<string, IngressRoute> {
  const table = new Map<string, IngressRoute>();
  const add = (route: IngressRoute, declared: string) => {
    for (const [what, value] of [
      ['namespace', route.namespace],
      ['name', route.name],
    ] as const) {
      if (!SEGMENT.test(value)) {
        throw new Error(
          `ingress: ${route.kind} ${route.namespace}/${route.name}: ${what} "${value}" is not a valid Kubernetes name (lower-case letters, digits, "-" and ".")`,
        );
      }
    }
    const expected = ingressPath(route.namespace, route.name);
    if (declared !== expected) {
      throw new Error(
        `ingress: ${route.kind} ${route.namespace}/${route.name} declares path "${declared}", expected "${expected}"`,
      );
    }
    if (!route.topic) throw new Error(`ingress: ${route.kind} ${route.namespace}/${route.name} has no topic`);
    const clash = table.get(route.path);
    if (clash) {
      throw new Error(
        `ingress: ${route.kind} ${route.namespace}/${route.name} and ${clash.kind} ${clash.namespace}/${clash.name} both map to path "${route.path}"`,
      );
    }
    table.set(route.path, route);
  };
  for (const broker of brokers) {
    add(
      {
        kind: 'broker',
        namespace: broker.namespace,
        name: broker.name,
        path: brokerIngressPath(broker),
        topic: broker.topic,
        partitions: broker.partitions,
        retentionMs: broker.retentionMs,
        replicationFactor: broker.replicationFactor,
        config: broker.config,
        ...(broker.auth ? { auth: broker.auth } : {}),
        ...(broker.ttl !== undefined ? { ttl: broker.ttl } : {}),
      },
      broker.path,
    );
  }
  for (const channel of channels) {
    add(
      {
        kind: 'channel',
        namespace: channel.namespace,
        name: channel.name,
        path: channelIngressPath(channel),
        topic: channel.topic,
        partitions: channel.partitions,
        retentionMs: channel.retentionMs,
        replicationFactor: channel.replicationFactor,
        config: channel.config,
        ...(channel.auth ? { auth: channel.auth } : {}),
      },
      channel.path,
    );
  }
  for (const sink of kafkaSinks) {
    add(
      {
        kind: 'kafka-sink',
        namespace: sink.namespace,
        name: sink.name,
        path: `${KAFKA_SINK_PATH_PREFIX}${ingressPath(sink.namespace, sink.name)}`,
        topic: sink.topic,
        // A sink's topic is prepared by prepareKafkaSinkTopic, never by topicSpecOf.
        partitions: sink.createTopic?.partitions ?? 1,
        retentionMs: undefined,
        replicationFactor: sink.createTopic?.replicationFactor,
        config: undefined,
        sink,
        ...(sink.auth ? { auth: sink.auth } : {}),
      },
      sink.path,
    );
  }
  return table;
}

/** Describes a path that matches no route, saying what the caller probably meant. */
export function describeUnknownPath(path: string): string {
  const segments = path.split('/').slice(1);
  if (segments.length === 2 && segments.every((s) => s !== '')) {
    return `broker "${segments[1]}" does not exist in namespace "${segments[0]}" (no broker at ${path})`;
  }
  if (segments.length === 3 && `/${segments[0]}` === CHANNEL_PATH_PREFIX && segments.every((s) => s !== '')) {
    return `channel "${segments[2]}" does not exist in namespace "${segments[1]}" (no channel at ${path})`;
  }
  if (
    segments.length === 3 &&
    `/${segments[0]}` === KAFKA_SINK_PATH_PREFIX &&
    segments.every((s) => s !== '')
  ) {
    return `KafkaSink "${segments[2]}" does not exist in namespace "${segments[1]}" or is not running (no sink at ${path})`;
  }
  return `no broker, channel or KafkaSink at ${path}: brokers are at /<namespace>/<broker>, channels at ${CHANNEL_PATH_PREFIX}/<namespace>/<channel>, KafkaSinks at ${KAFKA_SINK_PATH_PREFIX}/<namespace>/<sink>`;
}

/** Whether two routes need the same topic setup (so readiness carries over a contract update). */
export function sameTopicSpec(a: IngressRoute, b: IngressRoute): boolean {
  return a.topic === b.topic && deepEqual(topicSpecOf(a), topicSpecOf(b)) && deepEqual(a.sink, b.sink);
}
