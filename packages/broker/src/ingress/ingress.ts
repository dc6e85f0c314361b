// Broker and channel ingress: the HTTP front door that turns CloudEvents POSTed to a Broker's or a
// channel's path into records of its topic. A 202 comes only after log.append resolved (durable); any
// other answer acknowledges nothing, so a sender can always retry. A 4xx stored nothing; a 503 after a
// failed Kafka send may have stored some of the events all the same (in doubt), so a retry may
// duplicate them, as at-least-once allows. Status codes and reasons: README "Ingress".
//
// The ingress ensures its routes' topics itself (idempotent, so a control plane doing the same is
// harmless) and answers 503 for a route until that succeeded, retrying with backoff meanwhile.
//
// A KafkaSink's route is the same path with another log: a producer to the sink's own cluster
// (kafka-sink-logs.ts), in the sink's content mode; its 202 also waits for the cluster's acks=all.

import type { RequestListener, Server } from 'node:http';
import type { BrokerRoute, ChannelRoute, KafkaSinkRoute, PlainEvent, SenderTrust } from '@eddy/api';
import { HttpBindingError, parseHttpRequest } from '@eddy/api';
import {
  boundPort,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type ProbeResult,
  registerProbeRoutes,
  requestTimeoutServer,
  type ServingCertificate,
  sleep,
} from '@eddy/runtime';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import {
  type AppendOptions,
  type EventLog,
  EventLogUnavailableError,
  EventLogUsageError,
  RecordTooLargeError,
} from '../eventlog/event-log.js';
import type { KafkaClientName } from '../eventlog/kafka-client.js';
import { eventLogHealth } from '../probes/probes.js';
import { admitBrokerTtl } from './broker-ttl.js';
import { ClientErrors } from './client-errors.js';
import { EventTypeRecorder, type EventTypeRecorderOptions } from './event-type-recorder.js';
import { type IngressMetrics, ingressMetrics } from './ingress-metrics.js';
import { KafkaSinkLogs } from './kafka-sink-logs.js';
import { prepareKafkaSinkTopic } from './kafka-sink-topic.js';
import {
  buildRouteTable,
  describeUnknownPath,
  type IngressRoute,
  sameTopicSpec,
  topicSpecOf,
} from './route-table.js';
import { type AuthDenial, SenderAuth } from './sender-auth.js';
import { withTraceContext } from './trace-context.js';

/** Kafka's default record size limit (message.max.bytes / max.request.size), which bounds Knative's Kafka broker too. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Events one batch-mode request may carry (Knative sets none; a bound keeps one request's work bounded). */
export const DEFAULT_MAX_BATCH_EVENTS = 1000;
/** Node's own default, made explicit: larger request headers are answered 431 by the HTTP parser. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

const DEFAULT_HEALTH_TIMEOUT_MS = 2_000;
const ENSURE_RETRY_MIN_MS = 200;
const ENSURE_RETRY_MAX_MS = 10_000;
const RETRY_AFTER_SECONDS = '1';

export interface IngressOptions {
  log: EventLog;
  /** Metrics registry; default a new one (served at /metrics either way). */
  registry?: Registry;
  /** Default pino at `warn`. */
  logger?: pino.Logger;
  /** Largest accepted request body. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most events one batch-mode request may carry; more is a 413. Default 1000. */
  maxBatchEvents?: number;
  /** Largest request head (request line and headers); larger is a 431 from the HTTP parser. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Longest a request may take to arrive, headers and body; then 408 and the connection closed. Default 30 s. */
  requestTimeoutMs?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port; see address()). */
  port?: number;
  /** Create/grow each route's topic before accepting events for it. Default true. */
  ensureTopics?: boolean;
  /** Listen with SO_REUSEPORT, so several ingress processes share one port (Linux). Default false. */
  reusePort?: boolean;
  /** How long /healthz waits for the log. Default 2 s. */
  healthTimeoutMs?: number;
  /** Bounds of the record of the kinds of events received (event-type-recorder.ts). */
  eventTypes?: Omit<EventTypeRecorderOptions, 'registry'>;
  /** The producers of KafkaSinks' clusters. Default: a pool of this ingress' own (closed with it). */
  kafkaSinkLogs?: KafkaSinkLogs;
  /** The Kafka client of this ingress' own pool of KafkaSink producers. Default DEFAULT_KAFKA_CLIENT. */
  kafkaSinkClient?: KafkaClientName;
  /** Serve HTTPS with this certificate (rotated live); default plain HTTP. */
  tls?: ServingCertificate;
  /** With `tls`: plain HTTP as well on this port (0 = a free one), Knative's permissive transport encryption. */
  httpPort?: number;
}

interface RouteState {
  route: IngressRoute;
  /** Where the route's events go: the event log, or a KafkaSink's cluster. */
  log: EventLog;
  appendOptions: AppendOptions;
  ready: boolean;
  /** Why the topic is not ready yet (last ensureTopic failure). */
  lastError: string | undefined;
  /** Settles when the topic is ready or the route was replaced/removed. */
  settled: Promise<void>;
  retired: boolean;
}

type Outcome = 'accepted' | 'rejected' | 'unavailable' | 'error';

/** The request being answered. */
interface Exchange {
  request: FastifyRequest;
  reply: FastifyReply;
  /** Absent for a path no route serves. */
  route?: IngressRoute | undefined;
}

/** An error answer: nothing of the request was stored. */
interface Failure {
  status: number;
  /** The `reason` label of eddy_ingress_rejected_total. */
  reason: string;
  /** The `outcome` label of eddy_ingress_events_total. */
  outcome: Outcome;
  /** The answer's `error` and the log line. */
  message: string;
  /** Events the request carried (default 1: also when they could not be read). */
  count?: number;
}

export class Ingress {
  readonly registry: Registry;
  readonly #log: EventLog;
  readonly #logger: pino.Logger;
  readonly #metrics: IngressMetrics;
  readonly #app: FastifyInstance;
  readonly #maxBodyBytes: number;
  readonly #maxBatchEvents: number;
  readonly #clientErrors: ClientErrors;
  /** The HTTP server, with its request deadline (made in the constructor, so a bad one fails there). */
  readonly #serverFactory: ReturnType<typeof requestTimeoutServer>;
  /** Permissive TLS: the plain-HTTP twin of the HTTPS server, answering with the same handler. */
  readonly #plain: { factory: ReturnType<typeof requestTimeoutServer>; port: number } | undefined;
  readonly #scheme: 'http' | 'https';
  #handler: RequestListener | undefined;
  #plainServer: Server | undefined;
  #httpUrl: string | undefined;
  readonly #host: string;
  readonly #port: number;
  readonly #ensureTopics: boolean;
  readonly #healthTimeoutMs: number;
  readonly #reusePort: boolean;
  /** The (type, source, dataschema) each route accepted: what the event registry discovers. */
  readonly eventTypes: EventTypeRecorder;
  readonly #sinkLogs: KafkaSinkLogs;
  readonly #ownsSinkLogs: boolean;
  readonly #senderAuth: SenderAuth;
  #routes = new Map<string, RouteState>();
  /** Whether a contract was given: until then /readyz says no. */
  #contracted = false;
  #closed = false;
  #listening: string | undefined;

  constructor(options: IngressOptions) {
    if (!options?.log) throw new TypeError('createIngress: `log` (an EventLog) is required');
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
      throw new RangeError(
        `createIngress: maxBodyBytes must be a positive integer, got ${options.maxBodyBytes}`,
      );
    }
    this.#maxBatchEvents = positiveInteger(
      'maxBatchEvents',
      options.maxBatchEvents,
      DEFAULT_MAX_BATCH_EVENTS,
    );
    const maxHeaderBytes = positiveInteger(
      'maxHeaderBytes',
      options.maxHeaderBytes,
      DEFAULT_MAX_HEADER_BYTES,
    );
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#clientErrors = new ClientErrors({ maxHeaderBytes, requestTimeoutMs });
    this.#scheme = options.tls ? 'https' : 'http';
    const factory = requestTimeoutServer(requestTimeoutMs, {
      maxHeaderSize: maxHeaderBytes,
      tls: options.tls,
    });
    this.#serverFactory = (handler) => {
      this.#handler = handler;
      return factory(handler);
    };
    this.#plain =
      options.tls && options.httpPort !== undefined
        ? {
            factory: requestTimeoutServer(requestTimeoutMs, { maxHeaderSize: maxHeaderBytes }),
            port: options.httpPort,
          }
        : undefined;
    this.#log = options.log;
    this.registry = options.registry ?? new Registry();
    this.#logger = options.logger ?? pino({ level: 'warn' });
    this.#metrics = ingressMetrics(this.registry);
    this.#maxBodyBytes = maxBodyBytes;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#ensureTopics = options.ensureTopics ?? true;
    this.#healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    this.#reusePort = options.reusePort ?? false;
    this.eventTypes = new EventTypeRecorder({ ...options.eventTypes, registry: this.registry });
    this.#ownsSinkLogs = options.kafkaSinkLogs === undefined;
    this.#sinkLogs =
      options.kafkaSinkLogs ??
      new KafkaSinkLogs({
        logger: this.#logger,
        ...(options.kafkaSinkClient ? { client: options.kafkaSinkClient } : {}),
      });
    this.#senderAuth = new SenderAuth(this.registry);
    this.#app = this.#buildServer();
  }

  /**
   * Replaces the served routes. Routing switches at once; the promise resolves when every route of
   * this contract has its topic ready (it stays pending while a topic cannot be created, and
   * resolves early if a later contract or close() replaces it). Callers may ignore it. KafkaSinks'
   * topics are not waited for: they are on other clusters, and no route of this contract reads them.
   * @throws Error (synchronously, nothing changed) when two routes share a path or a name is invalid.
   */
  updateContract(
    brokers: BrokerRoute[],
    channels: ChannelRoute[],
    kafkaSinks: KafkaSinkRoute[] = [],
    senderTrust?: SenderTrust,
  ): Promise<void> {
    const table = buildRouteTable(brokers, channels, kafkaSinks);
    this.#senderAuth.update(senderTrust);
    const next = new Map<string, RouteState>();
    for (const [path, route] of table) {
      const previous = this.#routes.get(path);
      if (previous && sameTopicSpec(previous.route, route)) {
        previous.route = route;
        next.set(path, previous);
      } else {
        next.set(path, this.#startRoute(route));
      }
    }
    for (const [path, state] of this.#routes) {
      if (next.get(path) !== state) state.retired = true;
    }
    this.#routes = next;
    this.eventTypes.retainRoutes(new Set(next.keys()));
    this.#contracted = true;
    void this.#sinkLogs.retain(kafkaSinks);
    return Promise.all([...next.values()].filter((s) => !s.route.sink).map((state) => state.settled)).then(
      () => {},
    );
  }

  /** Starts listening; resolves with the base URL (e.g. http://127.0.0.1:41234). */
  async listen(): Promise<string> {
    if (this.#closed) throw new Error('ingress: listen() after close()');
    if (this.#listening) return this.#listening;
    await this.#app.listen({
      host: this.#host,
      port: this.#port,
      ...(this.#reusePort ? { reusePort: true } : {}),
    });
    const address = this.#app.server.address();
    const port = typeof address === 'object' && address ? address.port : this.#port;
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    this.#listening = `${this.#scheme}://${host}:${port}`;
    this.#logger.info(
      { url: this.#listening, log: this.#log.kind },
      `ingress listening on ${this.#listening}`,
    );
    if (this.#plain && this.#handler) {
      const plain = this.#plain.factory(this.#handler);
      plain.on('clientError', this.#clientErrors.handle);
      this.#plainServer = plain;
      await new Promise<void>((resolve, reject) => {
        plain.once('error', reject);
        plain.listen({ host: this.#host, port: this.#plain?.port ?? 0, reusePort: this.#reusePort }, resolve);
      });
      this.#httpUrl = `http://${host}:${boundPort(plain.address(), this.#plain.port)}`;
      this.#logger.info(
        { url: this.#httpUrl },
        `ingress listening on ${this.#httpUrl} (plain HTTP, permissive TLS)`,
      );
    }
    return this.#listening;
  }

  /** The base URL once listening. */
  get url(): string | undefined {
    return this.#listening;
  }

  /** With permissive TLS, the plain-HTTP base URL once listening. */
  get httpUrl(): string | undefined {
    return this.#httpUrl;
  }

  /** Stops accepting connections and waits for requests in flight. Does not close the log. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const state of this.#routes.values()) state.retired = true;
    const plain = this.#plainServer;
    await Promise.all([
      this.#app.close(),
      plain ? new Promise((resolve) => plain.close(resolve)) : undefined,
    ]);
    if (this.#ownsSinkLogs) await this.#sinkLogs.close();
  }

  // ---- topics ---------------------------------------------------------------------------------

  #startRoute(route: IngressRoute): RouteState {
    const state: RouteState = {
      route,
      log: route.sink ? this.#sinkLogs.logFor(route.sink) : this.#log,
      appendOptions: route.sink ? { contentMode: route.sink.contentMode } : {},
      // A sink's topic is on a cluster nobody else prepares: ensured here even when Eddy's are not.
      ready: !this.#ensureTopics && !route.sink,
      lastError: undefined,
      settled: Promise.resolve(),
      retired: false,
    };
    if (!state.ready) state.settled = this.#ensureTopicLoop(state);
    return state;
  }

  async #ensureTopicLoop(state: RouteState): Promise<void> {
    let delay = ENSURE_RETRY_MIN_MS;
    while (!state.retired && !this.#closed) {
      const { route } = state;
      try {
        if (route.sink) await prepareKafkaSinkTopic(state.log, route.sink);
        else await state.log.ensureTopic(route.topic, topicSpecOf(route));
        state.ready = true;
        state.lastError = undefined;
        return;
      } catch (error) {
        state.lastError = (error as Error).message;
        this.#logger.warn(
          { kind: route.kind, namespace: route.namespace, name: route.name, topic: route.topic, err: error },
          `ingress: cannot ensure topic "${route.topic}" of ${route.kind} ${route.namespace}/${route.name}; retrying in ${delay} ms`,
        );
        await sleep(delay, undefined, { unref: true });
        delay = Math.min(delay * 2, ENSURE_RETRY_MAX_MS);
      }
    }
  }

  /** The route's topic vanished under us (e.g. deleted): not ready until it is ensured again. */
  #invalidate(state: RouteState, reason: string): void {
    if ((!this.#ensureTopics && !state.route.sink) || !state.ready || state.retired) return;
    state.ready = false;
    state.lastError = reason;
    state.settled = this.#ensureTopicLoop(state);
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  #buildServer(): FastifyInstance {
    const app = Fastify({
      logger: false,
      bodyLimit: this.#maxBodyBytes,
      return503OnClosing: true,
      serverFactory: (handler) => this.#serverFactory(this.#clientErrors.tracking(handler)),
      clientErrorHandler: this.#clientErrors.handle,
      // A path that does not percent-decode (`/%zz`) gets the ingress' `{error}` answer, not Fastify's.
      frameworkErrors: (error, request, reply) =>
        this.#fail(
          { request, reply },
          {
            status: 400,
            reason: 'bad_url',
            outcome: 'rejected',
            message: `${error.message}; not a valid request path`,
          },
        ),
    });
    // Every body is read as raw bytes, whatever its content type: the binding decides what it is.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    app.addHook('onRequest', async (request) => {
      (request as TimedRequest).startedAt = process.hrtime.bigint();
    });

    app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      const route = this.#routes.get(pathOf(request.url))?.route;
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
        const message = `request body exceeds the limit of ${this.#maxBodyBytes} bytes`;
        return this.#fail(
          { request, reply, route },
          { status: 413, reason: 'too_large', outcome: 'rejected', message },
        );
      }
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return this.#fail(
          { request, reply, route },
          { status: error.statusCode, reason: 'bad_request', outcome: 'rejected', message: error.message },
        );
      }
      this.#logger.error({ err: error, url: request.url }, 'ingress: unexpected error');
      return this.#fail(
        { request, reply, route },
        { status: 500, reason: 'internal', outcome: 'error', message: 'internal error' },
      );
    });
    registerProbeRoutes(app, {
      registry: this.registry,
      health: () => this.health(),
      ready: () => this.ready(),
    });
    app.all('*', (request, reply) => this.#handle(request, reply));
    return app;
  }

  async #handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const path = pathOf(request.url);
    const state = this.#routes.get(path);
    if (!state) {
      return this.#fail(
        { request, reply },
        { status: 404, reason: 'unknown_route', outcome: 'rejected', message: describeUnknownPath(path) },
      );
    }
    const { route } = state;
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    this.#metrics.bytes.inc(labels(route), body.length);
    if (request.method !== 'POST') {
      reply.header('allow', 'POST');
      const message = `${request.method} is not allowed on ${route.kind} ${route.namespace}/${route.name}; send events with POST`;
      return this.#fail(
        { request, reply, route },
        { status: 405, reason: 'method_not_allowed', outcome: 'rejected', message },
      );
    }

    // Who sent it, before its body is even parsed (Knative's order: 401 before 400).
    let sender: string | undefined;
    if (route.auth) {
      const who = await this.#senderAuth.authenticate(route, headerValue(request.headers.authorization));
      if (typeof who !== 'string') return this.#refuseSender({ request, reply, route }, who, 1);
      sender = who;
    }

    let events: PlainEvent[];
    try {
      events = parseHttpRequest(request.headers, body).events;
      if (events.length > this.#maxBatchEvents) {
        const message = `batch of ${events.length} events exceeds the limit of ${this.#maxBatchEvents} events per request; split it`;
        return this.#fail(
          { request, reply, route },
          { status: 413, reason: 'too_many_events', outcome: 'rejected', message, count: events.length },
        );
      }
    } catch (error) {
      if (error instanceof HttpBindingError) {
        return this.#fail(
          { request, reply, route },
          { status: error.status, reason: error.code, outcome: 'rejected', message: error.message },
        );
      }
      throw error;
    }

    if (sender !== undefined) {
      const denied = this.#senderAuth.authorize(route, sender, events);
      if (denied) return this.#refuseSender({ request, reply, route }, denied, events.length);
    }

    if (!state.ready) {
      reply.header('retry-after', RETRY_AFTER_SECONDS);
      const message = `${route.kind} ${route.namespace}/${route.name} is not ready: its topic "${route.topic}" is not available yet${
        state.lastError ? ` (${state.lastError})` : ''
      }`;
      return this.#fail(
        { request, reply, route },
        {
          status: 503,
          reason: 'topic_not_ready',
          outcome: 'unavailable',
          message,
          count: events.length || 1,
        },
      );
    }

    events = withTraceContext(
      events,
      headerValue(request.headers.traceparent),
      headerValue(request.headers.tracestate),
    );
    if (route.kind === 'broker') {
      const admitted = admitBrokerTtl(events, route.ttl);
      if (!admitted.ok) {
        return this.#fail(
          { request, reply, route },
          { status: 400, reason: 'ttl_spent', outcome: 'rejected', message: admitted.message },
        );
      }
      events = admitted.events;
    }
    if (events.length > 0) {
      try {
        await state.log.append(route.topic, events, state.appendOptions);
      } catch (error) {
        return this.#appendFailed(request, reply, state, error as Error, events.length);
      }
      this.eventTypes.record(route, events, Date.now());
    }
    this.#metrics.events.inc({ ...labels(route), outcome: 'accepted' }, events.length);
    return this.#finish(request, reply.code(202), route).send();
  }

  #appendFailed(
    request: FastifyRequest,
    reply: FastifyReply,
    state: RouteState,
    error: Error,
    count: number,
  ): FastifyReply {
    const { route } = state;
    const where = `${route.kind} ${route.namespace}/${route.name} (topic "${route.topic}"${
      route.sink ? ` on ${route.sink.bootstrapServers.join(',')}` : ''
    })`;
    if (error instanceof RecordTooLargeError) {
      const message = `the events are larger than the log accepts for ${where}: ${error.message}`;
      return this.#fail(
        { request, reply, route },
        { status: 413, reason: 'too_large', outcome: 'rejected', message, count },
      );
    }
    if (error instanceof EventLogUnavailableError) {
      reply.header('retry-after', RETRY_AFTER_SECONDS);
      // Not "nothing was stored": a send that failed or timed out may have landed in part or whole.
      const what = route.sink ? "the KafkaSink's cluster" : 'event log';
      const message = `${what} unavailable, nothing acknowledged for ${where}: ${error.message}`;
      return this.#fail(
        { request, reply, route },
        { status: 503, reason: 'log_unavailable', outcome: 'unavailable', message, count },
      );
    }
    if (error instanceof EventLogUsageError) {
      // The contract names this route, so its topic should exist: most likely it was deleted or
      // is still being created by someone else. Not the sender's fault, and worth a retry.
      this.#invalidate(state, error.message);
      reply.header('retry-after', RETRY_AFTER_SECONDS);
      const message = `${where} is not ready, nothing was stored: ${error.message}`;
      return this.#fail(
        { request, reply, route },
        { status: 503, reason: 'topic_not_ready', outcome: 'unavailable', message, count },
      );
    }
    this.#logger.error(
      { err: error, kind: route.kind, namespace: route.namespace, name: route.name },
      'ingress: append failed',
    );
    return this.#fail(
      { request, reply, route },
      {
        status: 500,
        reason: 'internal',
        outcome: 'error',
        message: `append to ${where} failed: ${error.message}`,
        count,
      },
    );
  }

  #refuseSender(exchange: Exchange, denied: AuthDenial, count: number): FastifyReply {
    if (denied.challenge) exchange.reply.header('www-authenticate', denied.challenge);
    if (denied.status === 503) exchange.reply.header('retry-after', RETRY_AFTER_SECONDS);
    const outcome = denied.status === 503 ? 'unavailable' : 'rejected';
    const { status, reason, message } = denied;
    return this.#fail(exchange, { status, reason, outcome, message, count: count || 1 });
  }

  /** Answers `{ error: message }`, counts the events as not stored and logs why. */
  #fail(
    { request, reply, route }: Exchange,
    { status, reason, outcome, message, count = 1 }: Failure,
  ): FastifyReply {
    const routeLabels = labels(route);
    this.#metrics.rejected.inc({ ...routeLabels, reason });
    this.#metrics.events.inc({ ...routeLabels, outcome }, count);
    const fields = { status, reason, method: request.method, url: request.url, remote: request.ip };
    if (status >= 500) this.#logger.error(fields, `ingress: ${message}`);
    else this.#logger.warn(fields, `ingress: ${message}`);
    return this.#finish(request, reply.code(status), route).send({ error: message });
  }

  #finish(request: FastifyRequest, reply: FastifyReply, route: IngressRoute | undefined): FastifyReply {
    const startedAt = (request as TimedRequest).startedAt;
    if (startedAt !== undefined) {
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      this.#metrics.duration.observe({ ...labels(route), code: String(reply.statusCode) }, seconds);
    }
    return reply;
  }

  /** The event log answers within the health timeout; lists the routes whose topic is not ready. */
  async health(): Promise<ProbeResult> {
    const log = await eventLogHealth(this.#log, this.#healthTimeoutMs);
    return log.ok ? { ...log, routes: this.#routes.size, notReady: this.#notReady() } : log;
  }

  /**
   * A contract was given and every route's topic is ready. KafkaSinks are listed but not held against
   * it: a user's unreachable cluster must not take the ingress of every broker out of service.
   */
  ready(): ProbeResult {
    const notReady = this.#notReady();
    const blocking = [...this.#routes.values()].some((s) => !s.ready && !s.route.sink);
    return { ok: this.#contracted && !blocking, contract: this.#contracted, notReady };
  }

  #notReady(): string[] {
    return [...this.#routes.values()]
      .filter((s) => !s.ready)
      .map((s) => `${s.route.namespace}/${s.route.name}`);
  }
}

export function createIngress(options: IngressOptions): Ingress {
  return new Ingress(options);
}

interface TimedRequest extends FastifyRequest {
  startedAt?: bigint;
}

function labels(route: IngressRoute | undefined): { kind: string; namespace: string; name: string } {
  return route
    ? { kind: route.kind, namespace: route.namespace, name: route.name }
    : { kind: '', namespace: '', name: '' };
}

/** The URL's path without query string, one trailing slash ignored. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen <= 0) {
    throw new RangeError(`createIngress: ${name} must be a positive integer, got ${value}`);
  }
  return chosen;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
