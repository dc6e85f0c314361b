// The source emitter: one CloudEvent -> binary-mode POST to the sink, ceOverrides applied, retried
// with the delivery policy the broker uses (@eddy/api delivery/). It resolves only on a 2xx, so an
// adapter can tie its upstream ack to the promise (at-least-once, never ack-before-accept).

import {
  delayBeforeRetry,
  isExtensionName,
  isRetryableStatus,
  isSuccessStatus,
  type PlainEvent,
  parseRetryAfter,
  percentEncodeHeaderValue,
  toHttpBinary,
  toJsonText,
  withExtensions,
} from '@eddy/api';
import { DRAIN_LIMIT_BYTES, describeError, readBounded, type SenderTokens, sleep } from '@eddy/runtime';
import pino, { type Logger } from 'pino';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import type {
  BatchSendOptions,
  CeOverrides,
  CloudEventEmitter,
  EmitOutcome,
  EmitterPolicy,
  EventInit,
  SendOptions,
} from './adapter.js';
import type { FailureReason, SourceMetricsRecorder } from './metrics.js';
import { sendableEvent } from './sendable-event.js';

/** Rides out about 110 s of sink downtime before a send fails; a sink's Retry-After is honoured. */
export const DEFAULT_EMITTER_POLICY: Readonly<EmitterPolicy> = Object.freeze({
  retry: 10,
  backoffPolicy: 'exponential',
  backoffDelayMs: 100,
  timeoutMs: 30_000,
  retryAfterMaxMs: 30_000,
  maxBackoffMs: 30_000,
});

/**
 * `skipped`: emitBatch() did not send it because another event of the batch was not accepted for a
 * reason that may pass (like `aborted`, it is not counted as a failure: just do not ack it).
 */
export type EmitErrorReason = Exclude<FailureReason, 'malformed' | 'overloaded'> | 'aborted' | 'skipped';

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
  /**
   * The sink takes `application/cloudevents-batch+json` (an Eddy ingress): emitBatch() sends batch
   * POSTs. Default false: one binary-mode POST per event (Knative's sink contract).
   */
  acceptsBatch?: boolean;
  /** Most events in one batch POST (default 500). */
  maxBatchEvents?: number;
  /** Largest batch POST body in bytes (default 1 MiB, the Eddy ingress's default body limit). */
  maxBatchBytes?: number;
  /** Batch POSTs of one emitBatch() in flight at once when not `ordered` (default 4). */
  batchConcurrency?: number;
  /**
   * The sink's OIDC audience and who the source is: every POST carries `Authorization: Bearer` with a
   * token of Eddy's issuer for them. Absent: no Authorization header.
   */
  auth?: EmitterAuth;
}

export interface EmitterAuth {
  tokens: Pick<SenderTokens, 'authorization'>;
  /** The source's OIDC service account subject. */
  subject: string;
  audience: string;
}

export const DEFAULT_MAX_BATCH_EVENTS = 500;
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json; charset=utf-8';
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

type Attempt =
  | { ok: true; status: number }
  | { ok: false; status?: number; retryable: boolean; retryAfterMs?: number; error: string };

/** The end of one POST's retry loop. */
type Delivery =
  | { ok: true; status: number; attempts: number }
  | {
      ok: false;
      reason: 'rejected' | 'retries_exhausted' | 'aborted';
      attempts: number;
      status?: number;
      error: string;
    };

type Prepared = { ok: true; event: PlainEvent } | { ok: false; error: EmitError };

/** Runs `work` over `items` with at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

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
  const acceptsBatch = options.acceptsBatch === true;
  const maxBatchEvents = options.maxBatchEvents ?? DEFAULT_MAX_BATCH_EVENTS;
  const maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const batchConcurrency = options.batchConcurrency ?? 4;
  const auth = options.auth;
  for (const [name, value] of [
    ['maxBatchEvents', maxBatchEvents],
    ['maxBatchBytes', maxBatchBytes],
    ['batchConcurrency', batchConcurrency],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }

  async function attempt(
    headers: Record<string, string>,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<Attempt> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      // Per attempt: a retry long after the first try must not send an expired token.
      if (auth) {
        const header = auth.tokens.authorization(auth.subject, auth.audience);
        headers.authorization = typeof header === 'string' ? header : await header;
      }
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

  /** One message POSTed until a 2xx, a status that is not retried, the last attempt or an abort. */
  async function deliver(
    headers: Record<string, string>,
    body: Buffer,
    signal: AbortSignal,
    what: string,
  ): Promise<Delivery> {
    const maxAttempts = policy.retry + 1;
    for (let n = 1; ; n++) {
      if (signal.aborted) return { ok: false, reason: 'aborted', attempts: n - 1, error: 'send aborted' };
      let result: Attempt;
      try {
        result = await attempt(headers, body, signal);
      } catch {
        return { ok: false, reason: 'aborted', attempts: n, error: 'send aborted' };
      }
      if (result.ok) return { ok: true, status: result.status, attempts: n };
      if (!result.retryable)
        return { ok: false, reason: 'rejected', attempts: n, status: result.status, error: result.error };
      if (n >= maxAttempts) {
        return {
          ok: false,
          reason: 'retries_exhausted',
          attempts: n,
          status: result.status,
          error: result.error,
        };
      }
      // The cap bounds the configured backoff only; a sink's Retry-After is bounded by retryAfterMaxMs.
      const delay = delayBeforeRetry(policy, n, result, maxBackoffMs);
      logger.debug({ what, attempt: n, error: result.error, delayMs: delay }, 'send attempt failed');
      if (delay > 0) {
        await sleep(delay, signal);
        if (signal.aborted)
          return { ok: false, reason: 'aborted', attempts: n, status: result.status, error: 'send aborted' };
      }
    }
  }

  /** Counts and logs a failure (not aborts and skips, which are no failure of the sink's). */
  function report(error: EmitError, eventId: string | undefined, count = 1): EmitError {
    if (error.reason !== 'aborted' && error.reason !== 'skipped') {
      options.metrics?.failed(error.reason, count);
      logger.warn({ eventId, sink: options.sink, attempts: error.attempts, count }, error.message);
    }
    return error;
  }

  function combine(extra: AbortSignal | undefined): AbortSignal {
    const signals = [options.signal, extra].filter((s): s is AbortSignal => s !== undefined);
    if (signals.length === 0) return new AbortController().signal;
    return signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
  }

  function prepare(input: PlainEvent | EventInit): Prepared {
    try {
      return { ok: true, event: sendableEvent(input) };
    } catch (err) {
      const eventId = typeof input.id === 'string' ? input.id : undefined;
      return {
        ok: false,
        error: report(new EmitError(`invalid event: ${describeError(err)}`, 'unencodable', 0), eventId),
      };
    }
  }

  /** One event, binary mode; resolves with its outcome (failures already counted and logged). */
  async function sendOne(event: PlainEvent, signal: AbortSignal): Promise<EmitOutcome> {
    let headers: Record<string, string>;
    let body: Buffer;
    try {
      const message = toHttpBinary(event);
      headers = message.headers;
      body = message.body;
      for (const [name, value] of overrides) headers[`ce-${name}`] = percentEncodeHeaderValue(value);
    } catch (err) {
      const error = new EmitError(
        `event ${event.id} cannot be encoded: ${describeError(err)}`,
        'unencodable',
        0,
      );
      return { ok: false, error: report(error, event.id) };
    }
    const result = await deliver(headers, body, signal, `event ${event.id}`);
    if (result.ok) {
      options.metrics?.delivered();
      return { ok: true, status: result.status };
    }
    let error: EmitError;
    if (result.reason === 'aborted')
      error = new EmitError('send aborted', 'aborted', result.attempts, result.status);
    else if (result.reason === 'rejected') {
      error = new EmitError(
        `sink ${options.sink} rejected event ${event.id}: ${result.error} (not retried)`,
        'rejected',
        result.attempts,
        result.status,
      );
    } else {
      error = new EmitError(
        `sink ${options.sink} did not accept event ${event.id} after ${result.attempts} attempt(s): ${result.error}`,
        'retries_exhausted',
        result.attempts,
        result.status,
      );
    }
    return { ok: false, error: report(error, event.id) };
  }

  async function send(
    input: PlainEvent | EventInit,
    sendOptions: SendOptions = {},
  ): Promise<{ status: number }> {
    const prepared = prepare(input);
    if (!prepared.ok) throw prepared.error;
    const outcome = await sendOne(prepared.event, combine(sendOptions.signal));
    if (!outcome.ok) throw outcome.error;
    return { status: outcome.status };
  }

  const overrideExtensions = Object.fromEntries(overrides);

  /**
   * The event as one member of a batch body, ceOverrides applied. Its data bytes survive the JSON
   * format (toJsonText writes JSON text verbatim, base64 otherwise), so the broker stores the same
   * event a binary-mode POST would have given it.
   */
  function batchMember(event: PlainEvent): string {
    return toJsonText(overrides.length === 0 ? event : withExtensions(event, overrideExtensions));
  }

  const mayStop = (outcome: EmitOutcome) =>
    !outcome.ok && outcome.error.reason !== 'rejected' && outcome.error.reason !== 'unencodable';

  async function emitBatch(
    inputs: readonly (PlainEvent | EventInit)[],
    batchOptions: BatchSendOptions = {},
  ): Promise<EmitOutcome[]> {
    const signal = combine(batchOptions.signal);
    const ordered = batchOptions.ordered === true;
    const concurrency = ordered ? 1 : Math.max(1, batchOptions.concurrency ?? 32);
    const outcomes: (EmitOutcome | undefined)[] = new Array(inputs.length);
    // Set once an event was not accepted for a reason that may pass (sink down, abort): nothing
    // that has not started yet is sent after that (with `ordered`, nothing after that event).
    let stopped = false;
    const settle = (index: number, outcome: EmitOutcome) => {
      outcomes[index] = outcome;
      if (mayStop(outcome)) stopped = true;
      try {
        batchOptions.onOutcome?.(index, outcome);
      } catch (err) {
        logger.error({ err }, 'emitBatch onOutcome callback threw');
      }
    };
    const skip = (index: number) =>
      settle(index, {
        ok: false,
        error: new EmitError(
          'not sent: another event of this batch was not accepted (sink unavailable or aborted)',
          'skipped',
          0,
        ),
      });

    const events: { index: number; event: PlainEvent }[] = [];
    inputs.forEach((input, index) => {
      const prepared = prepare(input);
      if (prepared.ok) events.push({ index, event: prepared.event });
      else settle(index, prepared);
    });

    async function oneByOne(list: { index: number; event: PlainEvent }[]): Promise<void> {
      await eachLimited(list, concurrency, async ({ index, event }) => {
        if (stopped) return skip(index);
        settle(index, await sendOne(event, signal));
      });
    }

    if (!acceptsBatch) {
      await oneByOne(events);
      return outcomes as EmitOutcome[];
    }

    // Chunks in input order, each within the event and byte limits; an event too large for any
    // batch goes alone in binary mode (the sink then says what it thinks of it).
    type Chunk = {
      members: { index: number; event: PlainEvent; json: string }[];
      bytes: number;
      specversion: string;
    };
    const chunks: (Chunk | { alone: { index: number; event: PlainEvent } })[] = [];
    let open: Chunk | undefined;
    for (const { index, event } of events) {
      if (event.specversion === '0.3' && ArrayBuffer.isView(event.data)) {
        // 0.3 has no data_base64: in a batch its bytes would need a datacontentencoding attribute
        // the event did not have. Binary mode carries them as they are.
        open = undefined;
        chunks.push({ alone: { index, event } });
        continue;
      }
      let json: string;
      try {
        json = batchMember(event);
      } catch (err) {
        const error = new EmitError(
          `event ${event.id} cannot be encoded: ${describeError(err)}`,
          'unencodable',
          0,
        );
        settle(index, { ok: false, error: report(error, event.id) });
        continue;
      }
      const size = Buffer.byteLength(json, 'utf8') + 1; // its comma or bracket
      if (size + 1 > maxBatchBytes) {
        open = undefined;
        chunks.push({ alone: { index, event } });
        continue;
      }
      if (
        !open ||
        open.members.length >= maxBatchEvents ||
        open.bytes + size > maxBatchBytes ||
        open.specversion !== event.specversion
      ) {
        // A batch holds one specversion (the batch format's rule; the ingress refuses mixed ones).
        open = { members: [], bytes: 1, specversion: event.specversion };
        chunks.push(open);
      }
      open.members.push({ index, event, json });
      open.bytes += size;
    }

    await eachLimited(chunks, ordered ? 1 : batchConcurrency, async (chunk) => {
      if ('alone' in chunk) {
        if (stopped) return skip(chunk.alone.index);
        return settle(chunk.alone.index, await sendOne(chunk.alone.event, signal));
      }
      const { members } = chunk;
      if (stopped) {
        for (const m of members) skip(m.index);
        return;
      }
      const body = Buffer.from(`[${members.map((m) => m.json).join(',')}]`, 'utf8');
      const first = members[0]!.event.id;
      const what = `batch of ${members.length} events (first ${first})`;
      const result = await deliver({ 'content-type': BATCH_CONTENT_TYPE }, body, signal, what);
      if (result.ok) {
        options.metrics?.delivered(members.length);
        for (const m of members) settle(m.index, { ok: true, status: result.status });
        return;
      }
      if (result.reason === 'rejected') {
        // Refused for good (a malformed member, too large, batches not taken): each event on its
        // own, so the bad one fails alone and the others are delivered.
        logger.info(
          { sink: options.sink, status: result.status, count: members.length, error: result.error },
          'sink refused a batch; sending its events one by one',
        );
        await oneByOne(members);
        return;
      }
      const error =
        result.reason === 'aborted'
          ? new EmitError('send aborted', 'aborted', result.attempts, result.status)
          : report(
              new EmitError(
                `sink ${options.sink} did not accept the ${what} after ${result.attempts} attempt(s): ${result.error}`,
                'retries_exhausted',
                result.attempts,
                result.status,
              ),
              first,
              members.length,
            );
      for (const m of members) settle(m.index, { ok: false, error });
    });
    return outcomes as EmitOutcome[];
  }

  return { send, emitBatch, batching: acceptsBatch };
}
