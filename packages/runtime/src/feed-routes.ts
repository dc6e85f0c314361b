// A ContractFeed on a fastify server: GET <path> long-polls, POST <path> takes a member's status
// (contract-feed-http.ts parses both). The CLI's admin API serves its feeds with this;
// contract-feed-server.ts is a server with nothing else.

import type { FastifyInstance } from 'fastify';
import type { ContractFeed, Generational } from './contract-feed.js';
import { acceptReport, answerPoll, FeedRequestError } from './contract-feed-http.js';

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
