// Delivery of one event to one subscriber with Knative's semantics: binary-mode POST with
// `Prefer: reply`, the response table, retries with linear/exponential backoff and Retry-After,
// a per-attempt timeout, then the dead-letter sink (itself retried with the same policy) or a
// counted drop. The dispatcher owns offsets and ordering; this module owns one event's fate.
// See README "Delivery" for every rule and where it comes from.

import {
  type DispatchRoute,
  delayBeforeRetry,
  isRetryableStatus,
  isSuccessStatus,
  type PlainEvent,
  parseRetryAfter,
  type ResolvedDelivery,
} from '@eddy/api';
import {
  DRAIN_LIMIT_BYTES,
  describeError,
  describeTlsFailure,
  type InProcessOrigins,
  LinkedAbort,
  readBounded,
  type SenderTokens,
  sleep,
  TrustedAgents,
} from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Agent, Dispatcher } from 'undici';
import { deliveryMetrics } from './delivery-metrics.js';
import { ERROR_DATA_MAX_BYTES, type LastFailure, withErrorExtensions } from './error-extensions.js';
import {
  decodeEvent,
  type EncodedHttpEvent,
  encodeBinary,
  type HttpHeaderValues,
  responseEncoding,
} from './http-codec.js';

/** One failed attempt, reported so the dispatcher can persist the count across restarts. */
export interface AttemptFailure {
  /** 1-based, counting attempts made before a restart (`attemptsMade`) too. */
  attempt: number;
  /** HTTP status, when the subscriber answered. */
  status?: number;
  /** What went wrong, for logs: `HTTP 503`, a timeout, a network error, an invalid reply. */
  error?: string;
  /** The subscriber's Retry-After as it asked (before the `retryAfterMax` cap), when it sent one. */
  retryAfterMs?: number;
  /** The wait before the next attempt; undefined = no further attempt to the subscriber. */
  nextDelayMs?: number;
}

export interface DeliveryRequest {
  event: PlainEvent;
  /** Subscriber URL, delivery settings, id for metrics. */
  route: DispatchRoute;
  /** Attempts already made before a restart/rebalance (persisted by the dispatcher); default 0. */
  attemptsMade?: number;
  /**
   * The last persisted failure, when resuming. Its status becomes `knativeerrorcode` if no new
   * attempt is made; when its `nextDelayMs` is undefined the subscriber attempts were already
   * over (final status or last attempt), so delivery goes straight to the dead-letter sink.
   */
  lastFailure?: AttemptFailure;
  /** Epoch ms before which the first attempt must not start (resuming a backoff); optional. */
  notBefore?: number;
  /** Awaited before waiting for the backoff (the dispatcher persists it); a rejection fails deliver(). */
  onAttemptFailed?: (failure: AttemptFailure) => Promise<void> | void;
  /**
   * Awaited right before a retry (attempt 2 and later) is sent, so the dispatcher can count it as
   * made before the subscriber may see it: a crash during the request then cannot earn the event
   * an extra attempt. A rejection fails deliver().
   */
  onAttemptStarting?: (attempt: number) => Promise<void> | void;
  /** Shutdown / partition revoked: stop at once, outcome 'aborted'. */
  signal?: AbortSignal;
}

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number; reply?: PlainEvent; attempts: number }
  /** The dead-letter sink accepted the event; `status` is the subscriber's last status. */
  | { kind: 'dead-lettered'; status?: number; attempts: number }
  /** No dead-letter sink, or it failed after its own retries: counted, then given up. */
  | { kind: 'dropped'; reason: string; status?: number; attempts: number }
  /** Stopped by the signal or close(); `attempts` counts the interrupted attempt. */
  | { kind: 'aborted'; attempts: number };

export interface DelivererOptions {
  registry?: Registry;
  logger?: pino.Logger;
  /** Per-attempt timeout when the route sets none. Default 600 000 ms, the Kafka broker's. */
  defaultTimeoutMs?: number;
  /** Largest reply body read into memory; a larger reply is an invalid reply. Default 4 MiB. */
  maxReplyBytes?: number;
  /** Concurrent connections per subscriber origin; default unlimited (the dispatcher bounds in-flight). */
  connectionsPerOrigin?: number;
  /** Idle keep-alive connection lifetime; default 4 000 ms (below Node's 5 s server default). */
  keepAliveTimeoutMs?: number;
  /**
   * Eddy's sender tokens: a route with `subscriberAudience` / `deadLetterSinkAudience` sends
   * `Authorization: Bearer` with a token for that audience and its `senderSubject`. Absent: none sent.
   */
  tokens?: Pick<SenderTokens, 'authorization'>;
  /**
   * Origins served by this very process (eddy dev's router): a delivery to one is handed to its
   * handler instead of going over loopback TCP, with the same answers.
   */
  inProcess?: InProcessOrigins;
}

export interface Deliverer {
  deliver(request: DeliveryRequest): Promise<DeliveryOutcome>;
  /** Aborts deliveries still running (they end 'aborted') and closes the connection pools. */
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 600_000;
export const DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024;

class Aborted extends Error {
  override readonly name = 'Aborted';
}

type AttemptResult =
  | { ok: true; status: number; reply?: PlainEvent; statusClass: string }
  | {
      ok: false;
      status?: number;
      headers?: HttpHeaderValues;
      body?: Buffer;
      error: string;
      retryable: boolean;
      retryAfterMs?: number;
      statusClass: string;
    };

type Failure = Extract<AttemptResult, { ok: false }>;

interface AttemptOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** Subscriber requests advertise and accept replies; dead-letter sink requests do not. */
  acceptReply: boolean;
  maxReplyBytes: number;
  /** The target's OIDC audience and the sender's subject: a token is attached. */
  audience?: string | undefined;
  subject?: string | undefined;
  /** PEM CAs besides the system's that verify an https target (the Destination's CACerts). */
  caCerts?: string | undefined;
}

function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** Waits `ms`; throws Aborted when `signal` fires first (or had already). */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, signal);
  if (signal.aborted) throw new Aborted();
}

function requestFor(event: PlainEvent, acceptReply: boolean): EncodedHttpEvent {
  const encoded = encodeBinary(event);
  // The binding builds a fresh header object per event: extended in place, not copied.
  const headers = encoded.headers;
  if (acceptReply) headers.prefer = 'reply';
  // W3C trace context travels as the HTTP headers too, so an instrumented subscriber joins the trace.
  const { traceparent, tracestate } = event as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent === 'string') headers.traceparent = traceparent;
  if (typeof tracestate === 'string') headers.tracestate = tracestate;
  return encoded;
}

function parseTarget(url: string, what: string): URL | string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      return `${what} URL ${JSON.stringify(url)} is not http(s)`;
    }
    return parsed;
  } catch {
    return `${what} URL ${JSON.stringify(url)} is not a valid URL`;
  }
}

export function createDeliverer(options: DelivererOptions = {}): Deliverer {
  const registry = options.registry ?? new Registry();
  const logger = options.logger ?? pino({ level: 'warn' });
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  if (!(defaultTimeoutMs > 0)) throw new RangeError(`defaultTimeoutMs must be > 0, got ${defaultTimeoutMs}`);
  if (!(maxReplyBytes > 0)) throw new RangeError(`maxReplyBytes must be > 0, got ${maxReplyBytes}`);
  const metrics = deliveryMetrics(registry);
  // One Agent keeps a keep-alive pool per origin (and one Agent per distinct CACerts set); our own
  // timer bounds each attempt, so undici's idle timeouts are off.
  const agents = new TrustedAgents({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    connections: options.connectionsPerOrigin ?? null,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const lifecycle = new AbortController();
  const tokens = options.tokens;
  let closed = false;

  async function readResponse(
    response: Dispatcher.ResponseData,
    opts: AttemptOptions,
  ): Promise<AttemptResult> {
    const status = response.statusCode;
    const headers = response.headers as HttpHeaderValues;
    if (isSuccessStatus(status)) {
      // 202 is never a reply (spec: "MUST NOT be processed as reply events"); nor is a body
      // whose headers say it is no CloudEvent (Knative discards such bodies as non-events).
      const encoding = opts.acceptReply && status !== 202 ? responseEncoding(headers) : undefined;
      if (encoding === undefined) {
        await response.body.dump({ limit: DRAIN_LIMIT_BYTES }).catch(() => {});
        return { ok: true, status, statusClass: statusClass(status) };
      }
      const invalid = (body: Buffer, why: string): Failure => ({
        ok: false,
        status,
        headers,
        body,
        error: `invalid reply event: ${why}`,
        retryable: false,
        statusClass: statusClass(status),
      });
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxReplyBytes) {
        response.body.destroy();
        return invalid(
          Buffer.alloc(0),
          `reply of ${declared} bytes exceeds the ${opts.maxReplyBytes}-byte limit`,
        );
      }
      const body = await readBounded(response.body, opts.maxReplyBytes, opts.maxReplyBytes);
      if (!body.complete) {
        return invalid(body.bytes, `reply exceeds the ${opts.maxReplyBytes}-byte limit`);
      }
      try {
        return {
          ok: true,
          status,
          reply: decodeEvent(headers, body.bytes),
          statusClass: statusClass(status),
        };
      } catch (err) {
        return invalid(body.bytes, describeError(err));
      }
    }
    let body: Buffer = Buffer.alloc(0);
    try {
      body = (await readBounded(response.body, ERROR_DATA_MAX_BYTES, DRAIN_LIMIT_BYTES)).bytes;
    } catch {
      // The status is what counts; a body cut short by the timeout or a reset is just lost.
      if (opts.signal.aborted) throw new Aborted();
    }
    return failureOf(status, headers, body);
  }

  /** An HTTP error answer as an attempt's result (retried or dead-lettered per the status). */
  function failureOf(status: number, headers: HttpHeaderValues, body: Buffer): Failure {
    return {
      ok: false,
      status,
      headers,
      body,
      error: `HTTP ${status}`,
      retryable: isRetryableStatus(status),
      retryAfterMs: parseRetryAfter(headers['retry-after']),
      statusClass: statusClass(status),
    };
  }

  /** The in-process handler's answer for `target`; undefined when its origin is not served here or it declined. */
  async function answerInProcess(
    target: URL,
    request: EncodedHttpEvent,
    signal: AbortSignal,
    opts: AttemptOptions,
  ): Promise<AttemptResult | undefined> {
    const pending = options.inProcess?.request(target, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal,
    });
    if (pending === undefined) return undefined;
    const answer = await pending;
    if (answer.kind === 'response') return await readResponse(answer.response, opts);
    if (answer.kind === 'declined') return undefined;
    // Our own abort or deadline: attempt() tells which, as for a request over the network.
    if (signal.aborted) throw new Aborted();
    // What the front would have sent for this refusal (text/plain, Retry-After).
    const headers: HttpHeaderValues = { 'content-type': 'text/plain; charset=utf-8' };
    if (answer.retryAfterSeconds !== undefined) headers['retry-after'] = String(answer.retryAfterSeconds);
    return failureOf(answer.status, headers, Buffer.from(`${answer.message}\n`));
  }

  async function attempt(
    target: URL,
    request: EncodedHttpEvent,
    opts: AttemptOptions,
  ): Promise<AttemptResult> {
    if (opts.signal.aborted) throw new Aborted();
    const scope = new LinkedAbort([opts.signal], opts.timeoutMs);
    const signal = scope.signal;
    try {
      // Per attempt, so a retry hours later does not carry an expired token. Auth off: one branch.
      if (opts.audience !== undefined && tokens !== undefined && opts.subject !== undefined) {
        const header = tokens.authorization(opts.subject, opts.audience);
        request.headers.authorization = typeof header === 'string' ? header : await header;
      }
      const local = await answerInProcess(target, request, signal, opts);
      if (local !== undefined) return local;
      let agent: Agent;
      try {
        agent = agents.for(opts.caCerts);
      } catch (err) {
        return { ok: false, error: describeError(err), retryable: false, statusClass: 'network_error' };
      }
      const response = await agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal,
      });
      return await readResponse(response, opts);
    } catch (err) {
      if (opts.signal.aborted) throw new Aborted();
      if (scope.timedOut) {
        return {
          ok: false,
          error: `no complete response within ${opts.timeoutMs} ms`,
          retryable: true,
          statusClass: 'timeout',
        };
      }
      // A certificate that does not verify is retried like any connection failure (it may be rotated
      // meanwhile), and says it was TLS so a dead-lettered event and the logs tell why.
      const tlsFailure = describeTlsFailure(err, target.origin);
      // A misconfigured CA is an operator's problem: said at warn, not only at debug as other failures.
      if (tlsFailure) logger.warn({ target: target.origin, error: tlsFailure }, 'delivery refused: TLS');
      return {
        ok: false,
        error: tlsFailure ?? describeError(err),
        retryable: true,
        statusClass: 'network_error',
      };
    } finally {
      scope.dispose();
    }
  }

  /** Sends to the dead-letter sink with the route's own retry policy; undefined = accepted. */
  async function deadLetter(
    event: PlainEvent,
    delivery: ResolvedDelivery,
    sink: string,
    route: DispatchRoute,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const target = parseTarget(sink, 'dead-letter sink');
    if (typeof target === 'string') return target;
    const request = requestFor(event, false);
    const timeoutMs = delivery.timeoutMs ?? defaultTimeoutMs;
    const maxAttempts = delivery.retry + 1;
    const caCerts = delivery.deadLetterSinkCACerts;
    for (let n = 1; ; n++) {
      const result = await attempt(target, request, {
        timeoutMs,
        signal,
        acceptReply: false,
        maxReplyBytes,
        audience: delivery.deadLetterSinkAudience,
        subject: route.senderSubject,
        caCerts,
      });
      metrics.deadLetterAttempts.inc({ route: route.id, status_class: result.statusClass });
      if (result.ok) return undefined;
      logger.debug(
        { route: route.id, sink, attempt: n, error: result.error },
        'dead-letter sink attempt failed',
      );
      if (!result.retryable || n >= maxAttempts) {
        return `dead-letter sink ${sink} failed after ${n} attempt(s): ${result.error}${result.retryable ? '' : ' (not retried)'}`;
      }
      await pause(delayBeforeRetry(delivery, n, result), signal);
    }
  }

  async function deliver(req: DeliveryRequest): Promise<DeliveryOutcome> {
    if (closed) throw new Error('deliverer is closed');
    if (!req.signal) return deliverWithin(req, lifecycle.signal);
    const scope = new LinkedAbort([req.signal, lifecycle.signal]);
    try {
      return await deliverWithin(req, scope.signal);
    } finally {
      scope.dispose();
    }
  }

  async function deliverWithin(req: DeliveryRequest, signal: AbortSignal): Promise<DeliveryOutcome> {
    const { event, route } = req;
    const delivery = route.delivery;
    const routeLabel = route.id;
    const maxAttempts = delivery.retry + 1;
    let attempts = Math.max(0, Math.floor(req.attemptsMade ?? 0));
    const finish = <O extends DeliveryOutcome>(outcome: O): O => {
      metrics.outcomes.inc({ route: routeLabel, outcome: outcome.kind });
      return outcome;
    };
    const drop = (reason: string, metricReason: string, status: number | undefined): DeliveryOutcome => {
      metrics.dropped.inc({ route: routeLabel, reason: metricReason });
      logger.warn({ route: routeLabel, eventId: event.id, attempts, reason }, 'event dropped');
      return finish({ kind: 'dropped', reason, status, attempts });
    };
    if (signal.aborted) return finish({ kind: 'aborted', attempts });

    let request: EncodedHttpEvent;
    try {
      request = requestFor(event, true);
    } catch (err) {
      return drop(`event cannot be encoded for HTTP: ${describeError(err)}`, 'unencodable_event', undefined);
    }
    const target = parseTarget(route.subscriber, 'subscriber');
    const timeoutMs = delivery.timeoutMs ?? defaultTimeoutMs;
    const opts: AttemptOptions = {
      timeoutMs,
      signal,
      acceptReply: true,
      maxReplyBytes,
      audience: route.subscriberAudience,
      subject: route.senderSubject,
      caCerts: route.subscriberCACerts,
    };

    let last: (LastFailure & { error?: string }) | undefined = req.lastFailure
      ? { status: req.lastFailure.status, error: req.lastFailure.error }
      : undefined;
    let notRetried = false;
    const attemptsOver = req.lastFailure !== undefined && req.lastFailure.nextDelayMs === undefined;

    try {
      if (!attemptsOver && attempts < maxAttempts && req.notBefore !== undefined) {
        await pause(req.notBefore - Date.now(), signal);
      }
      while (!attemptsOver && attempts < maxAttempts) {
        attempts++;
        if (attempts > 1) await req.onAttemptStarting?.(attempts);
        const started = performance.now();
        const result: AttemptResult =
          typeof target === 'string'
            ? { ok: false, error: target, retryable: false, statusClass: 'network_error' }
            : await attempt(target, request, opts);
        metrics.latency.observe({ route: routeLabel }, (performance.now() - started) / 1000);
        metrics.attempts.inc({ route: routeLabel, status_class: result.statusClass });
        if (result.ok) {
          return finish({ kind: 'delivered', status: result.status, reply: result.reply, attempts });
        }
        last = result;
        notRetried = !result.retryable;
        const nextDelayMs =
          result.retryable && attempts < maxAttempts
            ? delayBeforeRetry(delivery, attempts, result)
            : undefined;
        logger.debug(
          { route: routeLabel, eventId: event.id, attempt: attempts, error: result.error, nextDelayMs },
          'delivery attempt failed',
        );
        await req.onAttemptFailed?.({
          attempt: attempts,
          status: result.status,
          error: result.error,
          retryAfterMs: result.retryAfterMs,
          nextDelayMs,
        });
        if (nextDelayMs === undefined) break;
        await pause(nextDelayMs, signal);
      }

      const lastError = last?.error ?? (last?.status !== undefined ? `HTTP ${last.status}` : 'unknown error');
      const failed = `subscriber ${route.subscriber} failed after ${attempts} attempt(s): ${lastError}${notRetried ? ' (not retried)' : ''}`;
      if (delivery.deadLetterSink === undefined) {
        return drop(`${failed}; no dead-letter sink`, 'no_dead_letter_sink', last?.status);
      }
      const dlsEvent = withErrorExtensions(event, route.subscriber, last);
      const dlsError = await deadLetter(dlsEvent, delivery, delivery.deadLetterSink, route, signal);
      if (dlsError !== undefined) {
        return drop(`${failed}; ${dlsError}`, 'dead_letter_sink_failed', last?.status);
      }
      metrics.deadLettered.inc({ route: routeLabel });
      logger.info(
        { route: routeLabel, eventId: event.id, attempts, error: lastError },
        'event dead-lettered',
      );
      return finish({ kind: 'dead-lettered', status: last?.status, attempts });
    } catch (err) {
      if (err instanceof Aborted) return finish({ kind: 'aborted', attempts });
      throw err;
    }
  }

  return {
    deliver,
    async close() {
      if (closed) return;
      closed = true;
      lifecycle.abort();
      await agents.close();
    },
  };
}
