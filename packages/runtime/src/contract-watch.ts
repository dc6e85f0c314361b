// A data-plane process's side of contract distribution: where its contract comes from, given as
// `--contract <url|file>`.
//   http(s)://...  long-polls the control plane's feed (contract-feed.ts): each request says which
//                  generation this process runs (and why the last one failed), and is answered with
//                  a newer contract or, after the wait, 204. Unreachable: retried with backoff.
//                  report(status) POSTs what the process runs (contract-feed-http.ts) when it changes.
//   a file         read now, re-read when it changes (polled, so an atomic rename counts) or on
//                  reload() (SIGHUP).
// Contracts are applied one at a time, in order; a broken one is logged and the running one stays.
// An apply that fails (Kafka briefly unreachable, a topic not yet propagated) is tried again with
// backoff until it succeeds or a newer contract replaces it, so a process never sits for good on a
// contract it could not run.

import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import type { Generational, MemberReport } from './contract-feed.js';
import { describeError } from './describe-error.js';
import { sleep } from './timers.js';

/** The subset of a pino logger this needs. */
export interface WatchLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ContractWatchOptions<T extends Generational> {
  /** A URL of the control plane's feed, or a file path. */
  source: string;
  /** Who is asking (URL sources report it on every poll). */
  member: Pick<MemberReport, 'id' | 'component'>;
  /** Checks the parsed JSON and returns the contract; throws with what is wrong. */
  parse(value: unknown): T;
  /**
   * Runs a contract; a rejection is logged and reported, and the same contract is applied again
   * later (backoff) unless a newer one arrives first: an applier must accept a contract again after
   * it rejected it.
   */
  apply(contract: T): Promise<void>;
  logger: WatchLogger;
  /** Sent as `authorization: Bearer <token>` to a URL source. */
  token?: string;
  /** How long one poll may be held by the server; default 25 s. */
  pollWaitMs?: number;
  /** How often a file source is checked for changes; default 500 ms. */
  fileIntervalMs?: number;
  /** First delay before a failed apply is tried again (doubling up to 30 s); default 1 s. */
  retryFailedApplyMs?: number;
  /** A URL source: called with the error whenever a poll fails (before the backoff); must not throw. */
  onPollError?(error: unknown): void;
}

const MAX_APPLY_RETRY_MS = 30_000;

export interface ContractWatch {
  /** Resolves once the first contract has been applied (or failed to apply). */
  readonly first: Promise<void>;
  /** The generation running now. */
  readonly generation: number | undefined;
  /** Re-reads a file source now (no-op for a URL: it is always current). */
  reload(): Promise<void>;
  /**
   * Tells the control plane what this process runs (a URL source: POSTed to the feed now, the
   * latest one retried until it is taken; a file source has no one to tell). Never throws.
   */
  report(status: unknown): void;
  /** Stops watching; a contract being applied finishes first. */
  stop(): Promise<void>;
}

export function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export function watchContract<T extends Generational>(options: ContractWatchOptions<T>): ContractWatch {
  return isUrlSource(options.source) ? new UrlWatch(options) : new FileWatch(options);
}

/**
 * A contract file must hold a contract at start (a typo should not give a process that serves
 * nothing): waits for the first one and, when none could be read, stops and throws. A feed may come
 * up after its processes, which wait (not ready) until it answers: nothing to wait for.
 */
export async function requireFileContract(
  watch: ContractWatch,
  source: string,
  stop: () => Promise<void>,
): Promise<void> {
  if (isUrlSource(source)) return;
  await watch.first;
  if (watch.generation !== undefined) return;
  await stop();
  throw new Error(`contract file ${source} gave no contract (the error is logged above)`);
}

abstract class Watch<T extends Generational> implements ContractWatch {
  generation: number | undefined;
  readonly first: Promise<void>;
  protected lastError: string | undefined;
  protected stopped = false;
  #firstDone!: () => void;
  #queue: Promise<void> = Promise.resolve();
  /** Counts contracts offered, so a retry can tell that a newer one came meanwhile. */
  #offered = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(protected readonly o: ContractWatchOptions<T>) {
    this.first = new Promise((resolve) => {
      this.#firstDone = resolve;
    });
  }

  /** Loads, checks and applies one contract, in order with the others; never rejects. */
  protected offer(load: () => unknown, from: string): Promise<void> {
    const offer = ++this.#offered;
    clearTimeout(this.#retryTimer);
    this.#queue = this.#queue.then(async () => {
      let contract: T;
      try {
        contract = this.o.parse(await load());
      } catch (error) {
        this.lastError = `${from}: ${(error as Error).message}`;
        this.o.logger.error({ source: from }, this.lastError);
        this.#firstDone();
        return;
      }
      await this.#applyUntilDone(contract, offer, 0);
    });
    return this.#queue;
  }

  async #applyUntilDone(contract: T, offer: number, failures: number): Promise<void> {
    try {
      await this.o.apply(contract);
      if (failures > 0)
        this.o.logger.info(
          { generation: contract.generation, attempts: failures + 1 },
          `contract generation ${contract.generation} applied after ${failures} failed attempt${failures === 1 ? '' : 's'}`,
        );
      this.lastError = undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
      const delay = Math.min(MAX_APPLY_RETRY_MS, (this.o.retryFailedApplyMs ?? 1_000) * 2 ** failures);
      this.o.logger.error(
        { generation: contract.generation, failures: failures + 1, retryInMs: delay },
        `contract: ${this.lastError} (trying again in ${delay} ms)`,
      );
      this.#retryTimer = setTimeout(() => {
        if (this.stopped || offer !== this.#offered) return;
        this.#queue = this.#queue.then(() =>
          this.stopped || offer !== this.#offered
            ? undefined
            : this.#applyUntilDone(contract, offer, failures + 1),
        );
      }, delay);
      this.#retryTimer.unref();
    }
    // Applied, or tried (the feed hears about an error). One that is not newer (a file put back) is
    // the applier's to ignore, and does not move the generation back.
    this.generation = Math.max(this.generation ?? contract.generation, contract.generation);
    this.#firstDone();
  }

  abstract reload(): Promise<void>;

  report(_status: unknown): void {}

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.#retryTimer);
    this.#firstDone();
    await this.#queue;
  }
}

class FileWatch<T extends Generational> extends Watch<T> {
  readonly #onChange = () => void this.reload();

  constructor(o: ContractWatchOptions<T>) {
    super(o);
    void this.reload();
    watchFile(o.source, { interval: o.fileIntervalMs ?? 500, persistent: false }, this.#onChange);
  }

  reload(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const file = this.o.source;
    return this.offer(async () => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new Error(`cannot be read: ${(error as Error).message}`);
      }
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new Error(`is not valid JSON: ${(error as Error).message}`);
      }
    }, `contract file ${file}`);
  }

  override async stop(): Promise<void> {
    unwatchFile(this.o.source, this.#onChange);
    await super.stop();
  }
}

class UrlWatch<T extends Generational> extends Watch<T> {
  readonly #abort = new AbortController();
  readonly #loop: Promise<void>;
  /** The status to send; replaced by a newer one while a send is under way. */
  #status: { value: unknown } | undefined;
  #sending: Promise<void> | undefined;

  constructor(o: ContractWatchOptions<T>) {
    super(o);
    this.#loop = this.#run();
  }

  reload(): Promise<void> {
    return Promise.resolve();
  }

  async #run(): Promise<void> {
    const waitMs = this.o.pollWaitMs ?? 25_000;
    let failures = 0;
    while (!this.stopped) {
      const url = new URL(this.o.source);
      url.searchParams.set('member', this.o.member.id);
      url.searchParams.set('component', this.o.member.component);
      url.searchParams.set('after', String(this.generation ?? -1));
      url.searchParams.set('wait', String(waitMs));
      if (this.generation !== undefined) url.searchParams.set('applied', String(this.generation));
      if (this.lastError !== undefined) url.searchParams.set('error', this.lastError.slice(0, 500));
      try {
        const response = await request(url, {
          headers: this.o.token ? { authorization: `Bearer ${this.o.token}` } : {},
          signal: this.#abort.signal,
          headersTimeout: waitMs + 10_000,
          bodyTimeout: 30_000,
        });
        const text = await response.body.text();
        if (response.statusCode === 200) {
          if (failures > 0) this.o.logger.info({ source: this.o.source }, 'contract feed reachable again');
          failures = 0;
          await this.offer(() => {
            try {
              return JSON.parse(text);
            } catch (error) {
              throw new Error(`is not valid JSON: ${(error as Error).message}`);
            }
          }, `contract from ${this.o.source}`);
          continue;
        }
        if (response.statusCode === 204) {
          failures = 0;
          continue;
        }
        throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
      } catch (error) {
        if (this.stopped) return;
        this.o.onPollError?.(error);
        failures++;
        // Log the first failure of a streak and then every tenth, not every retry.
        if (failures === 1 || failures % 10 === 0) {
          this.o.logger.warn(
            { source: this.o.source, failures },
            `contract feed ${this.o.source} unreachable (${describeError(error)}); retrying`,
          );
        }
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(failures, 5)), this.#abort.signal);
      }
    }
  }

  override report(status: unknown): void {
    this.#status = { value: status };
    this.#sending ??= this.#send().finally(() => {
      this.#sending = undefined;
    });
  }

  async #send(): Promise<void> {
    let failures = 0;
    while (this.#status && !this.stopped) {
      const { value } = this.#status;
      this.#status = undefined;
      try {
        const response = await request(this.o.source, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
          },
          body: JSON.stringify({
            ...this.o.member,
            ...(this.generation !== undefined ? { applied: this.generation } : {}),
            ...(this.lastError !== undefined ? { error: this.lastError.slice(0, 500) } : {}),
            status: value,
          }),
          signal: this.#abort.signal,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        const text = await response.body.text();
        if (response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        // Keep what was to be sent unless a newer status came meanwhile.
        this.#status ??= { value };
        failures++;
        if (failures === 1 || failures % 10 === 0)
          this.o.logger.warn(
            { source: this.o.source, failures },
            `status report to ${this.o.source} failed (${describeError(error)}); retrying`,
          );
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(failures, 5)), this.#abort.signal);
      }
    }
  }

  override async stop(): Promise<void> {
    this.stopped = true;
    this.#abort.abort();
    await this.#loop;
    await this.#sending;
    await super.stop();
  }
}
