// Where a source runs when the sources component is N processes (members, each with its shard
// `i/N`, i = 0..N-1 like a StatefulSet ordinal). Each adapter declares its placement
// (SourceAdapter.placement):
//   every-member  a competing consumer of an upstream that shares the work among its receivers (an
//                 SQS queue, a Kafka consumer group, a Pub/Sub subscription): every member runs it.
//   once          (the default) anything that would duplicate work or clash when run twice (a cron,
//                 a container, a webhook listener): exactly one member runs it, its owner.
// The owner is chosen by rendezvous (highest random weight) hashing of the source key over the
// member indexes: every member computes the same owner from the key and N alone (no coordination),
// and going from N to N+1 members moves only the sources the new member wins (about 1/(N+1) of
// them); none moves between the old members. The one rule, used by the `eddy sources` process (which
// sources it runs) and by the control plane (whose reports make a source's status).

import { createHash } from 'node:crypto';
import type { SourceDefinition, SourcePlacement } from '../sdk/adapter.js';
import { sourceKey } from '../sdk/runner.js';

export type { SourcePlacement };

export const SOURCE_PLACEMENTS: readonly SourcePlacement[] = ['once', 'every-member'];

/** A member of the sources component: index `index` of `count` (0 <= index < count). */
export interface SourceShard {
  index: number;
  count: number;
}

/** The one member of one: what a single sources process is. */
export const SINGLE_SHARD: SourceShard = { index: 0, count: 1 };

/** `1/3`. */
export const shardText = (shard: SourceShard): string => `${shard.index}/${shard.count}`;

/** Most members the sources component takes (as `eddy dev --sources`). */
export const MAX_SOURCE_SHARDS = 64;

/** Parses `i/N` (0 <= i < N <= 64); throws a TypeError saying what is expected. */
export function parseShard(text: string): SourceShard {
  const match = /^(\d{1,3})\/(\d{1,3})$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > MAX_SOURCE_SHARDS || index >= count)
    throw new TypeError(
      `expected <index>/<count> with 0 <= index < count <= ${MAX_SOURCE_SHARDS} (e.g. 0/2), got "${text}"`,
    );
  return { index, count };
}

/** The weight of member `index` for `key`: 48 bits of SHA-256 (deterministic across processes). */
function weight(key: string, index: number): number {
  return createHash('sha256').update(`${key}\u0000${index}`).digest().readUIntBE(0, 6);
}

/** The member index (0..count-1) that owns a once-placed source with this key. */
export function sourceOwner(key: string, count: number): number {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new RangeError(`member count must be >= 1, got ${count}`);
  let owner = 0;
  let best = -1;
  for (let index = 0; index < count; index++) {
    const w = weight(key, index);
    // Ties (1 in 2^48) go to the lower index, so every member picks the same one.
    if (w > best) {
      best = w;
      owner = index;
    }
  }
  return owner;
}

/** The member indexes that run a source: all of them, or its owner. */
export function sourceMembers(placement: SourcePlacement, key: string, count: number): number[] {
  return placement === 'every-member'
    ? Array.from({ length: count }, (_, i) => i)
    : [sourceOwner(key, count)];
}

/** Whether the member `shard` runs the source with this key and placement. */
export function runsOn(placement: SourcePlacement, key: string, shard: SourceShard): boolean {
  return placement === 'every-member' || sourceOwner(key, shard.count) === shard.index;
}

/** The sources of a contract that member `shard` runs, in their order. */
export function placedSources<T extends Pick<SourceDefinition, 'apiVersion' | 'kind' | 'namespace' | 'name'>>(
  sources: readonly T[],
  shard: SourceShard,
  placement: (apiVersion: string, kind: string) => SourcePlacement,
): T[] {
  return sources.filter((s) => runsOn(placement(s.apiVersion, s.kind), sourceKey(s), shard));
}
