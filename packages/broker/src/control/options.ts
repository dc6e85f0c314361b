// computeContract's options, checked once and turned into the settings every phase reads.

import {
  type AddressResolver,
  type DataPlaneContract,
  DEFAULT_BROKER_TTL,
  MAX_BROKER_TTL,
  type ResolvedDelivery,
  type ValueLookupOptions,
} from '@eddy/api';
import type { ReplayProgress } from '../replay/replay-progress.js';
import { DEFAULT_BACKOFF_DELAY_MS, DEFAULT_RESOLVED_DELIVERY, type DeliveryDefaults } from './delivery.js';
import type { SenderAuthOptions } from './event-policies.js';
import type { KafkaSinkTopicStatus } from './kafka-sinks.js';

export interface ComputeContractOptions {
  /** The contract the data plane runs now: the new generation is its generation + 1 only if anything changed. */
  previous?: DataPlaneContract;
  /**
   * The generation of the first contract (no `previous`). Default 1. A control plane whose data-plane
   * processes outlive it (a restarted `eddy controller`) starts above anything they may run, since a
   * process ignores a contract that is not newer than its own.
   */
  firstGeneration?: number;
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
  /** Reply hop limit of a Broker without `eddy.dev/broker-ttl`, and of Subscriptions. Default 255 (Knative's). */
  brokerTtl?: number;
  /**
   * Epoch ms of this pass: the start time of a Replay that starts now (the only clock reading, passed
   * in). Without it, Replays that have not started wait.
   */
  now?: number;
  /** A Replay's progress from its checkpoints, by its uid and its targets' route ids (replay/replay-progress.ts). */
  replayProgress?: (uid: string, targets: readonly string[]) => ReplayProgress | undefined;
  /** Where KafkaSinks' auth Secrets are read (EDDY_SECRET_* and applied Secrets). Default: none but process.env. */
  values?: ValueLookupOptions;
  /** Whether each KafkaSink's topic is ready on its cluster (kafka-sinks.ts); absent = not checked. */
  kafkaSinkTopics?: KafkaSinkTopicStatus;
  /** Sender authentication (event-policies.ts); default: as Knative's config-features says (off). */
  senderAuth?: SenderAuthOptions;
  /**
   * Forces sender authentication on. Otherwise `senderAuth.required` or Knative's `authentication-oidc`
   * in config-features turn it on (senderAuthEnabled): Brokers, channels and KafkaSinks then have an
   * OIDC audience, senders to them attach tokens, statuses show `auth.serviceAccountName`.
   */
  authentication?: boolean;
  /**
   * The ingress serves HTTPS (`brokerIngressUrl` is https): addresses carry `caCerts` as `CACerts`, and
   * refs resolved to them carry it into the routes. `httpOrigin` (permissive transport encryption): the
   * plain-HTTP listener too, listed in `status.addresses` and used as `status.address`, as Knative does.
   */
  ingressTls?: IngressTls;
}

export interface IngressTls {
  caCerts: string;
  httpOrigin?: string;
}

export const DEFAULT_PARTITIONS = 1;
export const DEFAULT_MAX_IN_FLIGHT = 100;

/** The options after checking, with defaults applied. */
export interface Settings {
  /** Broker ingress base URL without a trailing slash. */
  brokerBase: string;
  /** Channel ingress base URL without a trailing slash. */
  channelBase: string;
  defaultPartitions: number;
  defaultMaxInFlight: number;
  brokerTtl: number;
  delivery: DeliveryDefaults;
  previous: DataPlaneContract | undefined;
  firstGeneration: number;
  serviceUrl: ComputeContractOptions['serviceUrl'];
  resolver: AddressResolver | undefined;
  authentication: boolean;
  ingressTls: IngressTls | undefined;
}

export const show = (v: unknown) => JSON.stringify(v);

/** @throws RangeError / TypeError naming the bad option. */
export function settingsFrom(options: ComputeContractOptions): Settings {
  const brokerBase = baseUrlOption('brokerIngressUrl', options.brokerIngressUrl);
  const channelBase = options.channelIngressUrl
    ? baseUrlOption('channelIngressUrl', options.channelIngressUrl)
    : `${brokerBase}/channels`;
  return {
    brokerBase,
    channelBase,
    defaultPartitions: positiveIntOption('defaultPartitions', options.defaultPartitions, DEFAULT_PARTITIONS),
    defaultMaxInFlight: positiveIntOption(
      'defaultMaxInFlight',
      options.defaultMaxInFlight,
      DEFAULT_MAX_IN_FLIGHT,
    ),
    brokerTtl: brokerTtlOption(options.brokerTtl),
    delivery: {
      delivery: options.defaultDelivery ?? DEFAULT_RESOLVED_DELIVERY,
      backoffDelayMs: options.defaultBackoffDelayMs ?? DEFAULT_BACKOFF_DELAY_MS,
      ...(options.defaultTimeoutMs !== undefined ? { timeoutMs: options.defaultTimeoutMs } : {}),
    },
    previous: options.previous,
    firstGeneration: positiveIntOption('firstGeneration', options.firstGeneration, 1),
    serviceUrl: options.serviceUrl,
    resolver: options.resolver,
    authentication: options.authentication ?? false,
    ingressTls: options.ingressTls,
  };
}

function brokerTtlOption(value: number | undefined): number {
  if (value === undefined) return DEFAULT_BROKER_TTL;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_BROKER_TTL)
    throw new RangeError(
      `computeContract: options.brokerTtl must be an integer from 1 to ${MAX_BROKER_TTL}, got ${show(value)}`,
    );
  return value;
}

/** The contract's `ttl` field: absent when it is Knative's default, so contracts that do not set it stay as they were. */
export function ttlField(ttl: number): { ttl?: number } {
  return ttl === DEFAULT_BROKER_TTL ? {} : { ttl };
}

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
