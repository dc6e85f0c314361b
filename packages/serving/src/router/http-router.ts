// The Router on one fastify listener. Request flow: resolve the address (Host, then path) to a route,
// tag or revision; pick the revision (weighted split for a route); wait at the revision's gate for a
// replica with free capacity (queued FIFO, activator-style while the revision has no ready replica);
// stream the request to the replica with undici and the response back, never holding a whole body.
//
// Status codes of the router itself (one-line text/plain reason): 404 unknown address, 502 replica
// unreachable (after one retry on another replica when nothing was sent yet), 503 queue full
// (Retry-After) / revision removed / route without targets, 504 no replica or no response within
// the revision's timeoutMs (measured from arrival, queueing included).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { namespacedKey } from '@eddy/api';
import {
  boundPort,
  type InProcessAnswer,
  type InProcessRequest,
  LinkedAbort,
  listenUrl,
  type requestTimeoutServer,
} from '@eddy/runtime';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import { Agent, type Dispatcher } from 'undici';
import type { Replica } from '../runtime/runtime.js';
import { revisionAddress, routeAddress, tagAddress } from './addresses.js';
import { type RouterShare, WHOLE_SHARE } from './capacity-split.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';
import { GateError, type Lease, RevisionGate } from './revision-gate.js';
import type { RevisionStats, Router, RouterRevision, RouterRoute } from './router.js';
import { type RouterMetrics, routerMetrics } from './router-metrics.js';
import {
  buildRoutingTable,
  checkRoutingInput,
  describeUnknownAddress,
  type ResolvedAddress,
  type RoutingTable,
  resolveAddress,
} from './routing-table.js';
import { WeightedSplit } from './weighted-split.js';

const DEMAND_INTERVAL_MS = 1_000;
const RETRY_AFTER_SECONDS = 1;

/** Errors that prove the replica never saw the request: safe to send it to another replica. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** Socket errors before a response: the replica may have seen the request, so only idempotent methods retry. */
const SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface HttpRouterSettings {
  host: string;
  port: number;
  logger: pino.Logger;
  registry: Registry;
  maxQueuePerRevision: number;
  connectTimeoutMs: number;
  /** SO_REUSEPORT: several router processes share the port (the kernel spreads connections). */
  reusePort?: boolean;
  /** The listener (HTTP or HTTPS, with the request deadline); default Node's plain HTTP server. */
  serverFactory?: ReturnType<typeof requestTimeoutServer>;
  /** The listener serves HTTPS: URLs are https. */
  tls?: boolean;
}

function errorCode(error: unknown): string | undefined {
  const candidate = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof candidate?.code === 'string') return candidate.code;
  if (typeof candidate?.cause?.code === 'string') return candidate.cause.code;
  return undefined;
}

function requestHasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * Bodies that declare at most this length are read whole before forwarding. A Buffer body goes out
 * with its headers in one write (a stream body costs a write for the headers and more for the
 * chunks, and syscalls were a quarter of the router's CPU in the soak's profile), and it can be
 * sent again when the first replica turns out unreachable.
 */
const WHOLE_BODY_MAX_BYTES = 64 * 1024;

/**
 * A small body read whole; undefined when the request has none or it is chunked or large (streamed).
 * Listeners rather than readBounded's for-await: this runs on every proxied request.
 */
function wholeBody(req: IncomingMessage): Promise<Buffer> | undefined {
  if (req.headers['transfer-encoding'] !== undefined) return undefined;
  const length = Number(req.headers['content-length']);
  if (!(length > 0 && length <= WHOLE_BODY_MAX_BYTES)) return undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const settle = (error?: Error): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', settle);
      req.off('close', onClose);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
    };
    const onEnd = (): void => settle();
    const onClose = (): void => settle(new Error('the client went away before its body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', settle);
    req.on('close', onClose);
  });
}

/** The request body as undici pulls it; `state.started` tells whether undici began reading it. */
async function* bodyOf(req: IncomingMessage, state: { started: boolean }): AsyncGenerator<Buffer> {
  state.started = true;
  for await (const chunk of req) yield chunk as Buffer;
}

/**
 * Streams a replica's response to the client; rejects when the upstream body fails or the client
 * goes before the end. Not stream.pipeline: that builds an AbortController per call and aborts it
 * when done, and the DOMException the abort creates (stack trace included) was the router's largest
 * own cost in the soak's CPU profile, on every proxied request.
 */
function relay(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      body.off('error', settle);
      res.off('error', settle);
      res.off('finish', onFinish);
      res.off('close', onClose);
      if (!error) {
        resolve();
        return;
      }
      body.unpipe(res);
      body.destroy();
      reject(error);
    };
    const onFinish = (): void => settle();
    const onClose = (): void =>
      settle(res.writableFinished ? undefined : new Error('the client went away before the response ended'));
    body.on('error', settle);
    res.on('error', settle);
    res.on('finish', onFinish);
    res.on('close', onClose);
    body.pipe(res);
  });
}

function sendText(res: ServerResponse, status: number, message: string, retryAfter?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  res.writeHead(status, headers);
  res.end(`${message}\n`);
}

/** An answer the router gives itself (text/plain, with Retry-After when set); 499 = the client left. */
interface RouterAnswer {
  status: number;
  message: string;
  retryAfterSeconds?: number;
}

interface RequestState {
  clientGone: boolean;
  timedOut: boolean;
}

const CLIENT_GONE: RouterAnswer = { status: 499, message: 'the client went away' };

/** Why no replica could be leased, as the client is told. */
function gateAnswer(error: GateError, spec: RouterRevision, state: RequestState): RouterAnswer {
  if (state.clientGone) return CLIENT_GONE;
  if (state.timedOut)
    return {
      status: 504,
      message: `revision ${spec.namespace}/${spec.name} had no free replica within its timeout of ${spec.timeoutMs} ms`,
    };
  return {
    status: error.status,
    message: error.message,
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
  };
}

/** Whether a request that failed this way may go to another replica: it never reached this one. */
function safeToResend(error: unknown, method: string, bodyStarted: boolean): boolean {
  const code = errorCode(error);
  return (
    !bodyStarted &&
    code !== undefined &&
    (CONNECT_ERRORS.has(code) || (SOCKET_ERRORS.has(code) && IDEMPOTENT.has(method)))
  );
}

export class HttpRouter implements Router {
  readonly #app: FastifyInstance;
  readonly #agent: Agent;
  readonly #logger: pino.Logger;
  readonly #registry: Registry;
  readonly #metrics: RouterMetrics;
  #table: RoutingTable = { labels: new Map(), clashes: [] };
  readonly #gates = new Map<string, RevisionGate>();
  /** Stops reporting a gate's in-flight and queued requests, by revision key. */
  readonly #untrackLevels = new Map<string, () => void>();
  readonly #splits = new Map<string, { signature: string; split: WeightedSplit<string> }>();
  readonly #replicaLists = new Map<string, readonly Replica[]>();
  readonly #failures = new Map<string, string>();
  readonly #demandListeners: ((namespace: string, revision: string) => void)[] = [];
  readonly #lastDemand = new Map<string, number>();
  readonly #upstreams = new Set<AbortController>();
  #demandTimer: NodeJS.Timeout | undefined;
  #share: RouterShare = WHOLE_SHARE;
  #listening = '';
  #closed = false;

  readonly #settings: HttpRouterSettings;

  constructor(settings: HttpRouterSettings) {
    this.#settings = settings;
    this.#logger = settings.logger;
    this.#registry = settings.registry;
    this.#metrics = routerMetrics(settings.registry);
    this.#agent = new Agent({ connect: { timeout: settings.connectTimeoutMs } });
    this.#app = Fastify({
      logger: false,
      return503OnClosing: true,
      forceCloseConnections: 'idle',
      ...(settings.serverFactory ? { serverFactory: settings.serverFactory } : {}),
    });
    // Bodies are never parsed: the raw request stream goes to the replica as it arrives.
    this.#app.removeAllContentTypeParsers();
    this.#app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    this.#app.all('*', (request, reply) => this.#handle(request, reply));
  }

  get url(): string {
    return this.#listening;
  }

  async listen(): Promise<void> {
    await this.#app.listen({
      host: this.#settings.host,
      port: this.#settings.port,
      ...(this.#settings.reusePort ? { reusePort: true } : {}),
    });
    const url = listenUrl(this.#settings.host, boundPort(this.#app.server.address(), this.#settings.port));
    this.#listening = this.#settings.tls ? url.replace(/^http:/, 'https:') : url;
    this.#demandTimer = setInterval(() => this.#renewDemand(), DEMAND_INTERVAL_MS / 4);
    this.#demandTimer.unref();
    this.#logger.info({ url: this.#listening }, `serving router listening on ${this.#listening}`);
  }

  routeUrl(namespace: string, name: string): string {
    return routeAddress(this.#listening, namespace, name);
  }

  tagUrl(namespace: string, name: string, tag: string): string {
    return tagAddress(this.#listening, namespace, name, tag);
  }

  revisionUrl(namespace: string, revision: string): string {
    return revisionAddress(this.#listening, namespace, revision);
  }

  update(revisions: RouterRevision[], routes: RouterRoute[]): void {
    checkRoutingInput(revisions, routes);
    const table = buildRoutingTable(revisions, routes);
    // Warn once per clash, not on every update that still has it.
    for (const clash of table.clashes) {
      if (!this.#table.clashes.includes(clash)) this.#logger.warn(`serving router: ${clash}`);
    }

    const wanted = new Map(
      revisions.map((revision) => [namespacedKey(revision.namespace, revision.name), revision]),
    );
    for (const [revisionKey, gate] of this.#gates) {
      if (wanted.has(revisionKey)) continue;
      gate.remove();
      this.#gates.delete(revisionKey);
      this.#replicaLists.delete(revisionKey);
      this.#failures.delete(revisionKey);
      this.#lastDemand.delete(revisionKey);
      this.#untrackLevels.get(revisionKey)?.();
      this.#untrackLevels.delete(revisionKey);
    }
    for (const [revisionKey, spec] of wanted) {
      const existing = this.#gates.get(revisionKey);
      if (existing) {
        existing.updateSpec(spec);
        continue;
      }
      const labels = { namespace: spec.namespace, revision: spec.name };
      const gate = new RevisionGate(spec, this.#settings.maxQueuePerRevision, () =>
        this.#demand(spec.namespace, spec.name),
      );
      const untrackInFlight = this.#metrics.inFlight.track(labels, () => gate.inFlight);
      const untrackQueued = this.#metrics.queueDepth.track(labels, () => gate.queued);
      this.#untrackLevels.set(revisionKey, () => {
        untrackInFlight();
        untrackQueued();
      });
      const replicas = this.#replicaLists.get(revisionKey);
      if (replicas) gate.setReplicas(replicas);
      gate.setFailure(this.#failures.get(revisionKey));
      gate.setShare(this.#share);
      this.#gates.set(revisionKey, gate);
    }

    const nextSplits = new Map<string, { signature: string; split: WeightedSplit<string> }>();
    for (const route of routes) {
      const targets = route.traffic.filter((target) => target.percent > 0);
      const signature = JSON.stringify(targets.map((target) => [target.revisionName, target.percent]));
      const routeKey = namespacedKey(route.namespace, route.name);
      const previous = this.#splits.get(routeKey);
      nextSplits.set(
        routeKey,
        previous?.signature === signature
          ? previous
          : {
              signature,
              split: new WeightedSplit(
                targets.map((target) => ({ value: target.revisionName, weight: target.percent })),
              ),
            },
      );
    }
    this.#splits.clear();
    for (const [routeKey, split] of nextSplits) this.#splits.set(routeKey, split);
    this.#table = table;
  }

  setReplicas(namespace: string, revision: string, replicas: readonly Replica[]): void {
    const revisionKey = namespacedKey(namespace, revision);
    const copy = replicas.map((replica) => ({ ...replica }));
    this.#replicaLists.set(revisionKey, copy);
    this.#gates.get(revisionKey)?.setReplicas(copy);
  }

  setFailure(namespace: string, revision: string, reason: string | undefined): void {
    const revisionKey = namespacedKey(namespace, revision);
    if (reason === undefined) this.#failures.delete(revisionKey);
    else this.#failures.set(revisionKey, reason);
    this.#gates.get(revisionKey)?.setFailure(reason);
  }

  setCapacityShare(share: RouterShare): void {
    if (share.index === this.#share.index && share.count === this.#share.count) return;
    this.#share = { ...share };
    for (const gate of this.#gates.values()) gate.setShare(this.#share);
  }

  onDemand(listener: (namespace: string, revision: string) => void): void {
    this.#demandListeners.push(listener);
  }

  takeStats(now: number = Date.now()): RevisionStats[] {
    const stats: RevisionStats[] = [];
    for (const gate of this.#gates.values()) {
      const snapshot = gate.snapshot(now);
      stats.push({
        namespace: gate.spec.namespace,
        revision: gate.spec.name,
        concurrency: snapshot.concurrency,
        rps: snapshot.intervalMs > 0 ? (snapshot.arrivals * 1000) / snapshot.intervalMs : 0,
        inFlight: snapshot.inFlight,
        queued: snapshot.queued,
      });
    }
    return stats;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#demandTimer) clearInterval(this.#demandTimer);
    for (const gate of this.#gates.values()) gate.remove('the router is shutting down');
    for (const untrack of this.#untrackLevels.values()) untrack();
    this.#untrackLevels.clear();
    for (const controller of this.#upstreams) controller.abort(new Error('router closing'));
    await this.#app.close();
    await this.#agent.close();
  }

  // ---- demand (the activator's request for a replica) ------------------------------------------

  #demand(namespace: string, revision: string): void {
    const revisionKey = namespacedKey(namespace, revision);
    const now = Date.now();
    const last = this.#lastDemand.get(revisionKey);
    if (last !== undefined && now - last < DEMAND_INTERVAL_MS) return;
    this.#lastDemand.set(revisionKey, now);
    this.#logger.debug(
      { namespace, revision },
      'serving router: requests wait for a revision with no ready replica',
    );
    for (const listener of this.#demandListeners) {
      try {
        listener(namespace, revision);
      } catch (error) {
        this.#logger.error({ err: error, namespace, revision }, 'serving router: onDemand listener threw');
      }
    }
  }

  /** Asks again (rate-limited) while requests keep waiting at zero, in case the first ask was lost. */
  #renewDemand(): void {
    for (const gate of this.#gates.values()) {
      if (gate.waitingAtZero) this.#demand(gate.spec.namespace, gate.spec.name);
    }
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  async #handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const req = request.raw;
    const rawUrl = req.url ?? '/';
    const resolved = resolveAddress(this.#table, req.headers.host, rawUrl);
    if (!resolved) {
      const path = rawUrl.split('?')[0];
      if (path === '/healthz') {
        await reply.code(200).type('text/plain; charset=utf-8').send('ok\n');
        return;
      }
      if (path === '/metrics') {
        const body = await this.#registry.metrics();
        await reply.code(200).type(this.#registry.contentType).send(body);
        return;
      }
      await reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(`${describeUnknownAddress(req.headers.host, rawUrl)}\n`);
      return;
    }
    reply.hijack();
    const res = reply.raw;
    const target = this.#pickRevision(resolved);
    if (typeof target === 'string') {
      sendText(res, 503, target, RETRY_AFTER_SECONDS);
      return;
    }
    await this.#proxy(target, resolved, req, res);
  }

  /** The gate of the revision this request goes to, or why there is none. */
  #pickRevision(resolved: ResolvedAddress): RevisionGate | string {
    const destination = resolved.destination;
    let revision: string;
    if (destination.kind === 'route') {
      const split = this.#splits.get(namespacedKey(destination.namespace, destination.route))?.split;
      const next = split?.next();
      if (next === undefined) {
        return `route ${destination.namespace}/${destination.route} has no traffic target with percent > 0`;
      }
      revision = next;
    } else {
      revision = destination.revision;
    }
    const gate = this.#gates.get(namespacedKey(destination.namespace, revision));
    // The reason is only spelled out for the rare miss, not on every routed request.
    if (gate) return gate;
    const via =
      destination.kind === 'route'
        ? ` (of route ${destination.namespace}/${destination.route})`
        : destination.kind === 'tag'
          ? ` (tag "${destination.tag}" of route ${destination.namespace}/${destination.route})`
          : '';
    return `revision ${destination.namespace}/${revision}${via} is not in the routing table`;
  }

  async #proxy(
    gate: RevisionGate,
    resolved: ResolvedAddress,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const started = performance.now();
    const spec = gate.spec;
    const labels = { namespace: spec.namespace, revision: spec.name };
    const deadline = Date.now() + spec.timeoutMs;
    gate.arrived();

    const upstream = new AbortController();
    let clientGone = false;
    let timedOut = false;
    const onClose = (): void => {
      if (res.writableFinished) return;
      clientGone = true;
      upstream.abort(new Error('client went away'));
    };
    res.on('close', onClose);
    const deadlineTimer = setTimeout(() => {
      timedOut = true;
      upstream.abort(new Error(`no complete response within the revision's timeout of ${spec.timeoutMs} ms`));
    }, spec.timeoutMs);
    this.#upstreams.add(upstream);

    let code = 0;
    let lease: Lease | undefined;
    try {
      try {
        lease = await gate.acquire(deadline, upstream.signal);
      } catch (error) {
        if (!(error instanceof GateError)) throw error;
        const answer = gateAnswer(error, spec, { clientGone, timedOut });
        code = answer.status;
        if (code !== 499) sendText(res, code, answer.message, answer.retryAfterSeconds);
        return;
      }
      code = await this.#forward(gate, lease, resolved, req, res, upstream.signal, () => ({
        clientGone,
        timedOut,
      }));
    } catch (error) {
      this.#logger.error({ err: error, ...labels }, 'serving router: request failed unexpectedly');
      code = clientGone ? 499 : 500;
      sendText(res, 500, 'internal router error');
    } finally {
      clearTimeout(deadlineTimer);
      this.#upstreams.delete(upstream);
      res.off('close', onClose);
      const codeLabel = { ...labels, code: String(code) };
      this.#metrics.requests.inc(codeLabel);
      this.#metrics.duration.observe(codeLabel, (performance.now() - started) / 1000);
    }
  }

  /** Sends the request to the leased replica (retrying once elsewhere when safe); returns the status code recorded. */
  async #forward(
    gate: RevisionGate,
    firstLease: Lease,
    resolved: ResolvedAddress,
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
    state: () => { clientGone: boolean; timedOut: boolean },
  ): Promise<number> {
    const spec = gate.spec;
    const method = req.method ?? 'GET';
    const hasBody = requestHasBody(req);
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      clientAddress: req.socket.remoteAddress?.replace(/^::ffff:/, ''),
      protocol: 'http',
      prefix: resolved.prefix,
    });
    let lease = firstLease;
    let retried = false;
    try {
      let buffered: Buffer | undefined;
      try {
        buffered = await wholeBody(req);
      } catch {
        return 499;
      }
      for (;;) {
        const body = { started: false };
        let response: Dispatcher.ResponseData;
        try {
          response = await this.#agent.request({
            origin: lease.slot.replica.url,
            path: resolved.forwardPath,
            method: method as 'GET',
            headers,
            body: buffered ?? (hasBody ? Readable.from(bodyOf(req, body), { objectMode: false }) : undefined),
            signal,
            headersTimeout: spec.responseStartTimeoutMs ?? spec.timeoutMs,
            bodyTimeout: spec.idleTimeoutMs ?? 0,
          });
        } catch (error) {
          const next = this.#afterUpstreamFailure(error, gate, lease, state(), method, body.started, retried);
          if ('retryOn' in next) {
            lease = next.retryOn;
            retried = true;
            continue;
          }
          const { answer } = next;
          if (answer.status !== 499) sendText(res, answer.status, answer.message, answer.retryAfterSeconds);
          return answer.status;
        }

        res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers));
        try {
          await relay(response.body, res);
        } catch (error) {
          const { clientGone } = state();
          if (!clientGone && !this.#closed) {
            this.#logger.warn(
              { err: error, replica: lease.slot.replica.id },
              `serving router: response of ${spec.namespace}/${spec.name} broke off: ${(error as Error).message}`,
            );
          }
          res.destroy();
          return clientGone ? 499 : response.statusCode;
        }
        return response.statusCode;
      }
    } finally {
      lease.release();
    }
  }

  /** The answer when a failed request is not to be tried again: the client left, shutdown, a timeout. */
  #stopAnswer(error: unknown, spec: RouterRevision, state: RequestState): RouterAnswer | undefined {
    if (state.clientGone) return CLIENT_GONE;
    if (this.#closed)
      return { status: 503, message: 'the router is shutting down', retryAfterSeconds: RETRY_AFTER_SECONDS };
    if (state.timedOut)
      return {
        status: 504,
        message: `revision ${spec.namespace}/${spec.name} did not answer within ${spec.timeoutMs} ms`,
      };
    if (errorCode(error) === 'UND_ERR_HEADERS_TIMEOUT')
      return {
        status: 504,
        message: `revision ${spec.namespace}/${spec.name} did not start its response within ${spec.responseStartTimeoutMs ?? spec.timeoutMs} ms`,
      };
    return undefined;
  }

  /**
   * After a request to a replica failed without a response: another replica's lease to send it to
   * once (the failed one's released) when it is safe and one is free, else what the client is told.
   */
  #afterUpstreamFailure(
    error: unknown,
    gate: RevisionGate,
    lease: Lease,
    state: RequestState,
    method: string,
    bodyStarted: boolean,
    retried: boolean,
  ): { retryOn: Lease } | { answer: RouterAnswer } {
    const spec = gate.spec;
    const stop = this.#stopAnswer(error, spec, state);
    if (!stop && !retried && safeToResend(error, method, bodyStarted)) {
      const other = gate.tryAcquireOther(lease.slot);
      if (other) {
        this.#logger.warn(
          { err: error, replica: lease.slot.replica.id, retryOn: other.slot.replica.id },
          `serving router: replica ${lease.slot.replica.id} unreachable (${errorCode(error)}); retrying on ${other.slot.replica.id}`,
        );
        lease.release();
        return { retryOn: other };
      }
    }
    return { answer: stop ?? this.#replicaFailed(error, spec, lease) };
  }

  #replicaFailed(error: unknown, spec: RouterRevision, lease: Lease): RouterAnswer {
    const code = errorCode(error);
    this.#logger.warn(
      { err: error, replica: lease.slot.replica.id },
      `serving router: replica ${lease.slot.replica.id} of ${spec.namespace}/${spec.name} failed: ${(error as Error).message}`,
    );
    return {
      status: 502,
      message: `replica ${lease.slot.replica.id} of revision ${spec.namespace}/${spec.name} failed: ${code ?? (error as Error).message}`,
    };
  }

  /**
   * A request from a component of this process (eddy dev's deliverer), routed and limited exactly as
   * one through the listener (address, traffic split, containerConcurrency, queueing, the revision's
   * timeouts, X-Forwarded-* headers, stats and metrics), without the loopback hop in front. The lease
   * is held until the caller has read or destroyed the response body, as the listener holds it until
   * the response is relayed.
   */
  async requestInProcess(request: InProcessRequest): Promise<InProcessAnswer> {
    const refused = (answer: RouterAnswer): InProcessAnswer => ({ kind: 'refused', ...answer });
    const resolved = resolveAddress(this.#table, request.host, request.path);
    if (!resolved)
      return refused({ status: 404, message: describeUnknownAddress(request.host, request.path) });
    const gate = this.#pickRevision(resolved);
    if (typeof gate === 'string')
      return refused({ status: 503, message: gate, retryAfterSeconds: RETRY_AFTER_SECONDS });
    const spec = gate.spec;
    // A router with no share of containerConcurrency (one that takes none: a dispatcher's own; or not
    // counted yet) could only hold a limited revision's requests: the routers that share it take them.
    if (spec.containerConcurrency > 0 && this.#share.index < 0) return { kind: 'declined' };
    const started = performance.now();
    const labels = { namespace: spec.namespace, revision: spec.name };
    gate.arrived();
    const upstream = new AbortController();
    this.#upstreams.add(upstream);
    const scope = new LinkedAbort([request.signal, upstream.signal], spec.timeoutMs);
    const state = (): RequestState => ({ clientGone: request.signal.aborted, timedOut: scope.timedOut });
    let code = 0;
    let lease: Lease | undefined;
    const done = (): void => {
      lease?.release();
      scope.dispose();
      this.#upstreams.delete(upstream);
      const codeLabel = { ...labels, code: String(code) };
      this.#metrics.requests.inc(codeLabel);
      this.#metrics.inProcess.inc(labels);
      this.#metrics.duration.observe(codeLabel, (performance.now() - started) / 1000);
    };
    let handedOff = false;
    try {
      try {
        lease = await gate.acquire(Date.now() + spec.timeoutMs, scope.signal);
      } catch (error) {
        if (!(error instanceof GateError)) throw error;
        const answer = gateAnswer(error, spec, state());
        code = answer.status;
        return refused(answer);
      }
      const headers = upstreamRequestHeaders(
        [...Object.entries(request.headers).flat(), 'host', request.host],
        { clientAddress: '127.0.0.1', protocol: 'http', prefix: resolved.prefix },
      );
      let retried = false;
      for (;;) {
        try {
          const response = await this.#agent.request({
            origin: lease.slot.replica.url,
            path: resolved.forwardPath,
            method: request.method as 'POST',
            headers,
            body: request.body,
            signal: scope.signal,
            headersTimeout: spec.responseStartTimeoutMs ?? spec.timeoutMs,
            bodyTimeout: spec.idleTimeoutMs ?? 0,
          });
          code = response.statusCode;
          response.body.once('close', done);
          handedOff = true;
          return { kind: 'response', response };
        } catch (error) {
          const next = this.#afterUpstreamFailure(
            error,
            gate,
            lease,
            state(),
            request.method,
            false,
            retried,
          );
          if ('retryOn' in next) {
            lease = next.retryOn;
            retried = true;
            continue;
          }
          code = next.answer.status;
          return refused(next.answer);
        }
      }
    } catch (error) {
      this.#logger.error({ err: error, ...labels }, 'serving router: in-process request failed unexpectedly');
      code = 500;
      return refused({ status: 500, message: 'internal router error' });
    } finally {
      if (!handedOff) done();
    }
  }
}
