// A real HTTP sink on 127.0.0.1 for adapter tests: records every request, answers what the test
// says, and can go down and come back on the same port. Not exported from the package index;
// adapter tests import it by path.

import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type PlainEvent, parseHttpRequest } from '@eddy/api';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Time the request arrived (performance.now()). */
  at: number;
}

export interface SinkAnswer {
  status: number;
  /** Wait this long before answering (a slow or hanging sink). */
  delayMs?: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface TestSink {
  url: string;
  /** Every request, in arrival order (also the ones answered with an error). */
  requests: ReceivedRequest[];
  /** Requests answered 2xx, decoded as CloudEvents. */
  accepted(): PlainEvent[];
  /** Decides the answer to request number `n` (0-based); default 202. */
  respond: (request: ReceivedRequest, n: number) => SinkAnswer;
  /** Resolves once `predicate` holds for the recorded requests; rejects after `timeoutMs`. */
  waitFor(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops listening and drops open connections (connection refused from now on). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestSink(): Promise<TestSink> {
  const requests: ReceivedRequest[] = [];
  const answers = new Map<ReceivedRequest, SinkAnswer>();
  const waiters = new Set<() => void>();
  let server: Server;
  let port = 0;

  const sink: TestSink = {
    url: '',
    requests,
    respond: () => ({ status: 202 }),
    accepted() {
      return requests
        .filter((r) => {
          const status = answers.get(r)?.status ?? 0;
          return status >= 200 && status < 300;
        })
        .flatMap((r) => parseHttpRequest(r.headers, r.body).events);
    },
    waitFor(predicate, timeoutMs = 10_000) {
      if (predicate(requests)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(requests)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`test sink: condition not met within ${timeoutMs} ms (${requests.length} requests)`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
      });
    },
    async down() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
    async up() {
      server = makeServer();
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    async close() {
      if (!server.listening) return;
      await sink.down();
    },
  };

  function makeServer(): Server {
    return createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request: ReceivedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
          at: performance.now(),
        };
        const answer = sink.respond(request, requests.length);
        answers.set(request, answer);
        requests.push(request);
        const reply = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, answer.headers ?? {});
          res.end(answer.body ?? '');
        };
        if (answer.delayMs) setTimeout(reply, answer.delayMs).unref();
        else reply();
        for (const waiter of [...waiters]) waiter();
      });
    });
  }

  server = makeServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  sink.url = `http://127.0.0.1:${port}/`;
  return sink;
}
