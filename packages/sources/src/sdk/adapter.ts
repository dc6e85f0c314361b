// The source adapter contract: what an adapter (built-in or third-party npm package) implements and
// what the runner hands it. Adapters never read YAML, never resolve sinks and never speak HTTP to
// the sink themselves: they get a resolved sink URL and an emitter, and turn upstream data into
// CloudEvents. See README.md "Writing an adapter".

import type { PlainEvent, ResolvedDelivery } from '@eddy/api';
import type { ServingCertificate } from '@eddy/runtime';
import type { Logger } from 'pino';
import type { EmitError } from './emitter.js';

/**
 * A source kind's implementation. The default export of an adapter package is one of these, or an
 * array of them.
 */
export interface SourceAdapter<Spec = unknown> {
  /** The apiVersion(s) this adapter serves, e.g. `'sources.knative.dev/v1'` or several versions. */
  apiVersion: string | readonly string[];
  /** The resource kind, e.g. `'PingSource'`. */
  kind: string;
  /**
   * JSON Schema of `spec` (without `sink` / `ceOverrides`, which the runner handles), checked before
   * start(). Third-party kinds should set it; built-in kinds are validated by @eddy/api and omit it.
   */
  specSchema?: object;
  /**
   * How the sources component runs this kind when it is several processes (`eddy sources --shard
   * i/N`, `eddy dev --kafka --sources N`). Default `'once'`, the safe choice:
   * - `'once'`: exactly one process runs each source of this kind (chosen by hashing the source's
   *   key, control/placement.ts). For anything that would duplicate work or clash when run twice: a
   *   timer (PingSource), a process (ContainerSource), a listener on a port (GitHubSource).
   * - `'every-member'`: every process runs each source of this kind. Only for a competing consumer
   *   of an upstream that shares the work among its receivers and acks per message: an SQS queue, a
   *   Kafka consumer group (the same group id in every process), a Pub/Sub subscription. start()
   *   must then be safe to run N times at once: create shared upstream state only if missing (an
   *   "already exists" answer is success), never delete, reset or seek it.
   */
  placement?: SourcePlacement;
  /**
   * Starts pulling from upstream. May be async (connect, create a subscription): resolve once the
   * adapter is running, or reject; a rejection is reported as the source's Ready=False condition
   * (reason `StartFailed`) and start is retried with backoff by the runner. Keep it bounded (a few
   * seconds) and honour `context.signal`: an upstream that stays unreachable is better reported
   * with setHealth() from a running adapter that keeps reconnecting.
   */
  start(context: SourceContext<Spec>): Promise<RunningSource> | RunningSource;
}

/** How a kind runs across the processes of the sources component: see SourceAdapter.placement. */
export type SourcePlacement = 'once' | 'every-member';

/** A started adapter. */
export interface RunningSource {
  /**
   * Stops pulling. In-flight events are either finished (delivered, then acked upstream) or released
   * (not acked, so upstream redelivers them). `context.signal` is aborted before stop() is called,
   * which makes pending `emitter.send()` calls reject with EmitError `aborted`.
   */
  stop(): Promise<void>;
}

/** Everything an adapter gets from the runner for one source resource. */
export interface SourceContext<Spec = unknown> {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** The resource's spec as written (already validated). */
  spec: Spec;
  /** metadata.annotations (empty object when none). */
  annotations: Readonly<Record<string, string>>;
  /** metadata.labels (empty object when none). */
  labels: Readonly<Record<string, string>>;
  /** The resolved sink URL (Knative's K_SINK). */
  sink: string;
  /** spec.ceOverrides: extensions the emitter sets on every event (they win over the event's own). */
  ceOverrides?: CeOverrides;
  /** Sends CloudEvents to the sink; see CloudEventEmitter. */
  emitter: CloudEventEmitter;
  /**
   * `Bearer <jwt>` for the sink's OIDC audience, with this source's own subject (cached, renewed before
   * it expires): for a source whose own code sends (ContainerSource). Present only when the sink has an
   * audience and this process can sign; the emitter attaches the same token by itself.
   */
  sinkAuthorization?: () => string | Promise<string>;
  /** A pino child logger bound to kind/namespace/name. */
  logger: Logger;
  /** This source's metrics (delivered/failed are counted by the emitter). */
  metrics: SourceMetrics;
  /** Aborted when the source is removed, updated or the runner closes. */
  signal: AbortSignal;
  /** Resolves `secretKeyRef` references (see SecretResolver for the lookup rule). */
  secrets: SecretResolver;
  /** Resolves `configMapKeyRef` references from the ConfigMaps the control plane was given. */
  configMaps: ConfigMapResolver;
  /**
   * Path of the kubeconfig file the sources component was started with (`eddy dev --kubeconfig`,
   * `eddy sources --kubeconfig`), for adapters that talk to a Kubernetes API server; unset when none.
   */
  kubeconfig?: string;
  /** The certificate adapters that listen for HTTP (webhooks) serve HTTPS with; unset = plain HTTP. */
  tls?: ServingCertificate;
  /**
   * Reports health, which becomes the source's Ready condition. Call with `ready: false` and a
   * CamelCase `reason` when upstream is unreachable, and `ready: true` once it works again. If an
   * adapter never calls it, the source is Ready once start() resolved.
   */
  setHealth(health: SourceHealth): void;
  /**
   * Publishes where this source receives events, for adapters that listen for HTTP (webhooks): an
   * absolute http(s) URL, which becomes the source's `status.address.url` (Knative's Addressable
   * shape) while the source is Ready. Call it once the endpoint listens; `undefined` withdraws it.
   * The address also goes when the source stops or a start() fails. Anything but an absolute
   * http(s) URL throws a TypeError.
   */
  setAddress(url: string | URL | undefined): void;
}

/** duckv1.CloudEventOverrides. */
export interface CeOverrides {
  extensions?: Record<string, string>;
}

export interface SourceHealth {
  ready: boolean;
  /** CamelCase reason, e.g. `UpstreamUnreachable`, `CrashLoop`. */
  reason?: string;
  message?: string;
}

export interface SendOptions {
  /** Aborts this send (in addition to the source's own signal). */
  signal?: AbortSignal;
}

export interface BatchSendOptions extends SendOptions {
  /**
   * Keep the events' order: batch POSTs and one-by-one sends go one at a time, in order. Default
   * false. Either way, once an event was not accepted for a reason that may pass (retries
   * exhausted, aborted), the events not started yet are not sent (EmitError reason `skipped`):
   * with `ordered` that is every event after it, so upstream can redeliver from there in order.
   * Events refused for good (`rejected`, `unencodable`) do not stop the others.
   */
  ordered?: boolean;
  /** One-by-one sends in flight at once when not `ordered` (default 32). */
  concurrency?: number;
  /** Called once per event as soon as its outcome is known (index into the given array). */
  onOutcome?: (index: number, outcome: EmitOutcome) => void;
}

/** What became of one event of emitBatch(). */
export type EmitOutcome = { ok: true; status: number } | { ok: false; error: EmitError };

/**
 * Sends CloudEvents to the source's sink in binary mode, `ceOverrides` applied, with retries and
 * backoff per the shared delivery policy (@eddy/api: 404/408/409/429/5xx, timeouts and network
 * errors are retried; other statuses are final).
 *
 * The at-least-once rule for adapters: ack/delete/commit upstream ONLY after `send()` resolved
 * (the sink answered 2xx). When it rejects (an EmitError: sink rejected the event, retries
 * exhausted, aborted), do NOT ack: leave the message for upstream redelivery.
 */
export interface CloudEventEmitter {
  /**
   * Resolves with the sink's 2xx status; rejects with an EmitError. Takes a complete event (a
   * PlainEvent, e.g. one decoded from upstream, or a `cloudevents` SDK CloudEvent), sent exactly
   * as given, or a new event's attributes (EventInit, completed as its doc says), so an adapter
   * package needs no `cloudevents` dependency of its own.
   */
  send(event: PlainEvent | EventInit, options?: SendOptions): Promise<{ status: number }>;
  /**
   * Sends many events and reports each one's outcome (in the given order; never rejects).
   * When the sink accepts batches (SourceDefinition.sinkAcceptsBatch: an Eddy Broker/Channel
   * ingress), they go as `application/cloudevents-batch+json` POSTs of at most 500 events and 1 MiB
   * each, one durable all-or-nothing append per POST, retried as a whole like send(); a batch the
   * sink refuses for good (400, 413, 415...) is sent again one event at a time, so one malformed
   * event cannot hold back the others (it fails alone, reported like a send()). Otherwise every
   * event is one binary-mode POST, as send() does. ceOverrides apply to every event either way.
   * The at-least-once rule holds per event: ack upstream only the events whose outcome is `ok`.
   */
  emitBatch(events: readonly (PlainEvent | EventInit)[], options?: BatchSendOptions): Promise<EmitOutcome[]>;
  /** True when emitBatch() sends batch POSTs (the sink is an Eddy ingress). */
  readonly batching: boolean;
}

/**
 * A new CloudEvent as plain data. Without `specversion` it is completed when sent: specversion
 * 1.0, a random UUID `id` and the current `time` where missing. With `specversion` it is taken as
 * a complete event and sent exactly as given (nothing is added: that is how an event received
 * from upstream passes through). Every other member is an extension (lower-case letters and
 * digits, as the spec requires).
 */
export interface EventInit {
  source: string;
  type: string;
  id?: string;
  specversion?: '1.0';
  time?: string;
  subject?: string;
  datacontenttype?: string;
  dataschema?: string;
  /** JSON value, string, or bytes (Buffer / Uint8Array). */
  data?: unknown;
  [extension: string]: unknown;
}

/**
 * The emitter's retry policy for one source: @eddy/api's ResolvedDelivery (the same shape the
 * broker uses; `deadLetterSink` is ignored: a source's dead letter is its upstream's own redrive),
 * plus a cap on any one backoff so `retry: Infinity` keeps retrying at a bounded pace.
 */
export interface EmitterPolicy extends ResolvedDelivery {
  /** Upper bound of a single backoff wait (default 30 000 ms). */
  maxBackoffMs?: number;
}

/** Per-source metrics. delivered/failed(sink) are counted by the emitter; the rest by the adapter. */
export interface SourceMetrics {
  /** Events (or upstream messages) taken from upstream. */
  received(count?: number): void;
  /** An upstream message that could not be turned into an event: logged by the adapter, counted, skipped. */
  malformed(count?: number): void;
  /** Events the adapter gave up on before sending (e.g. a bound on in-flight retries was reached). */
  dropped(count?: number): void;
  /** Upstream backlog (Kafka lag, approximate SQS queue depth...), where upstream exposes one. */
  setLag(value: number): void;
}

/** A reference to one key of a secret, as in Kubernetes (`secretKeyRef`). */
export interface SecretKeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/**
 * Resolves secret references. In embedded mode the lookup rule (see secrets.ts) is: environment
 * variable `EDDY_SECRET_<NAME>_<KEY>` (upper-cased, every non-alphanumeric character as `_`), then
 * the Secret manifest `eddy dev` was given, then the file `<dir>/<namespace>/<name>/<key>` in each
 * configured secrets directory. Error messages name the places looked in, never a value.
 */
export interface SecretResolver {
  /**
   * The secret's value; `undefined` only for an `optional` ref that was not found. A missing
   * required secret rejects with a SecretNotFoundError naming where it looked.
   */
  resolve(ref: SecretKeyRef | { secretKeyRef?: SecretKeyRef } | undefined): Promise<string | undefined>;
}

/** A reference to one key of a ConfigMap (`configMapKeyRef`). */
export interface ConfigMapKeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/** Resolves ConfigMap references, from the ConfigMap manifests the control plane was given. */
export interface ConfigMapResolver {
  /** The value; `undefined` only for an `optional` ref that was not found. A missing required key rejects. */
  resolve(
    ref: ConfigMapKeyRef | { configMapKeyRef?: ConfigMapKeyRef } | undefined,
  ): Promise<string | undefined>;
}

/** The resolved source the control plane hands to the runner. */
export interface SourceDefinition {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  spec: unknown;
  /** Resolved sink URL. */
  sink: string;
  /** The sink's OIDC audience (Knative's `status.sinkAudience`): the emitter attaches a token for it. */
  sinkAudience?: string;
  /** PEM CAs (besides the system's) that verify an https sink: the sink Destination's CACerts. */
  sinkCACerts?: string;
  ceOverrides?: CeOverrides;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** Emitter retry policy; default DEFAULT_EMITTER_POLICY. */
  delivery?: EmitterPolicy;
  /**
   * The sink is an Eddy Broker or Channel ingress, which takes `application/cloudevents-batch+json`
   * as one all-or-nothing durable append: emitter.emitBatch() may then send many events per POST.
   * The control plane sets it only when the sink resolved to an Eddy Broker/Channel; Knative's sink
   * contract (any Service or URI) is one binary-mode event per POST, which is what happens when
   * this is unset or false. Default false.
   */
  sinkAcceptsBatch?: boolean;
  /**
   * An opaque digest of the Secret/ConfigMap values the spec refers to, set by the control plane: the
   * runner restarts a source whose definition changed, so a changed value restarts what uses it.
   */
  valuesDigest?: string;
}
