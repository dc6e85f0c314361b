// Edge HTTP servers (the ingress, webhook sources) must bound how long a sender may take to send a
// request: Fastify's default is no limit, so a client trickling a body a byte at a time (slowloris)
// holds its connection as long as it likes. Node then answers 408 and closes the connection.

import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ServingCertificate } from './tls/serving-certificate.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A Fastify `serverFactory` whose server cuts requests not received whole within `requestTimeoutMs`;
 * with `tls`, an HTTPS server presenting its (rotating) certificate. `maxHeaderSize` bounds the request
 * line and headers (Node answers 431 beyond it).
 */
export function requestTimeoutServer(
  requestTimeoutMs: number,
  options: { maxHeaderSize?: number; tls?: ServingCertificate | undefined } = {},
): (handler: RequestListener) => Server {
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs <= 0)
    throw new RangeError(`requestTimeoutMs must be a positive integer, got ${requestTimeoutMs}`);
  const settings = {
    requestTimeout: requestTimeoutMs,
    ...(options.maxHeaderSize === undefined ? {} : { maxHeaderSize: options.maxHeaderSize }),
    headersTimeout: Math.min(requestTimeoutMs, 60_000),
    // Node checks deadlines every connectionsCheckingInterval (30 s by default): checking at
    // least twice per timeout keeps the cut near the deadline.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(requestTimeoutMs / 2))),
  };
  const tls = options.tls;
  if (!tls) return (handler) => createServer(settings, handler);
  return (handler) => {
    const server = createHttpsServer({ ...settings, ...tls.serverOptions() }, handler);
    tls.attach(server);
    // An https.Server is an http.Server as far as Fastify and callers go.
    return server as unknown as Server;
  };
}
