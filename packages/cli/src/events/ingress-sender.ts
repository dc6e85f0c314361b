// Sends import batches to a broker's ingress, which answers 202 only once the events are durable.
// A batch the ingress refuses (400 invalid, 413 too large) is all-or-nothing there, so its events are
// sent again one by one: the good ones get in and each bad one is reported with the ingress's reason.
// 408, 429, 5xx and network errors are retried with exponential backoff (honouring Retry-After); when
// the attempts run out the ingress is taken to be down and sending stops (IngressUnavailableError)
// rather than wait that long again for every following batch.

import { BATCH_CONTENT_TYPE } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { type Dispatcher, request } from 'undici';
import { networkCode } from '../admin/client.js';
import { CliError } from '../cli-error.js';
import type { ImportEvent } from './export-format.js';

export interface PendingEvent {
  /** Line number in the input (1-based). */
  line: number;
  event: ImportEvent;
}

export interface SendFailure {
  line: number;
  why: string;
}

export interface IngressSenderOptions {
  /** The broker's address (`http://host:port/<ns>/<broker>`). */
  url: string;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  /** Attempts per request before its events count as failed. Default 8. */
  attempts?: number;
  /** First retry delay, doubled each time up to maxDelayMs. Default 200 ms. */
  baseDelayMs?: number;
  /** Default 5000 ms. */
  maxDelayMs?: number;
}

/** The ingress kept failing (5xx, 429, no connection) through every attempt. */
export class IngressUnavailableError extends CliError {}

const REFUSED = new Set([400, 413, 415, 422]);
const RETRIED = new Set([408, 425, 429]);

type Answer = { ok: true } | { ok: false; refused: boolean; status: number; why: string };

export class IngressSender {
  readonly #o: IngressSenderOptions;

  constructor(options: IngressSenderOptions) {
    this.#o = options;
  }

  /** Sends the events (all batch mode, one specversion; or one binary-mode event); what failed, and why. */
  async send(events: readonly PendingEvent[]): Promise<SendFailure[]> {
    const answer = await this.#post(events);
    if (answer.ok) return [];
    if (!answer.refused) throw new IngressUnavailableError(`the ingress at ${this.#o.url} ${answer.why}`);
    if (events.length === 1) return events.map((e) => ({ line: e.line, why: answer.why }));
    const failures: SendFailure[] = [];
    for (const event of events) failures.push(...(await this.send([event])));
    return failures;
  }

  async #post(events: readonly PendingEvent[]): Promise<Answer> {
    const [first] = events;
    const message =
      first?.event.mode === 'binary' && events.length === 1
        ? first.event.message
        : {
            headers: { 'content-type': BATCH_CONTENT_TYPE },
            body: Buffer.from(
              `[${events.map((e) => (e.event.mode === 'batch' ? e.event.text : '')).join(',')}]`,
            ),
          };
    const attempts = this.#o.attempts ?? 8;
    let last: Answer = { ok: false, refused: false, status: 0, why: 'not sent' };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let retryAfterMs = 0;
      try {
        const res = await request(this.#o.url, {
          method: 'POST',
          headers: message.headers,
          body: message.body,
          ...(this.#o.dispatcher ? { dispatcher: this.#o.dispatcher } : {}),
          ...(this.#o.signal ? { signal: this.#o.signal } : {}),
        });
        const text = await res.body.text();
        if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
        const why = `${res.statusCode} ${errorOf(text)}`;
        if (res.statusCode === 404)
          throw new CliError(`the ingress at ${this.#o.url} does not know the broker (404 ${errorOf(text)})`);
        if (REFUSED.has(res.statusCode) || (res.statusCode < 500 && !RETRIED.has(res.statusCode)))
          return { ok: false, refused: true, status: res.statusCode, why };
        last = { ok: false, refused: false, status: res.statusCode, why };
        retryAfterMs = Number(res.headers['retry-after'] ?? 0) * 1000 || 0;
      } catch (e) {
        if (e instanceof CliError) throw e;
        if (this.#o.signal?.aborted) throw new CliError('import interrupted');
        last = { ok: false, refused: false, status: 0, why: networkCode(e) ?? (e as Error).message };
      }
      if (attempt === attempts) break;
      const backoff = Math.min((this.#o.baseDelayMs ?? 200) * 2 ** (attempt - 1), this.#o.maxDelayMs ?? 5000);
      await sleep(Math.max(backoff, Math.min(retryAfterMs, this.#o.maxDelayMs ?? 5000)));
    }
    return last.ok ? last : { ...last, why: `failed ${attempts} times, the last with: ${last.why}` };
  }
}

/** The ingress's `{"error": ...}` message, else the body shortened. */
function errorOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON
  }
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
