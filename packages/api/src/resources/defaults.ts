/**
 * Knative defaulting (each resource's SetDefaults), applied after schema validation and before the
 * semantic rules, as Knative's webhook does. Every default Eddy applies is listed here and in
 * packages/api/README.md.
 */
import type { DeliverySpec, Destination } from './schemas/common.js';
import type { Broker, Trigger } from './schemas/eventing.js';
import type { Channel, InMemoryChannel, KafkaChannel, Subscription } from './schemas/messaging.js';
import type { RevisionSpec, TrafficTarget } from './schemas/serving.js';
import type {
  ApiServerSource,
  ContainerSource,
  GitHubSource,
  KafkaSource,
  PingSource,
  PubSubSource,
  SinkBinding,
  SqsSource,
} from './schemas/sources.js';

/** kubectl's namespace when a manifest names none. */
export const DEFAULT_NAMESPACE = 'default';
export const BROKER_CLASS_ANNOTATION = 'eventing.knative.dev/broker.class';
/** Knative's config-br-defaults ships MTChannelBasedBroker as the cluster default class. */
export const DEFAULT_BROKER_CLASS = 'MTChannelBasedBroker';
/** Knative's config-br-defaults cluster default delivery, applied to a Broker without spec.delivery. */
export const DEFAULT_BROKER_DELIVERY: Readonly<DeliverySpec> = Object.freeze({
  retry: 10,
  backoffPolicy: 'exponential',
  backoffDelay: 'PT0.2S',
});
/** Knative's default-ch-webhook config: a Channel without channelTemplate is an InMemoryChannel. */
export const DEFAULT_CHANNEL_TEMPLATE = Object.freeze({
  apiVersion: 'messaging.knative.dev/v1',
  kind: 'InMemoryChannel',
});
/** PingSource SetDefaults: every minute. */
export const DEFAULT_PING_SCHEDULE = '* * * * *';
/** Knative Serving config-defaults. */
export const DEFAULT_REVISION_TIMEOUT_SECONDS = 300;
export const MAX_REVISION_TIMEOUT_SECONDS = 600;
export const DEFAULT_CONTAINER_CONCURRENCY = 0;
export const CONTAINER_CONCURRENCY_MAX = 1000;
export const DEFAULT_USER_CONTAINER_NAME = 'user-container';
/** eventing-kafka-broker KafkaChannel defaults. */
export const DEFAULT_KAFKA_CHANNEL = Object.freeze({
  numPartitions: 1,
  replicationFactor: 1,
  retentionDuration: 'PT168H',
});

// biome-ignore lint/suspicious/noExplicitAny: defaulting walks resources of every kind.
type AnyResource = any;

function defaultMetadata(r: AnyResource): string {
  r.metadata ??= {};
  r.metadata.namespace ??= DEFAULT_NAMESPACE;
  return r.metadata.namespace as string;
}

/** Destination.SetDefaults: a ref without namespace points into the parent's namespace. */
function defaultDestination(d: Destination | undefined, namespace: string): void {
  if (d?.ref && !d.ref.namespace) d.ref.namespace = namespace;
}

/**
 * DeliverySpec: the dead-letter sink ref gets the parent namespace. Eddy also sets backoffPolicy to
 * `exponential` when only backoffDelay is given: the Kafka broker's dispatcher treats an unset policy as
 * exponential (the channel-based dispatcher would not back off at all; Eddy follows the Kafka broker).
 */
function defaultDelivery(d: DeliverySpec | undefined, namespace: string): void {
  if (!d) return;
  defaultDestination(d.deadLetterSink, namespace);
  if (d.backoffDelay !== undefined && d.backoffPolicy === undefined) d.backoffPolicy = 'exponential';
}

function defaultBroker(b: Broker, ns: string): void {
  b.metadata.annotations ??= {};
  b.metadata.annotations[BROKER_CLASS_ANNOTATION] ??= DEFAULT_BROKER_CLASS;
  b.spec ??= {};
  if (b.spec.config && !b.spec.config.namespace) b.spec.config.namespace = ns;
  b.spec.delivery ??= { ...DEFAULT_BROKER_DELIVERY };
  defaultDelivery(b.spec.delivery, ns);
}

/**
 * Trigger: `filter` becomes `{}` when absent and the `eventing.knative.dev/broker` label names the broker.
 * Knative v1 does not default `spec.broker` (it is required), and neither does Eddy.
 */
function defaultTrigger(t: Trigger, ns: string): void {
  t.spec.filter ??= {};
  if (t.spec.broker) {
    t.metadata.labels ??= {};
    t.metadata.labels['eventing.knative.dev/broker'] = t.spec.broker;
  }
  defaultDestination(t.spec.subscriber, ns);
  defaultDelivery(t.spec.delivery, ns);
}

function defaultChannel(c: Channel, ns: string): void {
  c.metadata.annotations ??= {};
  c.metadata.annotations['messaging.knative.dev/subscribable'] ??= 'v1';
  c.spec ??= {};
  c.spec.channelTemplate ??= { ...DEFAULT_CHANNEL_TEMPLATE };
  defaultDelivery(c.spec.delivery, ns);
}

function defaultInMemoryChannel(c: InMemoryChannel, ns: string): void {
  c.metadata.annotations ??= {};
  c.metadata.annotations['messaging.knative.dev/subscribable'] ??= 'v1';
  c.spec ??= {};
  defaultDelivery(c.spec.delivery, ns);
}

/** KafkaChannel: 0 or absent numbers mean "default", as in the Go types. */
function defaultKafkaChannel(c: KafkaChannel, ns: string): void {
  c.metadata.annotations ??= {};
  c.metadata.annotations['messaging.knative.dev/subscribable'] ??= 'v1';
  c.spec ??= {};
  if (!c.spec.numPartitions) c.spec.numPartitions = DEFAULT_KAFKA_CHANNEL.numPartitions;
  if (!c.spec.replicationFactor) c.spec.replicationFactor = DEFAULT_KAFKA_CHANNEL.replicationFactor;
  if (!c.spec.retentionDuration) c.spec.retentionDuration = DEFAULT_KAFKA_CHANNEL.retentionDuration;
  defaultDelivery(c.spec.delivery, ns);
}

function defaultSubscription(s: Subscription, ns: string): void {
  defaultDestination(s.spec.subscriber, ns);
  defaultDestination(s.spec.reply, ns);
  defaultDelivery(s.spec.delivery, ns);
}

/**
 * PingSource: schedule `* * * * *` when empty. No time zone means UTC (Knative uses the adapter's local
 * zone, UTC in its container). contentType has no default: an event without one carries no
 * datacontenttype, as Knative's adapter does.
 */
function defaultPingSource(p: PingSource, ns: string): void {
  if (!p.spec.schedule) p.spec.schedule = DEFAULT_PING_SCHEDULE;
  defaultDestination(p.spec.sink, ns);
}

/** ContainerSource: unnamed containers are named `<source>-<index>`. */
function defaultContainerSource(c: ContainerSource, ns: string): void {
  c.spec.template.spec.containers?.forEach((container, i) => {
    container.name ||= `${c.metadata.name}-${i}`;
  });
  defaultDestination(c.spec.sink, ns);
}

/** SinkBinding: the subject lives in the binding's namespace unless it says otherwise. */
function defaultSinkBinding(s: SinkBinding, ns: string): void {
  s.spec.subject.namespace ||= ns;
  defaultDestination(s.spec.sink, ns);
}

/** ApiServerSource: mode `Reference`, service account `default`. */
function defaultApiServerSource(a: ApiServerSource, ns: string): void {
  a.spec.mode ||= 'Reference';
  a.spec.serviceAccountName ||= 'default';
  defaultDestination(a.spec.sink, ns);
}

/**
 * KafkaSource: consumers 1, initialOffset `latest`, ordering `ordered`. Knative generates a random
 * consumer group once and stores it; Eddy re-reads files, so it derives a stable one from the
 * namespace and name instead (a random group would restart from initialOffset on every load).
 */
function defaultKafkaSource(k: KafkaSource, ns: string): void {
  k.spec.consumerGroup ||= `knative-kafka-source-${ns}-${k.metadata.name}`;
  k.spec.consumers ??= 1;
  k.spec.initialOffset ||= 'latest';
  k.spec.ordering ??= 'ordered';
  defaultDestination(k.spec.sink, ns);
  defaultDelivery(k.spec.delivery, ns);
}

function defaultGitHubSource(g: GitHubSource, ns: string): void {
  defaultDestination(g.spec.sink, ns);
}

/** SqsSource (Eddy): 10 messages per receive (the SQS maximum), 20 s long polling (the SQS maximum). */
function defaultSqsSource(s: SqsSource, ns: string): void {
  s.spec.batchSize ??= 10;
  s.spec.waitTimeSeconds ??= 20;
  const region = /^sqs\.([a-z0-9-]+)\.amazonaws\.com$/.exec(safeHost(s.spec.queueUrl) ?? '');
  if (!s.spec.region && region) s.spec.region = region[1];
  defaultDestination(s.spec.sink, ns);
}

function safeHost(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** PubSubSource (Eddy): 60 s ack deadline for a created subscription, at most 100 messages in flight. */
function defaultPubSubSource(p: PubSubSource, ns: string): void {
  p.spec.ackDeadlineSeconds ??= 60;
  p.spec.flowControl ??= {};
  p.spec.flowControl.maxMessages ??= 100;
  defaultDestination(p.spec.sink, ns);
}

/**
 * RevisionSpec.SetDefaults: timeoutSeconds 300 when absent or 0, containerConcurrency 0 (unlimited),
 * a single unnamed container is `user-container`, several are `user-container-0`, `-1`, ...
 */
export function defaultRevisionSpec(spec: RevisionSpec): void {
  if (!spec.timeoutSeconds) spec.timeoutSeconds = DEFAULT_REVISION_TIMEOUT_SECONDS;
  spec.containerConcurrency ??= DEFAULT_CONTAINER_CONCURRENCY;
  const containers = spec.containers ?? [];
  const taken = new Set(containers.map((c) => c.name).filter(Boolean));
  let suffix = 0;
  for (const c of containers) {
    if (c.name) continue;
    let name = DEFAULT_USER_CONTAINER_NAME;
    if (containers.length > 1 || taken.has(name)) {
      do name = `${DEFAULT_USER_CONTAINER_NAME}-${suffix++}`;
      while (taken.has(name));
    }
    c.name = name;
    taken.add(name);
  }
}

/** TrafficTarget.SetDefaults: latestRevision = (no revisionName), percent 0. */
function defaultTraffic(traffic: TrafficTarget[] | undefined): void {
  for (const t of traffic ?? []) {
    t.latestRevision ??= !t.revisionName;
    t.percent ??= 0;
  }
}

/** Service: no traffic block means 100% to the latest ready revision. */
function defaultService(s: AnyResource): void {
  defaultRevisionSpec(s.spec.template.spec);
  if (!s.spec.traffic || s.spec.traffic.length === 0)
    s.spec.traffic = [{ percent: 100, latestRevision: true }];
  defaultTraffic(s.spec.traffic);
}

const DEFAULTERS: Record<string, (r: AnyResource, ns: string) => void> = {
  Broker: defaultBroker,
  Trigger: defaultTrigger,
  Channel: defaultChannel,
  InMemoryChannel: defaultInMemoryChannel,
  KafkaChannel: defaultKafkaChannel,
  Subscription: defaultSubscription,
  PingSource: defaultPingSource,
  ContainerSource: defaultContainerSource,
  SinkBinding: defaultSinkBinding,
  ApiServerSource: defaultApiServerSource,
  KafkaSource: defaultKafkaSource,
  GitHubSource: defaultGitHubSource,
  SqsSource: defaultSqsSource,
  PubSubSource: defaultPubSubSource,
  Service: defaultService,
  Configuration: (c) => defaultRevisionSpec(c.spec.template.spec),
  Revision: (r) => defaultRevisionSpec(r.spec),
  Route: (r) => defaultTraffic(r.spec.traffic),
};

/** Applies Knative's defaults in place to a schema-valid resource; returns its namespace. */
export function applyDefaults(resource: AnyResource): string {
  const ns = defaultMetadata(resource);
  DEFAULTERS[resource.kind as string]?.(resource, ns);
  return ns;
}
