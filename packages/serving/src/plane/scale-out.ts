// What the serving primary and its extra routers say to each other (both sides use this module, so
// the messages have one shape). The primary serves, beside its probes (--probe-port):
//   GET|POST /v1/endpoints   a ContractFeed of the EndpointsDocument: long-polled by every extra
//                            router (watchContract), a new generation whenever a revision's ready
//                            replicas, its failure or the live routers change
//   POST     /v1/stats       a router's per-revision window (RouterStatsPush), about every second,
//                            and at once when a request waits for a revision with no ready replica
// Both take `authorization: Bearer <EDDY_CONTRACT_TOKEN>` when the primary has a token.

import { FeedRequestError } from '@eddy/runtime';
import type { RevisionStats } from '../router/router.js';

export const ENDPOINTS_PATH = '/v1/endpoints';
export const STATS_PATH = '/v1/stats';

/** One revision as every router needs it: where its ready replicas are and what each may take. */
export interface RevisionEndpoints {
  namespace: string;
  name: string;
  /** Per replica, shared by the live routers (router/capacity-split.ts); 0 = unlimited. */
  containerConcurrency: number;
  /** The ready replicas. */
  replicas: { id: string; url: string }[];
  /** Why it cannot get a replica (requests fail at once with it while none is ready). */
  failure?: string;
}

export interface EndpointsDocument {
  /** Rises with every change, and across restarts of the primary (it starts from the clock). */
  generation: number;
  /** The live routers, sorted (the primary's own included): each takes its share of every replica. */
  routers: string[];
  revisions: RevisionEndpoints[];
}

/** A router's push: its window since the previous one; `demand` asks for a replica at once. */
export interface RouterStatsPush {
  router: string;
  /**
   * Names the router process (random, per start): a push of an instance the primary has seen
   * replaced under the same `router` id is refused (409), so two routers started with one
   * --member-id are told instead of sharing one share of every replica.
   */
  instance?: string;
  stats: RevisionStats[];
  /** How long the window was (ms since its previous push); default 1000. */
  windowMs?: number;
  /** Revisions that have requests waiting and no ready replica (Knative's activator poke). */
  demand?: { namespace: string; revision: string }[];
  /** The router is stopping: count it out now, not after the timeout. */
  leaving?: boolean;
  /**
   * false: the router takes no share of any replica's containerConcurrency (a dispatcher's own router,
   * which sends only to unlimited revisions): its stats count, the split is among the others. Default true.
   */
  share?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** Checks a stats push (a POST body); throws FeedRequestError (400) naming the bad field. */
export function checkStatsPush(body: unknown): RouterStatsPush {
  const bad = (message: string) => new FeedRequestError(`stats push: ${message}`);
  if (!isObject(body)) throw bad('must be a JSON object {"router", "stats"}');
  if (!nonEmpty(body.router)) throw bad('"router" must be a non-empty string');
  if (!Array.isArray(body.stats)) throw bad('"stats" must be an array');
  body.stats.forEach((s: unknown, i) => {
    if (!isObject(s)) throw bad(`stats[${i}] must be an object`);
    for (const field of ['namespace', 'revision'] as const)
      if (!nonEmpty(s[field])) throw bad(`stats[${i}].${field} must be a non-empty string`);
    for (const field of ['concurrency', 'rps', 'inFlight', 'queued'] as const) {
      const n = s[field];
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
        throw bad(`stats[${i}].${field} must be a number >= 0, got ${JSON.stringify(n)}`);
    }
  });
  if (body.demand !== undefined) {
    if (!Array.isArray(body.demand)) throw bad('"demand" must be an array');
    body.demand.forEach((d: unknown, i) => {
      if (!isObject(d) || !nonEmpty(d.namespace) || !nonEmpty(d.revision))
        throw bad(`demand[${i}] must be {"namespace", "revision"}`);
    });
  }
  if (body.instance !== undefined && !nonEmpty(body.instance))
    throw bad('"instance" must be a non-empty string');
  if (
    body.windowMs !== undefined &&
    (typeof body.windowMs !== 'number' || !Number.isFinite(body.windowMs) || body.windowMs <= 0)
  )
    throw bad(`"windowMs" must be a number > 0, got ${JSON.stringify(body.windowMs)}`);
  if (body.leaving !== undefined && typeof body.leaving !== 'boolean')
    throw bad('"leaving" must be a boolean');
  if (body.share !== undefined && typeof body.share !== 'boolean') throw bad('"share" must be a boolean');
  return body as unknown as RouterStatsPush;
}

/** Checks an endpoints document (what a router polled); throws naming the bad field. */
export function checkEndpointsDocument(value: unknown): EndpointsDocument {
  const bad = (message: string) => new Error(`endpoints document: ${message}`);
  if (!isObject(value)) throw bad('must be a JSON object');
  if (typeof value.generation !== 'number' || !Number.isSafeInteger(value.generation))
    throw bad('"generation" must be an integer');
  if (!Array.isArray(value.routers) || !value.routers.every(nonEmpty))
    throw bad('"routers" must be an array of non-empty strings');
  if (!Array.isArray(value.revisions)) throw bad('"revisions" must be an array');
  value.revisions.forEach((r: unknown, i) => {
    if (!isObject(r) || !nonEmpty(r.namespace) || !nonEmpty(r.name))
      throw bad(`revisions[${i}] must have a namespace and a name`);
    if (typeof r.containerConcurrency !== 'number' || r.containerConcurrency < 0)
      throw bad(`revisions[${i}].containerConcurrency must be a number >= 0`);
    if (
      !Array.isArray(r.replicas) ||
      !r.replicas.every((x) => isObject(x) && nonEmpty(x.id) && nonEmpty(x.url))
    )
      throw bad(`revisions[${i}].replicas must be an array of {"id", "url"}`);
    if (r.failure !== undefined && typeof r.failure !== 'string')
      throw bad(`revisions[${i}].failure must be a string`);
  });
  return value as unknown as EndpointsDocument;
}
