// One source's status from the members of the sources component that run it (placement.ts): a
// source placed once has its owner's; one every member runs (a competing consumer) is Ready only
// when every member reports it Ready, and otherwise says which member is not, with that member's
// reason. Pure: the control plane hands it each member's view (what it reported, or why it has
// nothing to report: down, starting).

import type { SourceStatus } from '../sdk/runner.js';

export interface MemberSourceStatus {
  /** How the member is named in a message, e.g. `sources-2 (shard 1/2)`. */
  member: string;
  status: SourceStatus;
}

const RANK = { False: 0, Unknown: 1, True: 2 } as const;

/**
 * The source's status across `members` (in member order, at least one): the first member's when
 * all are Ready (with the first address any of them reports), else the first member that is not
 * Ready (False before Unknown), its message naming the member (prefixed unless it already does)
 * and saying how many are Ready.
 */
export function mergeMemberStatuses(members: readonly MemberSourceStatus[]): SourceStatus {
  const [first] = members;
  if (!first) throw new RangeError('mergeMemberStatuses: no member runs the source');
  if (members.length === 1) return first.status;
  let worst = first;
  for (const m of members) if (RANK[m.status.ready.status] < RANK[worst.status.ready.status]) worst = m;
  if (worst.status.ready.status === 'True') {
    const address = members.find((m) => m.status.address)?.status.address;
    const { address: _ignored, ...status } = first.status;
    return { ...status, ...(address ? { address } : {}) };
  }
  const ready = members.filter((m) => m.status.ready.status === 'True').length;
  const { address: _none, ...status } = worst.status;
  const message = worst.status.ready.message;
  const why =
    message === undefined
      ? `${worst.member} is ${worst.status.ready.reason ?? 'not Ready'}`
      : message.includes(worst.member)
        ? message
        : `${worst.member}: ${message}`;
  return {
    ...status,
    ready: { ...worst.status.ready, message: `${why} (${ready} of ${members.length} members Ready)` },
  };
}
