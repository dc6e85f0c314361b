// The source emitter: one CloudEvent -> binary-mode POST to the sink, ceOverrides applied, retried
// with the delivery policy the broker uses (@eddy/api delivery/). It resolves only on a 2xx, so an
// adapter can tie its upstream ack to the promise (at-least-once, never ack-before-accept).

import { setTimeout as sleepFor } from 'node:timers/promises';
import {
  backoffMs,
  isExtensionName,
  isRetryableStatus,
  isSuccessStatus,
  parseRetryAfter,
  percentEncodeHeaderValue,
  readBounded,
  retryAfterApplies,
  toHttpBinary,
} from '@eddy/api';
import { CloudEvent } from 'cloudevents';
import pino, { type Logger } from 'pino';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import type { CeOverrides, CloudEventEmitter, EmitterPolicy, EventInit, SendOptions } from './adapter.js';
import type { FailureReason, SourceMetricsRecorder } from './metrics.js';

/**
 * Ten retries, exponential from 100 ms, each wait capped at 30 s: about 110 s of sink downtime is
 * ridden out before a send fails. A sink's Retry-After (429/503) is honoured up to 30 s.
 */
export const DEFAULT_EMITTER_POLICY: Readonly<EmitterPolicy> = Object.freeze({
  retry: 10,
  backoffPolicy: 'exponential',
  backoffDelayMs: 100,
  timeoutMs: 30_000,
  retryAfterMaxMs: 30_000,
  maxBackoffMs: 30_000,
});

export type EmitErrorReason = Exclude<FailureReason, 'malformed' | 'overloaded'> | 'aborted';

/** Why send() rejected. The event was NOT accepted by the sink: do not ack it upstream. */
export class EmitError extends Error {
  override readonly name = 'EmitError';
  constructor(
    message: string,
    readonly reason: EmitErrorReason,
    /** Attempts made (0 when none could be made). */
    readonly attempts: number,
    /** The sink's last HTTP status, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface EmitterOptions {
  /** The sink URL (http or https). */
  sink: string;
  ceOverrides?: CeOverrides;
  policy?: EmitterPolicy;
  /** The source's lifetime: aborting it makes every pending send reject with reason `aborted`. */
  signal?: AbortSignal;
  /** HTTP client; default undici's global dispatcher. The runner passes one shared Agent. */
  dispatcher?: Dispatcher;
  logger?: Logger;
  /** Counts delivered and failed events; optional. */
  metrics?: Pick<SourceMetricsRecorder, 'delivered' | 'failed'>;
}

const DRAIN_LIMIT_BYTES = 64 * 1024;
const ERROR_BODY_BYTES = 512;

function checkOverrides(overrides: CeOverrides | undefined): [string, string][] {
  const entries = Object.entries(overrides?.extensions ?? {});
  for (const [name, value] of entries) {
    if (!isExtensionName(name)) {
      throw new TypeError(
        `ceOverrides.extensions.${name}: not an extension name (lower-case letters and digits, at most 20, not a context attribute)`,
      );
    }
    if (typeof value !== 'string') {
      throw new TypeError(`ceOverrides.extensions.${name}: expected a string value, found ${typeof value}`);
    }
  }
  return entries;
}

function checkSink(sink: string): URL {
  let url: URL;
  try {
    url = new URL(sink);
  } catch {
    throw new TypeError(`sink ${JSON.stringify(sink)} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`sink ${JSON.stringify(sink)} is not an http(s) URL`);
  }
  return url;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: unknown }).cause;
  const base =
    typeof code === 'string' && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  return cause instanceof Error && cause.message !== err.message ? `${base} (${cause.message})` : base;
}

type Attempt =
  | { ok: true; status: number }
  | { ok: false; status?: number; retryable: boolean; retryAfterMs?: number; error: string };

export function createEmitter(options: EmitterOptions): CloudEventEmitter {
  const target = checkSink(options.sink);
  const overrides = checkOverrides(options.ceOverrides);
  const policy = options.policy ?? DEFAULT_EMITTER_POLICY;
  if (!(policy.retry >= 0)) throw new RangeError(`retry must be >= 0, got ${policy.retry}`);
  const timeoutMs = policy.timeoutMs ?? DEFAULT_EMITTER_POLICY.timeoutMs ?? 30_000;
  const maxBackoffMs = policy.maxBackoffMs ?? DEFAULT_EMITTER_POLICY.maxBackoffMs ?? 30_000;
  const dispatcher = options.dispatcher ?? getGlobalDispatcher();
  const logger = options.logger ?? pino({ level: 'warn' });
  const path = `${target.pathname}${target.search}`;

  async function attempt(
    headers: Record<string, string>,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<Attempt> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const response = await dispatcher.request({
        origin: target.origin,
        path,
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([signal, timeout]),
      });
      const status = response.statusCode;
      if (isSuccessStatus(status)) {
        await response.body.dump({ limit: DRAIN_LIMIT_BYTES }).catch(() => {});
        return { ok: true, status };
      }
      const text = await readBounded(response.body, ERROR_BODY_BYTES, DRAIN_LIMIT_BYTES)
        .then((b) => b.bytes.toString('utf8').trim())
        .catch(() => '');
      return {
        ok: false,
        status,
        retryable: isRetryableStatus(status),
        retryAfterMs: parseRetryAfter(response.headers['retry-after']),
        error: `HTTP ${status}${text ? `: ${text}` : ''}`,
      };
    } catch (err) {
      if (signal.aborted) throw err;
      if (timeout.aborted) return { ok: false, retryable: true, error: `no response within ${timeoutMs} ms` };
      return { ok: false, retryable: true, error: describeError(err) };
    }
  }

  async function send(
    input: CloudEvent<unknown> | EventInit,
    sendOptions: SendOptions = {},
  ): Promise<{ status: number }> {
    const signals = [options.signal, sendOptions.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
    const eventId = typeof input.id === 'string' ? input.id : undefined;
    const fail = (error: EmitError): never => {
      if (error.reason !== 'aborted') {
        options.metrics?.failed(error.reason);
        logger.warn({ eventId, sink: options.sink, attempts: error.attempts }, error.message);
      }
      throw error;
    };
    let event: CloudEvent<unknown>;
    let headers: Record<string, string>;
    let body: Buffer;
    try {
      // The SDK's constructor fills id/time/specversion and validates the attributes.
      event = input instanceof CloudEvent ? input : new CloudEvent<unknown>(input as never);
    } catch (err) {
      return fail(new EmitError(`invalid event: ${describeError(err)}`, 'unencodable', 0));
    }
    try {
      const message = toHttpBinary(event);
      headers = message.headers;
      body = message.body;
      for (const [name, value] of overrides) headers[`ce-${name}`] = percentEncodeHeaderValue(value);
    } catch (err) {
      return fail(
        new EmitError(`event ${event.id} cannot be encoded: ${describeError(err)}`, 'unencodable', 0),
      );
    }
    const maxAttempts = policy.retry + 1;
    for (let n = 1; ; n++) {
      if (signal.aborted) return fail(new EmitError('send aborted', 'aborted', n - 1));
      let result: Attempt;
      try {
        result = await attempt(headers, body, signal);
      } catch {
        return fail(new EmitError('send aborted', 'aborted', n));
      }
      if (result.ok) {
        options.metrics?.delivered();
        return { status: result.status };
      }
      if (!result.retryable) {
        return fail(
          new EmitError(
            `sink ${options.sink} rejected event ${event.id}: ${result.error} (not retried)`,
            'rejected',
            n,
            result.status,
          ),
        );
      }
      if (n >= maxAttempts) {
        return fail(
          new EmitError(
            `sink ${options.sink} did not accept event ${event.id} after ${n} attempt(s): ${result.error}`,
            'retries_exhausted',
            n,
            result.status,
          ),
        );
      }
      // The cap bounds the configured backoff only; a sink's Retry-After is bounded by retryAfterMaxMs.
      const backoff = Math.min(backoffMs(policy, n), maxBackoffMs);
      const askedFor =
        result.retryAfterMs !== undefined && retryAfterApplies(policy, result.status)
          ? Math.min(result.retryAfterMs, policy.retryAfterMaxMs ?? 0)
          : 0;
      const delay = Math.max(backoff, askedFor);
      logger.debug(
        { eventId: event.id, attempt: n, error: result.error, delayMs: delay },
        'send attempt failed',
      );
      try {
        if (delay > 0) await sleepFor(delay, undefined, { signal });
      } catch {
        return fail(new EmitError('send aborted', 'aborted', n, result.status));
      }
    }
  }

  return { send };
}
