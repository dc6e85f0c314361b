// The HTTP side of a ContractFeed, whatever server hosts it (the CLI's admin API, a controller):
//   GET  <feed>?member=&component=&after=&wait=&applied=&error=   a long poll (contract-watch.ts)
//   POST <feed>  {"id","component","applied"?,"error"?,"status"}    a member's status, when it changes
// Both parse here, so every host speaks the same protocol and names a bad field the same way.

import type { ContractFeed, Generational, MemberReport } from './contract-feed.js';

/** A request the feed cannot take; hosts answer it with `statusCode` and the message. */
export class FeedRequestError extends Error {
  override readonly name = 'FeedRequestError';
  readonly statusCode = 400;
}

/** The longest a poll may be held, whatever it asks for. */
export const MAX_POLL_WAIT_MS = 60_000;

/**
 * Records what the polling member says about itself and answers the poll: a contract newer than
 * `after`, or undefined after `wait` ms (the host answers 204) or when `signal` aborts.
 */
export function answerPoll<T extends Generational>(
  feed: ContractFeed<T>,
  query: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
): Promise<T | undefined> {
  const after = Number(query.after ?? -1);
  const wait = Number(query.wait ?? 0);
  if (!Number.isFinite(after)) throw new FeedRequestError(`after must be a number, got "${query.after}"`);
  if (!Number.isFinite(wait)) throw new FeedRequestError(`wait must be a number, got "${query.wait}"`);
  if (query.member && query.component) {
    const applied = query.applied === undefined ? Number.NaN : Number(query.applied);
    feed.report({
      id: query.member,
      component: query.component,
      ...(Number.isFinite(applied) ? { applied } : {}),
      ...(query.error ? { error: query.error } : {}),
    });
  }
  return feed.next(after, Math.min(Math.max(wait, 0), MAX_POLL_WAIT_MS), signal);
}

/** Takes a member's status report (a POST body); throws FeedRequestError naming the bad field. */
export function acceptReport<T extends Generational>(feed: ContractFeed<T>, body: unknown): void {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new FeedRequestError('a status report must be a JSON object {"id", "component", "status"}');
  const b = body as Record<string, unknown>;
  for (const field of ['id', 'component'] as const)
    if (typeof b[field] !== 'string' || b[field] === '')
      throw new FeedRequestError(`status report: "${field}" must be a non-empty string`);
  if (b.applied !== undefined && typeof b.applied !== 'number')
    throw new FeedRequestError('status report: "applied" must be a number');
  if (b.error !== undefined && typeof b.error !== 'string')
    throw new FeedRequestError('status report: "error" must be a string');
  if (b.status === undefined) throw new FeedRequestError('status report: "status" is missing');
  const report: MemberReport = {
    id: b.id as string,
    component: b.component as string,
    ...(b.applied !== undefined ? { applied: b.applied as number } : {}),
    ...(b.error !== undefined ? { error: b.error as string } : {}),
    status: b.status,
  };
  feed.report(report);
}
