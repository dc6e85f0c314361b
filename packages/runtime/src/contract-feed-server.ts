// A ContractFeed on a server of its own, for a control plane that has no HTTP server to put it on
// (and tests that need a real feed): the routes of feed-routes.ts at one path, `authorization:
// Bearer <token>` required when a token is given.

import type { Server } from 'node:http';
import Fastify from 'fastify';
import type { ContractFeed, Generational } from './contract-feed.js';
import { registerFeedRoutes } from './feed-routes.js';
import { boundPort, listenUrl } from './listen-url.js';
import { bearerMatches } from './secret-compare.js';

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
  const app = Fastify({ logger: false, forceCloseConnections: true });
  if (options.token !== undefined) {
    const token = options.token;
    app.addHook('onRequest', async (request, reply) => {
      if (!bearerMatches(request.headers.authorization, token))
        return reply.code(401).send({ error: 'a contract feed needs its bearer token' });
    });
  }
  registerFeedRoutes(app, path, feed as unknown as ContractFeed<Generational>);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  return {
    server: app.server,
    url: `${listenUrl(host, boundPort(app.server.address(), options.port ?? 0))}${path}`,
    close: () => app.close(),
  };
}
