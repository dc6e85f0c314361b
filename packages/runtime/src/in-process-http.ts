// HTTP between two components of one process without the network. In `eddy dev` the deliverer and the
// router share a process, yet every delivery to a Service went deliverer -> loopback TCP -> router ->
// replica: two proxied hops, each a write and a read on both sides, the largest CPU cost of a delivery
// in the soak's profile. A component that serves an origin registers a handler here; a client that
// would send to that origin calls it instead. The handler keeps every semantic of its HTTP front
// (routing, concurrency limits, timeouts, metrics): only the socket between the two is skipped.
import type { Dispatcher } from 'undici';

export interface InProcessRequest {
  /** The Host the request would carry (`host[:port]`). */
  host: string;
  /** Path and query, as on the request line. */
  path: string;
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer | string | undefined;
  /** Aborts the request (the caller's timeout or shutdown); the handler then releases what it holds. */
  signal: AbortSignal;
}

/**
 * What the handler answered: a response (its body must be read or destroyed, as an undici response's),
 * a refusal the front would have sent as a short text/plain answer (no route, no capacity, a
 * replica that failed, a timeout), or that the caller should send it through the network after all.
 */
export type InProcessAnswer =
  | { kind: 'response'; response: Dispatcher.ResponseData }
  | { kind: 'refused'; status: number; message: string; retryAfterSeconds?: number }
  /** Not one this process serves (e.g. a router with no share of the revision's capacity): send it over the network. */
  | { kind: 'declined' };

export type InProcessHandler = (request: InProcessRequest) => Promise<InProcessAnswer>;

/**
 * The origins served in this process. Registered late (the router starts after the deliverer that
 * uses it) and looked up per request, so a client built first still takes the shortcut.
 */
export class InProcessOrigins {
  readonly #handlers = new Map<string, InProcessHandler>();

  /** Serves `origin` (`http://127.0.0.1:8081`) with `handler` until the returned function is called. */
  register(origin: string, handler: InProcessHandler): () => void {
    const key = new URL(origin).origin;
    this.#handlers.set(key, handler);
    return () => {
      if (this.#handlers.get(key) === handler) this.#handlers.delete(key);
    };
  }

  /** The handler's answer, or undefined when `target`'s origin is not served here. */
  request(target: URL, init: Omit<InProcessRequest, 'host' | 'path'>): Promise<InProcessAnswer> | undefined {
    const handler = this.#handlers.get(target.origin);
    return handler?.({ ...init, host: target.host, path: `${target.pathname}${target.search}` });
  }
}
