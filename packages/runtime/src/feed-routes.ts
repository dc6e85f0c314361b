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
  // Every process polls for the same contract: it is turned into JSON once, not once per poll (a
  // contract for 10,000 Triggers is ~6 MB and ~60 ms to serialize).
  const serialized = new WeakMap<Generational, string>();
  const json = (contract: Generational) => {
    let text = serialized.get(contract);
    if (text === undefined) {
      text = JSON.stringify(contract);
      serialized.set(contract, text);
    }
    return text;
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
    return next === undefined
      ? reply.code(204).send()
      : reply.type('application/json; charset=utf-8').send(json(next));
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
