// Edge HTTP servers (the ingress, webhook sources) must bound how long a sender may take to send a
// request: Fastify's default is no limit, so a client trickling a body a byte at a time (slowloris)
// holds its connection as long as it likes. Node then answers 408 and closes the connection.

import { createServer, type RequestListener, type Server } from 'node:http';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** A Fastify `serverFactory` whose server cuts requests not received whole within `requestTimeoutMs`. */
export function requestTimeoutServer(
  requestTimeoutMs: number,
  limits: { maxHeaderSize?: number } = {},
): (handler: RequestListener) => Server {
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs <= 0)
    throw new RangeError(`requestTimeoutMs must be a positive integer, got ${requestTimeoutMs}`);
  return (handler) =>
    createServer(
      {
        requestTimeout: requestTimeoutMs,
        ...(limits.maxHeaderSize === undefined ? {} : { maxHeaderSize: limits.maxHeaderSize }),
        headersTimeout: Math.min(requestTimeoutMs, 60_000),
        // Node checks deadlines every connectionsCheckingInterval (30 s by default): checking at
        // least twice per timeout keeps the cut near the deadline.
        connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(requestTimeoutMs / 2))),
      },
      handler,
    );
}
