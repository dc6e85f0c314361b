// containerConcurrency across several routers (Knative's activator capacity splitting, made exact):
// every router that sends to a revision's replicas takes a fixed share of each replica's
// containerConcurrency, so the shares of all live routers add up to containerConcurrency and a replica
// never gets more concurrent requests than it allows, whichever routers they came through.
//
// The live routers are one sorted list every router gets from the primary (the endpoints document,
// plane/scale-out/), so each router computes the same split. Replica r's `cc` slots go to the routers
// round-robin, starting at router `ordinal(r) mod count`: router i gets floor(cc / count) slots of r,
// plus one when ((i - ordinal(r)) mod count) < cc mod count. With cc >= count every router gets at
// least one slot of every replica; with cc < count (containerConcurrency 1 and 2 routers) a replica
// belongs to cc routers only, consecutive replicas to the next ones, so each router needs a replica
// of its own: its requests wait (and count as queued for the autoscaler, which adds replicas) until
// one is there.

/** Where this router stands among the live routers of the revision's replicas. */
export interface RouterShare {
  /** Its position in the sorted list of live routers; -1: not (yet) counted by the primary. */
  index: number;
  /** How many routers are live (>= 1). */
  count: number;
}

/** One router alone: every replica's whole containerConcurrency. */
export const WHOLE_SHARE: RouterShare = { index: 0, count: 1 };

/** The share of router `self` among `routers` (the endpoints document's list). */
export function shareOf(self: string, routers: readonly string[]): RouterShare {
  return { index: routers.indexOf(self), count: Math.max(1, routers.length) };
}

/**
 * A replica's ordinal: the runtime's sequence number (`<namespace>/<revision>#<n>`), else a stable
 * hash of its id. Stable for the replica's life, so its owners do not change while others come and go.
 */
export function replicaOrdinal(id: string): number {
  const sequence = /#(\d+)$/.exec(id);
  if (sequence) return Number(sequence[1]);
  let hash = 2166136261;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

/**
 * How many concurrent requests this router may send to one replica: containerConcurrency 0 is
 * unlimited (Infinity); a router the primary does not count (index -1) gets none.
 */
export function replicaCapacity(containerConcurrency: number, share: RouterShare, replicaId: string): number {
  if (containerConcurrency <= 0) return Number.POSITIVE_INFINITY;
  if (share.count <= 1) return share.index < 0 ? 0 : containerConcurrency;
  if (share.index < 0) return 0;
  const base = Math.floor(containerConcurrency / share.count);
  const extra = containerConcurrency % share.count;
  const offset = (((share.index - replicaOrdinal(replicaId)) % share.count) + share.count) % share.count;
  return base + (offset < extra ? 1 : 0);
}
