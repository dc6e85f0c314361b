// The data-plane contract: plain data the control plane computes from resources (Broker, Trigger,
// Channel, Subscription, ...) and the data plane runs from. Ingress, dispatchers and the
// autoscaler's backlog reader never read YAML or Kubernetes: they get this, and a new version of
// it when resources change. Everything here is resolved: URLs instead of references, milliseconds
// instead of ISO-8601 strings, defaults applied.

import type { SubscriptionsAPIFilter } from '../resources/schemas/common.js';
import type { ReplayPlan } from './replay-contract.js';

/** Where a new consumer group starts when it has no committed offset yet. */
export type StartFrom = 'earliest' | 'latest' | { timestamp: number };

export interface ResolvedDelivery {
  /** Retries after the first attempt (0 = exactly one attempt). */
  retry: number;
  backoffPolicy: 'linear' | 'exponential';
  /** Base delay: linear waits delay * n, exponential delay * 2^n before retry n (n from 1). */
  backoffDelayMs: number;
  /** Per-attempt timeout; undefined = the dispatcher's default. */
  timeoutMs?: number;
  /** Upper bound for a subscriber's Retry-After; undefined = Retry-After is not honoured. */
  retryAfterMaxMs?: number;
  /** Resolved dead-letter sink URL; undefined = drop (and count) after the last attempt. */
  deadLetterSink?: string;
  /** OIDC audience of the dead-letter sink: requests to it carry a token for it (the route's `senderSubject`). */
  deadLetterSinkAudience?: string;
  /** PEM CAs (besides the system's) that verify an https `deadLetterSink` (its Destination's `CACerts`). */
  deadLetterSinkCACerts?: string;
}

/** Trigger filtering, as written: a non-empty `filters` overrides `attributes`. */
export interface ResolvedFilter {
  attributes?: Record<string, string>;
  filters?: SubscriptionsAPIFilter[];
}

/** Where a subscriber's reply event goes. */
export type ReplyTarget =
  | { kind: 'topic'; topic: string }
  /**
   * `audience`: the reply destination's OIDC audience (a token is attached); `caCerts`: PEM CAs (besides
   * the system's) that verify an https reply URL.
   */
  | { kind: 'url'; url: string; audience?: string; caCerts?: string }
  | { kind: 'drop' };

/**
 * One consumer of a topic that delivers to one subscriber: a Trigger (filtering a broker's topic,
 * replies back into the broker) or a Subscription (a channel's topic, replies to `reply`). One
 * dispatcher implementation runs both.
 */
export interface DispatchRoute {
  kind: 'Trigger' | 'Subscription';
  namespace: string;
  name: string;
  /**
   * Stable identity used in metrics and logs: `<namespace>/<name>` for a Trigger,
   * `subscriptions/<namespace>/<name>` for a Subscription (so the two kinds never share an id).
   */
  id: string;
  topic: string;
  /** Consumer group; stable across restarts so committed offsets and lag survive. */
  group: string;
  filter?: ResolvedFilter;
  subscriber: string;
  /** The subscriber's OIDC audience (Knative's `status.subscriberAudience`): deliveries carry a token for it. */
  subscriberAudience?: string;
  /**
   * The `sub` of the tokens this route's deliveries carry: the Trigger's / Subscription's OIDC service
   * account (`system:serviceaccount:<ns>:<name>-oidc-<group>-<kind>`). Set when any audience is.
   */
  senderSubject?: string;
  /** PEM CAs (besides the system's) that verify an https `subscriber` (the Destination's `CACerts`). */
  subscriberCACerts?: string;
  /**
   * The object the subscriber URL was resolved from, when the Destination had a `ref` (namespace filled
   * in). Lets the autoscaler find the routes whose backlog belongs to a Service.
   */
  subscriberRef?: { apiVersion: string; kind: string; namespace: string; name: string };
  reply: ReplyTarget;
  delivery: ResolvedDelivery;
  ordering: 'ordered' | 'unordered';
  /** Events in flight at once for `unordered` (ordered is always one per partition). */
  maxInFlight: number;
  /** Start position for a group that never committed. */
  startFrom: StartFrom;
  /**
   * Reply hop limit: an event without `knativebrokerttl` counts as carrying this many hops, a reply carries
   * one fewer than the event it answers and is cut at 0 (README "Reply loops"). Absent = 255.
   */
  ttl?: number;
}

/** An ingress path and the topic its events are written to (a Broker's or a Channel's). */
export interface IngressTopic {
  namespace: string;
  name: string;
  /** Ingress path: `/<namespace>/<name>` (on the channel ingress for channels). */
  path: string;
  topic: string;
  partitions: number;
  retentionMs?: number;
  /** Replicas per partition when the topic is created (Kafka); undefined = the event log's default. */
  replicationFactor?: number;
  /** More Kafka topic configs by Kafka's name; the embedded log ignores them. */
  config?: Record<string, string>;
  /** Who may send; absent = authentication is off and everyone may (Knative's default). */
  auth?: IngressAuth;
}

/** Knative's `default-authorization-mode`: who may send to a target no EventPolicy applies to. */
export type AuthorizationMode = 'allow-all' | 'allow-same-namespace' | 'deny-all';

/** One EventPolicy as a target enforces it: a sender whose subject matches may send events passing the filters. */
export interface ResolvedEventPolicy {
  name: string;
  /** Token subjects as resolved; one ending in `*` matches every subject with that prefix. */
  subjects: string[];
  filters?: SubscriptionsAPIFilter[];
}

/** A target's sender check (authentication on): the audience its tokens must carry and who it allows. */
export interface IngressAuth {
  audience: string;
  /** The EventPolicies that apply; none = `defaultMode` decides. */
  policies: ResolvedEventPolicy[];
  defaultMode: AuthorizationMode;
}

/** An OIDC issuer whose tokens the ingress trusts: keys from its discovery document, or given inline. */
export interface TrustedIssuer {
  issuer: string;
  /** A JSON Web Key Set; absent = fetched from `<issuer>/.well-known/openid-configuration`'s jwks_uri. */
  jwks?: { keys: Record<string, unknown>[] };
}

/** How the ingress tells who a sender is: trusted OIDC issuers, and static bearer tokens (from Secrets). */
export interface SenderTrust {
  issuers: TrustedIssuer[];
  staticTokens?: { token: string; subject: string }[];
}

/** A Broker's ingress and its topic. */
export interface BrokerRoute extends IngressTopic {
  /** The most `knativebrokerttl` an event may carry into this Broker (README "Reply loops"). Absent = 255. */
  ttl?: number;
}

/** A Channel (InMemoryChannel, KafkaChannel, Channel) and its topic. */
export interface ChannelRoute extends IngressTopic {
  kind: 'Channel' | 'InMemoryChannel' | 'KafkaChannel';
}

/**
 * How a KafkaSink's producer reaches its cluster, resolved from the sink's auth Secret (Knative's keys:
 * protocol, sasl.mechanism, user, password, ca.crt, user.crt, user.key). Absent parts = plaintext.
 */
export interface KafkaSinkSecurity {
  /** TLS to every broker; without `ca` the system's trusted CAs verify them; cert+key = client authentication. */
  tls?: { ca?: string; cert?: string; key?: string };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/**
 * A KafkaSink: its ingress path and the topic of ANOTHER Kafka cluster (not Eddy's event log) each event
 * POSTed there is produced to.
 */
export interface KafkaSinkRoute {
  namespace: string;
  name: string;
  /** `/<namespace>/<name>`, served under the ingress' `/kafkasinks` prefix (brokers own `/<ns>/<name>`). */
  path: string;
  topic: string;
  bootstrapServers: string[];
  contentMode: 'binary' | 'structured';
  /**
   * Present when the sink sets both numPartitions and replicationFactor: the topic is created with them
   * when missing. Absent: the topic is managed outside and must exist (Knative's two cases).
   */
  createTopic?: { partitions: number; replicationFactor: number };
  security: KafkaSinkSecurity;
  /** Who may send; absent = everyone (see IngressTopic.auth). */
  auth?: IngressAuth;
}

export interface DataPlaneContract {
  /** Increases with every change; data-plane components ignore an older contract. */
  generation: number;
  brokers: BrokerRoute[];
  channels: ChannelRoute[];
  routes: DispatchRoute[];
  /** Replays running or suspended (finished ones are not here). Absent = none. */
  replays?: ReplayPlan[];
  /** KafkaSinks whose spec and auth resolved. Absent = none. */
  kafkaSinks?: KafkaSinkRoute[];
  /** Issuers and static tokens the ingress verifies senders with; present when authentication is on. */
  senderTrust?: SenderTrust;
}
