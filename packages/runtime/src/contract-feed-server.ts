// A ContractFeed on a plain node:http server of its own, for a control plane that has no HTTP
// server to put it on (and tests that need a real feed): the protocol of contract-feed-http.ts at
// one URL, `authorization: Bearer <token>` required when a token is given.

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ContractFeed, Generational } from './contract-feed.js';
import { acceptReport, answerPoll, FeedRequestError } from './contract-feed-http.js';

export interface ContractFeedServer {
  /** The feed's URL, what `--contract` takes. */
  readonly url: string;
  readonly server: Server;
  /** Stops serving (open polls are cut); the feed itself stays its owner's to close. */
  close(): Promise<void>;
}

export async function serveContractFeed<T extends Generational>(
  feed: ContractFeed<T>,
  options: { token?: string; host?: string; port?: number; path?: string } = {},
): Promise<ContractFeedServer> {
  const path = options.path ?? '/contract';
  const server = createServer(async (req, res) => {
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401).end('a contract feed needs its bearer token');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://feed');
    if (url.pathname !== path) {
      res.writeHead(404).end(`no feed at ${url.pathname}; the feed is at ${path}`);
      return;
    }
    try {
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (error) {
          throw new FeedRequestError(`a status report must be JSON: ${(error as Error).message}`);
        }
        acceptReport(feed, body);
        res.writeHead(204).end();
        return;
      }
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const next = await answerPoll(feed, Object.fromEntries(url.searchParams), abort.signal);
      if (next === undefined) res.writeHead(204).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(next));
    } catch (error) {
      res.writeHead(error instanceof FeedRequestError ? 400 : 500).end((error as Error).message);
    }
  });
  const host = options.host ?? '127.0.0.1';
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
