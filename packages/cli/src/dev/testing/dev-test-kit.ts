// Pieces the in-process `eddy dev` tests share: a real HTTP subscriber on 127.0.0.1 that records the
// CloudEvents it gets, calls to the admin API with (or without) the token, and the undo list of what a
// test set up (waiting is wait.ts's waitFor). No test framework in here.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { type DevServer, startDevServer } from '../dev-server.js';

export interface Subscriber {
  url: string;
  received: { type: string; id: string; path: string; headers: Record<string, unknown> }[];
  /** Status to answer with (default 202). */
  status: number;
  close(): Promise<void>;
}

export async function startSubscriber(): Promise<Subscriber> {
  const sub: Partial<Subscriber> & { received: Subscriber['received']; status: number } = {
    received: [],
    status: 202,
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (sub.status < 300)
        sub.received.push({
          type: String(req.headers['ce-type']),
          id: String(req.headers['ce-id']),
          path: req.url ?? '',
          headers: req.headers,
        });
      res.statusCode = sub.status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sub.close = () => new Promise<void>((r) => server.close(() => r()));
  return sub as Subscriber;
}

export async function admin(
  server: DevServer,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = server.token,
) {
  const res = await request(`${server.adminUrl}${path}`, {
    method: method as 'GET',
    headers: {
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** POSTs one binary-mode CloudEvent (text data) to a broker of `default` on the server's ingress; its status. */
export async function sendText(
  server: DevServer,
  broker: string,
  type: string,
  id: string,
  body = 'hello',
): Promise<number> {
  const res = await request(`${server.ingressUrl}/default/${broker}`, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-type': type,
      'ce-source': 'test',
      'ce-id': id,
      'content-type': 'text/plain',
    },
    body,
  });
  await res.body.text();
  return res.statusCode;
}

/** What a test set up (servers, temp dirs), undone after it in reverse order: `afterEach(() => cleanups.run())`. */
export class Cleanups {
  readonly #steps: (() => Promise<void> | void)[] = [];

  push(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step();
  }

  /** A fresh directory under the OS temp dir, removed with the rest. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
}

/** An in-process `eddy dev` (embedded log, no serving) in `dir`/.eddy with a Broker `default`, closed by `cleanups`. */
export async function startDevWithBroker(cleanups: Cleanups, dir: string): Promise<DevServer> {
  const server = await startDevServer({ dataDir: join(dir, '.eddy'), port: 0, serving: false });
  cleanups.push(() => server.close());
  const applied = await admin(server, 'POST', '/v1/apply', {
    text: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n',
    file: 'broker.yaml',
  });
  if (applied.status !== 200) throw new Error(`applying the Broker: ${JSON.stringify(applied.body)}`);
  await server.settled();
  return server;
}
