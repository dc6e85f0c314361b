// A ContractFeed on a fastify server: GET <path> long-polls, POST <path> takes a member's status
// (contract-feed-http.ts parses both). The CLI's admin API serves its feeds with this; startFeedServer
// is a server with nothing else (a control plane without an API of its own, tests).

import Fastify, { type FastifyInstance } from 'fastify';
import type { ContractFeed, Generational } from './contract-feed.js';
import { acceptReport, answerPoll, FeedRequestError } from './contract-feed-http.js';
import { boundPort, listenUrl } from './listen-url.js';

/** Routes of one feed; a request the feed refuses is 400 `{"error": "<why>"}`. */
export function registerFeedRoutes(
  app: FastifyInstance,
  path: string,
  feed: ContractFeed<Generational>,
): void {
  const refused = (error: unknown) => {
    if (error instanceof FeedRequestError) return { code: error.statusCode, body: { error: error.message } };
    throw error;
  };
  app.get<{ Querystring: Record<string, string | undefined> }>(path, async (request, reply) => {
    const abort = new AbortController();
    reply.raw.once('close', () => abort.abort());
    let next: Generational | undefined;
    try {
      next = await answerPoll(feed, request.query, abort.signal);
    } catch (error) {
      const { code, body } = refused(error);
      return reply.code(code).send(body);
    }
    return next === undefined ? reply.code(204).send() : next;
  });
  app.post(path, async (request, reply) => {
    try {
      acceptReport(feed, request.body);
    } catch (error) {
      const { code, body } = refused(error);
      return reply.code(code).send(body);
    }
    return reply.code(204).send();
  });
}

export interface FeedServer {
  /** `http://host:port`; feed `<name>` is at `<url>/v1/contract/<name>`. */
  readonly url: string;
  close(): Promise<void>;
}

/** A server with only the feeds, at `/v1/contract/<name>` (the admin API's paths). */
export async function startFeedServer(options: {
  feeds: Readonly<Record<string, ContractFeed<Generational>>>;
  host?: string;
  port?: number;
}): Promise<FeedServer> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  for (const [name, feed] of Object.entries(options.feeds))
    registerFeedRoutes(app, `/v1/contract/${name}`, feed);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  return {
    url: listenUrl(host, boundPort(app.server.address(), options.port ?? 0)),
    close: () => app.close(),
  };
}
