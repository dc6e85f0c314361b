// Keeping an adapter attached to its upstream: retry with backoff after a failure, the source's Ready
// condition from how that goes, and the upstream lag gauge polled on a timer. The pulling adapters
// (Kafka, Pub/Sub, SQS) share it; third-party adapters can too (README "Writing an adapter").

import { describeError, sleep } from '@eddy/runtime';
import type { SourceContext, SourceHealth } from './adapter.js';

/** An upstream failure with the Ready=False reason it shows; any other error is `UpstreamUnreachable`. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    /** CamelCase, e.g. `QueueNotFound`. */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface UpstreamLagOptions {
  /** How often the lag is read (the first read is at once). */
  intervalMs: number;
  /** The lag now (ctx.metrics.setLag), or undefined when there is nothing to report yet. */
  read(signal: AbortSignal): Promise<number | undefined>;
  /**
   * Whether a failed read makes the source Ready=False (`UpstreamUnreachable`) until a read works
   * again; default false (the failure is logged at debug).
   */
  affectsHealth?: boolean;
}

export interface UpstreamOptions {
  /** Wait after the first failure, doubled per failure in a row up to maxRetryDelayMs (default 1 s). */
  retryDelayMs?: number;
  /** Default 30 s. */
  maxRetryDelayMs?: number;
  lag?: UpstreamLagOptions;
}

/** What run()'s connect function gets for one connection attempt. */
export interface UpstreamSession {
  /** Aborted when the source stops: connect() then cleans up and returns. */
  readonly signal: AbortSignal;
  /** Resolves when `signal` aborts (to race the connection's own end against). */
  readonly stopped: Promise<void>;
  /** The connection works: Ready=True `Running`, and the backoff starts over. */
  connected(): void;
  /** Ready=False without ending the attempt, for a client that reconnects by itself. */
  unhealthy(err: unknown): void;
}

type Health = { ready: true } | { ready: false; reason: string; message: string };

/**
 * One upstream's health and retry state. Connection-shaped upstreams hand run() a connect function;
 * request-shaped ones (a poll loop) call connected()/failed() per request and wait backoff().
 */
export class UpstreamSupervisor {
  readonly #context: Pick<SourceContext, 'setHealth' | 'logger' | 'metrics'>;
  readonly #stopping = new AbortController();
  readonly #signal: AbortSignal;
  readonly #stopped: Promise<void>;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #lag: UpstreamLagOptions | undefined;
  #failures = 0;
  #connection: Health | undefined;
  #lagFailure: string | undefined;
  #lastReport = '';
  #attempted = false;
  readonly #attemptWaiters = new Set<() => void>();
  #loop: Promise<void> | undefined;
  #lagTimer: NodeJS.Timeout | undefined;
  #lagRead: Promise<void> | undefined;

  constructor(
    context: Pick<SourceContext, 'signal' | 'setHealth' | 'logger' | 'metrics'>,
    options: UpstreamOptions = {},
  ) {
    this.#context = context;
    this.#signal = AbortSignal.any([context.signal, this.#stopping.signal]);
    const signal = this.#signal;
    this.#stopped = new Promise((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.#retryDelayMs = options.retryDelayMs ?? 1_000;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#lag = options.lag;
    if (this.#lag && !this.#signal.aborted) {
      this.#readLag();
      this.#lagTimer = setInterval(() => this.#readLag(), this.#lag.intervalMs);
      this.#lagTimer.unref();
    }
  }

  /** Aborted when the source's signal aborts or stop() is called. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Whether any health was reported yet. */
  get reported(): boolean {
    return this.#lastReport !== '';
  }

  /** Upstream works: Ready=True `Running` (unless a lag read failing affects health), backoff reset. */
  connected(): void {
    this.#failures = 0;
    this.#connection = { ready: true };
    this.#attempt();
    this.#report();
  }

  /** Upstream failed: Ready=False (UpstreamError's reason, else `UpstreamUnreachable`), logged, counted for backoff(). */
  failed(err: unknown): void {
    this.#failures++;
    const health = this.#describe(err);
    this.#connection = health;
    this.#context.logger.warn(
      { err: err instanceof UpstreamError ? (err.cause ?? err) : err, failures: this.#failures },
      `${health.message}; retrying in ${this.retryDelayMs()} ms`,
    );
    this.#attempt();
    this.#report();
  }

  /** Ready=False with this reason, without counting a failure. */
  notReady(reason: string, message: string): void {
    this.#connection = { ready: false, reason, message };
    this.#report();
  }

  /** The wait backoff() takes now: retryDelayMs doubled per failure in a row, at most maxRetryDelayMs. */
  retryDelayMs(): number {
    const doublings = Math.min(Math.max(this.#failures - 1, 0), 16);
    return Math.min(this.#maxRetryDelayMs, this.#retryDelayMs * 2 ** doublings);
  }

  /** Waits retryDelayMs() (less if the source stops meanwhile). */
  backoff(): Promise<void> {
    return sleep(this.retryDelayMs(), this.#signal);
  }

  /**
   * Resolves true once connected() or failed() was first called, false after `timeoutMs` or a stop
   * without either: start() waits with it so that the source's first health is known.
   */
  firstAttempt(timeoutMs: number): Promise<boolean> {
    if (this.#attempted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waited = new AbortController();
      const done = () => {
        this.#attemptWaiters.delete(done);
        waited.abort();
        resolve(this.#attempted);
      };
      this.#attemptWaiters.add(done);
      void sleep(timeoutMs, AbortSignal.any([this.#signal, waited.signal])).then(done);
    });
  }

  /**
   * Keeps `connect` running: it opens the connection, calls session.connected() once it works, and
   * returns once session.signal aborted. A rejection, or a return before that, is a failure: the
   * next attempt follows after backoff().
   */
  run(connect: (session: UpstreamSession) => Promise<void>): void {
    if (this.#loop) throw new Error('UpstreamSupervisor.run() was already called');
    const session: UpstreamSession = {
      signal: this.#signal,
      stopped: this.#stopped,
      connected: () => this.connected(),
      unhealthy: (err) => {
        const health = this.#describe(err);
        this.notReady(health.reason, health.message);
      },
    };
    this.#loop = (async () => {
      while (!this.#signal.aborted) {
        try {
          await connect(session);
          if (this.#signal.aborted) return;
          throw new UpstreamError('UpstreamUnreachable', 'the upstream connection ended');
        } catch (err) {
          if (this.#signal.aborted) return;
          this.failed(err);
        }
        await this.backoff();
      }
    })();
  }

  /** Stops: aborts the signal, then waits for run()'s connect to return and a lag read under way. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    clearInterval(this.#lagTimer);
    await this.#loop;
    await this.#lagRead;
  }

  #describe(err: unknown): { ready: false; reason: string; message: string } {
    if (err instanceof UpstreamError) return { ready: false, reason: err.reason, message: err.message };
    return { ready: false, reason: 'UpstreamUnreachable', message: describeError(err) };
  }

  #attempt(): void {
    this.#attempted = true;
    for (const wake of [...this.#attemptWaiters]) wake();
  }

  #report(): void {
    let next: SourceHealth | undefined;
    if (this.#connection?.ready === false)
      next = { ready: false, reason: this.#connection.reason, message: this.#connection.message };
    else if (this.#lagFailure !== undefined)
      next = { ready: false, reason: 'UpstreamUnreachable', message: this.#lagFailure };
    else if (this.#connection?.ready) next = { ready: true, reason: 'Running' };
    if (!next) return;
    const key = JSON.stringify(next);
    if (key === this.#lastReport) return;
    this.#lastReport = key;
    this.#context.setHealth(next);
  }

  #readLag(): void {
    const lag = this.#lag;
    if (!lag || this.#lagRead || this.#signal.aborted) return;
    const read = (async () => {
      try {
        const value = await lag.read(this.#signal);
        if (value !== undefined) this.#context.metrics.setLag(value);
        if (lag.affectsHealth && this.#lagFailure !== undefined) {
          this.#lagFailure = undefined;
          this.#report();
        }
      } catch (err) {
        if (this.#signal.aborted) return;
        this.#context.logger.debug({ err: describeError(err) }, 'upstream lag read failed');
        if (lag.affectsHealth) {
          this.#lagFailure = describeError(err);
          this.#report();
        }
      }
    })();
    this.#lagRead = read;
    void read.finally(() => {
      if (this.#lagRead === read) this.#lagRead = undefined;
    });
  }
}
