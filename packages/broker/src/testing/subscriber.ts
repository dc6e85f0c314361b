// A real HTTP subscriber on 127.0.0.1 for the broker's tests (packages/broker and test/broker):
// records every request and how many were answered at once. Test-only: not built, not exported;
// tests import it by path.

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

/** A request as the subscriber saw it. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export interface Subscriber {
  url: string;
  received: ReceivedRequest[];
  /** Requests answered so far that carried this ce-type. */
  ofType(type: string): ReceivedRequest[];
  inFlight(): number;
  maxInFlight(): number;
  /** Stops listening and cuts every connection, requests in progress included: the subscriber is down. */
  close(): Promise<void>;
  /** Listens again on the same port (`url` stays valid). */
  reopen(): Promise<void>;
}

export type Respond = (request: ReceivedRequest, res: ServerResponse, index: number) => void | Promise<void>;

/** A real HTTP subscriber on 127.0.0.1; default answer 202. Closed when the test ends. */
export async function startSubscriber(respond: Respond = (_r, res) => void res.writeHead(202).end()) {
  const received: ReceivedRequest[] = [];
  let current = 0;
  let max = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    current++;
    max = Math.max(max, current);
    res.on('close', () => current--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
      };
      received.push(request);
      void Promise.resolve(respond(request, res, received.length - 1)).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 60_000;
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  onTestFinished(close);
  const subscriber: Subscriber = {
    url: `http://127.0.0.1:${port}/`,
    received,
    ofType: (type) => received.filter((r) => r.headers['ce-type'] === type),
    inFlight: () => current,
    maxInFlight: () => max,
    close,
    reopen: () => listen(port),
  };
  return subscriber;
}
