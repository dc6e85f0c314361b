// Factory of the serving router/activator (see router.ts for the contract and http-router.ts for the
// request flow).

import { requestTimeoutServer, type ServingCertificate } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HttpRouter } from './http-router.js';
import type { Router } from './router.js';

export interface CreateRouterOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port; see router.url). */
  port?: number;
  /** Default pino at `warn`. */
  logger?: pino.Logger;
  /** Where the eddy_serving_* metrics live (also served at /metrics). Default a new Registry. */
  registry?: Registry;
  /** Requests that may wait per revision (for capacity or a first replica); beyond it 503 with Retry-After. Default 1000. */
  maxQueuePerRevision?: number;
  /** TCP connect timeout towards a replica. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** SO_REUSEPORT on the listener: other router processes may listen on the same port. Default false. */
  reusePort?: boolean;
  /** Serve HTTPS with this certificate (rotated live); default plain HTTP. */
  tls?: ServingCertificate;
  /** Longest a request may take to arrive, headers and body; then 408 and the connection closed. Default 300 s. */
  requestTimeoutMs?: number;
}

export const DEFAULT_MAX_QUEUE_PER_REVISION = 1000;
/**
 * Longer than the ingress' 30 s: a request waiting for a cold revision's first replica has its body
 * read only once the replica is up, and Knative lets a revision answer for 300 s (timeoutSeconds).
 */
export const DEFAULT_ROUTER_REQUEST_TIMEOUT_MS = 300_000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`createRouter: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Starts the router; resolves once it listens (router.url is then set). */
export async function createRouter(options: CreateRouterOptions = {}): Promise<Router> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`createRouter: port must be an integer in 0..65535, got ${options.port}`);
  }
  const router = new HttpRouter({
    host: options.host ?? '127.0.0.1',
    port,
    logger: options.logger ?? pino({ level: 'warn' }),
    registry: options.registry ?? new Registry(),
    maxQueuePerRevision: positiveInteger(
      'maxQueuePerRevision',
      options.maxQueuePerRevision,
      DEFAULT_MAX_QUEUE_PER_REVISION,
    ),
    connectTimeoutMs: positiveInteger('connectTimeoutMs', options.connectTimeoutMs, 5000),
    reusePort: options.reusePort ?? false,
    serverFactory: requestTimeoutServer(options.requestTimeoutMs ?? DEFAULT_ROUTER_REQUEST_TIMEOUT_MS, {
      tls: options.tls,
    }),
    ...(options.tls ? { tls: true } : {}),
  });
  try {
    await router.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' || !options.reusePort) throw error;
    // Sharing a port takes SO_REUSEPORT on every listener: say so rather than just "in use".
    throw Object.assign(
      new Error(
        `router port ${port} is already in use by a process that does not share it: every router on one port needs --reuse-port true (the primary too)`,
        { cause: error },
      ),
      { code },
    );
  }
  return router;
}
